"""A small news site on 127.0.0.1 for the fetching tests: pages, feeds, variants and failures.

The stories are made up for these tests. The server also works as a plain HTTP forward proxy, so a
client configured with `proxy=server.base` can ask for `http://news.test/...` or `http://m.news.test/...`
and the server answers for that host: host-based variants (mobile hosts, per-host politeness) are
tested without touching DNS or the network.

Routes (any host):
    /news/<slug>                 the article page (declares its canonical URL)
    /news/<slug>?outputType=amp  AMP variant; also /news/<slug>/amp and /amp/news/<slug>
    /mobile/news/<slug>          mobile variant; so is /news/<slug> on a host starting with "m."
    /wire/<slug>                 a near-identical wire copy under another URL, with no canonical link
    /go/<slug>                   302 to the article with tracking parameters added
    /redirect?to=<url>           302 to any URL
    /loop                        redirects to itself forever
    /slow                        answers after `slow_seconds`
    /huge                        an HTML page of `huge_bytes`, streamed without a Content-Length
    /report.pdf                  application/pdf
    /empty                       an HTML page with no text (a script would fill it in)
    /menu                        an HTML page with two words of navigation and no article
    /broken                      500
    /robots.txt                  `robots` (404 when None; `robots_status` overrides the status)
    /feeds/<name>                the feeds in `feeds` (RSS 2.0, RSS 1.0, Atom or malformed)
    anything else                404
Every 200 carries an ETag and a Last-Modified, and conditional requests get a 304.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

FeedFormat = Literal["rss", "rdf", "atom", "broken"]


@dataclass
class Story:
    """One made-up article of the site."""

    slug: str
    title: str
    paragraphs: list[str]
    published: datetime
    updated: datetime | None = None
    outlet: str = "Harbourside Courier"
    summary: str = ""

    @property
    def changed(self) -> datetime:
        """When the story last changed."""
        return self.updated or self.published


@dataclass
class Entry:
    """A feed entry that is not one of the site's stories (a dead link, a failing page, an outside URL)."""

    id: str
    title: str
    link: str
    """A path on the requested host, or an absolute URL."""
    summary: str = ""
    published: datetime = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class FeedSpec:
    """A feed the site serves: its format and entries (story slugs or `Entry`s)."""

    format: FeedFormat
    entries: list[str | Entry] = field(default_factory=list)
    title: str = "Harbourside Courier: latest"


@dataclass(frozen=True)
class FeedItem:
    """An entry as written into a feed."""

    id: str
    title: str
    link: str
    summary: str
    published: datetime
    updated: datetime


@dataclass(frozen=True)
class Request:
    """One request the server received."""

    method: str
    host: str
    path: str
    """Path and query, as asked."""
    headers: dict[str, str]
    at: float
    """time.monotonic() on arrival."""

    @property
    def route(self) -> str:
        """The path without its query."""
        return urlsplit(self.path).path


def default_stories() -> dict[str, Story]:
    """The stories the site starts with."""
    stories = [
        Story(
            slug="ferry",
            title="Lakeport ferry returns after winter repairs",
            published=datetime(2025, 3, 3, 7, 30, tzinfo=UTC),
            summary="The Lakeport ferry is back on the water after three months in dry dock.",
            paragraphs=[
                "The Lakeport ferry carried its first passengers of the year on Monday morning, after "
                "three months in dry dock at the Vell shipyard where its hull plates and both engines "
                "were overhauled.",
                "The harbour authority said the repairs cost 2.4 million crowns, about a fifth more than "
                "planned, because corrosion behind the car deck turned out to be worse than an October "
                "survey had suggested.",
                "Crossings to Skarra island will run every forty minutes until the end of April and every "
                "twenty minutes from May, when the summer timetable starts. Fares are unchanged.",
                "Regular passengers said the winter replacement bus, which took almost two hours around "
                "the bay, had made the island feel much further away than usual.",
            ],
        ),
        Story(
            slug="telescopes",
            title="Town library starts lending telescopes",
            published=datetime(2025, 3, 2, 12, 0, tzinfo=UTC),
            summary="Members of the Tolvern library can now borrow a telescope for two weeks.",
            paragraphs=[
                "The public library in Tolvern has begun lending out six small telescopes, each packed "
                "in a padded case with a star map, a red torch and a notebook for observations.",
                "Members can borrow a telescope for two weeks at a time. The head librarian, Marit Osk, "
                "said the waiting list had passed eighty names within two days of the announcement.",
                "The telescopes were paid for by the local astronomy club, which will also run four "
                "evening sessions on the library roof for beginners during the spring.",
            ],
        ),
        Story(
            slug="bridge",
            title="Council approves footbridge over the Ash river",
            published=datetime(2025, 3, 1, 16, 45, tzinfo=UTC),
            summary="A footbridge will link the old town with the new rail station by 2027.",
            paragraphs=[
                "Brennick town council voted nineteen to six on Thursday to build a footbridge over the "
                "Ash river, linking the old town with the rail station that opened last year.",
                "The bridge will be 140 metres long and is expected to cost 11 million crowns, with half "
                "of the money coming from a regional transport fund.",
                "Opponents argued that the money would be better spent on the river embankment, which "
                "flooded twice last winter. Construction is due to start next spring and finish in 2027.",
            ],
        ),
        Story(
            slug="bakers",
            title="Bakers in Tolvern stop night shifts",
            published=datetime(2025, 3, 4, 6, 0, tzinfo=UTC),
            summary="Four bakeries in Tolvern will open later after agreeing to end night shifts.",
            paragraphs=[
                "Four family bakeries in Tolvern have agreed to stop baking overnight from April, and "
                "will open their doors at nine instead of six in the morning.",
                "The owners said they could no longer find staff willing to start work at two in the "
                "morning, and that customers had told them fresh bread at nine was good enough.",
                "The town's only supermarket bakery will keep its night shift, its manager said.",
            ],
        ),
    ]
    return {story.slug: story for story in stories}


WIRE_OUTLET = "Northern Wire Service"
EMPTY_PAGE = (
    b"<!doctype html><html><head><meta charset='utf-8'><title>Loading</title></head>"
    b"<body><div id='app'></div><script src='/app.js'></script></body></html>"
)
"""A page whose text a script would fill in: nothing to extract."""
MENU_PAGE = (
    b"<!doctype html><html><head><meta charset='utf-8'><title>Menu</title></head>"
    b"<body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></body></html>"
)
"""A page with two words of navigation and no article."""
CP1250_PAGE = (
    "<!doctype html><html><head><title>Žluťoučký kůň v Brně</title></head><body><article>"
    "<h1>Žluťoučký kůň v Brně</h1>"
    + "<p>Příliš žluťoučký kůň úpěl ďábelské ódy na náměstí v Brně, kde se sešli občané.</p>"
    + "<p>Městská rada v úterý schválila opravu mostu přes řeku Svratku za dvanáct milionů korun.</p>"
    + "<p>Práce začnou v květnu a potrvají do podzimu; chodci budou moci přejít po lávce.</p>"
    + "</article></body></html>"
)
"""A Czech page sent as windows-1250, said in Content-Type only (no <meta charset>)."""
BROKEN_FEED = b"<?xml version='1.0'?>\n<rss version='2.0'><channel><title>Oops</title><item><title>Half"


class NewsServer:
    """A threaded HTTP server on 127.0.0.1 serving the made-up site; use it as a context manager.

    With `tls` (a server-side SSL context), it serves HTTPS instead.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.stories = default_stories()
        self.feeds: dict[str, FeedSpec] = {
            "/feeds/rss.xml": FeedSpec("rss", ["ferry", "telescopes"]),
            "/feeds/atom.xml": FeedSpec("atom", ["ferry", "telescopes"]),
            "/feeds/rdf.xml": FeedSpec("rdf", ["ferry", "telescopes"]),
            "/feeds/broken.xml": FeedSpec("broken"),
        }
        self.robots: str | None = None
        self.robots_status: int | None = None
        self.slow_seconds = 3.0
        self.huge_bytes = 6_000_000
        self.log: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._httpd.news = self  # type: ignore[attr-defined]
        self.scheme = "http"
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        # A short poll interval: shutdown() waits for the loop to notice, once per test.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    # ----------------------------------------------------------------------------- lifecycle

    def __enter__(self) -> NewsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._httpd.server_address[1])

    @property
    def base(self) -> str:
        """The server's own origin, also its proxy URL."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """An absolute URL on 127.0.0.1 for a path."""
        return self.base + path

    # ----------------------------------------------------------------------------- request log

    def requests(self, route: str | None = None, host: str | None = None) -> list[Request]:
        """The requests received so far, optionally only for one path (query ignored) and host."""
        with self._lock:
            log = list(self.log)
        return [r for r in log if (route is None or r.route == route) and (host is None or r.host == host)]

    def count(self, route: str, host: str | None = None) -> int:
        """How many requests a path (query ignored) has received."""
        return len(self.requests(route, host))

    def _record(self, request: Request) -> None:
        with self._lock:
            self.log.append(request)

    def wait(self, seconds: float) -> None:
        """Sleep, but wake up when the server stops."""
        self._stopping.wait(seconds)

    # ----------------------------------------------------------------------------- rendering

    def page(self, host: str, route: str, query: dict[str, str]) -> tuple[str, bytes, datetime] | None:
        """(content type, body, last modified) of an article page or one of its variants, if any."""
        site = _main_host(host)
        parts = route.strip("/").split("/")
        amp = query.get("outputType") == "amp" or "amp" in query
        mobile = host.startswith("m.")
        if len(parts) == 3 and parts[0] == "news" and parts[2] == "amp":
            parts, amp = parts[:2], True
        elif len(parts) == 3 and parts[0] == "amp" and parts[1] == "news":
            parts, amp = parts[1:], True
        elif len(parts) == 3 and parts[0] == "mobile" and parts[1] == "news":
            parts, mobile = parts[1:], True
        if len(parts) != 2 or parts[1] not in self.stories:
            return None
        story = self.stories[parts[1]]
        if parts[0] == "news":
            canonical = f"http://{site}/news/{story.slug}"
            style = "amp" if amp else "mobile" if mobile else "main"
            return "text/html; charset=utf-8", article_html(story, canonical, style), story.changed
        if parts[0] == "wire":
            return "text/html; charset=utf-8", wire_html(story), story.changed
        return None

    def feed(self, host: str, route: str) -> tuple[str, bytes, datetime] | None:
        """(content type, body, last modified) of a feed, if there is one at this path."""
        spec = self.feeds.get(route)
        if spec is None:
            return None
        if spec.format == "broken":
            return "application/rss+xml", BROKEN_FEED, datetime(2025, 3, 1, tzinfo=UTC)
        items = [self._item(host, entry) for entry in spec.entries]
        changed = max((item.updated for item in items), default=datetime(2025, 3, 1, tzinfo=UTC))
        body, content_type = render_feed(spec, items, f"http://{host}{route}", changed)
        return content_type, body, changed

    def _item(self, host: str, entry: str | Entry) -> FeedItem:
        if isinstance(entry, Entry):
            link = entry.link if "://" in entry.link else f"http://{host}{entry.link}"
            return FeedItem(entry.id, entry.title, link, entry.summary, entry.published, entry.published)
        story = self.stories[entry]
        return FeedItem(
            f"urn:harbourside:{story.slug}",
            story.title,
            f"http://{host}/news/{story.slug}",
            story.summary,
            story.published,
            story.changed,
        )


def _main_host(host: str) -> str:
    for prefix in ("m.", "amp."):
        if host.startswith(prefix):
            return host[len(prefix) :]
    return host


def article_html(story: Story, canonical: str, style: str) -> bytes:
    """The page of a story: the main layout, its AMP version or its mobile version."""
    title = html.escape(story.title)
    published = story.published.isoformat()
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    head = (
        f'<meta charset="utf-8"><title>{title} | {html.escape(story.outlet)}</title>'
        f'<link rel="canonical" href="{html.escape(canonical)}">'
        f'<meta property="og:site_name" content="{html.escape(story.outlet)}">'
        f'<meta property="og:title" content="{title}">'
        f'<meta property="article:published_time" content="{published}">'
    )
    if style == "amp":
        page = (
            f"<!doctype html><html amp lang='en'><head>{head}"
            "<style amp-custom>body{font-family:serif}</style></head><body>"
            f"<header class='amp-header'>{html.escape(story.outlet)}</header>"
            f"<article><h1>{title}</h1>{body}</article></body></html>"
        )
    elif style == "mobile":
        page = (
            f"<!doctype html><html lang='en'><head>{head}"
            "<meta name='viewport' content='width=device-width'></head><body>"
            "<div class='m-menu'><a href='/'>Menu</a></div>"
            f"<div class='m-article'><article><h1>{title}</h1>{body}</article></div></body></html>"
        )
    else:
        if story.updated:
            head += f'<meta property="article:modified_time" content="{story.updated.isoformat()}">'
        page = (
            f"<!doctype html><html lang='en'><head>{head}</head><body>"
            "<header><nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/sport'>Sport</a></nav>"
            "</header><main><article>"
            f"<h1>{title}</h1><p class='byline'>By the newsroom, "
            f"<time datetime='{published}'>{story.published:%d %B %Y}</time></p>{body}"
            "</article></main><footer><p>Harbourside Courier, 12 Quay Street</p></footer>"
            "</body></html>"
        )
    return page.encode("utf-8")


def wire_html(story: Story) -> bytes:
    """The same story as syndicated by a wire service: a dateline and one changed word, no canonical link."""
    first, *rest = story.paragraphs
    paragraphs = [f"LAKEPORT ({WIRE_OUTLET}) - {first}", *rest]
    paragraphs[-1] = paragraphs[-1].replace("said", "told reporters", 1)
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    title = html.escape(story.title)
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<meta property='og:site_name' content='{WIRE_OUTLET}'>"
        f"<meta property='article:published_time' content='{story.published.isoformat()}'>"
        f"</head><body><main><article><h1>{title}</h1>{body}</article></main></body></html>"
    ).encode()


def render_feed(spec: FeedSpec, items: list[FeedItem], self_url: str, changed: datetime) -> tuple[bytes, str]:
    """A feed document in the spec's format, and its content type."""
    esc = html.escape
    title = esc(spec.title)
    if spec.format == "atom":
        entries = "".join(
            f"<entry><id>{esc(i.id)}</id><title>{esc(i.title)}</title>"
            f"<link rel='alternate' href='{esc(i.link)}'/>"
            f"<published>{_iso(i.published)}</published><updated>{_iso(i.updated)}</updated>"
            f"<summary>{esc(i.summary)}</summary></entry>"
            for i in items
        )
        text = (
            "<?xml version='1.0' encoding='utf-8'?>"
            f"<feed xmlns='http://www.w3.org/2005/Atom'><title>{title}</title><id>{esc(self_url)}</id>"
            f"<link rel='self' href='{esc(self_url)}'/><updated>{changed.isoformat()}</updated>"
            f"{entries}</feed>"
        )
        return text.encode(), "application/atom+xml"
    if spec.format == "rdf":
        entries = "".join(
            f"<item rdf:about='{esc(i.link)}'><title>{esc(i.title)}</title>"
            f"<link>{esc(i.link)}</link><description>{esc(i.summary)}</description>"
            f"<dc:date>{_iso(i.updated)}</dc:date></item>"
            for i in items
        )
        text = (
            "<?xml version='1.0' encoding='utf-8'?>"
            "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
            "xmlns='http://purl.org/rss/1.0/' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
            f"<channel rdf:about='{esc(self_url)}'><title>{title}</title><link>{esc(self_url)}</link>"
            "<description>Latest stories</description></channel>"
            f"{entries}</rdf:RDF>"
        )
        return text.encode(), "application/rdf+xml"
    entries = "".join(
        f"<item><guid isPermaLink='false'>{esc(i.id)}</guid><title>{esc(i.title)}</title>"
        f"<link>{esc(i.link)}</link><description>{esc(i.summary)}</description>"
        f"<pubDate>{_http_date(i.published)}</pubDate>"
        f"<atom:updated>{_iso(i.updated)}</atom:updated></item>"
        for i in items
    )
    text = (
        "<?xml version='1.0' encoding='utf-8'?>"
        "<rss version='2.0' xmlns:atom='http://www.w3.org/2005/Atom'><channel>"
        f"<title>{title}</title><link>{esc(self_url)}</link><description>Latest stories</description>"
        f"<lastBuildDate>{_http_date(changed)}</lastBuildDate>{entries}</channel></rss>"
    )
    return text.encode(), "application/rss+xml; charset=utf-8"


def _iso(value: datetime) -> str:
    return value.isoformat()


def _http_date(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC), usegmt=True)


class _Handler(BaseHTTPRequestHandler):
    """Answers one request for the `NewsServer` it belongs to."""

    server_version = "NewsServer/1.0"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: requests are recorded in `NewsServer.log` instead."""

    @property
    def news(self) -> NewsServer:
        """The server's state."""
        return self.server.news  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        """Route a GET, also in proxy form (`GET http://host/path`)."""
        if self.path.startswith(("http://", "https://")):
            target = urlsplit(self.path)
            host, path = target.netloc, target.path + (f"?{target.query}" if target.query else "")
        else:
            host, path = self.headers.get("Host", f"127.0.0.1:{self.news.port}"), self.path
        self.news._record(Request("GET", host, path, dict(self.headers.items()), time.monotonic()))
        parts = urlsplit(path)
        route, query = parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))
        # The client may stop reading on purpose (size limit, timeout).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._route(host, route, query)

    def _route(self, host: str, route: str, query: dict[str, str]) -> None:
        news = self.news
        if route == "/robots.txt":
            if news.robots_status is not None:
                self._send(news.robots_status, "text/plain", b"robots unavailable")
            elif news.robots is None:
                self._send(404, "text/plain", b"no robots here")
            else:
                self._send(200, "text/plain", news.robots.encode())
        elif route.startswith("/go/"):
            tracked = urlencode({"utm_source": "rss", "utm_medium": "feed", "fbclid": "x1"})
            self._redirect(f"/news/{route.removeprefix('/go/')}?{tracked}")
        elif route == "/redirect":
            self._redirect(query.get("to", "/"))
        elif route == "/loop":
            self._redirect("/loop")
        elif route == "/slow":
            news.wait(news.slow_seconds)
            self._send(200, "text/html", EMPTY_PAGE)
        elif route == "/huge":
            self._huge()
        elif route == "/drip-headers":
            self._drip_headers()
        elif route == "/cp1250":
            self._send(200, "text/html; charset=windows-1250", CP1250_PAGE.encode("cp1250"))
        elif route == "/report.pdf":
            self._send(200, "application/pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n")
        elif route == "/empty":
            self._send(200, "text/html; charset=utf-8", EMPTY_PAGE)
        elif route == "/menu":
            self._send(200, "text/html; charset=utf-8", MENU_PAGE)
        elif route == "/broken":
            self._send(500, "text/plain", b"internal error")
        elif (found := news.feed(host, route) or news.page(host, route, query)) is not None:
            self._send_conditional(*found)
        else:
            self._send(404, "text/html", b"<html><body><h1>Not found</h1></body></html>")

    def _send_conditional(self, content_type: str, body: bytes, changed: datetime) -> None:
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        last_modified = format_datetime(changed.astimezone(UTC), usegmt=True)
        if_none_match = self.headers.get("If-None-Match")
        if_modified_since = self.headers.get("If-Modified-Since")
        fresh = False
        if if_none_match is not None:
            fresh = etag in [tag.strip() for tag in if_none_match.split(",")]
        elif if_modified_since is not None:
            try:
                fresh = changed.replace(microsecond=0) <= parsedate_to_datetime(if_modified_since)
            except (TypeError, ValueError):
                fresh = False
        if fresh:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            self.end_headers()
            return
        self._send(200, content_type, body, {"ETag": etag, "Last-Modified": last_modified})

    def _send(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _drip_headers(self) -> None:
        # A header a byte at a time, each well within any read timeout, for 20 seconds.
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        for _ in range(100):
            if self.news._stopping.is_set():
                return
            self.wfile.write(b"a")
            self.wfile.flush()
            self.news.wait(0.2)

    def _huge(self) -> None:
        # No Content-Length: the client has to count what it reads and stop.
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<!doctype html><html><body><article>")
        for block in _blocks(self.news.huge_bytes):
            self.wfile.write(block)
        self.wfile.write(b"</article></body></html>")


def _blocks(total: int, size: int = 65_536) -> Iterator[bytes]:
    sentence = b"<p>The tide tables for the harbour were printed again in full. </p>"
    block = sentence * (size // len(sentence))
    for _ in range(0, total, len(block)):
        yield block


# ----------------------------------------------------------------------------- helpers for clients

PUBLIC_ADDRESS = "93.184.215.14"
"""What `fake_dns` answers for ordinary names; never contacted, since requests go through the proxy."""


def fake_dns(host: str, port: int) -> list[str]:
    """A resolver for made-up names: nowhere.test does not exist, metadata.test and intranet.test are
    link-local and private, loopback.test is 127.0.0.1, every other name is a public address."""
    special = {
        "metadata.test": ["169.254.169.254"],
        "intranet.test": [PUBLIC_ADDRESS, "10.1.2.3"],
        "loopback.test": ["127.0.0.1"],
    }
    if host == "nowhere.test":
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return special.get(host, [PUBLIC_ADDRESS])


class FakeClock:
    """A monotonic clock that only moves when something sleeps, recording each sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        """The current time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Move the clock on instead of waiting."""
        self.sleeps.append(seconds)
        self.now += seconds
