"""Crash safety: SIGKILL a real `newsdesk ingest` mid-way, then check what a reader of the store sees.

The killed runs are real subprocesses of the console script. The test process never opens a store
folder a subprocess wrote to: it opens copies, so Chroma's per-process client cache cannot hand it
a stale view.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

import ingest
import store
from ingest.loaders import load_file
from store.records import Article, parse_chunk_id

pytestmark = pytest.mark.slow

NEWSDESK = Path(sys.executable).parent / "newsdesk"
ARTICLES = 60
BATCH = 4
KILL_AFTER_BATCHES = 3
CHUNK_TOKENS, CHUNK_OVERLAP = 32, 8  # small chunks: two per synthetic article
BATCH_LINE = "ingest: wrote batch of"
WAIT_SECONDS = 120.0
SETTINGS = ingest.IngestSettings(ingest_batch=64, chunk_tokens=CHUNK_TOKENS, chunk_overlap=CHUNK_OVERLAP)


def write_corpus(path: Path, version: int) -> dict[str, str]:
    """Write the synthetic JSONL corpus (made-up bulletins, several paragraphs) and return id -> hash."""
    revised = " (revised)" if version > 1 else ""
    lines = []
    for n in range(ARTICLES):
        body = "\n\n".join(
            [
                f"Bulletin {n} reports that pier {n} reopened on Monday{revised}.",
                f"Crews spent {n + version + 2} days replacing planks at pier {n}.",
                f"Ferries to quay {n} run again from Friday, the harbour office said.",
                f"Version {version} of notice {n} lists {n * 7 + version} repaired moorings.",
            ]
        )
        lines.append(json.dumps({"id": f"bulletin-{n:03d}", "title": f"Pier {n} reopens", "body": body}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    articles = [item for item in load_file(path, 50_000_000) if isinstance(item, Article)]
    assert len(articles) == ARTICLES
    return {article.id: article.content_hash for article in articles}


def subprocess_env() -> dict[str, str]:
    """The environment of a killed run: small batches and chunks, offline, no developer settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_") and k != "TELEGRAM_BOT_TOKEN"}
    env.update(
        NEWSDESK_INGEST_BATCH=str(BATCH),
        NEWSDESK_CHUNK_TOKENS=str(CHUNK_TOKENS),
        NEWSDESK_CHUNK_OVERLAP=str(CHUNK_OVERLAP),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
    )
    return env


def ingest_until_killed(data_dir: Path, corpus: Path) -> None:
    """Run `newsdesk -vv ingest` and SIGKILL it as soon as a few batches are logged as written."""
    if not NEWSDESK.exists():
        pytest.skip(f"no `newsdesk` console script next to {sys.executable}")
    process = subprocess.Popen(
        [str(NEWSDESK), "-vv", "--data-dir", str(data_dir), "ingest", str(corpus)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=corpus.parent,
        env=subprocess_env(),
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        """Forward stderr lines to the queue; None marks the end."""
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    batches = 0
    tail: list[str] = []
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while batches < KILL_AFTER_BATCHES:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                pytest.fail(f"ingest ended before it was killed:\n{''.join(tail[-20:])}")
            tail.append(line)
            batches += BATCH_LINE in line
        process.send_signal(signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def open_copy(
    source: Path, target: Path, embeddings: store.SentenceTransformerEmbeddings
) -> store.KnowledgeBase:
    """Open a copy of a store folder (a path this process has never opened)."""
    shutil.copytree(source, target)
    return store.open_knowledge_base(store.StoreSettings(data_dir=target), embeddings)


def chunk_versions(kb: store.KnowledgeBase) -> dict[str, dict[str, set[int]]]:
    """Stored chunk positions, by article id and short content hash, read from the chunk ids."""
    found: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for chunk_id in kb.chunks.get(include=[])["ids"]:
        article_id, short_hash, position = parse_chunk_id(chunk_id)
        found[article_id][short_hash].add(position)
    return found


def assert_each_article_whole_in_one_version(kb: store.KnowledgeBase) -> None:
    """Every article record has its complete current version, and readers see that version only."""
    records = {record.id: record for record in kb.all_articles()}
    stored = chunk_versions(kb)
    for record in records.values():
        assert record.chunk_count > 0, record.id
        assert stored[record.id][record.content_hash[:16]] == set(range(record.chunk_count)), record.id
    visible: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for hit in kb.search("Which pier reopened after repairs?", k=kb.chunks.count()):
        visible[hit.chunk.article_id].add((hit.chunk.content_hash, hit.chunk.position))
    assert set(visible) == set(records)
    for article_id, record in records.items():
        assert visible[article_id] == {(record.content_hash, p) for p in range(record.chunk_count)}, (
            article_id
        )
    for hit in kb.search_lexical("pier repairs ferries quay moorings", k=10 * ARTICLES):
        assert hit.chunk.content_hash == records[hit.chunk.article_id].content_hash


def assert_complete(kb: store.KnowledgeBase, hashes: dict[str, str]) -> None:
    """The store holds exactly these article versions, each once, with nothing stale or duplicated."""
    records = kb.all_articles()
    assert sorted(record.id for record in records) == sorted(hashes)
    assert {record.id: record.content_hash for record in records} == hashes
    assert kb.chunks.count() == sum(record.chunk_count for record in records)
    assert all(record.chunk_count >= 2 for record in records)
    per_article = Counter((chunk.article_id, chunk.text) for chunk in kb.stored_chunks())
    assert max(per_article.values()) == 1  # no chunk text twice in one article
    assert_each_article_whole_in_one_version(kb)
    assert kb.repair() == 0
    assert kb.lexical.count() == kb.chunks.count()


@dataclass(frozen=True)
class KilledRun:
    """A store folder left by an ingest killed mid-way, and the corpus it was reading."""

    corpus: Path
    data_dir: Path
    hashes: dict[str, str]


@pytest.fixture(scope="module")
def killed_first_ingest(tmp_path_factory: pytest.TempPathFactory) -> KilledRun:
    """A fresh store whose first ingest of the 60-article corpus was SIGKILLed after a few batches."""
    folder = tmp_path_factory.mktemp("crash_add")
    corpus = folder / "corpus.jsonl"
    hashes = write_corpus(corpus, version=1)
    ingest_until_killed(folder / "data", corpus)
    return KilledRun(corpus, folder / "data", hashes)


def test_kill_during_first_ingest_leaves_whole_articles(
    killed_first_ingest: KilledRun, tmp_path: Path, embeddings: store.SentenceTransformerEmbeddings
) -> None:
    """After a kill, every stored article has all its chunks, of one version, and no article has none."""
    kb = open_copy(killed_first_ingest.data_dir, tmp_path / "data", embeddings)
    records = kb.all_articles()
    assert KILL_AFTER_BATCHES * BATCH <= len(records) < ARTICLES
    for record in records:
        assert record.content_hash == killed_first_ingest.hashes[record.id]
    versions = chunk_versions(kb)
    assert all(len(by_hash) == 1 for by_hash in versions.values())  # one version per article on disk
    assert_each_article_whole_in_one_version(kb)


@dataclass(frozen=True)
class CompletedRun:
    """The killed store after an ingest of the same corpus ran to completion."""

    data_dir: Path
    stored_before: set[str]
    report: ingest.IngestReport


@pytest.fixture(scope="module")
def completed_first_ingest(
    killed_first_ingest: KilledRun,
    tmp_path_factory: pytest.TempPathFactory,
    embeddings: store.SentenceTransformerEmbeddings,
) -> CompletedRun:
    """A copy of the killed store, with the same corpus ingested again to completion."""
    data_dir = tmp_path_factory.mktemp("crash_rerun") / "data"
    kb = open_copy(killed_first_ingest.data_dir, data_dir, embeddings)
    stored_before = {record.id for record in kb.all_articles()}
    report = ingest.Ingestor(kb, SETTINGS).ingest([killed_first_ingest.corpus])
    return CompletedRun(data_dir, stored_before, report)


def test_rerun_after_kill_completes_the_corpus(
    killed_first_ingest: KilledRun,
    completed_first_ingest: CompletedRun,
    tmp_path: Path,
    embeddings: store.SentenceTransformerEmbeddings,
) -> None:
    """Ingesting again after the kill adds exactly the missing articles and leaves a complete store."""
    report, before = completed_first_ingest.report, completed_first_ingest.stored_before
    assert report.ok, report.failed
    assert sorted(report.unchanged) == sorted(before)
    assert sorted(report.added) == sorted(set(killed_first_ingest.hashes) - before)
    assert report.updated == []
    kb = open_copy(completed_first_ingest.data_dir, tmp_path / "data", embeddings)
    assert_complete(kb, killed_first_ingest.hashes)


def test_kill_during_update_shows_one_version_per_article(
    killed_first_ingest: KilledRun,
    completed_first_ingest: CompletedRun,
    tmp_path: Path,
    embeddings: store.SentenceTransformerEmbeddings,
) -> None:
    """A kill while every article is being replaced leaves each visible in exactly one whole version."""
    shutil.copytree(completed_first_ingest.data_dir, tmp_path / "updating")
    corpus = tmp_path / "corpus.jsonl"
    new_hashes = write_corpus(corpus, version=2)
    old_hashes = killed_first_ingest.hashes
    assert all(new_hashes[i] != old_hashes[i] for i in new_hashes)

    ingest_until_killed(tmp_path / "updating", corpus)
    kb = open_copy(tmp_path / "updating", tmp_path / "after_kill", embeddings)
    records = {record.id: record for record in kb.all_articles()}
    assert sorted(records) == sorted(old_hashes)
    for article_id, record in records.items():
        assert record.content_hash in (old_hashes[article_id], new_hashes[article_id])
    replaced = {i for i, record in records.items() if record.content_hash == new_hashes[i]}
    assert KILL_AFTER_BATCHES * BATCH <= len(replaced) < ARTICLES
    assert_each_article_whole_in_one_version(kb)

    report = ingest.Ingestor(kb, SETTINGS).ingest([corpus])
    assert report.ok, report.failed
    assert sorted(report.unchanged) == sorted(replaced)
    assert sorted(report.updated) == sorted(set(new_hashes) - replaced)
    assert report.added == []
    assert_complete(kb, new_hashes)
    old_short = {digest[:16] for digest in old_hashes.values()}
    assert not [i for i in kb.chunks.get(include=[])["ids"] if parse_chunk_id(i)[1] in old_short]
