"""Topic alerts: chats follow topics, and newly stored articles that match one are sent to them.

A chat follows a topic (`/follow Xiaomi cars`); whenever an article is stored or updated, by any
process sharing the data dir (a feed refresh, an upload, a channel post, `newsdesk ingest`), the
bot notices it on its next look (`due_alerts`), scores it against every follow, and sends the
matching ones. Each article reaches a chat at most once, never when it was published before the
follow, and a chat gets at most `MAX_ALERTS_PER_HOUR`.

Matching uses the two signals retrieval ranks by, on the article alone: how close the topic's
vector is to the article's best chunk (the embedding model), and how many of the topic's words the
article uses; combined as the extractive answerer combines its evidence (0.6 and 0.4). The
threshold was measured on `tests/data/topics.jsonl` (see docs/alerts.md).

Follows, what was sent, and which article versions were already looked at live in one SQLite file,
`<data_dir>/alerts.sqlite3`, so they survive restarts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from bot.answering.extractive import terms
from store import KnowledgeBase
from store.records import ArticleRecord
from store.sqlite import SqliteFile

ALERTS_FILE = "alerts.sqlite3"
MATCH_THRESHOLD = 0.42
"""Score from which an article matches a topic (measured: docs/alerts.md)."""
DENSE_WEIGHT, WORD_WEIGHT = 0.6, 0.4
MAX_FOLLOWS_PER_CHAT = 20
MAX_TOPIC_CHARS = 100
MAX_ALERTS_PER_HOUR = 10

_SCHEMA = """
CREATE TABLE IF NOT EXISTS follows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL,
    topic TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sent (
    chat_id INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (chat_id, article_id)
);
CREATE TABLE IF NOT EXISTS seen_versions (
    article_id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class FollowError(ValueError):
    """A topic that cannot be followed; the message says why, for the reader."""


@dataclass(frozen=True)
class Follow:
    """A chat's standing question: send me the new articles about this."""

    id: int
    chat_id: int
    topic: str
    created_at: datetime


@dataclass(frozen=True)
class Alert:
    """A new article to send to a chat, for one of its follows, with the sentence that matched best."""

    follow: Follow
    article: ArticleRecord
    sentence: str
    score: float


class FollowStore(SqliteFile):
    """Follows, alerts sent and article versions looked at, in one SQLite file."""

    FILE = ALERTS_FILE
    SCHEMA = _SCHEMA
    NATURAL_KEYS = {"follows": ("chat_id", "topic")}  # noqa: RUF012 (a ClassVar of the base)

    def follow(self, chat_id: int, topic: str, *, now: datetime | None = None) -> Follow:
        """Follow a topic in a chat (the same topic again is not a second follow)."""
        topic = " ".join(topic.split())
        if not topic:
            raise FollowError("Tell me what to follow, e.g. /follow Xiaomi cars")
        if len(topic) > MAX_TOPIC_CHARS:
            raise FollowError(f"A topic is at most {MAX_TOPIC_CHARS} characters.")
        existing = self.follows(chat_id)
        same = next((f for f in existing if f.topic.lower() == topic.lower()), None)
        if same is not None:
            return same
        if len(existing) >= MAX_FOLLOWS_PER_CHAT:
            raise FollowError(
                f"A chat can follow at most {MAX_FOLLOWS_PER_CHAT} topics; /unfollow one first."
            )
        moment = now or datetime.now(UTC)
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO follows (chat_id, topic, created_at) VALUES (?, ?, ?)",
                (chat_id, topic, moment.isoformat()),
            )
        return Follow(int(cursor.lastrowid or 0), chat_id, topic, moment)

    def follows(self, chat_id: int | None = None) -> list[Follow]:
        """A chat's follows (or every chat's), oldest first: /following numbers them from 1."""
        query = "SELECT id, chat_id, topic, created_at FROM follows"
        query += " WHERE chat_id = ? ORDER BY id" if chat_id is not None else " ORDER BY id"
        with self._lock:
            rows = self._db.execute(query, (chat_id,) if chat_id is not None else ()).fetchall()
        return [Follow(row[0], row[1], row[2], datetime.fromisoformat(row[3])) for row in rows]

    def unfollow(self, chat_id: int, number: int) -> Follow | None:
        """Stop the chat's `number`-th follow (as /following lists them); None when there is none."""
        follows = self.follows(chat_id)
        if not 1 <= number <= len(follows):
            return None
        follow = follows[number - 1]
        with self._transaction() as db:
            db.execute("DELETE FROM follows WHERE id = ?", (follow.id,))
        return follow

    def changed_versions(self, current: dict[str, str]) -> list[str]:
        """The ids of articles stored or changed since the last call, recorded as looked at.

        The first call only takes note of the store as it is: articles stored before the bot
        first looked are nobody's news.
        """
        with self._transaction() as db:
            seen = dict(db.execute("SELECT article_id, content_hash FROM seen_versions").fetchall())
            started = db.execute("SELECT value FROM state WHERE key = 'started'").fetchone() is not None
            changed = [article_id for article_id, digest in current.items() if seen.get(article_id) != digest]
            db.executemany(
                "INSERT OR REPLACE INTO seen_versions VALUES (?, ?)",
                [(article_id, current[article_id]) for article_id in changed],
            )
            gone = [article_id for article_id in seen if article_id not in current]
            db.executemany("DELETE FROM seen_versions WHERE article_id = ?", [(i,) for i in gone])
            if not started:
                db.execute("INSERT INTO state VALUES ('started', ?)", (datetime.now(UTC).isoformat(),))
                return []
        return changed

    def watching(self) -> bool:
        """Whether the store was looked at once already (what was stored before is nobody's news)."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM state WHERE key = 'started'").fetchone() is not None

    def was_sent(self, chat_id: int, article_id: str) -> bool:
        """Whether this article was already sent to this chat."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM sent WHERE chat_id = ? AND article_id = ?", (chat_id, article_id)
            ).fetchone()
        return row is not None

    def sent_since(self, chat_id: int, since: datetime) -> int:
        """How many alerts this chat was sent since a moment."""
        with self._lock:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM sent WHERE chat_id = ? AND sent_at >= ?", (chat_id, since.isoformat())
            ).fetchone()
        return int(count)

    def mark_sent(self, chat_id: int, article_id: str, *, now: datetime | None = None) -> bool:
        """Record an alert as sent; False when it already was (so it is never sent twice)."""
        with self._transaction() as db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO sent VALUES (?, ?, ?)",
                (chat_id, article_id, (now or datetime.now(UTC)).isoformat()),
            ).rowcount
        return bool(inserted)

    def may_send(self, chat_id: int, now: datetime | None = None) -> bool:
        """Whether the chat is under its hourly limit of alerts."""
        moment = now or datetime.now(UTC)
        return self.sent_since(chat_id, moment - timedelta(hours=1)) < MAX_ALERTS_PER_HOUR


class TopicMatcher:
    """Scores articles against topics with the embedding model and the topics' words."""

    def __init__(self, kb: KnowledgeBase, threshold: float = MATCH_THRESHOLD) -> None:
        self.kb = kb
        self.threshold = threshold

    def scores(self, article_id: str, topics: Sequence[str]) -> list[tuple[float, str]]:
        """For each topic, its score against the article and the article's sentence closest to it."""
        if not topics:
            return []
        vectors = np.stack([self.kb.embeddings.query_vector(topic) for topic in topics])
        chunks = self.kb.article_chunks(article_id, vectors[0])
        if not chunks:
            return [(0.0, "") for _ in topics]
        embeddings = np.stack([chunk.vector for chunk in chunks if chunk.vector is not None])
        sentences = [(sentence, chunk) for chunk in chunks for sentence in chunk.chunk.sentences]
        sentence_vectors = [
            vector
            for chunk in chunks
            for vector in (
                chunk.sentence_vectors
                if chunk.sentence_vectors is not None
                and len(chunk.sentence_vectors) == len(chunk.chunk.sentences)
                else [None] * len(chunk.chunk.sentences)
            )
        ]
        article_words = set().union(*(terms(chunk.chunk.embedding_text) for chunk in chunks))
        results = []
        for topic, vector in zip(topics, vectors, strict=True):
            dense = float(np.max(embeddings @ vector))
            words = terms(topic)
            share = len(words & article_words) / len(words) if words else 0.0
            best = max(
                range(len(sentences)),
                key=lambda i: (
                    float(sentence_vectors[i] @ vector) if sentence_vectors[i] is not None else -1.0
                ),
            )
            results.append((DENSE_WEIGHT * dense + WORD_WEIGHT * share, sentences[best][0]))
        return results


def due_alerts(kb: KnowledgeBase, store: FollowStore, matcher: TopicMatcher) -> list[Alert]:
    """The alerts owed for the articles stored or changed since the last look: for each chat and
    article, the best-matching follow at or over the threshold, if the article was not published
    before that follow and was never sent to that chat."""
    changed = store.changed_versions(kb.article_versions())
    follows = store.follows()
    if not changed or not follows:
        return []
    alerts: list[Alert] = []
    for article_id in changed:
        record = kb.get_article(article_id)
        if record is None:
            continue
        day = record.published_at or _day(record.ingested_at)
        eligible = [
            follow
            for follow in follows
            if day >= follow.created_at.date() and not store.was_sent(follow.chat_id, article_id)
        ]
        if not eligible:
            continue
        scored = matcher.scores(article_id, [follow.topic for follow in eligible])
        best: dict[int, Alert] = {}
        for follow, (score, sentence) in zip(eligible, scored, strict=True):
            if score >= matcher.threshold and (
                follow.chat_id not in best or score > best[follow.chat_id].score
            ):
                best[follow.chat_id] = Alert(follow, record, sentence, score)
        alerts.extend(best.values())
    return alerts


def _day(moment: str) -> date:
    try:
        return datetime.fromisoformat(moment).date()
    except ValueError:
        return datetime.now(UTC).date()


def topic_scores(
    kb: KnowledgeBase, topics: Sequence[str], article_ids: Iterable[str]
) -> dict[tuple[str, str], float]:
    """Every (topic, article) score, for measuring the threshold (benchmarks/alert_threshold.py)."""
    matcher = TopicMatcher(kb)
    return {
        (topic, article_id): score
        for article_id in article_ids
        for topic, (score, _) in zip(topics, matcher.scores(article_id, topics), strict=True)
    }
