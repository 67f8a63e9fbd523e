"""A BM25 lexical index of the chunks, beside the vector store, in SQLite FTS5.

Why FTS5: it ships with Python's standard library (no service, no extra package), ranks with
BM25, stems English with the porter tokenizer, and updates row by row, so an article can be
replaced or forgotten without rebuilding anything. News questions lean on names and numbers
("KX-2291b", "300,000") that dense vectors blur; BM25 matches them exactly.

The index lives in the data dir even when Chroma is a server: Chroma stays the source of
truth, and every row carries its article's content hash. `sync` compares the index with the
article records in Chroma and re-indexes what differs (chunks fetched from Chroma, no
embedding), so an index that was lost, copied from elsewhere, or left behind by another writer
of the same server is brought into agreement; `KnowledgeBase` runs it when it opens and, as a
client of a Chroma server, in the background every `NEWSDESK_LEXICAL_SYNC_SECONDS` while it is
searched. Until then a keyword hit is still checked against the server's current version.
"""

from __future__ import annotations

import itertools
import logging
import re
import sqlite3
import threading
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from store.records import Chunk, day_number
from store.text import STOPWORDS, strip_thousands

logger = logging.getLogger(__name__)

_TERM = re.compile(r"\w+")
_SQL_VARIABLES = 500  # ids per IN (...) query, well under SQLite's limit
OVERFETCH = 10  # a date-limited search ranks k * OVERFETCH rows, then keeps the old enough ones
_NO_DAY_LIMIT = 99_999_999  # a YYYYMMDD day after any real one
FORMAT_VERSION = 2
"""How rows are normalised (`store.text.strip_thousands`); an index of another version is emptied on
open and refilled from Chroma by the next sync, so text and queries are always normalised alike."""


def normalise(text: str) -> str:
    """Text as indexed and queried: numbers lose thousands separators ("300,000" -> "300000")."""
    return strip_thousands(text)


def match_query(question: str) -> str | None:
    """An FTS5 query matching any content word of a question (None when it has none)."""
    terms = dict.fromkeys(t for t in _TERM.findall(normalise(question).lower()) if t not in STOPWORDS)
    return " OR ".join(f'"{term}"' for term in terms) or None


class LexicalIndex:
    """Chunk text searchable with BM25; one row per chunk, tagged with its article version.

    Two tables in one SQLite file: `chunks`, the FTS5 index (text and title, BM25), and `chunk_rows`,
    an ordinary table keyed by chunk id that points at each FTS row and holds the chunk's article,
    content hash and publication day. FTS5 cannot index its extra columns, so every lookup by
    chunk or article (replacing a chunk, dropping a version, the days of dense hits) goes through
    `chunk_rows` instead of scanning the index.
    """

    def __init__(self, path: Path | str = ":memory:") -> None:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
            path = path.resolve()  # the reader connection opens later, whatever the working directory then
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        # A file-backed index gets a second connection for `days`, which a search asks for while
        # its BM25 query runs in another thread: with WAL, the two read at once instead of in turn.
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("BEGIN")
            self._db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING fts5("
                "text, title, chunk_id UNINDEXED, article_id UNINDEXED, content_hash UNINDEXED,"
                " published_day UNINDEXED, tokenize='porter unicode61 remove_diacritics 2')"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS chunk_rows(chunk_id TEXT PRIMARY KEY, fts_rowid INTEGER NOT NULL,"
                " article_id TEXT NOT NULL, content_hash TEXT NOT NULL, published_day INTEGER NOT NULL)"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS chunk_rows_article ON chunk_rows(article_id)")
            self._db.execute("CREATE INDEX IF NOT EXISTS chunk_rows_day ON chunk_rows(published_day)")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version != FORMAT_VERSION:
                if version:  # 0: a new file, or one from before versions were recorded (also emptied)
                    logger.info("lexical index: format %s is not %s; rebuilding", version, FORMAT_VERSION)
                self._db.execute("DELETE FROM chunks")
                self._db.execute("DELETE FROM chunk_rows")
                self._db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def _read_connection(self) -> tuple[sqlite3.Connection, threading.Lock]:
        """The connection (and its lock) for lookups that may run beside a search."""
        if self.path == ":memory:":  # one in-memory database has one connection
            return self._db, self._lock
        with self._reader_lock:
            if self._reader is None:
                self._reader = sqlite3.connect(
                    self.path, check_same_thread=False, isolation_level=None, timeout=30
                )
        return self._reader, self._reader_lock

    def add(self, chunks: Sequence[Chunk]) -> None:
        """Index chunks (replacing rows with the same chunk ids) in one transaction."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            for chunk in chunks:
                day = day_number(chunk.published_at) if chunk.published_at else 0
                self._drop("chunk_id = ?", (chunk.id,))
                cursor = self._db.execute(
                    "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        normalise(chunk.text),
                        normalise(chunk.title),
                        chunk.id,
                        chunk.article_id,
                        chunk.content_hash,
                        day,
                    ),
                )
                self._db.execute(
                    "INSERT INTO chunk_rows VALUES (?, ?, ?, ?, ?)",
                    (chunk.id, cursor.lastrowid, chunk.article_id, chunk.content_hash, day),
                )

    def keep_versions(self, current: dict[str, str]) -> None:
        """Drop rows of these articles whose content hash is not the current one."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            for article_id, content_hash in current.items():
                self._drop("article_id = ? AND content_hash != ?", (article_id, content_hash))

    def remove(self, article_ids: Iterable[str]) -> None:
        """Forget articles entirely."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            for article_id in article_ids:
                self._drop("article_id = ?", (article_id,))

    def _drop(self, condition: str, params: tuple[str, ...]) -> None:
        """Delete the rows of both tables whose `chunk_rows` entry meets a condition (in a transaction)."""
        self._db.execute(
            f"DELETE FROM chunks WHERE rowid IN (SELECT fts_rowid FROM chunk_rows WHERE {condition})", params
        )
        self._db.execute(f"DELETE FROM chunk_rows WHERE {condition}", params)

    def optimize(self) -> None:
        """Merge the index's segments into one (FTS5 'optimize'): worth it after writing many rows."""
        with self._lock, self._db:
            self._db.execute("INSERT INTO chunks(chunks) VALUES('optimize')")

    def clear(self) -> None:
        """Empty the index."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM chunks")
            self._db.execute("DELETE FROM chunk_rows")

    def versions(self) -> dict[str, set[str]]:
        """The content hashes indexed for each article."""
        found: dict[str, set[str]] = {}
        with self._lock:
            for article_id, content_hash in self._db.execute(
                "SELECT DISTINCT article_id, content_hash FROM chunk_rows"
            ):
                found.setdefault(article_id, set()).add(content_hash)
        return found

    def count(self) -> int:
        """Number of indexed chunks."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM chunk_rows").fetchone()[0])

    def newest_day(self, max_day: int | None = None) -> int | None:
        """The latest publication day (YYYYMMDD) of any indexed chunk, on or before `max_day`."""
        with self._lock:
            row = self._db.execute(
                "SELECT max(published_day) FROM chunk_rows WHERE published_day > 0 AND published_day <= ?",
                (max_day if max_day is not None else 99_999_999,),
            ).fetchone()
        return int(row[0]) if row and row[0] else None

    def days(self, chunk_ids: Sequence[str]) -> dict[str, int]:
        """Publication day (YYYYMMDD, 0 when undated) of each of these chunks the index holds."""
        found: dict[str, int] = {}
        connection, lock = self._read_connection()
        with lock:
            for start in range(0, len(chunk_ids), _SQL_VARIABLES):
                batch = chunk_ids[start : start + _SQL_VARIABLES]
                found.update(
                    connection.execute(
                        "SELECT chunk_id, published_day FROM chunk_rows"
                        f" WHERE chunk_id IN ({', '.join('?' * len(batch))})",
                        batch,
                    )
                )
        return found

    def search(
        self, question: str, k: int = 20, max_day: int | None = None, exclude: Collection[str] = ()
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score, higher is better) of the best-matching chunks, up to `max_day`, leaving
        out the chunks of the articles in `exclude`.

        The day and article are checked on the best `k * OVERFETCH` matches rather than inside the
        query: the index cannot filter on an unindexed column without reading every matching row,
        which costs more than ranking them. Only when too few of those qualify are the matches read
        further, in order, until k do.
        """
        query = match_query(question)
        if query is None:
            return []
        sql = (
            "SELECT chunk_id, article_id, published_day, -bm25(chunks, 1.0, 0.5) FROM chunks"
            " WHERE chunks MATCH ? {filter} ORDER BY bm25(chunks, 1.0, 0.5) {limit}"
        )
        filtered = max_day is not None or bool(exclude)
        limit = k * OVERFETCH if filtered else k
        day = max_day if max_day is not None else _NO_DAY_LIMIT

        def eligible(rows: Iterable[tuple[str, str, int, float]]) -> list[tuple[str, float]]:
            kept = (
                (chunk_id, score)
                for chunk_id, article, published, score in rows
                if published <= day and article not in exclude
            )
            return list(itertools.islice(kept, k))

        with self._lock:
            rows = self._db.execute(sql.format(filter="", limit="LIMIT ?"), (query, limit)).fetchall()
            found = eligible(rows)
            if filtered and len(found) < k and len(rows) == limit:
                cursor = self._db.execute(sql.format(filter="AND published_day <= ?", limit=""), (query, day))
                found = eligible(cursor)
        return [(str(chunk_id), float(score)) for chunk_id, score in found]
