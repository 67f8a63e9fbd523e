"""`newsdesk export` / `newsdesk import`: round trips through the real CLI, a real store and the real
model; damaged files; an import killed mid-way and run again; a move to a `chroma run` server and back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import numpy as np
import pytest
from click.testing import CliRunner, Result

import ingest
import store
from bot.alerts import FollowStore
from bot.answering import Newsdesk
from bot.config import BotSettings
from bot.feedback import FeedbackStore, Vote
from bot.frontends.cli import cli
from ingest import FeedStore

NEWSDESK = Path(sys.executable).parent / "newsdesk"
QUESTIONS = [
    "What is the total budget of Line 4?",
    "How many vehicles did Xiaomi deliver?",
    "Who scored in the derby?",
    "What did the central bank of Norland decide?",
    "Which routers are affected by the security flaw?",
    "What is Xiaomi's market share in India?",  # not in the articles: "not found" both times
]


def newsdesk(data_dir: Path, *args: str) -> Result:
    """Run `newsdesk --data-dir DATA_DIR ARGS...` in-process."""
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], catch_exceptions=False)


def answers(settings: store.StoreSettings, embeddings: store.SentenceTransformerEmbeddings) -> list[tuple]:
    """The answer, short answer and cited articles for each of QUESTIONS."""
    with store.open_knowledge_base(settings, embeddings) as kb:
        desk = Newsdesk(kb, BotSettings())
        replies = [desk.ask(question) for question in QUESTIONS]
    return [(r.text, r.short_answer, [c.article_id for c in r.citations]) for r in replies]


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def source(
    tmp_path_factory: pytest.TempPathFactory, embeddings: store.SentenceTransformerEmbeddings
) -> Iterator[Path]:
    """A data dir holding the samples, a near-copy left out as a duplicate, a feed, a follow with an
    alert sent, and a voted answer."""
    data_dir = tmp_path_factory.mktemp("source") / "data"
    copy = data_dir.parent / "copy.md"
    tram = (ingest.samples_dir() / "tram-line.txt").read_text(encoding="utf-8")
    title, body = tram.split("\n", 1)
    body = body.replace("After more than two hours", "After over two hours")
    copy.write_text(f"---\ntitle: {title}\nurl: https://copies.example/tram\n---\n{body}", encoding="utf-8")
    settings = store.StoreSettings(data_dir=data_dir)
    with store.open_knowledge_base(settings, embeddings) as kb:
        report = ingest.Ingestor(kb, ingest.IngestSettings()).ingest([ingest.samples_dir(), copy])
        assert report.ok and len(report.added) == 8 and len(report.duplicates) == 1
        answer = Newsdesk(kb, BotSettings()).ask(QUESTIONS[0])
    FeedStore.in_data_dir(data_dir).add("https://news.example/feed.xml", "2h")
    follows = FollowStore.in_data_dir(data_dir)
    follows.follow(42, "Line 4 tram")
    follows.mark_sent(42, answer.citations[0].article_id)
    follows.close()
    votes = FeedbackStore.in_data_dir(data_dir)
    assert votes.vote(votes.record(answer, chat_type="private"), Vote.UP).value == "stored"
    votes.close()
    yield data_dir


@pytest.fixture(scope="module")
def exported(source: Path) -> Path:
    """The source exported without vectors."""
    path = source.parent / "export.jsonl"
    result = newsdesk(source, "export", "--out", str(path))
    assert result.exit_code == 0, result.output
    return path


def test_export_writes_typed_records_with_a_header_and_an_end(exported: Path) -> None:
    lines = records(exported)
    header, *body, end = lines
    assert header["type"] == "header" and header["format"] == 1 and header["vectors"] is False
    assert header["model"]["dimension"] == 384 and len(header["model"]["probe"]) == 384
    assert header["chunking"] == {"chunk_tokens": 200, "chunk_overlap": 40} and header["articles"] == 8
    kinds = [line["type"] for line in body]
    assert kinds.count("article") == 8 and kinds.count("duplicate") == 1 and kinds.count("feed") == 1
    rows = {(line["file"], line["table"]) for line in body if line["type"] == "row"}
    assert {("alerts.sqlite3", "follows"), ("alerts.sqlite3", "sent"), ("feedback.sqlite3", "votes")} <= rows
    article = next(
        line for line in body if line["type"] == "article" and line["title"].startswith("Westmere")
    )
    assert "€318 million" in article["body"] and article["ingested_at"] and "chunks" not in article
    assert end == {
        "type": "end",
        "counts": {
            "articles": 8,
            "duplicates": 1,
            "feeds": 1,
            "rows": {f"{file}:{table}": n for file, table, n in _row_counts(body)},
        },
    }


def _row_counts(body: list[dict]) -> list[tuple[str, str, int]]:
    seen: dict[tuple[str, str], int] = {}
    for line in body:
        if line["type"] == "row":
            seen[line["file"], line["table"]] = seen.get((line["file"], line["table"]), 0) + 1
    return [(file, table, n) for (file, table), n in sorted(seen.items())]


def test_import_restores_everything_and_a_second_import_changes_nothing(
    source: Path, exported: Path, tmp_path: Path, embeddings: store.SentenceTransformerEmbeddings
) -> None:
    target = tmp_path / "restored"
    first = newsdesk(target, "import", "--json", str(exported))
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert len(report["added"]) == 8 and report["chunks_written"] > 0 and report["complete"]
    assert report["restored"]["duplicates"] == 1 and report["restored"]["feeds"] == 1
    assert answers(store.StoreSettings(data_dir=target), embeddings) == answers(
        store.StoreSettings(data_dir=source), embeddings
    )
    with (
        store.open_knowledge_base(store.StoreSettings(data_dir=source), embeddings) as before,
        store.open_knowledge_base(store.StoreSettings(data_dir=target), embeddings) as after,
    ):
        # every field, the content hash, the chunk count and when it was first ingested
        assert after.all_articles() == before.all_articles()
        duplicates = [(d.id, d.content_hash, d.duplicate_of) for d in after.iter_duplicates()]
        assert duplicates == [(d.id, d.content_hash, d.duplicate_of) for d in before.iter_duplicates()]
    feed = FeedStore.in_data_dir(target).get("https://news.example/feed.xml")
    assert feed is not None and feed.every.total_seconds() == 7200
    follows = FollowStore.in_data_dir(target)
    assert [(f.chat_id, f.topic) for f in follows.follows()] == [(42, "Line 4 tram")]
    assert follows.sent_since(42, follows.follows()[0].created_at.replace(year=2000)) == 1
    follows.close()
    votes = FeedbackStore.in_data_dir(target)
    assert votes.counts() == (1, 1) and votes.voted()[0].question == QUESTIONS[0]
    votes.close()

    second = newsdesk(target, "import", "--json", str(exported))
    assert second.exit_code == 0, second.output
    again = json.loads(second.output)
    assert len(again["unchanged"]) == 8 and not again["added"] and again["chunks_written"] == 0
    assert again["restored"] == {"articles": 0, "duplicates": 0, "feeds": 0, "rows": {}}


def test_with_vectors_nothing_is_embedded_and_the_vectors_are_the_same(
    source: Path, tmp_path: Path, embeddings: store.SentenceTransformerEmbeddings
) -> None:
    path = tmp_path / "vectors.jsonl"
    assert newsdesk(source, "export", "--with-vectors", "--out", str(path)).exit_code == 0
    article = next(line for line in records(path) if line["type"] == "article")
    assert article["chunks"] and {"vector", "sentences", "spans"} <= set(article["chunks"][0])

    target = tmp_path / "restored"
    result = newsdesk(target, "import", "--with-vectors", "--json", str(path))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["vectors_used"] and len(report["added"]) == 8 and report["chunks_written"] == 0
    again = newsdesk(target, "import", "--with-vectors", str(path))
    summary, restored = again.stdout.splitlines()
    assert again.exit_code == 0 and summary.startswith("0 added, 0 updated, 8 unchanged, 0 failed (0 chunks")
    assert (
        restored
        == "also restored: 0 duplicates, 0 feeds, no rows (the export's vectors were used: nothing embedded)"
    )
    with (
        store.open_knowledge_base(store.StoreSettings(data_dir=source), embeddings) as a,
        store.open_knowledge_base(store.StoreSettings(data_dir=target), embeddings) as b,
    ):
        left = a.chunks.get(include=["embeddings", "documents", "metadatas"])
        right = b.chunks.get(include=["embeddings", "documents", "metadatas"])
        order_a, order_b = np.argsort(left["ids"]), np.argsort(right["ids"])
        assert sorted(left["ids"]) == sorted(right["ids"])
        difference = np.abs(
            np.asarray(left["embeddings"])[order_a] - np.asarray(right["embeddings"])[order_b]
        )
        assert difference.max() < 1e-6, difference.max()
        assert [left["metadatas"][i] for i in order_a] == [right["metadatas"][i] for i in order_b]
        assert sorted(a.stored_chunks(), key=lambda c: c.id) == sorted(b.stored_chunks(), key=lambda c: c.id)
        assert a.lexical.count() == b.lexical.count()
    assert answers(store.StoreSettings(data_dir=target), embeddings) == answers(
        store.StoreSettings(data_dir=source), embeddings
    )


def test_vectors_of_other_chunk_settings_are_not_used(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vectors.jsonl"
    assert newsdesk(source, "export", "--with-vectors", "--out", str(path)).exit_code == 0
    monkeypatch.setenv("NEWSDESK_CHUNK_TOKENS", "120")
    result = newsdesk(tmp_path / "restored", "import", "--with-vectors", "--json", str(path))
    assert result.exit_code == 0
    assert "vectors not used, every article is embedded again: it was chunked differently" in result.stderr
    report = json.loads(result.stdout)
    assert not report["vectors_used"] and len(report["added"]) == 8 and report["chunks_written"] > 0


def test_damaged_records_are_reported_and_the_rest_restored(exported: Path, tmp_path: Path) -> None:
    lines = exported.read_text(encoding="utf-8").splitlines()
    articles = [n for n, line in enumerate(lines) if json.loads(line)["type"] == "article"]
    tampered = json.loads(lines[articles[0]]) | {"body": "Someone changed this text."}
    lines[articles[0]] = json.dumps(tampered)
    lines[articles[1]] = lines[articles[1]][:50]  # a broken line
    lines.insert(2, json.dumps({"type": "poem", "text": "?"}))
    lines.insert(
        3, json.dumps({"type": "row", "file": "alerts.sqlite3", "table": "follows; DROP TABLE", "row": {}})
    )
    lines.pop()  # the end record: the file was cut off
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = newsdesk(tmp_path / "restored", "import", "--json", str(damaged))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert len(report["added"]) == 6 and not report["complete"]
    reasons = [f["reason"] for f in report["import_failed"]]
    assert any("do not match its content_hash" in r for r in reasons)
    assert any(r.startswith("not JSON") for r in reasons)
    assert any("unknown record type 'poem'" in r for r in reasons)
    assert any("no table 'follows; DROP TABLE'" in r for r in reasons)
    assert any("cut off" in r for r in reasons)
    assert all(f["source"].startswith("damaged.jsonl") for f in report["import_failed"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"title": "an article"}\n', "is not a newsdesk export"),
        ("", "is not a newsdesk export"),
        ('{"type": "header", "format": 9}\n', "format 9; this newsdesk reads format 1"),
    ],
)
def test_files_that_are_no_export_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "other.jsonl"
    path.write_text(content, encoding="utf-8")
    result = newsdesk(tmp_path / "data", "import", str(path))
    assert result.exit_code == 1 and message in result.output


def test_export_to_a_file_appears_only_when_complete(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "backup.jsonl"
    result = newsdesk(source, "export", "--out", str(target))
    assert result.exit_code == 0 and target.exists()
    assert "exported 8 articles, 1 duplicates, 1 feeds" in result.stderr
    assert [p.name for p in target.parent.iterdir()] == ["backup.jsonl"]  # no temporary file left


@pytest.mark.slow
def test_an_import_killed_midway_finishes_when_run_again(
    exported: Path, tmp_path: Path, embeddings: store.SentenceTransformerEmbeddings, source: Path
) -> None:
    """SIGKILL a real `newsdesk import` after its first stored batch, then run it again: every article
    is stored once, the first run's articles are not embedded again, and the answers are the same."""
    target = tmp_path / "restored"
    env = {**os.environ, "NEWSDESK_INGEST_BATCH": "2"}
    process = subprocess.Popen(
        [str(NEWSDESK), "-vv", "--data-dir", str(target), "import", str(exported)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "ingest: wrote batch of" in line:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL

    again = newsdesk(target, "import", "--json", str(exported))  # this process never opened it before
    assert again.exit_code == 0, again.output
    report = json.loads(again.output)
    assert 2 <= len(report["unchanged"]) < 8 and len(report["unchanged"]) + len(report["added"]) == 8
    assert answers(store.StoreSettings(data_dir=target), embeddings) == answers(
        store.StoreSettings(data_dir=source), embeddings
    )


@pytest.mark.server
@pytest.mark.slow
def test_migration_to_a_chroma_server_and_back_keeps_the_answers(
    source: Path,
    chroma_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    embeddings: store.SentenceTransformerEmbeddings,
) -> None:
    """The README's path: embedded store -> export -> `chroma run` -> import with NEWSDESK_CHROMA_URL,
    and the reverse; the same answers to the same questions all along."""
    expected = answers(store.StoreSettings(data_dir=source), embeddings)
    to_server = tmp_path / "to-server.jsonl"
    assert newsdesk(source, "export", "--with-vectors", "--out", str(to_server)).exit_code == 0

    collection = f"moved{uuid4().hex[:8]}"
    server_dir = tmp_path / "server-data"
    monkeypatch.setenv("NEWSDESK_CHROMA_URL", chroma_server)
    monkeypatch.setenv("NEWSDESK_COLLECTION", collection)
    result = newsdesk(server_dir, "import", "--with-vectors", "--json", str(to_server))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["vectors_used"]
    on_server = store.StoreSettings(data_dir=server_dir, chroma_url=chroma_server, collection=collection)
    assert answers(on_server, embeddings) == expected

    back = tmp_path / "back.jsonl"
    assert newsdesk(server_dir, "export", "--out", str(back)).exit_code == 0
    monkeypatch.delenv("NEWSDESK_CHROMA_URL")
    monkeypatch.delenv("NEWSDESK_COLLECTION")
    home = tmp_path / "home"
    result = newsdesk(home, "import", "--json", str(back))
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["added"]) == 8
    assert answers(store.StoreSettings(data_dir=home), embeddings) == expected
    assert FollowStore.in_data_dir(home).follows()[0].topic == "Line 4 tram"
