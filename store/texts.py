"""The texts of an embedded store (chunk texts and article bodies), compressed, beside Chroma.

Given documents, Chroma keeps each one three times: as a metadata string, in the index over metadata
strings, and in a trigram full-text index, none of which newsdesk reads (its keyword index is
`store.lexical`). On the dev corpus that was about 150 MB of a 340 MB store for 27 MB of text
(chunk texts, and article bodies again). An embedded store gives Chroma no documents and keeps the
texts here instead: one zlib-compressed row per chunk (keyed by chunk id) and per article version
(keyed by `body_key`), so a version's rows never overwrite the current one's. A Chroma server keeps
the texts as documents, where every client sees them; stores built before this file keep theirs
there too, and are read as they are.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

from store.records import CHUNK_ID_SEPARATOR
from store.sqlite import BlobTable

_BODY = "body"


def body_key(article_id: str, content_hash: str) -> str:
    """The key of one version of an article's body: `article#hash#body`, in the form of its chunk ids."""
    return CHUNK_ID_SEPARATOR.join((article_id, content_hash[:16], _BODY))


def version_of(key: str) -> tuple[str, str]:
    """(article id, short content hash) of a chunk id or a `body_key`."""
    article_id, short_hash, _ = key.rsplit(CHUNK_ID_SEPARATOR, 2)
    return article_id, short_hash


class Texts(BlobTable):
    """Chunk id or `body_key` -> text, in one SQLite file.

    The knowledge base writes a version's rows before its chunks (a crash leaves only rows of a
    version no article record names, which `repair` deletes) and deletes them with the version.
    """

    FILE = "texts.sqlite3"
    SCHEMA = """
    PRAGMA page_size = 16384;
    CREATE TABLE IF NOT EXISTS texts (
        key TEXT PRIMARY KEY,
        text BLOB NOT NULL
    );
    """
    TABLE, KEY, VALUE = "texts", "key", "text"

    def put(self, rows: Iterable[tuple[str, str]]) -> None:
        """Store (or replace) these texts."""
        self._put((key, zlib.compress(text.encode("utf-8"), 6)) for key, text in rows)

    def get(self, keys: Sequence[str]) -> dict[str, str]:
        """The text of each of these keys that has a row."""
        return {key: zlib.decompress(data).decode("utf-8") for key, data in self._get(keys).items()}
