"""A small SQLite file of the data dir, shared by threads and processes: the base of the bot's own
stores (readers' votes, followed topics)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Self, cast


class SqliteFile:
    """One SQLite database with its schema, a lock for the threads of this process, and SQLite's own
    locking (waiting up to 30 s) between processes. Subclasses set `FILE` and `SCHEMA`."""

    FILE: ClassVar[str]
    """Its name in the data dir."""
    SCHEMA: ClassVar[str]
    """`CREATE ... IF NOT EXISTS` statements, run on every open."""
    NATURAL_KEYS: ClassVar[dict[str, tuple[str, ...]]] = {}
    """Tables whose `id` is a mere row number: the columns that say whether a row is already there
    (a restored row gets a new `id` rather than overwrite another row's)."""

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

    def tables(self) -> dict[str, list[str]]:
        """Each table's columns."""
        with self._lock:
            names = [
                row[0]
                for row in self._db.execute(
                    "SELECT name FROM sqlite_master"
                    " WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            return {
                name: [column[1] for column in self._db.execute(f'PRAGMA table_info("{name}")')]
                for name in names
            }

    def dump(self) -> Iterator[tuple[str, dict[str, object]]]:
        """Every row of every table as (table, {column: value}), for `newsdesk export`."""
        for table, columns in self.tables().items():
            offset = 0
            while rows := self._query(
                f'SELECT * FROM "{table}" ORDER BY rowid LIMIT 1000 OFFSET ?', (offset,)
            ):
                yield from ((table, dict(zip(columns, row, strict=True))) for row in rows)
                offset += len(rows)

    def restore(self, table: str, row: dict[str, object]) -> bool:
        """Insert one row from `dump` unless it is there already; False when it was. Raises ValueError
        for a table or column this file does not have, or a row SQLite refuses."""
        columns = self.tables().get(table)
        if columns is None:
            raise ValueError(f"no table {table!r} in {self.FILE}")
        if unknown := set(row) - set(columns):
            raise ValueError(f"no column {sorted(unknown)[0]!r} in {self.FILE} table {table!r}")
        key = self.NATURAL_KEYS.get(table)
        if key is not None:
            row = {name: value for name, value in row.items() if name != "id"}
        names = ", ".join(f'"{name}"' for name in row)
        marks = ", ".join("?" for _ in row)
        try:
            with self._transaction() as db:
                if key is not None:
                    match = " AND ".join(f'"{name}" IS ?' for name in key)
                    found = db.execute(
                        f'SELECT 1 FROM "{table}" WHERE {match}', tuple(row.get(n) for n in key)
                    )
                    if found.fetchone() is not None:
                        return False
                cursor = db.execute(
                    f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({marks})', tuple(row.values())
                )
        except sqlite3.Error as error:
            raise ValueError(f"{self.FILE} table {table!r} refused the row: {error}") from error
        return cursor.rowcount > 0


class BlobTable(SqliteFile):
    """Key -> one BLOB in a table of its own: the base of an embedded store's side tables, which
    hold what Chroma would keep (several times over) as documents and metadata strings.

    Subclasses set `TABLE`, `KEY`, `VALUE` and `PAGE_SIZE`, from which their `SCHEMA` is made, and
    encode their values.
    """

    TABLE: ClassVar[str]
    KEY: ClassVar[str]
    VALUE: ClassVar[str]
    PAGE_SIZE: ClassVar[int]
    """Bytes a page, for a new file: rows of a few KB waste half a row of each page."""
    _BATCH: ClassVar[int] = 500

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.SCHEMA = f"""
        PRAGMA page_size = {cls.PAGE_SIZE};
        CREATE TABLE IF NOT EXISTS {cls.TABLE} ({cls.KEY} TEXT PRIMARY KEY, {cls.VALUE} BLOB NOT NULL);
        """

    def _put(self, rows: Iterable[tuple[str, bytes]]) -> None:
        """Store (or replace) these rows, in one transaction."""
        with self._transaction() as db:
            db.executemany(f"INSERT OR REPLACE INTO {self.TABLE} VALUES (?, ?)", rows)

    def _get(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The value of each of these keys that has a row."""
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), self._BATCH):
            batch = tuple(keys[start : start + self._BATCH])
            rows = self._query(
                f"SELECT {self.KEY}, {self.VALUE} FROM {self.TABLE}"
                f" WHERE {self.KEY} IN ({','.join('?' * len(batch))})",
                batch,
            )
            found.update((str(key), cast(bytes, value)) for key, value in rows)
        return found

    def delete(self, keys: Iterable[str]) -> None:
        """Forget these keys' rows."""
        listed = list(keys)
        with self._transaction() as db:
            for start in range(0, len(listed), self._BATCH):
                batch = listed[start : start + self._BATCH]
                db.execute(
                    f"DELETE FROM {self.TABLE} WHERE {self.KEY} IN ({','.join('?' * len(batch))})", batch
                )

    def all_keys(self) -> set[str]:
        """Every key with a row."""
        return {str(key) for (key,) in self._query(f"SELECT {self.KEY} FROM {self.TABLE}")}
