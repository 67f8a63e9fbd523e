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
FORMAT_VERSION = 3
"""How rows are normalised (`store.text.strip_thousands`) and kept (3: a contentless FTS5 table); an
index of another version is emptied on open and refilled from the store by the next sync, so text and
queries are always normalised alike."""
REBUILD_SHARE = 0.25
"""Dead FTS rows (of dropped chunks), as a share of live ones, past which `needs_rebuild` says so."""
_REBUILD_MIN = 1_000


def normalise(text: str) -> str:
    """Text as indexed and queried: numbers lose thousands separators ("300,000" -> "300000")."""
    return strip_thousands(text)


TERM_ROWS = 5_000
"""Chunks a question's word may match and still be searched for by keyword, once the index holds more
rows than this. Ranking every row a word matches is what makes BM25 slow in a large store (200k
synthetic chunks, six-word questions: the keyword search p50/p95 137/417 ms with every word, 12/27 ms
with this limit, benchmarks/README.md); a word in that many chunks says little about which of them
answer, and the dense search still reads it. On the dev corpus (16,652 chunks) it leaves out words
in more than 30% of the chunks and changed one answer (docs/evaluation.md)."""


def query_terms(question: str) -> list[str]:
    """The content words of a question, as searched (normalised, lowercase, no stopwords, once each)."""
    return list(dict.fromkeys(t for t in _TERM.findall(normalise(question).lower()) if t not in STOPWORDS))


def match_query(terms: Sequence[str]) -> str | None:
    """An FTS5 query matching any of these words (None when there are none)."""
    return " OR ".join(f'"{term}"' for term in terms) or None


class LexicalIndex:
    """Chunk text searchable with BM25; one row per chunk, tagged with its article version.

    Two tables in one SQLite file: `chunks`, the FTS5 index (text and title, BM25), and `chunk_rows`,
    an ordinary table keyed by chunk id that points at each FTS row and holds the chunk's article,
    content hash and publication day. Every lookup by chunk or article (replacing a chunk, dropping
    a version, the days of dense hits, what a match is) goes through `chunk_rows`.

    The FTS5 table is contentless (`content=''`): it keeps the index, not a third copy of the text
    (the store has it; on the dev corpus 21 of the index's 34 MB). SQLite before 3.43 cannot delete
    from such a table without the row's text, so a dropped chunk loses its `chunk_rows` entry only:
    its FTS row stays, dead, never returned (searches map rows through `chunk_rows`), and counted
    in BM25's document statistics until the store rebuilds the index, which it does once dead rows
    pass `REBUILD_SHARE` of the live ones (`needs_rebuild`).
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
            self._db.execute("BEGIN IMMEDIATE")  # two processes opening a new file: one creates it
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            emptied = version != FORMAT_VERSION
            if emptied:
                if version:  # 0: a new file, or one from before versions were recorded (also emptied)
                    logger.info("lexical index: format %s is not %s; rebuilding", version, FORMAT_VERSION)
                self._db.execute("DROP TABLE IF EXISTS chunks")
                self._db.execute("DROP TABLE IF EXISTS chunk_rows")
                self._db.execute(
                    "CREATE VIRTUAL TABLE chunks USING fts5("
                    "text, title, content='', tokenize='porter unicode61 remove_diacritics 2')"
                )
                self._db.execute(
                    "CREATE TABLE chunk_rows(chunk_id TEXT PRIMARY KEY, fts_rowid INTEGER NOT NULL UNIQUE,"
                    " article_id TEXT NOT NULL, content_hash TEXT NOT NULL, published_day INTEGER NOT NULL)"
                )
                self._db.execute("CREATE INDEX chunk_rows_article ON chunk_rows(article_id)")
                self._db.execute("CREATE INDEX chunk_rows_day ON chunk_rows(published_day)")
                self._db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        if emptied and version:
            self._db.execute("VACUUM")  # give back the pages of the tables dropped

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
                    "INSERT INTO chunks(text, title) VALUES (?, ?)",
                    (normalise(chunk.text), normalise(chunk.title)),
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
        """Drop the chunks whose `chunk_rows` entry meets a condition (in a transaction): their FTS
        rows stay, dead (see the class)."""
        self._db.execute(f"DELETE FROM chunk_rows WHERE {condition}", params)

    def dead_rows(self) -> int:
        """FTS rows of dropped chunks, still counted by BM25 until the index is rebuilt."""
        rows, live = self._row_counts()
        return rows - live

    def needs_rebuild(self) -> bool:
        """Whether dead rows have passed `REBUILD_SHARE` of the live ones (and a minimum)."""
        rows, live = self._row_counts()
        return rows - live >= _REBUILD_MIN and rows - live > REBUILD_SHARE * live

    def _row_counts(self) -> tuple[int, int]:
        """(FTS rows, live chunks), read together."""
        with self._lock:
            (rows,) = self._db.execute("SELECT count(*) FROM chunks_docsize").fetchone()
            (live,) = self._db.execute("SELECT count(*) FROM chunk_rows").fetchone()
        return int(rows), int(live)

    def optimize(self) -> None:
        """Merge the index's segments into one (FTS5 'optimize'): worth it after writing many rows."""
        with self._lock, self._db:
            self._db.execute("INSERT INTO chunks(chunks) VALUES('optimize')")

    def clear(self) -> None:
        """Empty the index."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO chunks(chunks) VALUES('delete-all')")
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

        The day, the article and whether a row is live are checked in `chunk_rows` on the best
        `k * OVERFETCH` matches (k * 1.5 without a day or articles to leave out, room for dead rows)
        rather than inside the query: FTS5 cannot filter on them without reading every matching row,
        which costs more than ranking the best few. Only when too few of those qualify are all the
        matches ranked and read, in order, until k do.
        """
        terms = query_terms(question)
        if not terms:
            return []
        sql = (
            "SELECT rowid, -bm25(chunks, 1.0, 0.5) FROM chunks WHERE chunks MATCH ?"
            " ORDER BY bm25(chunks, 1.0, 0.5)"
        )
        filtered = max_day is not None or bool(exclude)
        limit = k * OVERFETCH if filtered else k + k // 2  # room for dead rows
        day = max_day if max_day is not None else _NO_DAY_LIMIT

        def eligible(rows: Sequence[tuple[int, float]]) -> list[tuple[str, float]]:
            live = self._live([rowid for rowid, _ in rows])
            kept = []
            for rowid, score in rows:
                row = live.get(rowid)  # None: a dropped chunk's dead row
                if row is not None and row[2] <= day and row[1] not in exclude:
                    kept.append((row[0], float(score)))
            return kept

        with self._lock:
            query = match_query(self._searchable(terms))
            if query is None:  # only words too common to rank
                return []
            rows = self._db.execute(f"{sql} LIMIT ?", (query, limit)).fetchall()
            found = eligible(rows)
            if len(found) < k and len(rows) == limit:  # too few qualify: read every match, in order
                cursor = self._db.execute(sql, (query,))
                found = []
                while len(found) < k and (batch := cursor.fetchmany(_SQL_VARIABLES)):
                    found += eligible(batch)
        return found[:k]

    def _searchable(self, terms: Sequence[str]) -> list[str]:
        """The words worth a keyword search: those matching at most `TERM_ROWS` rows (under the lock).

        Each word's matches are counted only up to one past the limit (a few milliseconds), and only
        once the index has more rows than that. A question made only of such common words gets no
        keyword search: its dense search stands alone."""
        (rows,) = self._db.execute("SELECT coalesce(max(fts_rowid), 0) FROM chunk_rows").fetchone()
        if rows <= TERM_ROWS:
            return list(terms)
        count = "SELECT count(*) FROM (SELECT rowid FROM chunks WHERE chunks MATCH ? LIMIT ?)"
        return [
            term
            for term in terms
            if self._db.execute(count, (match_query([term]), TERM_ROWS + 1)).fetchone()[0] <= TERM_ROWS
        ]

    def _live(self, rowids: Sequence[int]) -> dict[int, tuple[str, str, int]]:
        """(chunk id, article id, day) of those of these FTS rows that are live (under the lock)."""
        found: dict[int, tuple[str, str, int]] = {}
        for start in range(0, len(rowids), _SQL_VARIABLES):
            batch = rowids[start : start + _SQL_VARIABLES]
            rows = self._db.execute(
                "SELECT fts_rowid, chunk_id, article_id, published_day FROM chunk_rows"
                f" WHERE fts_rowid IN ({', '.join('?' * len(batch))})",
                batch,
            )
            found.update(
                (int(rowid), (str(chunk), str(article), int(day))) for rowid, chunk, article, day in rows
            )
        return found
