"""Server mode: the store behind a real `chroma run` on 127.0.0.1, through the API and the CLI.

The store behaviours themselves (counts, updates, forget, search, stats) run against the server
too: see the `any_kb` / `any_sample_kb` fixtures of test_store.py, whose `server` params carry
the `server` mark.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import pytest
import trustme
from click.testing import Result

import ingest
import store

try:  # works whether or not tests/ is a package
    from tests.chroma_proxy import ChromaProxy
except ImportError:
    from chroma_proxy import ChromaProxy

RunCli = Callable[..., Result]
WriteArticle = Callable[..., Path]


def unused_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.server
def test_cli_ingests_into_the_server(
    run_cli: RunCli, write_article: WriteArticle, chroma_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--chroma-url` sends ingest, stats and forget to the server instead of an embedded store."""
    monkeypatch.setenv("NEWSDESK_COLLECTION", f"cli{uuid4().hex[:8]}")
    write_article("quay", "The quay wall was repaired. Boats returned on Tuesday.")
    write_article("lamp", "The lamps on the pier were replaced. They use less power.")

    result = run_cli("--chroma-url", chroma_server, "ingest", "articles")
    assert result.exit_code == 0, result.output
    assert "2 added, 0 updated, 0 unchanged, 0 failed" in result.output
    stats = run_cli("--chroma-url", chroma_server, "stats")
    assert "2 articles, 2 chunks, 1 outlets" in stats.output
    assert f"store: {chroma_server}" in stats.output
    assert not Path("data", "chroma").exists()  # no embedded Chroma beside the server

    kb = store.open_knowledge_base(store.StoreSettings(chroma_url=chroma_server))  # same prefix, from env
    assert kb.stats().articles == 2
    article_id = kb.all_articles()[0].id
    assert run_cli("--chroma-url", chroma_server, "forget", article_id).exit_code == 0
    assert kb.stats().articles == 1
    for collection in (kb.chunks, kb.articles):
        kb.client.delete_collection(collection.name)


@pytest.mark.server
def test_server_store_is_shared_between_clients(
    server_kb: store.KnowledgeBase, chroma_server: str, embeddings: store.SentenceTransformerEmbeddings
) -> None:
    """A second client with the same collection prefix sees what the first one wrote."""
    ingest.Ingestor(server_kb, ingest.IngestSettings()).ingest([ingest.samples_dir() / "tram-line.txt"])
    prefix = server_kb.chunks.name.removesuffix("-chunks")
    other = store.open_knowledge_base(
        store.StoreSettings(chroma_url=chroma_server, collection=prefix), embeddings
    )
    assert other.stats() == server_kb.stats()
    assert other.search("Which districts will the new tram line serve?", k=1)[0].chunk.title.startswith(
        "Westmere council approves"
    )


@pytest.mark.server
def test_collection_prefixes_keep_stores_apart(
    server_kb: store.KnowledgeBase, chroma_server: str, embeddings: store.SentenceTransformerEmbeddings
) -> None:
    """Two prefixes on one server are two independent stores."""
    ingest.Ingestor(server_kb, ingest.IngestSettings()).ingest([ingest.samples_dir() / "tram-line.txt"])
    settings = store.StoreSettings(chroma_url=chroma_server, collection=f"t{uuid4().hex[:12]}")
    empty = store.open_knowledge_base(settings, embeddings)
    try:
        assert empty.is_empty()
        with pytest.raises(store.EmptyStoreError):
            empty.search("tram")
    finally:
        for collection in (empty.chunks, empty.articles):
            empty.client.delete_collection(collection.name)


def test_unreachable_server_is_a_domain_error(embeddings: store.SentenceTransformerEmbeddings) -> None:
    """Opening a store on a server that is not running raises StoreUnavailableError naming the URL."""
    url = f"http://127.0.0.1:{unused_port()}"
    with pytest.raises(store.StoreUnavailableError, match=f"cannot reach the Chroma server at {url}"):
        store.open_knowledge_base(store.StoreSettings(chroma_url=url), embeddings)


def test_unreachable_server_is_a_one_line_cli_error(run_cli: RunCli) -> None:
    """The CLI turns an unreachable server into exit code 1 and one `Error:` line."""
    url = f"http://127.0.0.1:{unused_port()}"
    result = run_cli("--chroma-url", url, "stats")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot reach the Chroma server at {url}")
    assert result.output.count("\n") == 1


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:8000", "127.0.0.1:8000", "http://"])
def test_malformed_server_url(run_cli: RunCli, url: str) -> None:
    """A chroma URL that is not http(s)://host[:port] is refused with a one-line hint."""
    with pytest.raises(store.StoreUnavailableError, match="must look like http://host:port"):
        store.open_knowledge_base(store.StoreSettings(chroma_url=url))
    result = run_cli("--chroma-url", url, "stats")
    assert result.exit_code == 1
    assert result.output == f"Error: NEWSDESK_CHROMA_URL must look like http://host:port, not {url!r}\n"


# ----------------------------------------------------------------------------- an authenticating proxy

TOKEN = "s3cret-token"


@pytest.mark.server
def test_a_server_behind_an_authenticating_proxy_needs_the_token(
    chroma_server: str, embeddings: store.SentenceTransformerEmbeddings, run_cli: RunCli
) -> None:
    """Through a proxy that wants `Authorization: Bearer <token>`: without NEWSDESK_CHROMA_TOKEN a
    clear error (API and CLI), with it the store works as ever."""
    with ChromaProxy(chroma_server, TOKEN) as proxy:
        with pytest.raises(store.StoreUnavailableError, match="refused newsdesk's credentials: set NEWSDESK"):
            store.open_knowledge_base(store.StoreSettings(chroma_url=proxy.url), embeddings)
        result = run_cli("--chroma-url", proxy.url, "stats")
        assert result.exit_code == 1 and "refused newsdesk's credentials" in result.output
        wrong = store.StoreSettings(chroma_url=proxy.url, chroma_token="nope")  # type: ignore[arg-type]
        with pytest.raises(store.StoreUnavailableError, match="check NEWSDESK_CHROMA_TOKEN"):
            store.open_knowledge_base(wrong, embeddings)

        settings = store.StoreSettings(
            chroma_url=proxy.url,
            chroma_token=TOKEN,  # type: ignore[arg-type]
            collection=f"proxied{uuid4().hex[:8]}",
        )
        with store.open_knowledge_base(settings, embeddings) as kb:
            report = ingest.Ingestor(kb, ingest.IngestSettings()).ingest(
                [ingest.samples_dir() / "tram-line.txt"]
            )
            assert report.ok and len(report.added) == 1
            hits = kb.search("What is the total budget of Line 4?", k=3)
            assert any("total budget of €318 million" in hit.chunk.text for hit in hits)
        assert proxy.forwarded > 0 and proxy.refused >= 3


@pytest.mark.server
@pytest.mark.filterwarnings("ignore:`verify=<str>` is deprecated")  # chromadb passes the bundle to httpx so
def test_an_https_proxy_is_trusted_through_the_ca_bundle(
    chroma_server: str, embeddings: store.SentenceTransformerEmbeddings, tmp_path: Path
) -> None:
    """An https:// URL is checked against NEWSDESK_CHROMA_CA_BUNDLE (or the system's authorities):
    a certificate from an unknown authority is a clear error, the bundle makes it work."""
    authority = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(tls)
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    with ChromaProxy(chroma_server, TOKEN, tls=tls) as proxy:
        assert proxy.url.startswith("https://")
        untrusted = store.StoreSettings(chroma_url=proxy.url, chroma_token=TOKEN)  # type: ignore[arg-type]
        with pytest.raises(
            store.StoreUnavailableError,
            match=r"certificate newsdesk does not trust .*set NEWSDESK_CHROMA_CA_BUNDLE",
        ):
            store.open_knowledge_base(untrusted, embeddings)
        missing = untrusted.model_copy(update={"chroma_ca_bundle": tmp_path / "nowhere.pem"})
        with pytest.raises(store.StoreUnavailableError, match="is not a file"):
            store.open_knowledge_base(missing, embeddings)
        trusted = untrusted.model_copy(
            update={"chroma_ca_bundle": bundle, "collection": f"tls{uuid4().hex[:8]}"}
        )
        with store.open_knowledge_base(trusted, embeddings) as kb:
            assert kb.stats().articles == 0
        assert proxy.forwarded > 0
