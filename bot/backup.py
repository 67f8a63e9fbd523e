"""`newsdesk export` and `newsdesk import`: everything that cannot be recomputed, as JSON lines.

An export is one record per line, each an object with a `type`:

- `header` (first): the export format, newsdesk's version, the embedding model (name, dimension and
  the vector of a probe sentence, which tells one model from another whatever its path), the chunk
  settings, whether vectors are included, and how many articles follow;
- `article`: every field of a stored article, its body and identity (id, content hash), and with
  `--with-vectors` its chunks with their vectors and their sentences' vectors;
- `duplicate`: an article left out as a near-duplicate of a stored one (id, content hash, which one
  it repeats; its vector with `--with-vectors`);
- `feed`: a followed feed and its state (what the last refreshes saw);
- `row`: a row of one of the data dir's SQLite files (follows and alerts sent, answers and votes);
- `end` (last): the counts, so a cut-off file is told from a whole one.

Export streams, a page of articles at a time, so memory stays flat whatever the store's size.
Import restores into whatever store is configured (embedded or a Chroma server): articles through
the ingest pipeline, re-embedded with the configured model, or, with `--with-vectors` when the model
and chunk settings match the export's, written with the exported vectors (no embedding at all).
Everything is keyed (article id and content hash, feed URL, table keys), so a second import changes
nothing and an interrupted one is finished by running it again.
"""

from __future__ import annotations

import base64
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

import numpy as np

from bot.alerts import FollowStore
from bot.feedback import FeedbackStore
from ingest import Feed, FeedError, FeedStore, Ingestor, IngestReport, IngestSettings, LoadFailure
from store import Article, Chunk, EmbeddedArticle, KnowledgeBase, StoredDuplicate
from store.records import pack_vectors, unpack_vectors
from store.sqlite import SqliteFile

logger = logging.getLogger(__name__)

FORMAT = 1
MAX_LINE_BYTES = 32_000_000
"""Longest record read (an article at the size limits, with vectors, is about 1.5 MB)."""
PROBE = "Newsdesk checks which embedding model made these vectors."
SAME_MODEL_COSINE = 0.99
"""Probe vectors at least this close come from the same model (bf16 and fp32 runs of one model
agree to better than 0.996; two different models are far apart)."""
DATA_FILES: tuple[type[SqliteFile], ...] = (FollowStore, FeedbackStore)

Progress = Callable[[int, int | None], None]
"""Called as `on_progress(articles_done, articles_total)`."""


class BackupError(Exception):
    """An export file that cannot be read at all (not an export, a newer format); the message says why."""


@dataclass
class ExportCounts:
    """What an export wrote."""

    articles: int = 0
    duplicates: int = 0
    feeds: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    """Rows per `file:table`."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts, as the `end` record carries them."""
        return {
            "articles": self.articles,
            "duplicates": self.duplicates,
            "feeds": self.feeds,
            "rows": dict(sorted(self.rows.items())),
        }

    def summary(self, *, articles: bool = True) -> str:
        """One line of counts."""
        rows = ", ".join(f"{count} {name}" for name, count in sorted(self.rows.items()))
        return (
            (f"{self.articles} articles, " if articles else "")
            + f"{self.duplicates} duplicates, {self.feeds} feeds, "
            + (f"rows: {rows}" if rows else "no rows")
        )


@dataclass
class ImportReport:
    """What an import did: the articles as `ingest` reports them, and the rest restored or kept."""

    articles: IngestReport
    restored: ExportCounts
    """Duplicates, feeds and rows added (what was already there is not counted)."""
    vectors_used: bool
    complete: bool
    """Whether the file ended with its `end` record (else it was cut off)."""
    failed: list[LoadFailure] = field(default_factory=list)
    """Records that could not be restored, with the line they were on."""

    @property
    def ok(self) -> bool:
        """Whether everything in the file was restored."""
        return self.complete and not self.failed and self.articles.ok


# ----------------------------------------------------------------------------- the model's signature


def model_signature(kb: KnowledgeBase) -> dict[str, Any]:
    """Which model makes this store's vectors: its folder name, dimension and a probe vector."""
    path = kb.embeddings.model_path
    probe = kb.embeddings.encode([PROBE])[0]
    return {
        "name": path.name if path else "all-MiniLM-L6-v2 (bundled)",
        "dimension": int(probe.shape[0]),
        "probe": [round(float(x), 5) for x in probe],
    }


def same_model(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two signatures come from the same model (see `SAME_MODEL_COSINE`)."""
    try:
        x, y = np.asarray(a["probe"], np.float32), np.asarray(b["probe"], np.float32)
    except (KeyError, TypeError, ValueError):
        return False
    if x.shape != y.shape or x.ndim != 1:
        return False
    return float(x @ y / ((np.linalg.norm(x) * np.linalg.norm(y)) or 1.0)) >= SAME_MODEL_COSINE


def chunk_settings(settings: IngestSettings) -> dict[str, int]:
    """The settings that decide how articles are cut into chunks."""
    return {"chunk_tokens": settings.chunk_tokens, "chunk_overlap": settings.chunk_overlap}


# ----------------------------------------------------------------------------- export


def export(
    kb: KnowledgeBase,
    data_dir: Path,
    out: IO[str],
    settings: IngestSettings,
    *,
    with_vectors: bool = False,
    on_progress: Progress | None = None,
) -> ExportCounts:
    """Write everything the store and the data dir hold that cannot be recomputed to `out`."""
    counts = ExportCounts()
    total = kb.articles.count()

    def write(record: dict[str, Any]) -> None:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")

    write(
        {
            "type": "header",
            "format": FORMAT,
            "newsdesk": version("newsdesk"),
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "model": model_signature(kb),
            "chunking": chunk_settings(settings),
            "vectors": with_vectors,
            "articles": total,
        }
    )
    for record, embedded in kb.iter_articles(with_chunks=with_vectors):
        line: dict[str, Any] = {
            "type": "article",
            "id": record.id,
            "title": record.title,
            "body": record.body,
            "url": record.url,
            "source": record.source,
            "published_at": record.published_at.isoformat() if record.published_at else None,
            "origin": record.origin,
            "ingested_at": record.ingested_at or None,
            "content_hash": record.content_hash,
        }
        if embedded is not None:
            line["chunks"] = [
                {
                    "position": chunk.position,
                    "text": chunk.text,
                    "spans": [list(span) for span in chunk.sentence_spans],
                    "vector": _pack_exact(vector),
                    "sentences": pack_vectors(sentences),
                }
                for chunk, vector, sentences in zip(
                    embedded.chunks, embedded.vectors, embedded.sentence_vectors, strict=True
                )
            ]
        write(line)
        counts.articles += 1
        if on_progress:
            on_progress(counts.articles, total)
    for duplicate in kb.iter_duplicates():
        line = {
            "type": "duplicate",
            "id": duplicate.id,
            "content_hash": duplicate.content_hash,
            "duplicate_of": duplicate.duplicate_of,
            "origin": duplicate.origin,
        }
        if with_vectors and duplicate.vector is not None:
            line["vector"] = _pack_exact(duplicate.vector)
        write(line)
        counts.duplicates += 1
    feeds = FeedStore.in_data_dir(data_dir)
    for feed in feeds.list():
        write({"type": "feed", "feed": feed.to_json()})
        counts.feeds += 1
    for kind in DATA_FILES:
        if not (data_dir / kind.FILE).exists():
            continue
        data = kind.in_data_dir(data_dir)
        try:
            for table, row in data.dump():
                write({"type": "row", "file": kind.FILE, "table": table, "row": row})
                counts.rows[f"{kind.FILE}:{table}"] += 1
        finally:
            data.close()
    write({"type": "end", "counts": counts.as_dict()})
    return counts


def _pack_exact(vector: np.ndarray) -> str:
    """A vector exactly, as base64 of its float32 bytes."""
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def _unpack_exact(text: str, dimension: int) -> np.ndarray:
    vector = np.frombuffer(base64.b64decode(text, validate=True), dtype="<f4").astype(np.float32)
    if vector.shape != (dimension,):
        raise ValueError(f"a vector of {vector.size} numbers where the model makes {dimension}")
    return vector


# ----------------------------------------------------------------------------- import


@dataclass
class _Reader:
    """Reads an export's records one by one, noting where each came from and what failed."""

    stream: IO[str]
    name: str
    failed: list[LoadFailure] = field(default_factory=list)
    line: int = 0
    complete: bool = False

    def records(self) -> Iterator[dict[str, Any]]:
        while text := self.stream.readline(MAX_LINE_BYTES):
            self.line += 1
            if not text.endswith("\n") and len(text) >= MAX_LINE_BYTES:
                self.fail(f"record longer than {MAX_LINE_BYTES:,} characters")
                while (rest := self.stream.readline(MAX_LINE_BYTES)) and not rest.endswith("\n"):
                    pass
                continue
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                self.fail(f"not JSON ({error.msg})")
                continue
            if not isinstance(record, dict) or not isinstance(record.get("type"), str):
                self.fail("not an export record (no type)")
                continue
            if record["type"] == "end":
                self.complete = True
                return
            yield record

    @property
    def where(self) -> str:
        return f"{self.name}:{self.line}"

    def fail(self, reason: str) -> None:
        self.failed.append(LoadFailure(self.where, reason))


def read_header(stream: IO[str], name: str) -> dict[str, Any]:
    """The header of an export; raises BackupError when the file is not one newsdesk can read."""
    first = stream.readline(MAX_LINE_BYTES)
    try:
        header = json.loads(first)
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("type") != "header":
        raise BackupError(f"{name} is not a newsdesk export (its first line is no header)")
    if header.get("format") != FORMAT:
        raise BackupError(
            f"{name} is an export of format {header.get('format')!r}; this newsdesk reads format {FORMAT}"
        )
    return header


def import_(
    stream: IO[str],
    name: str,
    ingestor: Ingestor,
    data_dir: Path,
    *,
    with_vectors: bool = False,
    on_progress: Progress | None = None,
    on_note: Callable[[str], None] | None = None,
) -> ImportReport:
    """Restore an export into the ingestor's store and `data_dir` (see the module's docstring)."""
    header = read_header(stream, name)
    reader = _Reader(stream, name, line=1)
    kb = ingestor.kb
    use_vectors = False
    if with_vectors:
        reason = _vectors_refused(header, kb, ingestor.settings)
        use_vectors = reason is None
        if reason and on_note:
            on_note(f"vectors not used, every article is embedded again: {reason}")
    dimension = kb.embeddings.dimension
    total = header.get("articles") if isinstance(header.get("articles"), int) else None
    restored = ExportCounts()
    duplicates: list[tuple[str, dict[str, Any]]] = []  # stored once every article is
    feeds = FeedStore.in_data_dir(data_dir)
    data_files = _DataFiles(data_dir)

    def articles() -> Iterator[Article | EmbeddedArticle]:
        for record in reader.records():
            kind = record["type"]
            try:
                if kind == "article":
                    yield _article(record, dimension if use_vectors else None)
                elif kind == "duplicate":
                    duplicates.append((reader.where, record))
                elif kind == "feed":
                    restored.feeds += feeds.merge([Feed.from_json(record["feed"])])
                elif kind == "row":
                    restored.rows.update(data_files.restore(record))
                else:
                    reader.fail(f"unknown record type {kind!r}")
            except (KeyError, TypeError, ValueError, FeedError) as error:
                named = f"{kind} {str(record['id'])[:80]!r}" if record.get("id") else kind
                reader.fail(f"{named}: {error}")

    try:
        report = ingestor.restore(
            articles(), on_progress=lambda done, _: on_progress(done, total) if on_progress else None
        )
    finally:
        data_files.close()
    restored.duplicates = _restore_duplicates(kb, duplicates, reader, dimension, use_vectors)
    if not reader.complete:
        reader.failed.append(
            LoadFailure(
                name, "the file ends without its end record: it was cut off, so this import is partial"
            )
        )
    return ImportReport(report, restored, use_vectors, reader.complete, reader.failed)


def _vectors_refused(header: dict[str, Any], kb: KnowledgeBase, settings: IngestSettings) -> str | None:
    """Why the export's vectors cannot be used in this store, or None when they can."""
    if not header.get("vectors"):
        return "the export was made without --with-vectors"
    if not same_model(header.get("model") or {}, model_signature(kb)):
        return f"it was made with another embedding model ({(header.get('model') or {}).get('name')})"
    if header.get("chunking") != chunk_settings(settings):
        theirs, ours = header.get("chunking") or {}, chunk_settings(settings)
        return (
            f"it was chunked differently (chunk_tokens {theirs.get('chunk_tokens')}, chunk_overlap "
            f"{theirs.get('chunk_overlap')}; here {ours['chunk_tokens']} and {ours['chunk_overlap']})"
        )
    return None


def _article(record: dict[str, Any], dimension: int | None) -> Article | EmbeddedArticle:
    """An article record as the store takes it; with `dimension`, with its exported vectors."""
    published = record.get("published_at")
    article = Article(
        id=_text(record, "id"),
        title=_text(record, "title"),
        body=_text(record, "body"),
        url=record.get("url") or None,
        source=record.get("source") or None,
        published_at=date.fromisoformat(published) if published else None,
        origin=str(record.get("origin") or ""),
        ingested_at=record.get("ingested_at") or None,
    )
    if article.content_hash != record.get("content_hash"):
        raise ValueError("its fields do not match its content_hash (the record was changed or damaged)")
    if dimension is None:
        return article
    parts = record["chunks"]
    if not isinstance(parts, list) or not parts:
        raise ValueError("no chunks with vectors")
    chunks = [
        Chunk(
            article_id=article.id,
            content_hash=article.content_hash,
            position=int(part["position"]),
            text=str(part["text"]),
            title=article.title,
            url=article.url,
            source=article.source,
            published_at=article.published_at,
            sentence_spans=tuple((int(start), int(end)) for start, end in part["spans"]),
        )
        for part in parts
    ]
    return EmbeddedArticle(
        article,
        chunks,
        np.stack([_unpack_exact(str(part["vector"]), dimension) for part in parts]),
        [unpack_vectors(str(part["sentences"]), dimension) for part in parts],
    )


def _text(record: dict[str, Any], key: str) -> str:
    value = record[key]
    if not isinstance(value, str) or (key != "body" and not value):
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _restore_duplicates(
    kb: KnowledgeBase,
    records: list[tuple[str, dict[str, Any]]],
    reader: _Reader,
    dimension: int,
    use_vectors: bool,
) -> int:
    items = []
    for where, record in records:
        try:
            vector = record.get("vector") if use_vectors else None
            items.append(
                StoredDuplicate(
                    id=str(record["id"]),
                    content_hash=str(record["content_hash"]),
                    duplicate_of=str(record["duplicate_of"]),
                    origin=str(record.get("origin") or ""),
                    vector=_unpack_exact(str(vector), dimension) if vector else None,
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            reader.failed.append(LoadFailure(where, f"duplicate: {error}"))
    known = kb.known_duplicates(item.id for item in items)
    todo = [item for item in items if known.get(item.id, ("",))[0] != item.content_hash]
    return kb.restore_duplicates(todo) if todo else 0


class _DataFiles:
    """The data dir's SQLite files, opened as rows for them arrive."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.kinds = {kind.FILE: kind for kind in DATA_FILES}
        self.opened: dict[str, SqliteFile] = {}

    def restore(self, record: dict[str, Any]) -> Counter[str]:
        """Restore one `row` record; raises ValueError when it does not fit."""
        kind = self.kinds.get(str(record.get("file")))
        row = record.get("row")
        if kind is None:
            raise ValueError(f"a row of an unknown file {str(record.get('file'))[:80]!r}")
        if not isinstance(row, dict):
            raise ValueError("a row that is not an object")
        if kind.FILE not in self.opened:
            self.opened[kind.FILE] = kind.in_data_dir(self.data_dir)
        table = str(record.get("table"))
        return (
            Counter({f"{kind.FILE}:{table}": 1}) if self.opened[kind.FILE].restore(table, row) else Counter()
        )

    def close(self) -> None:
        for data in self.opened.values():
            data.close()
