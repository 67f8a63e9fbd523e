"""The texts of an embedded store (chunk texts and article bodies), compressed, beside Chroma.

Given documents, Chroma keeps each one three times: as a metadata string, in the index over metadata
strings, and in a trigram full-text index, none of which newsdesk reads (its keyword index is
`store.lexical`). On the dev corpus that was about 150 MB of a 340 MB store for 27 MB of text
(chunk texts, and article bodies again). Every string metadata value is kept twice too, and of a
chunk's metadata only its article and day are ever filtered on (`CHROMA_KEYS`).

So an embedded store gives Chroma no documents and only the `CHROMA_KEYS` of a chunk's metadata,
takes a chunk's citation (`ARTICLE_KEYS`) from its article's record, and keeps here, zlib-compressed,
one row per chunk (keyed by chunk id: its text and the rest of its metadata, its content hash and
sentence spans) and per article version (keyed by `body_key`: its body), so a version's rows never
overwrite the current one's. A Chroma server keeps texts and metadata in its collections, where
every client sees them; stores built before this file keep theirs there too, and are read as they
are.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from store.records import CHUNK_ID_SEPARATOR
from store.sqlite import BlobTable

_BODY = "body"
CHROMA_KEYS = frozenset({"article_id", "position", "published_day"})
"""The chunk metadata an embedded store leaves in Chroma: what `where` filters and repairs use."""
ARTICLE_KEYS = frozenset({"title", "url", "source", "published_at"})
"""The chunk metadata an embedded store keeps nowhere: the citation, read from the article record."""


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
    TABLE, KEY, VALUE, PAGE_SIZE = "texts", "key", "text", 16384

    def put(self, rows: Iterable[tuple[str, str, Mapping[str, Any]]]) -> None:
        """Store (or replace) these texts, each with the metadata kept beside it (JSON values)."""
        self._put(
            (key, zlib.compress(json.dumps([text, dict(meta)], ensure_ascii=False).encode("utf-8"), 6))
            for key, text, meta in rows
        )

    def get(self, keys: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """(text, metadata) of each of these keys that has a row."""
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for key, data in self._get(keys).items():
            text, meta = json.loads(zlib.decompress(data))
            found[key] = (str(text), dict(meta))
        return found
