"""The ingest pipeline: loaded articles to chunks, embeddings and store writes, with a report."""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ingest.chunking import Chunker
from ingest.config import IngestSettings
from ingest.loaders import Loaded, LoadFailure, LoadNote
from store.knowledge_base import EmbeddedArticle, KnowledgeBase, centroid
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
    duplicates: list[LoadFailure] = field(default_factory=list)
    """New articles not stored because a near-identical story is (see `dedupe`)."""
    notes: list[LoadNote] = field(default_factory=list)
    """Articles stored with something cut, left out or repaired (see `ArticleLimits`)."""
    chunks_written: int = 0
    repaired_chunks: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether every source was loaded."""
        return not self.failed

    def extend(self, other: IngestReport) -> None:
        """Add another run's articles, failures, notes and counts to this report."""
        for name in ("added", "updated", "unchanged", "failed", "superseded", "duplicates", "notes"):
            getattr(self, name).extend(getattr(other, name))
        self.chunks_written += other.chunks_written
        self.repaired_chunks += other.repaired_chunks
        self.seconds += other.seconds

    def summary(self) -> str:
        """One line of counts."""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            + (f"{len(self.duplicates)} duplicates, " if self.duplicates else "")
            + f"{len(self.failed)} failed"
            + (f", {len(self.notes)} {'note' if len(self.notes) == 1 else 'notes'}" if self.notes else "")
            + f" ({self.chunks_written} chunks embedded in {self.seconds:.1f}s)"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields, as `newsdesk ingest --json` prints them."""
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": [{"source": f.origin, "reason": f.reason} for f in self.failed],
            "superseded": [{"source": f.origin, "reason": f.reason} for f in self.superseded],
            "duplicates": [{"source": f.origin, "reason": f.reason} for f in self.duplicates],
            "notes": [{"source": n.origin, "note": n.note} for n in self.notes],
            "chunks_written": self.chunks_written,
            "repaired_chunks": self.repaired_chunks,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class ArticleLimits:
    """What one article may bring into the store, whatever its source.

    Text over `max_chars` is cut at the last paragraph or sentence break before it, a title over
    `max_title_chars` at a word (a title is embedded with every chunk, so a long one would crowd
    the text out of the model's window), and chunks past `max_chunks` are left out; a URL that is
    not http(s) ("javascript:...") is dropped. Each is reported as a note, and the article stored.
    """

    max_chars: int = 100_000
    max_title_chars: int = 200
    max_chunks: int = 200

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> ArticleLimits:
        """The limits the settings describe."""
        return cls(settings.max_article_chars, settings.max_title_chars, settings.max_article_chunks)

    def apply(self, article: Article) -> tuple[Article, list[LoadNote]]:
        """The article within the limits, and a note for each thing changed."""
        notes: list[str] = []
        changes: dict[str, Any] = {}
        if len(article.title) > self.max_title_chars:
            changes["title"] = _cut(article.title, self.max_title_chars - 1, breaks=(" ",)) + "…"
            notes.append(f"title over {self.max_title_chars:,} characters: shortened")
        if len(article.body) > self.max_chars:
            changes["body"] = _cut(article.body, self.max_chars, breaks=("\n\n", ". ", "\n", " "))
            notes.append(
                f"text over {self.max_chars:,} characters: only the first {len(changes['body']):,} stored"
            )
        if article.url and urlsplit(article.url).scheme.lower() not in ("http", "https"):
            changes["url"] = None
            notes.append(f"URL {article.url[:80]!r} left out: not http(s)")
        if not changes:
            return article, []
        return dataclasses.replace(article, **changes), [LoadNote(article.origin, note) for note in notes]


def _cut(text: str, limit: int, *, breaks: tuple[str, ...]) -> str:
    """At most `limit` characters of a text, ending at the last of the first break found in its
    second half (a paragraph, then a sentence, ...), else cut hard."""
    head = text[:limit]
    for mark in breaks:
        at = head.rfind(mark)
        if at >= limit // 2:
            return head[: at + (1 if mark == ". " else 0)].rstrip()
    return head


def make_chunker(kb: KnowledgeBase, settings: IngestSettings) -> Chunker:
    """A chunker that counts tokens with the store's own embedding model."""
    return Chunker(
        count_tokens=kb.embeddings.count_tokens,
        max_tokens=settings.chunk_tokens,
        overlap_tokens=settings.chunk_overlap,
    )


def is_url(source: str | Path) -> bool:
    """Whether a source names a web page rather than a file or folder."""
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def ingest_articles(
    items: Iterable[Loaded],
    kb: KnowledgeBase,
    chunker: Chunker,
    *,
    batch_size: int = 64,
    limits: ArticleLimits | None = None,
    on_progress: ProgressCallback | None = None,
    repair: bool = True,
) -> IngestReport:
    """Add new articles, replace changed ones, skip unchanged ones (no embedding), report failures.

    Every article is held to `limits` (default `ArticleLimits()`) before anything else. With
    `repair`, chunks an interrupted write left behind are removed first (`KnowledgeBase.repair`).
    """
    started = time.perf_counter()
    limits = limits or ArticleLimits()
    report = IngestReport(repaired_chunks=kb.repair() if repair else 0)
    articles: dict[str, Article] = {}
    for item in items:
        if isinstance(item, LoadFailure):
            report.failed.append(item)
            continue
        if isinstance(item, LoadNote):
            report.notes.append(item)
            continue
        item, notes = limits.apply(item)
        report.notes += notes
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
        _ingest_batch(batch, kb, chunker, report, limits.max_chunks)
        done += len(batch)
        if on_progress:
            on_progress(done, report.chunks_written)
    report.seconds = time.perf_counter() - started
    logger.info("ingest: %s", report.summary())
    return report


def _ingest_batch(
    batch: list[Article], kb: KnowledgeBase, chunker: Chunker, report: IngestReport, max_chunks: int
) -> None:
    stored = kb.stored_hashes(article.id for article in batch)
    # Copies left out earlier as near-duplicates stay out without being embedded again, while the
    # article they repeat is still stored and their text is unchanged.
    known = kb.known_duplicates(article.id for article in batch if article.id not in stored)
    originals = kb.stored_hashes(original for _, original in known.values())
    todo = []
    for article in batch:
        if stored.get(article.id) == article.content_hash:
            report.unchanged.append(article.id)
        elif (seen := known.get(article.id)) and seen[0] == article.content_hash and seen[1] in originals:
            report.duplicates.append(LoadFailure(article.origin, _same_story(seen[1])))
        else:
            todo.append(article)
    if not todo:
        return
    chunk_lists = chunker.split_many(todo)
    for index, (article, chunks) in enumerate(zip(todo, chunk_lists, strict=True)):
        if len(chunks) > max_chunks:
            chunk_lists[index] = chunks[:max_chunks]
            report.notes.append(
                LoadNote(article.origin, f"{len(chunks):,} chunks: only the first {max_chunks:,} stored")
            )
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
    report.chunks_written += len(flat)
    kept, repeats = dedupe(writes, stored, kb)
    for item in kept:
        (report.updated if item.article.id in stored else report.added).append(item.article.id)
    report.duplicates += [
        LoadFailure(item.article.origin, _same_story(original)) for item, original in repeats
    ]
    kb.write_many(kept)
    kb.remember_duplicates([(item.article, centroid(item.vectors), original) for item, original in repeats])
    logger.debug("ingest: wrote batch of %d articles (%d chunks)", len(todo), len(flat))


def store_embedded(items: Sequence[EmbeddedArticle], kb: KnowledgeBase, report: IngestReport) -> None:
    """Store article versions that come with their chunks and vectors (a restore from an export made
    with the same model and chunk settings): nothing is embedded; unchanged ones are skipped."""
    stored = kb.stored_hashes(item.article.id for item in items)
    todo = []
    for item in items:
        if stored.get(item.article.id) == item.article.content_hash:
            report.unchanged.append(item.article.id)
        else:
            (report.updated if item.article.id in stored else report.added).append(item.article.id)
            todo.append(item)
    kb.write_many(todo)


NEAR_DUPLICATE_COSINE = 0.95
NEAR_DUPLICATE_JACCARD = 0.8
_SHINGLE = 5


def shingles(text: str) -> set[tuple[str, ...]]:
    """The overlapping 5-word runs of a text, lowercased, punctuation ignored."""
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + _SHINGLE]) for i in range(max(1, len(words) - _SHINGLE + 1))}


def near_identical(a: str, b: str) -> bool:
    """Whether two bodies share at least 80% of their 5-word shingles (Jaccard)."""
    first, second = shingles(a), shingles(b)
    return len(first & second) / max(1, len(first | second)) >= NEAR_DUPLICATE_JACCARD


def dedupe(
    writes: list[EmbeddedArticle], stored: dict[str, str], kb: KnowledgeBase
) -> tuple[list[EmbeddedArticle], list[tuple[EmbeddedArticle, str]]]:
    """Split new articles that are the same story as a stored or earlier one under another identity.

    The rule: a *new* article (its id is not stored: a wire copy under another URL, say) whose
    mean chunk vector is within cosine 0.95 of a stored article's, and whose text shares at least
    80% of its 5-word shingles with it (Jaccard), is that story again and is not stored. Updates
    of a known article are never dropped: a correction keeps its identity. Cosine finds the
    candidates cheaply; Jaccard decides, so two different reports of one event, which share
    facts but not wording, are both kept.

    Returns the articles to store, and each left-out one with the id of the article it repeats.
    """
    kept: list[EmbeddedArticle] = []
    repeats: list[tuple[EmbeddedArticle, str]] = []
    for item in writes:
        article = item.article
        if article.id in stored:
            kept.append(item)
            continue
        vector = centroid(item.vectors)
        earlier = [
            (other.article.id, other.article.body)
            for other in kept
            if other.article.id not in stored
            and float(centroid(other.vectors) @ vector) >= NEAR_DUPLICATE_COSINE
        ]
        similar = [
            (r.id, r.body) for r, score in kb.similar_articles(vector) if score >= NEAR_DUPLICATE_COSINE
        ]
        match = next(
            (other for other, body in [*earlier, *similar] if near_identical(article.body, body)), None
        )
        if match is None:
            kept.append(item)
        else:
            repeats.append((item, match))
    return kept, repeats


def _same_story(original: str) -> str:
    return f"same story as {original} (near-identical text)"
