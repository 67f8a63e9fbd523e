"""Shared fixtures: real embedding model, real Chroma (embedded under tmp_path, or a `chroma run` server)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import chromadb
import pytest
import yaml
from chromadb.config import Settings as ChromaSettings
from click.testing import CliRunner, Result

import ingest
import store
from bot.frontends.cli import cli
from store.records import Article, Chunk, pack_vectors

try:  # works whether or not tests/ is a package
    from tests.openai_emulator import OpenAIEmulator
except ImportError:
    from openai_emulator import OpenAIEmulator

SHARED_DIR = Path(__file__).resolve().parents[2] / "shared"
VENV_BIN = Path(sys.executable).parent
SERVER_START_SECONDS = 30.0

WriteArticle = Callable[..., Path]
RunCli = Callable[..., Result]


def pytest_configure(config: pytest.Config) -> None:
    """Declare the markers these tests use (also listed in pyproject.toml)."""
    config.addinivalue_line("markers", "server: needs a real `chroma run` server on 127.0.0.1")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop every setting a developer's shell could leak into the code under test."""
    for name in list(os.environ):
        if name.startswith("NEWSDESK_") or name == "TELEGRAM_BOT_TOKEN":
            monkeypatch.delenv(name)
    # The hub is unreachable by design; Chroma must not phone home either.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture(scope="session", autouse=True)
def _isolated_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Session fixtures (sample store, server) also run outside the repo and without NEWSDESK_* vars."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _clean_environment(monkeypatch)
        monkeypatch.chdir(tmp_path_factory.mktemp("session_cwd"))
        yield


@pytest.fixture(autouse=True)
def _isolated_test(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test runs in its own tmp_path, so no `.env`, `data/` or `chroma.sqlite3` of the repo is used."""
    _clean_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's ../shared folder (seed article, evaluation data), or skip when it is absent."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"{SHARED_DIR} is absent")
    return SHARED_DIR


@pytest.fixture(scope="session")
def embeddings() -> store.SentenceTransformerEmbeddings:
    """The bundled all-MiniLM-L6-v2, loaded once for the whole session."""
    model = store.SentenceTransformerEmbeddings()
    model.encode(["warm up"])
    return model


@pytest.fixture
def store_settings(tmp_path: Path) -> store.StoreSettings:
    """Settings of an embedded store under tmp_path."""
    return store.StoreSettings(data_dir=tmp_path / "data")


@pytest.fixture
def kb(
    store_settings: store.StoreSettings, embeddings: store.SentenceTransformerEmbeddings
) -> Iterator[store.KnowledgeBase]:
    """An empty embedded knowledge base under tmp_path, closed after the test."""
    with store.open_knowledge_base(store_settings, embeddings) as knowledge_base:
        yield knowledge_base


@pytest.fixture(scope="session")
def sample_kb(
    tmp_path_factory: pytest.TempPathFactory, embeddings: store.SentenceTransformerEmbeddings
) -> Iterator[store.KnowledgeBase]:
    """An embedded knowledge base holding the bundled samples; tests must only read it."""
    settings = store.StoreSettings(data_dir=tmp_path_factory.mktemp("sample_kb") / "data")
    with store.open_knowledge_base(settings, embeddings) as knowledge_base:
        report = ingest.Ingestor(knowledge_base, ingest.IngestSettings()).ingest([ingest.samples_dir()])
        assert report.ok, report.failed
        yield knowledge_base


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _heartbeat(port: int) -> bool:
    try:
        client = chromadb.HttpClient(
            host="127.0.0.1", port=port, settings=ChromaSettings(anonymized_telemetry=False)
        )
        client.heartbeat()
    except Exception:  # any failure means "not up yet": connection refused, 503, handshake errors
        return False
    return True


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real `chroma run` server on 127.0.0.1, stopped at the end of the session."""
    executable = VENV_BIN / "chroma"
    if not executable.exists():
        pytest.skip(f"no `chroma` executable next to {sys.executable}")
    folder = tmp_path_factory.mktemp("chroma_server")
    port = _free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with (folder / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [
                str(executable),
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--path",
                str(folder / "db"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _heartbeat(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log_text = (folder / "server.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"`chroma run` did not come up on port {port}:\n{log_text}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def server_kb(
    chroma_server: str, embeddings: store.SentenceTransformerEmbeddings
) -> Iterator[store.KnowledgeBase]:
    """An empty knowledge base on the server, in collections no other test uses."""
    settings = store.StoreSettings(chroma_url=chroma_server, collection=f"t{uuid4().hex[:12]}")
    with store.open_knowledge_base(settings, embeddings) as knowledge_base:
        yield knowledge_base
        for collection in (knowledge_base.chunks, knowledge_base.articles, knowledge_base.duplicates):
            knowledge_base.client.delete_collection(collection.name)


@pytest.fixture(scope="session")
def server_sample_kb(
    chroma_server: str, embeddings: store.SentenceTransformerEmbeddings
) -> Iterator[store.KnowledgeBase]:
    """The bundled samples in collections of their own on the server; tests must only read it."""
    settings = store.StoreSettings(chroma_url=chroma_server, collection=f"samples{uuid4().hex[:8]}")
    with store.open_knowledge_base(settings, embeddings) as knowledge_base:
        report = ingest.Ingestor(knowledge_base, ingest.IngestSettings()).ingest([ingest.samples_dir()])
        assert report.ok, report.failed
        yield knowledge_base


@pytest.fixture
def write_article(tmp_path: Path) -> WriteArticle:
    """A factory writing `articles/<name>.md` with YAML front matter (title, url, source, published_at).

    Fields default to values derived from the name; pass one as None to leave it out.
    """

    def write(name: str, body: str, *, folder: Path | None = None, **fields: str | None) -> Path:
        """Write one article and return its path."""
        front = {
            "title": name.replace("-", " ").capitalize(),
            "url": f"https://news.test/{name}",
            "source": "Test Wire",
            "published_at": "2025-01-15",
            **fields,
        }
        header = yaml.safe_dump({k: v for k, v in front.items() if v is not None}, sort_keys=False)
        path = (folder or tmp_path / "articles") / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\n{header}---\n{body.strip()}\n", encoding="utf-8")
        return path

    return write


@pytest.fixture
def llm_server() -> Iterator[OpenAIEmulator]:
    """A running OpenAI-compatible emulator on 127.0.0.1."""
    with OpenAIEmulator() as emulator:
        yield emulator


@pytest.fixture
def write_uncommitted() -> Callable[[store.KnowledgeBase, Article], list[Chunk]]:
    """A function doing step 1 of `KnowledgeBase.write_many` alone for an article version.

    Its lexical rows and Chroma chunks are written as a real write leaves them; then the process
    "dies" before step 2, the article record that would make the version current.
    """

    def write(kb: store.KnowledgeBase, article: Article) -> list[Chunk]:
        chunks = ingest.make_chunker(kb, ingest.IngestSettings()).split(article)
        vectors, sentence_vectors = kb.embeddings.encode_passages(
            [chunk.embedding_text for chunk in chunks], [chunk.embedding_spans for chunk in chunks]
        )
        kb.lexical.add(chunks)
        kb.chunks.upsert(
            ids=[chunk.id for chunk in chunks],
            documents=[chunk.text for chunk in chunks],
            metadatas=[
                chunk.metadata() | {"sentence_vectors": pack_vectors(sentences)}
                for chunk, sentences in zip(chunks, sentence_vectors, strict=True)
            ],
            embeddings=vectors,
        )
        return chunks

    return write


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """Run `newsdesk --data-dir <tmp_path>/data ARGS...` in-process and return click's Result."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        """Invoke the CLI with the given arguments."""
        return runner.invoke(cli, ["--data-dir", str(tmp_path / "data"), *args], catch_exceptions=False)

    return run
