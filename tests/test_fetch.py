"""Fetching article pages from a local news site: extraction, identity, safety, manners and failures."""

from __future__ import annotations

import itertools
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import trustme

import ingest
import store
from ingest.fetch import (
    USER_AGENT,
    Fetcher,
    FetchFailure,
    FetchPolicy,
    NotModified,
    Page,
    Resolver,
    page_article,
    strip_variant,
    system_resolver,
)
from ingest.identity import article_id
from store.records import Article

try:  # works whether or not tests/ is a package
    from tests.news_server import PUBLIC_ADDRESS, WIRE_OUTLET, FakeClock, NewsServer, fake_dns
except ImportError:
    from news_server import PUBLIC_ADDRESS, WIRE_OUTLET, FakeClock, NewsServer, fake_dns

MakeFetcher = Callable[..., Fetcher]


@pytest.fixture
def server() -> Iterator[NewsServer]:
    """The made-up news site on 127.0.0.1."""
    with NewsServer() as running:
        yield running


@pytest.fixture
def make_fetcher(server: NewsServer) -> Iterator[MakeFetcher]:
    """Fetchers for the local site: direct to 127.0.0.1, or through it as a proxy for *.test names.

    Direct fetchers allow private addresses (the site is on loopback); proxied ones resolve names with
    `fake_dns` and keep the default refusal of private addresses. Politeness is off unless asked for.
    """
    clients: list[httpx.Client] = []

    def make(
        *,
        proxied: bool = False,
        resolver: Resolver | None = None,
        clock: FakeClock | None = None,
        **policy: object,
    ) -> Fetcher:
        """A fetcher with these policy fields over a fresh client that ignores proxy variables."""
        settings: dict[str, object] = {"allow_private": not proxied, "host_delay": 0.0, "timeout": 2.0}
        settings.update(policy)
        client = httpx.Client(trust_env=False, proxy=server.base if proxied else None)
        clients.append(client)
        return Fetcher(
            FetchPolicy(**settings),  # type: ignore[arg-type]
            client=client,
            resolver=resolver or (fake_dns if proxied else system_resolver),
            clock=clock or time.monotonic,
            sleep=clock.sleep if clock else time.sleep,
        )

    yield make
    for client in clients:
        client.close()


def fetch_ok(fetcher: Fetcher, url: str) -> Article:
    """The article at url; fails the test with the reason when there is none."""
    fetched = fetcher.fetch_article(url)
    assert isinstance(fetched, Article), fetched
    return fetched


def fetch_failure(fetcher: Fetcher, url: str) -> FetchFailure:
    """The failure fetching url must give."""
    fetched = fetcher.fetch_article(url)
    assert isinstance(fetched, FetchFailure), fetched
    assert fetched.origin == url
    assert "\n" not in fetched.reason
    return fetched


# ----------------------------------------------------------------------------- pages


def test_a_page_gives_its_title_text_date_outlet_and_canonical_url(
    server: NewsServer, make_fetcher: MakeFetcher
) -> None:
    """Title, outlet, date and main text come from the page; the id follows the canonical URL."""
    url = server.url("/news/ferry")
    article = fetch_ok(make_fetcher(), url)
    assert article.title == "Lakeport ferry returns after winter repairs"
    assert article.source == "Harbourside Courier"
    assert article.published_at == date(2025, 3, 3)
    assert article.url == url
    assert article.origin == url
    assert article.body.startswith("The Lakeport ferry carried its first passengers")
    assert "2.4 million crowns" in article.body
    assert "Quay Street" not in article.body  # the footer is not the article
    assert article.id == article_id(None, url, article.title, article.published_at)


def test_requests_carry_a_clear_user_agent(server: NewsServer, make_fetcher: MakeFetcher) -> None:
    """Every request, robots.txt included, names the bot and where to read about it."""
    fetch_ok(make_fetcher(), server.url("/news/bakers"))
    assert [r.route for r in server.requests()] == ["/robots.txt", "/news/bakers"]
    assert {r.headers["User-Agent"] for r in server.requests()} == {USER_AGENT}


def test_htmldate_finds_a_date_trafilatura_missed() -> None:
    """A date only in the fetched URL (the canonical one has none) is found by the htmldate fallback."""
    paragraphs = "".join(
        f"<p>{'The harbour master spoke about the new pier at length. ' * 3}</p>" for _ in "abc"
    )
    html = (
        "<html><head><title>Pier opens</title><link rel='canonical' href='https://courier.test/news/pier'>"
        f"</head><body><article><h1>Pier opens</h1>{paragraphs}</article></body></html>"
    )
    final = "https://courier.test/archive/2025/03/05/pier"
    article = page_article(Page(final, final, html.encode(), "text/html"))
    assert isinstance(article, Article), article
    assert article.published_at == date(2025, 3, 5)
    assert article.url == "https://courier.test/news/pier"


@pytest.mark.parametrize(
    "path",
    [
        "/news/ferry?utm_source=newsletter&utm_campaign=spring&fbclid=abc",
        "/news/ferry/amp",
        "/amp/news/ferry",
        "/news/ferry?outputType=amp",
        "/mobile/news/ferry",
        "/go/ferry",
    ],
)
def test_tracking_amp_mobile_and_redirect_variants_have_the_canonical_url(
    server: NewsServer, make_fetcher: MakeFetcher, path: str
) -> None:
    """Every variant of a page declares, or redirects to, the main URL: one identity for all."""
    main = fetch_ok(make_fetcher(), server.url("/news/ferry"))
    variant = fetch_ok(make_fetcher(), server.url(path))
    assert variant.url == main.url == server.url("/news/ferry")
    assert variant.id == main.id
    assert variant.origin == server.url(path)


def test_a_mobile_host_declares_the_main_host(server: NewsServer, make_fetcher: MakeFetcher) -> None:
    """m.news.test/news/ferry is stored as news.test/news/ferry."""
    fetcher = make_fetcher(proxied=True)
    article = fetch_ok(fetcher, "http://m.news.test/news/ferry")
    assert article.url == "http://news.test/news/ferry"
    assert server.count("/news/ferry", host="m.news.test") == 1


def test_without_a_canonical_link_the_final_url_is_cleaned(
    server: NewsServer, make_fetcher: MakeFetcher
) -> None:
    """The wire copy declares no canonical link: its URL after redirects, cleaned, is used."""
    target = quote("/wire/ferry?utm_source=partner&amp=1&ref=home")
    article = fetch_ok(make_fetcher(), server.url(f"/redirect?to={target}"))
    assert article.url == server.url("/wire/ferry")
    assert article.source == WIRE_OUTLET


@pytest.mark.parametrize(
    ("canonical", "final", "identity"),
    [
        # Another site's URL is not taken: no page can overwrite another site's article.
        ("http://news.test/news/ferry", "http://copycat.test/ferry/amp", "http://copycat.test/ferry"),
        # A canonical link to the home page is a CMS mistake that would merge every article.
        ("/", "http://news.test/news/ferry/amp", "http://news.test/news/ferry"),
        # Relative links are resolved, and a mobile host in them is mapped to the main one.
        ("/news/ferry", "http://m.news.test/mobile/ferry", "http://news.test/news/ferry"),
        # Same site under www: the declared URL is the identity.
        (
            "http://www.news.test/news/ferry",
            "http://news.test/news/ferry?amp=1",
            "http://www.news.test/news/ferry",
        ),
    ],
)
def test_which_canonical_links_are_trusted(canonical: str, final: str, identity: str) -> None:
    """A declared canonical link is used only when it names a page of the same site."""
    paragraphs = "<p>Claims about the ferry that nobody has checked at all, written twice.</p>" * 6
    html = (
        f"<html><head><title>Ferry</title><link rel='canonical' href='{canonical}'>"
        f"</head><body><article><h1>Ferry</h1>{paragraphs}</article></body></html>"
    )
    article = page_article(Page(final, final, html.encode(), "text/html"))
    assert isinstance(article, Article), article
    assert article.url == identity


@pytest.mark.parametrize(
    ("url", "main"),
    [
        ("https://m.example.com/x", "https://example.com/x"),
        ("https://mobile.example.com/x", "https://example.com/x"),
        ("https://amp.example.com/x", "https://example.com/x"),
        ("https://example.com/x/amp", "https://example.com/x"),
        ("https://example.com/x/amp/", "https://example.com/x"),
        ("https://example.com/amp/x", "https://example.com/x"),
        ("https://example.com/x?outputType=amp", "https://example.com/x"),
        ("https://example.com/x?amp=1&page=2", "https://example.com/x?page=2"),
        ("https://example.com/story.amp.html", "https://example.com/story.html"),
        ("https://m.example.com:8443/amp/x?_amp=true#top", "https://example.com:8443/x#top"),
        # Not variants: a two-label host, a word merely containing "amp", an ordinary query.
        ("https://amp.dev/x", "https://amp.dev/x"),
        ("https://example.com/camp/ample", "https://example.com/camp/ample"),
        ("https://example.com/x?page=2", "https://example.com/x?page=2"),
    ],
)
def test_strip_variant(url: str, main: str) -> None:
    """AMP and mobile URL variants map to the main URL; other URLs are left alone."""
    assert strip_variant(url) == main


def test_variants_and_tracking_parameters_are_stored_once(
    server: NewsServer, make_fetcher: MakeFetcher, kb: store.KnowledgeBase
) -> None:
    """Ingesting the page and its variants through the pipeline stores one article."""
    fetcher = make_fetcher()
    paths = ["/news/ferry", "/news/ferry?utm_source=x&gclid=1", "/news/ferry/amp", "/mobile/news/ferry"]
    items = [fetcher.fetch_article(server.url(path)) for path in paths]
    report = ingest.ingest_articles(items, kb, ingest.make_chunker(kb, ingest.IngestSettings()))
    assert report.ok, report.failed
    assert len(report.added) == 1
    assert [record.url for record in kb.all_articles()] == [server.url("/news/ferry")]


def test_a_near_identical_wire_copy_is_stored_once(
    server: NewsServer, make_fetcher: MakeFetcher, kb: store.KnowledgeBase
) -> None:
    """The same story syndicated under another URL (a dateline added, one word changed) is one article."""
    fetcher = make_fetcher()
    items = [fetcher.fetch_article(server.url(path)) for path in ("/news/ferry", "/wire/ferry")]
    assert all(isinstance(item, Article) for item in items), items
    ingest.ingest_articles(items, kb, ingest.make_chunker(kb, ingest.IngestSettings()))
    assert len(kb.all_articles()) == 1


# ----------------------------------------------------------------------------- conditional requests


def test_conditional_get_returns_not_modified(server: NewsServer, make_fetcher: MakeFetcher) -> None:
    """With the ETag or the Last-Modified of a copy, an unchanged resource is a bodiless 304."""
    fetcher = make_fetcher()
    url = server.url("/feeds/rss.xml")
    first = fetcher.get(url)
    assert isinstance(first, Page) and first.etag and first.last_modified
    by_etag = fetcher.get(url, etag=first.etag)
    by_date = fetcher.get(url, last_modified=first.last_modified)
    assert isinstance(by_etag, NotModified) and by_etag.etag == first.etag
    assert isinstance(by_date, NotModified)
    sent = [r.headers for r in server.requests("/feeds/rss.xml")]
    assert "If-None-Match" not in sent[0] and "If-Modified-Since" not in sent[0]
    assert sent[1]["If-None-Match"] == first.etag
    assert sent[2]["If-Modified-Since"] == first.last_modified


# ----------------------------------------------------------------------------- safety


def test_a_loopback_url_is_refused_without_allow_private(
    server: NewsServer, make_fetcher: MakeFetcher
) -> None:
    """The default policy never requests 127.0.0.1, and says how to allow it."""
    failure = fetch_failure(make_fetcher(allow_private=False), server.url("/news/ferry"))
    assert "127.0.0.1 is a loopback address" in failure.reason
    assert "NEWSDESK_ALLOW_PRIVATE_URLS" in failure.reason
    assert server.requests() == []


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.0.0.5", "private"),
        ("192.168.1.20", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("240.0.0.1", "reserved"),
    ],
)
def test_names_resolving_to_non_public_addresses_are_refused(
    server: NewsServer, make_fetcher: MakeFetcher, address: str, kind: str
) -> None:
    """Every address a name resolves to is checked before anything is sent."""
    fetcher = make_fetcher(proxied=True, resolver=lambda host, port: ["93.184.215.14", address])
    failure = fetch_failure(fetcher, "http://news.test/news/ferry")
    assert f"news.test resolves to {address}, a {kind} address" in failure.reason
    assert server.requests() == []


def test_allow_private_lets_intranet_names_through(server: NewsServer, make_fetcher: MakeFetcher) -> None:
    """With allow_private, a name on a private address is fetched."""
    fetch_failure(make_fetcher(proxied=True), "http://intranet.test/news/ferry")
    fetch_ok(make_fetcher(proxied=True, allow_private=True), "http://intranet.test/news/ferry")


def test_every_redirect_hop_is_checked(server: NewsServer, make_fetcher: MakeFetcher) -> None:
    """A public page redirecting to a cloud metadata address is stopped at the hop."""
    url = "http://news.test/redirect?to=" + quote("http://metadata.test/latest/meta-data/")
    failure = fetch_failure(make_fetcher(proxied=True), url)
    assert failure.reason.startswith("redirect to http://metadata.test/latest/meta-data/:")
    assert "169.254.169.254, a link-local address" in failure.reason
    assert server.count("/latest/meta-data/") == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://news.test/file.html", "gopher://news.test/"])
def test_only_http_urls_are_fetched(make_fetcher: MakeFetcher, url: str) -> None:
    """Other schemes are refused before any request."""
    assert "not an http(s) URL" in fetch_failure(make_fetcher(), url).reason


def test_allow_private_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """NEWSDESK_ALLOW_PRIVATE_URLS=1 reaches the policy through the settings."""
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_URLS", "1")
    settings = ingest.IngestSettings()
    assert FetchPolicy.from_settings(settings).allow_private


# ----------------------------------------------------------------------------- manners


def test_robots_txt_disallow_is_honoured(server: NewsServer, make_fetcher: MakeFetcher) -> None:
    """A disallowed page is not requested; robots.txt is read once per host."""
    server.robots = "User-agent: *\nDisallow: /news/bridge\n\nUser-agent: newsdesk\nDisallow: /news/bakers\n"
    fetcher = make_fetcher()
    assert fetch_failure(fetcher, server.url("/news/bakers")).reason == "disallowed by robots.txt"
    fetch_ok(fetcher, server.url("/news/bridge"))  # the group naming newsdesk applies, not "*"
    fetch_ok(fetcher, server.url("/news/ferry"))
    assert server.count("/news/bakers") == 0
    assert server.count("/robots.txt") == 1


def test_robots_txt_can_be_ignored_by_policy(server: NewsServer, make_fetcher: MakeFetcher) -> None:
    """With respect_robots off, robots.txt is neither read nor obeyed."""
    server.robots = "User-agent: *\nDisallow: /\n"
    fetch_ok(make_fetcher(respect_robots=False), server.url("/news/ferry"))
    assert server.count("/robots.txt") == 0


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (403, True), (503, False)])
def test_a_missing_robots_txt_allows_and_an_unreachable_one_does_not(
    server: NewsServer, make_fetcher: MakeFetcher, status: int, allowed: bool
) -> None:
    """RFC 9309: a 4xx robots.txt means no rules; a 5xx one means stay away for now."""
    server.robots_status = status
    fetched = make_fetcher().fetch_article(server.url("/news/ferry"))
    assert isinstance(fetched, Article) is allowed, fetched
    if not allowed:
        assert isinstance(fetched, FetchFailure) and fetched.retry
        assert "robots.txt unreachable (HTTP 503" in fetched.reason


def test_requests_to_one_host_are_spaced(server: NewsServer, make_fetcher: MakeFetcher) -> None:
    """With a real clock and a 0.05 s delay, requests to the site arrive at least 0.05 s apart."""
    fetcher = make_fetcher(host_delay=0.05, clock=None)
    for slug in ("ferry", "bridge", "bakers"):
        fetch_ok(fetcher, server.url(f"/news/{slug}"))
    arrivals = [r.at for r in server.requests()]
    assert len(arrivals) == 4  # robots.txt and three pages
    assert min(b - a for a, b in itertools.pairwise(arrivals)) >= 0.045


def test_politeness_delay_is_per_host(server: NewsServer, make_fetcher: MakeFetcher) -> None:
    """Only a second request to the same host waits, for what remains of the delay."""
    clock = FakeClock()
    fetcher = make_fetcher(proxied=True, clock=clock, host_delay=1.0, respect_robots=False)
    fetch_ok(fetcher, "http://news.test/news/ferry")
    fetch_ok(fetcher, "http://other.test/news/bridge")
    assert clock.sleeps == []
    clock.now += 0.25
    fetch_ok(fetcher, "http://news.test/news/bakers")
    assert clock.sleeps == [pytest.approx(0.75)]
    fetch_ok(fetcher, "http://news.test/news/telescopes")
    assert clock.sleeps == [pytest.approx(0.75), pytest.approx(1.0)]


def test_a_crawl_delay_in_robots_txt_lengthens_the_wait(
    server: NewsServer, make_fetcher: MakeFetcher
) -> None:
    """Crawl-delay: 3 makes the host's delay 3 s."""
    server.robots = "User-agent: *\nCrawl-delay: 3\n"
    clock = FakeClock()
    fetcher = make_fetcher(clock=clock, host_delay=1.0)
    fetch_ok(fetcher, server.url("/news/ferry"))
    assert clock.sleeps == [pytest.approx(3.0)]  # between robots.txt and the page


# ----------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("target", "reason", "retry"),
    [
        ("/missing", "HTTP 404 Not Found", False),
        ("/broken", "HTTP 500 Internal Server Error", True),
        ("/slow", "timed out waiting for the server (after 0.3 s)", True),
        ("/report.pdf", "not HTML (content type application/pdf)", False),
        ("/empty", "no article text found in the page", False),
        ("/menu", "no article text found in the page (only 9 characters)", False),
        ("/huge", "page over 5 MB", False),
        ("/loop", "more than 5 redirects", False),
        (
            "http://nowhere.test/news/ferry",
            "DNS lookup failed for nowhere.test: Name or service not known",
            True,
        ),
        ("http://127.0.0.1:9/news/ferry", "cannot fetch: ", True),
    ],
)
def test_each_failure_is_one_line_for_its_url(
    server: NewsServer, make_fetcher: MakeFetcher, target: str, reason: str, retry: bool
) -> None:
    """DNS errors, timeouts, 4xx/5xx, non-HTML, empty, oversize and redirect loops never raise."""
    url = target if "://" in target else server.url(target)
    fetcher = make_fetcher(timeout=0.3, resolver=fake_dns, respect_robots=False)
    failure = fetch_failure(fetcher, url)
    assert failure.reason.startswith(reason)
    assert failure.retry is retry


def test_the_size_limit_is_checked_before_reading(server: NewsServer, make_fetcher: MakeFetcher) -> None:
    """A declared Content-Length over the limit is refused at once."""
    failure = fetch_failure(make_fetcher(max_mb=0.001), server.url("/news/ferry"))
    assert failure.reason == "page over 0.001 MB"


def test_a_left_out_wire_copy_is_not_embedded_again_until_its_original_is_forgotten(
    server: NewsServer, make_fetcher: MakeFetcher, kb: store.KnowledgeBase
) -> None:
    """Re-ingesting a copy that was left out embeds nothing; forgetting the original lets the copy in."""
    fetcher = make_fetcher()
    original, copy = (fetcher.fetch_article(server.url(path)) for path in ("/news/ferry", "/wire/ferry"))
    assert isinstance(original, Article) and isinstance(copy, Article)
    chunker = ingest.make_chunker(kb, ingest.IngestSettings())
    first = ingest.ingest_articles([original, copy], kb, chunker)
    assert first.added == [original.id] and len(first.duplicates) == 1

    again = ingest.ingest_articles([original, copy], kb, chunker)
    assert again.chunks_written == 0
    assert again.unchanged == [original.id]
    assert [failure.reason for failure in again.duplicates] == [first.duplicates[0].reason]
    assert original.id in again.duplicates[0].reason

    assert kb.forget(original.id)
    after = ingest.ingest_articles([copy], kb, chunker)
    assert after.added == [copy.id] and after.chunks_written > 0
    assert [record.id for record in kb.all_articles()] == [copy.id]


# ----------------------------------------------------------------------------- hardening


def own_fetcher(**policy: object) -> Fetcher:
    """A fetcher with its own client (pinned connections, the deadline), as the product makes it."""
    settings: dict[str, object] = {"allow_private": True, "host_delay": 0.0, "timeout": 1.0}
    settings.update(policy)
    return Fetcher(FetchPolicy(**settings))  # type: ignore[arg-type]


def test_a_server_dripping_headers_is_cut_off_at_the_deadline(server: NewsServer) -> None:
    """Each header byte comes well within the read timeout; the deadline covers headers too."""
    with own_fetcher(deadline=2.0, respect_robots=False) as fetcher:
        started = time.monotonic()
        failure = fetch_failure(fetcher, server.url("/drip-headers"))
        elapsed = time.monotonic() - started
    assert "took over 2 s" in failure.reason and failure.retry
    assert elapsed < 5.0


def test_a_rebinding_resolver_cannot_send_the_fetch_to_loopback(
    server: NewsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name is checked when it resolves to a public address; the connection goes to that
    address, not to the loopback one the same name resolves to the next time it is asked."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host: object, port: object, *args: object, **kwargs: object) -> list[Any]:
        if host == "rebind.test":
            asked.append(host)
            address = PUBLIC_ADDRESS if len(asked) == 1 else "127.0.0.1"
            return real(address, port, *args, **kwargs)  # type: ignore[arg-type]
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with own_fetcher(allow_private=False, respect_robots=False, timeout=0.5, deadline=2.0) as fetcher:
        failure = fetch_failure(fetcher, f"http://rebind.test:{server.port}/news/ferry")
    assert asked == ["rebind.test"]  # resolved once, for the check
    assert server.requests() == []  # nothing reached the loopback server
    assert failure.retry


def test_connections_go_to_the_checked_address(server: NewsServer) -> None:
    """A name only the fetcher's resolver knows is fetched from the address it gave."""
    with Fetcher(
        FetchPolicy(allow_private=True, host_delay=0.0, timeout=2.0),
        resolver=lambda host, port: ["127.0.0.1"],
    ) as fetcher:
        article = fetch_ok(fetcher, f"http://courier.test:{server.port}/news/ferry")
    assert article.title.startswith("Lakeport ferry")
    assert {request.host for request in server.requests("/news/ferry")} == {f"courier.test:{server.port}"}


def test_tls_over_a_pinned_connection_checks_the_url_host_name() -> None:
    """Pinning the address keeps certificate checks on the name in the URL: the site's own name
    passes, another name served from the same address does not."""
    authority = trustme.CA()
    served = authority.issue_cert("news.test")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.configure_cert(tls)
    trusted = ssl.create_default_context()
    authority.configure_trust(trusted)
    with (
        NewsServer(tls=tls) as https,
        Fetcher(
            FetchPolicy(allow_private=True, host_delay=0.0, timeout=2.0, respect_robots=False),
            resolver=lambda host, port: ["127.0.0.1"],
            ssl_context=trusted,
        ) as fetcher,
    ):
        article = fetch_ok(fetcher, f"https://news.test:{https.port}/news/ferry")
        wrong = fetch_failure(fetcher, f"https://other.test:{https.port}/news/ferry")
    assert article.title.startswith("Lakeport ferry")
    assert "certificate" in wrong.reason.lower() or "hostname" in wrong.reason.lower()


def test_robots_txt_follows_rfc_9309(server: NewsServer, make_fetcher: MakeFetcher) -> None:
    """Wildcards and `$` are understood, and the longest matching rule wins over the first one."""
    server.robots = "User-agent: *\nDisallow: /news/*\nAllow: /news/ferry$\nDisallow: /*.pdf$\n"
    fetcher = make_fetcher()
    fetch_ok(fetcher, server.url("/news/ferry"))
    assert "robots.txt" in fetch_failure(fetcher, server.url("/news/telescopes")).reason
    assert "robots.txt" in fetch_failure(fetcher, server.url("/report.pdf")).reason


def test_the_servers_charset_decodes_the_page(server: NewsServer, make_fetcher: MakeFetcher) -> None:
    """A page sent as windows-1250 (said in Content-Type, not in the page) reads as Czech, not as
    Windows-1252 mojibake."""
    article = fetch_ok(make_fetcher(), server.url("/cp1250"))
    assert article.title == "Žluťoučký kůň v Brně"
    assert "ďábelské ódy" in article.body
