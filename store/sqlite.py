"""A small SQLite file of the data dir, shared by threads and processes: the base of the bot's own
stores (readers' votes, followed topics)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Self


class SqliteFile:
    """One SQLite database with its schema, a lock for the threads of this process, and SQLite's own
    locking (waiting up to 30 s) between processes. Subclasses set `FILE` and `SCHEMA`."""

    FILE: ClassVar[str]
    """Its name in the data dir."""
    SCHEMA: ClassVar[str]
    """`CREATE ... IF NOT EXISTS` statements, run on every open."""

    def __init__(self, path: Path | None) -> None:
        """Kept in the SQLite file at `path`, or in memory when it is None (tests, no data dir)."""
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, timeout=30)
        with self._db:
            self._db.executescript(self.SCHEMA)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> Self:
        """The store kept in `<data_dir>/<FILE>`."""
        return cls(data_dir / cls.FILE)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection, for one transaction: committed on success, rolled back on error."""
        with self._lock, self._db:
            yield self._db

    def _query(self, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """The rows of one read."""
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()
