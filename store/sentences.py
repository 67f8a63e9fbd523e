"""The sentence vectors of an embedded store's chunks, as compact binary rows beside Chroma.

Every chunk carries one unit vector per sentence (the answerer ranks sentences with them). In Chroma
metadata they were base64 strings, and Chroma keeps every string metadata value twice (its table and
an index over it): on the dev corpus about 200 of the store's 376 MB. Here each chunk's vectors are
one BLOB in a SQLite table keyed by chunk id: `store.records.packed_vectors`, 6 bits a component
(292 bytes a sentence; rows written before it are int8, 384 bytes, and are read as they are). Six
bits give the dev set's answers of int8 exactly; five lost one, four two (docs/evaluation.md). Pages
of 32 KB: rows of a few KB leave half a row of each page empty, 11% of 16 KB pages.

A Chroma server keeps them in its metadata (int8, base64), where every client sees them; stores
built before this file keep theirs there too, and are read as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from store.records import packed_vectors, vectors_from_bytes
from store.sqlite import BlobTable


class SentenceVectors(BlobTable):
    """Chunk id -> that chunk's sentence vectors, in one SQLite file.

    The knowledge base writes a chunk's row before the chunk (a crash leaves only rows of versions no
    article record names, which `repair` deletes) and deletes it with the chunk.
    """

    FILE = "sentences.sqlite3"
    TABLE, KEY, VALUE, PAGE_SIZE = "sentence_vectors", "chunk_id", "vectors", 32768

    def put(self, rows: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store (or replace) these chunks' sentence vectors."""
        self._put((chunk_id, packed_vectors(vectors)) for chunk_id, vectors in rows)

    def get(self, chunk_ids: Sequence[str], dimension: int) -> dict[str, np.ndarray]:
        """The sentence vectors of each of these chunks that has a row."""
        rows = self._get(chunk_ids)
        return dict(zip(rows, vectors_from_bytes(list(rows.values()), dimension), strict=True))
