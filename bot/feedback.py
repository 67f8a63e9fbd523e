"""Readers' votes on answers, kept in the data dir, and turned into evaluation questions.

Every answer the Telegram bot gives is recorded (question, as-of date, answer, short answer, cited
article ids, chat type, time: no user ids or names) so that a 👍 or 👎 pressed later can be stored
against it; a 👎 may carry a reader's comment. `export_questions` writes the voted questions in the
format `newsdesk eval` reads: a 👍 becomes a test question (the short answer as gold, the cited
articles as evidence; a 👍 on "not found" a `null` question), a 👎 a line marked for review, which
`newsdesk eval` skips until a person writes its gold answer.

One SQLite file, `<data_dir>/feedback.sqlite3`; the bot and `newsdesk feedback` share it.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from bot.answering.answer import Answer
from store.sqlite import SqliteFile

FEEDBACK_FILE = "feedback.sqlite3"
UNVOTED_DAYS = 30
"""Answers nobody voted on are forgotten after this many days."""
MAX_COMMENT_CHARS = 2_000

_MARKERS = re.compile(r"\s*\[\d+\]")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    as_of TEXT,
    answer TEXT NOT NULL,
    short_answer TEXT,
    found INTEGER NOT NULL,
    cited TEXT NOT NULL,
    chat_type TEXT,
    answered_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    answer_id TEXT PRIMARY KEY REFERENCES answers(id),
    vote INTEGER NOT NULL,
    voted_at TEXT NOT NULL,
    comment TEXT
);
CREATE INDEX IF NOT EXISTS answers_time ON answers(answered_at);
"""


class Vote(StrEnum):
    """A reader's verdict on an answer."""

    UP = "up"
    DOWN = "down"


class Outcome(StrEnum):
    """What became of a vote."""

    STORED = "stored"
    ALREADY = "already"
    """The answer has a vote already: one vote per answer."""
    UNKNOWN = "unknown"
    """No such answer (forgotten, or never recorded)."""


@dataclass(frozen=True)
class Voted:
    """An answer with its vote."""

    answer_id: str
    question: str
    as_of: date | None
    answer: str
    short_answer: str | None
    found: bool
    cited: tuple[str, ...]
    chat_type: str | None
    vote: Vote
    voted_at: datetime
    comment: str | None


class FeedbackStore(SqliteFile):
    """Answers given and the votes on them, in one SQLite file (thread-safe, shared by processes)."""

    FILE = FEEDBACK_FILE
    SCHEMA = _SCHEMA

    def record(self, answer: Answer, *, chat_type: str | None = None, now: datetime | None = None) -> str:
        """Keep an answer given, so that a vote can refer to it; return its id (11 characters)."""
        answer_id = secrets.token_urlsafe(8)
        moment = now or datetime.now(UTC)
        cited = [citation.article_id for citation in answer.citations]
        with self._transaction() as db:
            db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answer_id,
                    answer.question,
                    answer.as_of.isoformat() if answer.as_of else None,
                    answer.text,
                    answer.short_answer,
                    int(answer.found),
                    json.dumps(cited),
                    chat_type,
                    moment.isoformat(),
                ),
            )
            cutoff = (moment - timedelta(days=UNVOTED_DAYS)).isoformat()
            db.execute(
                "DELETE FROM answers WHERE answered_at < ? AND id NOT IN (SELECT answer_id FROM votes)",
                (cutoff,),
            )
        return answer_id

    def vote(self, answer_id: str, vote: Vote, *, now: datetime | None = None) -> Outcome:
        """Store a vote on an answer: one per answer."""
        moment = (now or datetime.now(UTC)).isoformat()
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                return Outcome.UNKNOWN
            inserted = db.execute(
                "INSERT OR IGNORE INTO votes (answer_id, vote, voted_at) VALUES (?, ?, ?)",
                (answer_id, 1 if vote is Vote.UP else -1, moment),
            ).rowcount
        return Outcome.STORED if inserted else Outcome.ALREADY

    def comment(self, answer_id: str, text: str) -> bool:
        """Attach a reader's comment to a 👎 (the first 2,000 characters); False when there is none."""
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE votes SET comment = ? WHERE answer_id = ? AND vote < 0",
                (text.strip()[:MAX_COMMENT_CHARS], answer_id),
            ).rowcount
        return bool(changed)

    def voted(self, limit: int | None = None) -> list[Voted]:
        """Voted answers, most recent vote first (all of them, or the last `limit`)."""
        query = (
            "SELECT a.id, a.question, a.as_of, a.answer, a.short_answer, a.found, a.cited, a.chat_type,"
            " v.vote, v.voted_at, v.comment FROM votes v JOIN answers a ON a.id = v.answer_id"
            " ORDER BY v.voted_at DESC" + (" LIMIT ?" if limit is not None else "")
        )
        with self._lock:
            rows = self._db.execute(query, (limit,) if limit is not None else ()).fetchall()
        return [
            Voted(
                answer_id=row[0],
                question=row[1],
                as_of=date.fromisoformat(row[2]) if row[2] else None,
                answer=row[3],
                short_answer=row[4],
                found=bool(row[5]),
                cited=tuple(json.loads(row[6])),
                chat_type=row[7],
                vote=Vote.UP if row[8] > 0 else Vote.DOWN,
                voted_at=datetime.fromisoformat(row[9]),
                comment=row[10],
            )
            for row in rows
        ]

    def counts(self) -> tuple[int, int]:
        """(👍 votes, all votes)."""
        with self._lock:
            up, total = self._db.execute("SELECT COALESCE(SUM(vote > 0), 0), COUNT(*) FROM votes").fetchone()
        return int(up), int(total)


def as_question(voted: Voted) -> dict[str, object]:
    """A voted answer as one line of the question format `newsdesk eval` reads."""
    meta: dict[str, object] = {
        "question_date": voted.as_of.isoformat() if voted.as_of else None,
        "source": "telegram feedback",
        "vote": voted.vote.value,
        "voted_at": voted.voted_at.date().isoformat(),
    }
    record: dict[str, object] = {"id": f"feedback-{voted.answer_id}", "question": voted.question}
    if voted.vote is Vote.DOWN:  # a person must write the right answer before it can be scored
        given = voted.short_answer or _MARKERS.sub("", voted.answer)
        meta.update(review=True, comment=voted.comment, given_answer=given)
        return {**record, "answer": given, "question_type": "review", "evidence": [], "meta": meta}
    if not voted.found:  # the reader agreed the articles do not say
        return {
            **record,
            "answer": "Insufficient information.",
            "question_type": "null",
            "evidence": [],
            "meta": meta,
        }
    return {
        **record,
        "answer": voted.short_answer or _MARKERS.sub("", voted.answer),
        "question_type": "factoid",
        "evidence": [{"doc_id": article_id, "kind": "gold_article"} for article_id in voted.cited],
        "meta": meta,
    }


def export_questions(store: FeedbackStore, path: Path) -> tuple[int, int]:
    """Write every voted question to `path` (JSON lines); return (questions to score, to review)."""
    lines = [as_question(voted) for voted in reversed(store.voted())]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    review = sum(line["question_type"] == "review" for line in lines)
    return len(lines) - review, review
