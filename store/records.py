"""The small typed values the store is made of: articles, their chunks and search hits."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import numpy as np

CHUNK_ID_SEPARATOR = "#"


def day_number(day: date) -> int:
    """A date as the integer YYYYMMDD, which Chroma can compare in `where` filters (0: undated)."""
    return day.year * 10000 + day.month * 100 + day.day


def day_from_number(number: int) -> date:
    """The inverse of `day_number`."""
    return date(number // 10000, number // 100 % 100, number % 100)


@dataclass(frozen=True)
class Article:
    """One news article as loaded from a source, before chunking."""

    id: str
    title: str
    body: str
    url: str | None = None
    source: str | None = None
    published_at: date | None = None
    origin: str = ""
    """Where it was loaded from (file, file:line or URL); for reports, not part of the content."""
    ingested_at: str | None = field(default=None, compare=False)
    """When it was first stored (ISO 8601), kept by a restore from `newsdesk export`; None: now."""

    content_hash: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256()
        for part in (self.title, self.body, self.url or "", self.source or "", str(self.published_at or "")):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        object.__setattr__(self, "content_hash", digest.hexdigest())


@dataclass(frozen=True)
class Chunk:
    """A passage of an article small enough to embed, carrying what is needed to cite it alone."""

    article_id: str
    content_hash: str
    position: int
    text: str
    title: str
    url: str | None = None
    source: str | None = None
    published_at: date | None = None
    sentence_spans: tuple[tuple[int, int], ...] = ()
    """(start, end) of each sentence in `text`: the units an extractive answer quotes."""

    @property
    def id(self) -> str:
        """Chunk ids name their article version, so a new version never overwrites the old one."""
        return CHUNK_ID_SEPARATOR.join((self.article_id, self.content_hash[:16], str(self.position)))

    @property
    def embedding_text(self) -> str:
        """What is embedded: the title gives a passage the context its sentences assume."""
        return f"{self.title}\n{self.text}"

    @property
    def embedding_spans(self) -> list[tuple[int, int]]:
        """Sentence spans shifted to their place in `embedding_text`."""
        shift = len(self.title) + 1
        return [(start + shift, end + shift) for start, end in self.sentence_spans]

    @property
    def sentences(self) -> list[str]:
        """The sentences of the chunk, exactly as they stand in the article."""
        return [self.text[start:end] for start, end in self.sentence_spans] or [self.text]

    def metadata(self) -> dict[str, Any]:
        """Chroma metadata: every article field, so a hit can be cited without another lookup."""
        return _citation_metadata(self.title, self.url, self.source, self.published_at) | {
            "article_id": self.article_id,
            "content_hash": self.content_hash,
            "position": self.position,
            "sentence_spans": ",".join(f"{start}:{end}" for start, end in self.sentence_spans),
        }

    @classmethod
    def from_metadata(cls, text: str, meta: Mapping[str, Any]) -> Chunk:
        """Rebuild a chunk from what Chroma returns."""
        spans = str(meta.get("sentence_spans") or "")
        return cls(
            article_id=str(meta["article_id"]),
            content_hash=str(meta["content_hash"]),
            position=int(meta["position"]),
            text=text,
            sentence_spans=tuple(
                (int(start), int(end))
                for start, end in (span.split(":") for span in spans.split(",") if span)
            ),
            **_citation_fields(meta),
        )


def int8_vectors(vectors: np.ndarray) -> bytes:
    """Unit vectors as compact bytes: int8, each vector scaled so that its largest component is ±127.

    Decoding renormalises, so the scale need not be kept; and encoding what was decoded gives the same
    bytes again (the largest component is ±127 both times), as it does for any coarser `packed_vectors`
    row: an export and import of a store's sentence vectors (`newsdesk export --with-vectors`) gives
    back the vectors it stored, not a copy rounded twice. Rows written with the fixed scale of
    earlier versions (x127) decode the same way."""
    vectors = np.asarray(vectors, dtype=np.float32)
    largest = np.abs(vectors).max(axis=-1, keepdims=True) if vectors.size else np.ones((0, 1), np.float32)
    return np.round(vectors * (127 / np.where(largest == 0, 1, largest))).astype(np.int8).tobytes()


def vectors_from_int8(data: bytes, dimension: int) -> np.ndarray:
    """The inverse of `int8_vectors`, renormalised to unit length."""
    vectors = np.frombuffer(data, dtype=np.int8).astype(np.float32).reshape(-1, dimension)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def packed_vectors(vectors: np.ndarray, bits: int = 6) -> bytes:
    """Unit vectors in `bits` (2-7) bits a component: a byte saying `bits`, then per vector its scale
    (float32: its largest component over the largest level) and its components rounded to the levels
    -(2**(bits-1) - 1)..2**(bits-1) - 1, packed bit by bit.

    A row whose length would read as `int8_vectors` (possible for some dimensions) is written as
    that instead, so `vectors_from_bytes` tells them apart by length.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    count, dimension = vectors.shape if vectors.ndim == 2 else (0, 0)
    size = 1 + count * (4 + (dimension * bits + 7) // 8)
    if not dimension or size % dimension == 0:
        return int8_vectors(vectors)
    top = 2 ** (bits - 1) - 1
    scales = np.abs(vectors).max(axis=1, keepdims=True) / top
    levels = np.clip(np.round(vectors / np.where(scales == 0, 1, scales)), -top, top).astype(np.int16) + top
    codes = np.unpackbits(levels.astype(np.uint8)[..., None], axis=-1)[..., 8 - bits :]
    packed = np.packbits(codes.reshape(count, dimension * bits), axis=1)
    rows = np.concatenate([scales.astype(np.float32).view(np.uint8), packed], axis=1)
    return bytes([bits]) + rows.tobytes()


def vectors_from_bytes(blobs: Sequence[bytes], dimension: int) -> list[np.ndarray]:
    """The inverse of `packed_vectors` (or of `int8_vectors`: rows written before it), unit length,
    for each blob. The packed blobs of one width are decoded together: a search reads the sentence
    vectors of some 60 chunks, and numpy's fixed cost per call was most of the work when they were
    decoded one by one."""
    decoded: list[np.ndarray | None] = [None] * len(blobs)
    widths: dict[int, list[int]] = {}
    for index, data in enumerate(blobs):
        if len(data) % dimension == 0:
            decoded[index] = vectors_from_int8(data, dimension)
        else:
            widths.setdefault(data[0], []).append(index)
    for bits, indices in widths.items():
        top = 2 ** (bits - 1) - 1
        width = 4 + (dimension * bits + 7) // 8
        parts = [np.frombuffer(blobs[i], dtype=np.uint8, offset=1).reshape(-1, width) for i in indices]
        rows = np.concatenate(parts)
        scales = rows[:, :4].copy().view(np.float32)
        codes = np.unpackbits(rows[:, 4:], axis=1)[:, : dimension * bits].reshape(len(rows), dimension, bits)
        levels = codes @ (1 << np.arange(bits - 1, -1, -1)).astype(np.float32) - top
        vectors = levels * scales
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors /= np.where(norms == 0, 1, norms)
        offsets = np.cumsum([0, *(len(part) for part in parts)])
        for index, start, end in zip(indices, offsets[:-1], offsets[1:], strict=True):
            decoded[index] = vectors[start:end]
    return cast(list[np.ndarray], decoded)  # every blob decoded above


def pack_vectors(vectors: np.ndarray) -> str:
    """Unit vectors as compact text for Chroma metadata: `int8_vectors`, base64."""
    return base64.b64encode(int8_vectors(vectors)).decode("ascii")


def unpack_vectors(text: str, dimension: int) -> np.ndarray:
    """The inverse of `pack_vectors`, renormalised to unit length."""
    return vectors_from_int8(base64.b64decode(text), dimension)


def parse_chunk_id(chunk_id: str) -> tuple[str, str, int]:
    """Split a chunk id into (article id, short content hash, position)."""
    article_id, short_hash, position = chunk_id.rsplit(CHUNK_ID_SEPARATOR, 2)
    return article_id, short_hash, int(position)


@dataclass(frozen=True)
class ArticleRecord:
    """An article as the store keeps it: its fields plus bookkeeping of the stored version."""

    id: str
    title: str
    body: str
    content_hash: str
    chunk_count: int
    url: str | None = None
    source: str | None = None
    published_at: date | None = None
    origin: str = ""
    ingested_at: str = ""

    def article(self) -> Article:
        """The article this record stores (its content hash is recomputed, and equal)."""
        return Article(
            id=self.id,
            title=self.title,
            body=self.body,
            url=self.url,
            source=self.source,
            published_at=self.published_at,
            origin=self.origin,
            ingested_at=self.ingested_at or None,
        )

    @classmethod
    def from_metadata(cls, article_id: str, body: str | None, meta: Mapping[str, Any]) -> ArticleRecord:
        """Rebuild a record from what Chroma returns for the articles collection."""
        return cls(
            id=article_id,
            body=body or "",
            content_hash=str(meta.get("content_hash", "")),
            chunk_count=int(meta.get("chunk_count", 0)),
            origin=str(meta.get("origin", "")),
            ingested_at=str(meta.get("ingested_at", "")),
            **_citation_fields(meta),
        )


def article_metadata(article: Article, chunk_count: int, ingested_at: str) -> dict[str, Any]:
    """Chroma metadata of an article's record: its fields and the bookkeeping of this version
    (`ingested_at` unless the article carries its own)."""
    meta = _citation_metadata(article.title, article.url, article.source, article.published_at) | {
        "content_hash": article.content_hash,
        "chunk_count": chunk_count,
        "ingested_at": article.ingested_at or ingested_at,
    }
    if article.origin:
        meta["origin"] = article.origin
    return meta


def _citation_metadata(
    title: str, url: str | None, source: str | None, published_at: date | None
) -> dict[str, Any]:
    """The fields a citation shows, as Chroma metadata (which has no None and no dates).

    `published_day` (YYYYMMDD, 0 when undated) is what date filters compare.
    """
    meta: dict[str, Any] = {
        "title": title,
        "published_day": day_number(published_at) if published_at else 0,
    }
    if url:
        meta["url"] = url
    if source:
        meta["source"] = source
    if published_at:
        meta["published_at"] = published_at.isoformat()
    return meta


def _citation_fields(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of `_citation_metadata`: title, url, source and published_at."""
    published = meta.get("published_at")
    return {
        "title": str(meta.get("title", "")),
        "url": meta.get("url"),
        "source": meta.get("source"),
        "published_at": date.fromisoformat(str(published)) if published else None,
    }
