"""The ingest pipeline: loaded articles to chunks, embeddings and store writes, with a report."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.chunking import Chunker
from ingest.config import IngestSettings
from ingest.loaders import Loaded, LoadFailure, load_paths
from store.knowledge_base import EmbeddedArticle, KnowledgeBase
from store.records import Article

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""Called as `on_progress(articles_done, chunks_embedded)` after each step of work."""


@dataclass
class IngestReport:
    """What an ingest run did, article by article."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[LoadFailure] = field(default_factory=list)
    superseded: list[LoadFailure] = field(default_factory=list)
    """Earlier copies of an article that appeared again later in the same run."""
    chunks_written: int = 0
    repaired_chunks: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether every source was loaded."""
        return not self.failed

    def summary(self) -> str:
        """One line of counts."""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.failed)} failed ({self.chunks_written} chunks embedded in {self.seconds:.1f}s)"
        )


def make_chunker(kb: KnowledgeBase, settings: IngestSettings) -> Chunker:
    """A chunker that counts tokens with the store's own embedding model."""
    return Chunker(
        count_tokens=kb.embeddings.count_tokens,
        max_tokens=settings.chunk_tokens,
        overlap_tokens=settings.chunk_overlap,
    )


def ingest_paths(
    paths: Sequence[Path],
    kb: KnowledgeBase,
    settings: IngestSettings,
    *,
    on_progress: ProgressCallback | None = None,
    on_loaded: Callable[[int], None] | None = None,
) -> IngestReport:
    """Load every article under `paths` and bring the store up to date with them."""
    loaded = list(load_paths(paths, max_bytes=int(settings.max_file_mb * 1_000_000)))
    if on_loaded:
        on_loaded(sum(isinstance(item, Article) for item in loaded))
    return ingest_articles(
        loaded, kb, make_chunker(kb, settings), batch_size=settings.ingest_batch, on_progress=on_progress
    )


def ingest_articles(
    items: Iterable[Loaded],
    kb: KnowledgeBase,
    chunker: Chunker,
    *,
    batch_size: int = 64,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    """Add new articles, replace changed ones, skip unchanged ones (no embedding), report failures."""
    started = time.perf_counter()
    report = IngestReport(repaired_chunks=kb.repair())
    articles: dict[str, Article] = {}
    for item in items:
        if isinstance(item, LoadFailure):
            report.failed.append(item)
            continue
        earlier = articles.pop(item.id, None)
        if earlier is not None:
            report.superseded.append(
                LoadFailure(earlier.origin, f"same article ({item.id}) as {item.origin}, which was used")
            )
        articles[item.id] = item
    done = 0
    ordered = list(articles.values())
    for start in range(0, len(ordered), batch_size):
        batch = ordered[start : start + batch_size]
        _ingest_batch(batch, kb, chunker, report)
        done += len(batch)
        if on_progress:
            on_progress(done, report.chunks_written)
    report.seconds = time.perf_counter() - started
    logger.info("ingest: %s", report.summary())
    return report


def _ingest_batch(batch: list[Article], kb: KnowledgeBase, chunker: Chunker, report: IngestReport) -> None:
    stored = kb.stored_hashes(article.id for article in batch)
    todo = []
    for article in batch:
        if stored.get(article.id) == article.content_hash:
            report.unchanged.append(article.id)
        else:
            todo.append(article)
    if not todo:
        return
    chunk_lists = chunker.split_many(todo)
    flat = [chunk for chunks in chunk_lists for chunk in chunks]
    vectors, sentence_vectors = kb.embeddings.encode_passages(
        [chunk.embedding_text for chunk in flat], [chunk.embedding_spans for chunk in flat]
    )
    writes = []
    offset = 0
    for article, chunks in zip(todo, chunk_lists, strict=True):
        end = offset + len(chunks)
        writes.append(EmbeddedArticle(article, chunks, vectors[offset:end], sentence_vectors[offset:end]))
        offset = end
        (report.updated if article.id in stored else report.added).append(article.id)
    kb.write_many(writes)
    report.chunks_written += len(flat)
    logger.debug("ingest: wrote batch of %d articles (%d chunks)", len(todo), len(flat))
