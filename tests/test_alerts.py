"""Topic alerts without Telegram: matching, what is owed when, and a CLI process storing the news."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import ingest
import store
from bot.alerts import (
    MATCH_THRESHOLD,
    MAX_ALERTS_PER_HOUR,
    FollowError,
    FollowStore,
    TopicMatcher,
    due_alerts,
)

TOPICS = Path(__file__).parent / "data" / "topics.jsonl"
VENV_BIN = Path(sys.executable).parent


def test_the_threshold_separates_the_labelled_topics(sample_kb: store.KnowledgeBase) -> None:
    """On the project's labelled topics (the seed article's pairs left out: it is not a sample), the
    threshold keeps precision and recall where docs/alerts.md reports them."""
    labels = [json.loads(line) for line in TOPICS.read_text(encoding="utf-8").splitlines()]
    matcher = TopicMatcher(sample_kb)
    topics = [label["topic"] for label in labels]
    tp = fp = fn = 0
    for article_id in sample_kb.article_versions():
        for label, (score, sentence) in zip(labels, matcher.scores(article_id, topics), strict=True):
            if article_id in label["maybe"]:
                continue
            hit, relevant = score >= MATCH_THRESHOLD, article_id in label["matches"]
            tp, fp, fn = tp + (hit and relevant), fp + (hit and not relevant), fn + (relevant and not hit)
            assert sentence  # the best sentence comes with every score
    assert tp / (tp + fp) >= 0.9 and tp / (tp + fn) >= 0.75, (tp, fp, fn)


def test_follows_are_numbered_per_chat_and_bounded(tmp_path: Path) -> None:
    follows = FollowStore(tmp_path / "alerts.sqlite3")
    first = follows.follow(1, "  Xiaomi   cars ")
    assert first.topic == "Xiaomi cars" and follows.follow(1, "xiaomi cars") == first
    follows.follow(2, "Storm Idris")
    assert [f.topic for f in follows.follows(1)] == ["Xiaomi cars"]
    with pytest.raises(FollowError):
        follows.follow(1, "x" * 101)
    assert follows.unfollow(1, 2) is None and follows.unfollow(1, 1) == first
    assert FollowStore(tmp_path / "alerts.sqlite3").follows() == follows.follows()  # kept on disk


def test_alerts_are_owed_once_for_new_matching_articles_stored_by_another_process(
    tmp_path: Path, embeddings: store.SentenceTransformerEmbeddings
) -> None:
    """What was stored before the first look is nobody's news; an article a `newsdesk ingest`
    process stores later is owed to the chat whose topic it matches, once; one published before the
    follow is not."""
    data_dir = tmp_path / "data"
    follows = FollowStore(data_dir / "alerts.sqlite3")
    today = datetime.now(UTC).date()
    articles = tmp_path / "articles"
    articles.mkdir()

    def write(name: str, title: str, body: str, published: date) -> None:
        text = f"---\ntitle: {title}\npublished_at: {published.isoformat()}\n---\n{body}\n"
        (articles / f"{name}.md").write_text(text, encoding="utf-8")

    write("old", "Xiaomi car sales climb", "Xiaomi sold more electric cars than expected last year.", today)
    with store.open_knowledge_base(store.StoreSettings(data_dir=data_dir), embeddings) as kb:
        # the first article is stored by this process, so it holds Chroma's vector index before the
        # other process writes (as a bot that stores uploads itself does); the news comes from there
        assert ingest.Ingestor(kb, ingest.IngestSettings()).ingest([articles]).ok
        matcher = TopicMatcher(kb)
        assert due_alerts(kb, follows, matcher) == []  # the first look only takes note
        follows.follow(7, "Xiaomi cars")
        (articles / "old.md").unlink()
        write("new", "Xiaomi raises its car target", "Xiaomi now expects to deliver 350,000 cars.", today)
        write(
            "stale",
            "Xiaomi car archive",
            "Xiaomi delivered its first cars in 2024.",
            today - timedelta(days=400),
        )
        ingest_in_another_process(data_dir, articles)

        (alert,) = due_alerts(kb, follows, matcher)
        assert alert.article.title == "Xiaomi raises its car target" and alert.follow.chat_id == 7
        assert "350,000" in alert.sentence and alert.score >= MATCH_THRESHOLD
        assert follows.mark_sent(7, alert.article.id) and not follows.mark_sent(7, alert.article.id)
        assert due_alerts(kb, follows, matcher) == []  # nothing new since
        # this process loaded Chroma's vector index before the other one wrote: searches still read
        # the new chunks (scored by their sentence vectors) instead of failing on their ids
        _, lexical = kb.search_hybrid("Xiaomi expects to deliver 350,000 cars", k=5)
        assert lexical and lexical[0].chunk.article_id == alert.article.id and lexical[0].score > 0.3


def test_a_chat_gets_at_most_the_hourly_number_of_alerts(tmp_path: Path) -> None:
    follows = FollowStore(None)
    now = datetime.now(UTC)
    for n in range(MAX_ALERTS_PER_HOUR):
        assert follows.may_send(5, now)
        follows.mark_sent(5, f"a{n}", now=now)
    assert not follows.may_send(5, now)
    assert follows.may_send(5, now + timedelta(hours=1, seconds=1))


def ingest_in_another_process(data_dir: Path, folder: Path) -> None:
    """`newsdesk ingest FOLDER` as an operator would run it beside the bot."""
    done = subprocess.run(
        [str(VENV_BIN / "newsdesk"), "--data-dir", str(data_dir), "ingest", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
