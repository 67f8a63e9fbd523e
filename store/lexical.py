"""A BM25 lexical index of the chunks, beside the vector store, in SQLite FTS5.

Why FTS5: it ships with Python's standard library (no service, no extra package), ranks with
BM25, stems English with the porter tokenizer, and updates row by row, so an article can be
replaced or forgotten without rebuilding anything. News questions lean on names and numbers
("KX-2291b", "300,000") that dense vectors blur; BM25 matches them exactly.

The index lives in the data dir even when Chroma is a server: Chroma stays the source of
truth, and every row carries its article's content hash. `sync` compares the index with the
article records in Chroma and re-indexes what differs (chunks fetched from Chroma, no
embedding), so an index that was lost, copied from elsewhere, or left behind by another writer
of the same server is brought into agreement; `KnowledgeBase` runs it when it opens.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from store.records import Chunk, day_number

_THOUSANDS = re.compile(r"(?<=\d)[,\u202f](?=\d{3}\b)")
_TERM = re.compile(r"\w+")
_STOPWORDS = frozenset(
    """
    a an the and or but of to in on at by for with from as into about is are was were be been has
    have had do does did will would can could should what which who whom whose when where why how
    that this these those it its there their they them he she his her i you we our not no so if
    """.split()  # noqa: SIM905 (a word list reads best as text)
)


def normalise(text: str) -> str:
    """Text as indexed and queried: numbers lose thousands separators ("300,000" -> "300000")."""
    return _THOUSANDS.sub("", text)


def match_query(question: str) -> str | None:
    """An FTS5 query matching any content word of a question (None when it has none)."""
    terms = dict.fromkeys(t for t in _TERM.findall(normalise(question).lower()) if t not in _STOPWORDS)
    return " OR ".join(f'"{term}"' for term in terms) or None


class LexicalIndex:
    """Chunk text searchable with BM25; one row per chunk, tagged with its article version."""

    def __init__(self, path: Path | str = ":memory:") -> None:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING fts5("
                "text, title, chunk_id UNINDEXED, article_id UNINDEXED, content_hash UNINDEXED,"
                " published_day UNINDEXED, tokenize='porter unicode61 remove_diacritics 2')"
            )

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def add(self, chunks: Sequence[Chunk]) -> None:
        """Index chunks (replacing rows with the same chunk ids) in one transaction."""
        rows = [
            (
                normalise(chunk.text),
                normalise(chunk.title),
                chunk.id,
                chunk.article_id,
                chunk.content_hash,
                day_number(chunk.published_at) if chunk.published_at else 0,
            )
            for chunk in chunks
        ]
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM chunks WHERE chunk_id = ?", [(row[2],) for row in rows])
            self._db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)", rows)

    def keep_versions(self, current: dict[str, str]) -> None:
        """Drop rows of these articles whose content hash is not the current one."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "DELETE FROM chunks WHERE article_id = ? AND content_hash != ?", list(current.items())
            )

    def remove(self, article_ids: Iterable[str]) -> None:
        """Forget articles entirely."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM chunks WHERE article_id = ?", [(a,) for a in article_ids])

    def clear(self) -> None:
        """Empty the index."""
        with self._lock:
            self._db.execute("DELETE FROM chunks")

    def versions(self) -> dict[str, set[str]]:
        """The content hashes indexed for each article."""
        found: dict[str, set[str]] = {}
        with self._lock:
            for article_id, content_hash in self._db.execute(
                "SELECT DISTINCT article_id, content_hash FROM chunks"
            ):
                found.setdefault(article_id, set()).add(content_hash)
        return found

    def count(self) -> int:
        """Number of indexed chunks."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def search(self, question: str, k: int = 20, max_day: int | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score, higher is better) of the best-matching chunks."""
        query = match_query(question)
        if query is None:
            return []
        sql = "SELECT chunk_id, -bm25(chunks, 1.0, 0.5) AS score FROM chunks WHERE chunks MATCH ?"
        params: list[object] = [query]
        if max_day is not None:
            sql += " AND published_day <= ?"
            params.append(max_day)
        sql += " ORDER BY bm25(chunks, 1.0, 0.5) LIMIT ?"
        params.append(k)
        with self._lock:
            return [(str(chunk_id), float(score)) for chunk_id, score in self._db.execute(sql, params)]
