"""Fetching web pages safely and politely: article pages to `Article`s, other resources to bytes.

Nothing here raises for a bad URL or a bad server: every outcome is a `Page`, a `NotModified` or a
`FetchFailure` naming the URL and the reason in one line. Before each request (redirect hops
included) the URL must be http(s), its host must resolve only to public addresses (unless
`allow_private`), and robots.txt (RFC 9309, read by Protego) must allow it; requests to one host are
spaced by `host_delay`. The connection is then made to the very address that was checked (a
resolver answering differently the second time cannot send it elsewhere; TLS still verifies the
URL's host name), and one deadline covers connecting, the headers and the body.

A `Fetcher` keeps per-host state (robots.txt rules, time of the last request) and is meant to be
used from one thread at a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import logging
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpcore
import httpx
from protego import Protego

from ingest.errors import LoadError
from ingest.identity import article_id, canonical_url
from ingest.loaders import LoadFailure, html_article
from store.records import Article

logger = logging.getLogger(__name__)

USER_AGENT = "newsdesk/0.1 (+https://github.com/newsdesk; news QA bot)"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
ROBOTS_MAX_BYTES = 512_000
"""RFC 9309 asks crawlers to read at least 500 KiB of a robots.txt; larger ones are refused."""

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_ROBOTS_RETRY_SECONDS = 300.0
"""How long an unreachable robots.txt keeps its host closed before it is asked for again."""
_MAX_CRAWL_DELAY = 30.0
_VARIANT_LABELS = frozenset({"m", "mobile", "amp"})
_AMP_PARAMS = frozenset({"amp", "_amp", "amp_js_v", "usqp", "__amp_source_origin"})
_AMP_PREFIX = re.compile(r"^/amp(?=/|$)", re.IGNORECASE)
_AMP_SUFFIX = re.compile(r"/amp/?$", re.IGNORECASE)
_AMP_EXTENSION = re.compile(r"\.amp(\.html?)$", re.IGNORECASE)

Resolver = Callable[[str, int], Iterable[str]]
"""The addresses (as text) a host name resolves to; raises OSError (socket.gaierror) when it does not."""


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver, `socket.getaddrinfo`."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


class FetchSettings(Protocol):
    """The settings a `FetchPolicy` is made from (fields of `IngestSettings`)."""

    @property
    def fetch_timeout(self) -> float: ...
    @property
    def fetch_max_mb(self) -> float: ...
    @property
    def fetch_max_redirects(self) -> int: ...
    @property
    def fetch_host_delay(self) -> float: ...
    @property
    def respect_robots(self) -> bool: ...
    @property
    def allow_private_urls(self) -> bool: ...


@dataclass(frozen=True)
class FetchPolicy:
    """Limits and manners of fetching, and which addresses may be reached."""

    timeout: float = 10.0
    """Seconds to connect, and to wait for each read."""
    deadline: float = 60.0
    """Seconds one request may take in all (connecting, headers, body), so a server dripping bytes
    cannot hold a fetch forever."""
    max_mb: float = 5.0
    max_redirects: int = 5
    host_delay: float = 1.0
    """Seconds between the end of one request to a host and the start of the next."""
    respect_robots: bool = True
    min_chars: int = 100
    """Pages with less article text than this are refused: what remains is navigation, not news."""
    robots_ttl: float = 86_400.0
    allow_private: bool = False
    """Allow hosts on private, loopback, link-local and other non-public addresses (tests, intranets)."""
    user_agent: str = USER_AGENT

    @property
    def max_bytes(self) -> int:
        """The page size limit in bytes."""
        return int(self.max_mb * 1_000_000)

    @classmethod
    def from_settings(cls, settings: FetchSettings) -> FetchPolicy:
        """The policy the settings describe."""
        return cls(
            timeout=settings.fetch_timeout,
            max_mb=settings.fetch_max_mb,
            max_redirects=settings.fetch_max_redirects,
            host_delay=settings.fetch_host_delay,
            respect_robots=settings.respect_robots,
            allow_private=settings.allow_private_urls,
        )


@dataclass(frozen=True)
class FetchFailure(LoadFailure):
    """A URL that could not be fetched or read; `retry` when trying again later may well succeed."""

    status: int | None = None
    """The HTTP status, when the server answered with an error."""
    retry: bool = False


@dataclass(frozen=True)
class Page:
    """A fetched resource: its body and what is needed to ask for it again conditionally."""

    url: str
    """The URL asked for."""
    final_url: str
    """The URL the body came from, after redirects."""
    content: bytes
    content_type: str
    etag: str | None = None
    last_modified: str | None = None
    charset: str | None = None
    """The encoding the server declared in Content-Type, which outranks the page's own <meta>."""


@dataclass(frozen=True)
class NotModified:
    """The server's word that a resource is unchanged since the ETag or date sent."""

    url: str
    etag: str | None = None
    last_modified: str | None = None


Fetched = Page | NotModified | FetchFailure


class Fetcher:
    """Fetches pages over HTTP(S) with timeouts, size and redirect limits, robots.txt and a per-host delay."""

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        client: httpx.Client | None = None,
        resolver: Resolver = system_resolver,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """`client` replaces the fetcher's own (a proxy's, in tests): requests then go where that
        client sends them, so connections are not pinned to the checked addresses. `ssl_context`
        (the system's CAs by default) is for the fetcher's own client."""
        self.policy = policy or FetchPolicy()
        self._owns_client = client is None
        self._backend = PinnedBackend()
        if client is None:
            transport = PinnedTransport(self._backend, ssl_context or httpx.create_ssl_context())
            client = httpx.Client(transport=transport, trust_env=False)
        self.client = client
        self._resolver = resolver
        self._clock = clock
        self._sleep = sleep
        self._last_request: dict[str, float] = {}
        self._crawl_delay: dict[str, float] = {}
        self._robots: dict[str, tuple[float, Protego | FetchFailure]] = {}

    def close(self) -> None:
        """Close the HTTP client if this fetcher created it."""
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # ----------------------------------------------------------------------------- articles

    def fetch_article(self, url: str) -> Article | FetchFailure:
        """The article on a web page: text, title, outlet, date and canonical URL; or why there is none."""
        fetched = self.get(url, accept=HTML_TYPES)
        if isinstance(fetched, NotModified):
            return FetchFailure(url, "unexpected 304 Not Modified", status=304)
        if isinstance(fetched, FetchFailure):
            return fetched
        return page_article(fetched, min_chars=self.policy.min_chars)

    # ----------------------------------------------------------------------------- resources

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: frozenset[str] | None = None,
        max_bytes: int | None = None,
    ) -> Fetched:
        """One resource, following redirects; conditional when the ETag or Last-Modified of a copy is given.

        `accept` limits the media types taken (None: any); a body over `max_bytes` (default: the
        policy's limit) is a failure.
        """
        headers = {"User-Agent": self.policy.user_agent}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        limit = max_bytes if max_bytes is not None else self.policy.max_bytes
        return self._get(url, headers, accept, limit, robots=self.policy.respect_robots)

    def _get(
        self,
        url: str,
        headers: dict[str, str],
        accept: frozenset[str] | None,
        max_bytes: int,
        *,
        robots: bool,
    ) -> Fetched:
        current = url
        for _ in range(self.policy.max_redirects + 1):
            refusal = self._refusal(current, robots=robots)
            if refusal is not None:
                reason, retry = refusal
                where = "" if current == url else f"redirect to {current}: "
                return FetchFailure(url, where + reason, retry=retry)
            outcome = self._request(url, current, headers, accept, max_bytes)
            if not isinstance(outcome, str):
                return outcome
            current = outcome
        return FetchFailure(url, f"more than {self.policy.max_redirects} redirects")

    def _request(
        self, origin: str, url: str, headers: dict[str, str], accept: frozenset[str] | None, max_bytes: int
    ) -> Fetched | str:
        """One HTTP request: its outcome, or the URL it redirects to."""
        host = _host_key(url)
        self._wait_turn(host)
        self._backend.deadline = time.monotonic() + self.policy.deadline
        try:
            with self.client.stream(
                "GET",
                url,
                headers=headers,
                timeout=httpx.Timeout(self.policy.timeout),
                follow_redirects=False,
            ) as response:
                return self._read(origin, response, accept, max_bytes)
        except httpx.TimeoutException as error:
            if self._backend.expired():
                return FetchFailure(origin, f"took over {self.policy.deadline:g} s", retry=True)
            doing = "connecting" if isinstance(error, httpx.ConnectTimeout) else "waiting for the server"
            return FetchFailure(origin, f"timed out {doing} (after {self.policy.timeout:g} s)", retry=True)
        except httpx.HTTPError as error:  # refused or reset connections, TLS and protocol errors
            return FetchFailure(origin, f"cannot fetch: {error or type(error).__name__}", retry=True)
        except httpx.InvalidURL as error:
            return FetchFailure(origin, f"invalid URL: {error}")
        finally:
            self._backend.deadline = None
            self._last_request[host] = self._clock()

    def _read(
        self, origin: str, response: httpx.Response, accept: frozenset[str] | None, max_bytes: int
    ) -> Fetched | str:
        status = response.status_code
        if status in _REDIRECT_STATUSES:
            location = response.headers.get("location")
            if not location:
                return FetchFailure(origin, f"HTTP {status} redirect without a Location", status=status)
            return urljoin(str(response.url), location.strip())
        if status == 304:
            return NotModified(origin, response.headers.get("etag"), response.headers.get("last-modified"))
        if not 200 <= status < 300:
            return FetchFailure(
                origin,
                f"HTTP {status} {response.reason_phrase}".strip(),
                status=status,
                retry=status >= 500 or status in (408, 429),
            )
        content_type = response.headers.get("content-type", "")
        media = content_type.split(";")[0].strip().lower()
        if accept and media and media not in accept:
            wanted = "HTML" if accept == HTML_TYPES else " or ".join(sorted(accept))
            return FetchFailure(origin, f"not {wanted} (content type {media})")
        too_large = FetchFailure(origin, f"page over {max_bytes / 1_000_000:g} MB")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            return too_large
        started = self._clock()
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                return too_large
            chunks.append(chunk)
            if self._clock() - started > self.policy.deadline:
                return FetchFailure(origin, f"took over {self.policy.deadline:g} s", retry=True)
        return Page(
            url=origin,
            final_url=str(response.url),
            content=b"".join(chunks),
            content_type=media,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            charset=_charset(content_type),
        )

    # ----------------------------------------------------------------------------- safety and manners

    def refusal(self, url: str) -> str | None:
        """Why this URL could never be fetched (not http(s), a private address...), or None.

        A reason that may pass (a DNS lookup failing now) is not one; robots.txt is not asked.
        """
        refused = self._refusal(url, robots=False)
        return refused[0] if refused is not None and not refused[1] else None

    def _refusal(self, url: str, *, robots: bool) -> tuple[str, bool] | None:
        """Why this URL may not be requested now, and whether that may change: (reason, retry)."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            return f"not an http(s) URL: {url}", False
        host = parts.hostname
        if not host:
            return f"no host in URL {url}", False
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError:
            return f"invalid port in URL {url}", False
        refused = self._address_refusal(host, port, url)
        if refused is not None:
            return refused
        if robots:
            return self._robots_refusal(url)
        return None

    def _address_refusal(self, host: str, port: int, url: str) -> tuple[str, bool] | None:
        """Why the host may not be reached, if so; else None, with the connection pinned to the
        first of the addresses checked."""
        try:
            addresses = [(host, ipaddress.ip_address(host))]
            literal = True
        except ValueError:
            literal = False
            try:
                addresses = [(text, ipaddress.ip_address(text)) for text in self._resolver(host, port)]
            except (OSError, UnicodeError, ValueError) as error:
                detail = getattr(error, "strerror", None) or str(error) or type(error).__name__
                return f"DNS lookup failed for {host}: {detail}", True
            if not addresses:
                return f"DNS lookup found no address for {host}", True
        for text, address in addresses:
            kind = non_public_kind(address)
            if kind is not None and not self.policy.allow_private:
                what = f"{host} is" if literal else f"{host} resolves to {text},"
                return (
                    f"{what} a {kind} address: refused (set NEWSDESK_ALLOW_PRIVATE_URLS=1 to allow)",
                    False,
                )
        self._backend.pin(httpx.URL(url).raw_host.decode("ascii"), port, str(addresses[0][1]))
        return None

    def _wait_turn(self, host: str) -> None:
        last = self._last_request.get(host)
        if last is None:
            return
        delay = max(self.policy.host_delay, self._crawl_delay.get(host, 0.0))
        wait = last + delay - self._clock()
        if wait > 0:
            self._sleep(wait)

    def _robots_refusal(self, url: str) -> tuple[str, bool] | None:
        parts = urlsplit(url)
        site = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        cached = self._robots.get(site)
        if cached is None or cached[0] <= self._clock():
            rules = self._load_robots(site)
            ttl = self.policy.robots_ttl if isinstance(rules, Protego) else _ROBOTS_RETRY_SECONDS
            cached = self._clock() + ttl, rules
            self._robots[site] = cached
        rules = cached[1]
        if isinstance(rules, FetchFailure):
            return rules.reason, True
        if not rules.can_fetch(url, self.policy.user_agent):
            return "disallowed by robots.txt", False
        return None

    def _load_robots(self, site: str) -> Protego | FetchFailure:
        """The robots.txt rules of a site, or why it cannot be read (RFC 9309: the longest matching
        rule wins, `*` and `$` are wildcards)."""
        robots_url = f"{site}/robots.txt"
        fetched = self._get(
            robots_url, {"User-Agent": self.policy.user_agent}, None, ROBOTS_MAX_BYTES, robots=False
        )
        if isinstance(fetched, Page):
            rules = Protego.parse(fetched.content.decode("utf-8", errors="replace"))
            delay = rules.crawl_delay(self.policy.user_agent)
            if delay:
                self._crawl_delay[_host_key(site)] = min(float(delay), _MAX_CRAWL_DELAY)
        elif isinstance(fetched, FetchFailure) and fetched.status is not None and fetched.status < 500:
            rules = Protego.parse("")  # "unavailable" (4xx): no rules, so everything is allowed
        else:
            # "unreachable" (5xx, network errors): assume everything is disallowed for now.
            reason = fetched.reason if isinstance(fetched, FetchFailure) else "unexpected 304"
            logger.info("robots.txt of %s unreachable: %s", site, reason)
            return FetchFailure(robots_url, f"robots.txt unreachable ({reason}), not fetching", retry=True)
        return rules


# ----------------------------------------------------------------------------- connections


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore's network backend, connecting only to the addresses the fetcher checked (`pin`) and
    giving every connect, read and write no more time than the request's `deadline` leaves."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self._pins: dict[tuple[str, int], str] = {}
        self.deadline: float | None = None
        """time.monotonic() by which the current request must be done, or None."""

    def pin(self, host: str, port: int, address: str) -> None:
        """Connect `host:port` (the URL's host, IDNA-encoded) to `address` from now on."""
        self._pins[(host.lower(), port)] = address

    def expired(self) -> bool:
        """Whether the current request's deadline has passed."""
        return self.deadline is not None and time.monotonic() >= self.deadline

    def time_left(self, timeout: float | None) -> float | None:
        """The timeout to give one operation: `timeout`, or less when the deadline is nearer."""
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the request's deadline passed")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """A connection to the address pinned for `host:port`; refused for a host never checked."""
        address = self._pins.get((host.lower(), port))
        if address is None:
            raise httpcore.ConnectError(f"{host}:{port} was not checked before connecting")
        stream = self._inner.connect_tcp(
            address, port, self.time_left(timeout), local_address=local_address, socket_options=socket_options
        )
        return _DeadlineStream(stream, self)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        """Never: fetching is over TCP only."""
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        """Sleep (httpcore's retries)."""
        self._inner.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by the backend's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, backend: PinnedBackend) -> None:
        self._stream = stream
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read, within the deadline."""
        return self._stream.read(max_bytes, self._backend.time_left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write, within the deadline."""
        self._stream.write(buffer, self._backend.time_left(timeout))

    def close(self) -> None:
        """Close the connection."""
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        """TLS over the pinned connection, verified against the URL's host name (`server_hostname`)."""
        upgraded = self._stream.start_tls(ssl_context, server_hostname, self._backend.time_left(timeout))
        return _DeadlineStream(upgraded, self._backend)

    def get_extra_info(self, info: str) -> Any:
        """What the underlying stream knows (the socket, the TLS object...)."""
        return self._stream.get_extra_info(info)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport over a `PinnedBackend`: no proxies, the checked address, the deadline."""

    def __init__(self, backend: PinnedBackend, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, max_connections=20, keepalive_expiry=5.0, network_backend=backend
        )


def _charset(content_type: str) -> str | None:
    """The `charset=` parameter of a Content-Type header, if any."""
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


# ----------------------------------------------------------------------------- pages to articles


def page_article(page: Page, *, min_chars: int = 0) -> Article | FetchFailure:
    """The article on a fetched HTML page, identified by its canonical URL; or why there is none."""
    try:
        article = html_article(page.content, origin=page.url, url=page.final_url, charset=page.charset)
    except LoadError as error:
        return FetchFailure(page.url, str(error))
    if len(article.body) < min_chars:
        return FetchFailure(
            page.url, f"no article text found in the page (only {len(article.body)} characters)"
        )
    url = identity_url(declared_canonical(page.content, page.final_url), page.final_url)
    published = article.published_at or _htmldate(page)
    if url == article.url and published == article.published_at:
        return article
    return dataclasses.replace(
        article, id=article_id(None, url, article.title, published), url=url, published_at=published
    )


def declared_canonical(html: bytes, base_url: str) -> str | None:
    """The absolute URL of the page's `<link rel="canonical">`, if it has one."""
    head = html[: _head_end(html)]
    finder = _CanonicalFinder()
    with contextlib.suppress(AssertionError):  # html.parser gives up on some broken markup
        finder.feed(head.decode("utf-8", errors="replace"))
        finder.close()
    return urljoin(base_url, finder.href.strip()) if finder.href and finder.href.strip() else None


def identity_url(declared: str | None, final_url: str) -> str:
    """The URL an article is known by: the canonical link it declares on its own site, else the final URL.

    A canonical link to another site is ignored, so no page can take over another site's article;
    so is one to the site's home page, a CMS mistake that would merge every article into one.
    AMP and mobile variants map to the main URL.
    """
    if declared and _trusted_canonical(declared, final_url):
        return canonical_url(strip_variant(declared))
    return canonical_url(strip_variant(final_url))


def _trusted_canonical(declared: str, final_url: str) -> bool:
    parts = urlsplit(declared)
    home = parts.path in ("", "/") and not parts.query
    return (
        parts.scheme.lower() in ("http", "https")
        and same_site(declared, final_url)
        and (not home or urlsplit(final_url).path in ("", "/"))
    )


def strip_variant(url: str) -> str:
    """The main URL of an AMP or mobile variant: without m./amp. host, /amp path segment or amp query."""
    parts = urlsplit(url)
    netloc = parts.netloc
    host = parts.hostname or ""
    labels = host.split(".")
    if len(labels) >= 3 and labels[0].lower() in _VARIANT_LABELS and not _is_ip(host):
        at = netloc.rfind("@") + 1
        netloc = netloc[:at] + netloc[at:].split(".", 1)[1]
    path = _AMP_EXTENSION.sub(r"\1", _AMP_SUFFIX.sub("", _AMP_PREFIX.sub("", parts.path))) or "/"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(key, value) for key, value in pairs if not _is_amp_param(key, value)]
    query = parts.query if len(kept) == len(pairs) else urlencode(kept)
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def same_site(first: str, second: str) -> bool:
    """Whether two URLs are of one site: same host (but for www./m./amp.), or one a subdomain of the other."""
    one, two = _site_host(first), _site_host(second)
    if not one or not two:
        return False
    if _is_ip(one) or _is_ip(two):
        return one == two
    return one == two or one.endswith("." + two) or two.endswith("." + one)


def non_public_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What kind of non-public address this is (loopback, private, ...), or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-public", not address.is_global),
    ):
        if flag:
            return kind
    return None


def _site_host(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    labels = host.split(".")
    if len(labels) >= 3 and (labels[0] in _VARIANT_LABELS or labels[0] == "www") and not _is_ip(host):
        host = ".".join(labels[1:])
    try:
        port = parts.port
    except ValueError:
        return ""
    return f"{host}:{port}" if port else host


class _CanonicalFinder(HTMLParser):
    """Finds the first `<link rel="canonical" href="...">`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Note the href of the first canonical link."""
        if tag == "link" and self.href is None:
            values = dict(attrs)
            if "canonical" in (values.get("rel") or "").lower().split():
                self.href = values.get("href")


def _head_end(html: bytes) -> int:
    """Where the page's head ends (the canonical link is there), or a generous prefix."""
    found = re.search(rb"<body[\s>]", html[:1_000_000], re.IGNORECASE)
    return found.start() if found else 1_000_000


def _host_key(url: str) -> str:
    return urlsplit(url).netloc.lower()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split(":")[0] if host.count(":") == 1 else host)
    except ValueError:
        return False
    return True


def _is_amp_param(key: str, value: str) -> bool:
    key = key.lower()
    return key in _AMP_PARAMS or (key == "outputtype" and value.lower() == "amp")


def _htmldate(page: Page) -> date | None:
    """The publication date htmldate finds in a page where trafilatura found none."""
    import htmldate

    try:
        found = htmldate.find_date(page.content, url=page.final_url, extensive_search=True)
    except ValueError:
        return None
    return date.fromisoformat(found) if found else None
