"""The store an evaluation corpus is ingested into: built once, keyed by content, then reused."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.evaluation.questions import EvalDataError
from ingest import Ingestor, IngestSettings
from store import KnowledgeBase, StoreSettings, open_knowledge_base
from store.embeddings import SentenceTransformerEmbeddings, bundled_model_path

Progress = Callable[[int, int], None]
"""Called as `on_progress(articles_done, chunks_embedded)` while the corpus is ingested."""


@dataclass(frozen=True)
class CorpusStore:
    """The store an evaluation corpus was ingested into, and what preparing it cost in this run."""

    corpus: str
    """The corpus's files and folders, as given."""
    key: str
    location: str
    articles: int
    """Articles the store holds."""
    duplicates: int
    """Articles of the corpus not stored because a near-identical story is (see `ingest.dedupe`)."""
    reused: bool
    """Whether an earlier run had built the store, so this one loaded and embedded nothing."""
    chunks_written: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line: the corpus, its size, and whether the store was reused."""
        state = "store reused, nothing embedded" if self.reused else f"{self.chunks_written} chunks embedded"
        dropped = f", {self.duplicates} near-duplicates left out" if self.duplicates else ""
        return f"corpus {self.corpus}: {self.articles} articles{dropped} ({state}) in {self.location}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "corpus": self.corpus,
            "key": self.key,
            "location": self.location,
            "articles": self.articles,
            "duplicates": self.duplicates,
            "reused": self.reused,
            "chunks_written": self.chunks_written,
            "seconds": round(self.seconds, 2),
        }


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def corpus_digest(corpus: Sequence[Path]) -> str:
    """SHA-256 of a corpus: its one file's bytes, or the names and bytes of every file under its paths."""
    files = [path for path in corpus if path.is_file()] + [
        file for path in corpus if path.is_dir() for file in sorted(path.rglob("*")) if file.is_file()
    ]
    if len(files) == 1 and len(corpus) == 1:
        return file_digest(files[0])
    digest = hashlib.sha256()
    for file in sorted(files, key=lambda f: f.name):
        digest.update(f"{file.name}\x00{file_digest(file)}\x00".encode())
    return digest.hexdigest()


def corpus_key(corpus: Path | Sequence[Path], ingest_settings: IngestSettings, model: str) -> str:
    """A key naming what a corpus store holds: the corpus's content, the chunking and the model.

    The content, not the path or modification time: a copy or a fresh checkout of the same corpus
    reuses its store instead of embedding it all again.
    """
    parts = (
        corpus_digest([corpus] if isinstance(corpus, Path) else corpus),
        f"chunk_tokens={ingest_settings.chunk_tokens}",
        f"chunk_overlap={ingest_settings.chunk_overlap}",
        model,
    )
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


def corpus_store_settings(
    corpus: Path | Sequence[Path], store_settings: StoreSettings, ingest_settings: IngestSettings
) -> tuple[StoreSettings, str]:
    """Settings of the corpus's own store, `<data_dir>/eval/<key>` (or keyed collections on a server)."""
    model = str(store_settings.embedding_model or bundled_model_path())
    key = corpus_key(corpus, ingest_settings, model)
    update: dict[str, Any] = {"data_dir": store_settings.data_dir / "eval" / key}
    if store_settings.chroma_url:
        update["collection"] = f"{store_settings.collection}-eval-{key}"
    return store_settings.model_copy(update=update), key


def open_corpus_store(
    corpus: Path | Sequence[Path],
    store_settings: StoreSettings,
    ingest_settings: IngestSettings,
    *,
    embeddings: SentenceTransformerEmbeddings | None = None,
    on_progress: Progress | None = None,
) -> tuple[KnowledgeBase, CorpusStore]:
    """The corpus's own store: built by the first run, then reused as it is, loading and embedding nothing.

    A completed build leaves `complete.json` beside the store. Without it (first run, or a build
    that was interrupted) the corpus is ingested, which skips the articles already stored.
    """
    paths = [corpus] if isinstance(corpus, Path) else list(corpus)
    name = " + ".join(str(path) for path in paths)
    settings, key = corpus_store_settings(paths, store_settings, ingest_settings)
    kb = open_knowledge_base(settings, embeddings)
    location = settings.chroma_url or str(settings.chroma_path)
    marker = settings.data_dir / "complete.json"
    if marker.is_file():
        built = json.loads(marker.read_text(encoding="utf-8"))
        return kb, CorpusStore(name, key, location, built["articles"], built["duplicates"], reused=True)
    report = Ingestor(kb, ingest_settings).ingest(paths, on_progress=on_progress)
    if report.failed:
        kb.close()
        first = report.failed[0]
        raise EvalDataError(
            f"{len(report.failed)} corpus records could not be loaded (first: {first.origin}: {first.reason})"
        )
    store = CorpusStore(
        corpus=name,
        key=key,
        location=location,
        articles=len(report.added) + len(report.updated) + len(report.unchanged),
        duplicates=len(report.duplicates),
        reused=False,
        chunks_written=report.chunks_written,
        seconds=report.seconds,
    )
    built = {
        "corpus": [str(path.resolve()) for path in paths],
        "articles": store.articles,
        "duplicates": store.duplicates,
    }
    marker.write_text(json.dumps(built) + "\n", encoding="utf-8")
    return kb, store
