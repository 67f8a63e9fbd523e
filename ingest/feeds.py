"""Feeds to follow (RSS 0.9x/1.0/2.0 and Atom), refreshed with conditional GETs into new and changed articles.

`FeedStore` keeps the registry in one JSON file (`<data_dir>/feeds.json`), written atomically under a
file lock, so the bot, `newsdesk watch` and `newsdesk feeds add` can share it. `refresh` fetches one
feed and the pages of its new or changed entries (newest first, at most `FeedLimits.max_new` a time,
pages of different hosts at once); `refresh_all` does every feed (or every due one). Every few
entries a `checkpoint` stores their articles and then saves the feed's state, so an interrupted
refresh resumes where it stopped, and a crash costs a repeated fetch, never a lost article.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import hashlib
import html
import json
import logging
import queue
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser

from ingest.errors import LoadError
from ingest.fetch import Fetcher, FetchFailure, NotModified, strip_variant
from ingest.identity import article_id, canonical_url
from ingest.loaders import Loaded, LoadFailure, article_from_record
from store.files import atomic_file
from store.records import Article

logger = logging.getLogger(__name__)

FEEDS_FILE = "feeds.json"
DEFAULT_EVERY = timedelta(minutes=30)
FALLBACK_MIN_CHARS = 300
"""An entry's own text stands in for its page only when it is at least this long."""

_INTERVAL = re.compile(r"(\d+)\s*([smhd])", re.IGNORECASE)
_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_FORMAT_VERSION = 2
"""2: each seen entry keeps the day it was last listed (1 kept only its fingerprint)."""


@dataclass(frozen=True)
class FeedLimits:
    """How much one refresh of a feed may do, and how long its entries are remembered."""

    max_new: int = 50
    """New or changed entries fetched per refresh, newest first; the rest at the next refresh."""
    seen_days: int = 90
    """An entry gone from its feed this many days is forgotten (a feed lists each entry for a while)."""
    max_seen: int = 50_000
    """A last bound on the entries remembered per feed, the longest gone dropped first."""
    checkpoint_every: int = 10
    """Entries read between two checkpoints (their articles stored, then the feed's state saved)."""


Checkpoint = Callable[["Feed", builtins.list[Article | LoadFailure]], None]
"""Called with a feed and the articles and failures read since the last call: store them, then save
the feed (its state already counts them as seen)."""


class FeedError(Exception):
    """An unreadable feed registry, or an invalid feed URL or interval; the message says why."""


def parse_interval(text: str) -> timedelta:
    """A refresh interval from "45s", "30m", "2h", "1d" or combinations such as "1h30m"."""
    compact = text.strip().replace(" ", "")
    pieces = _INTERVAL.findall(compact)
    if not compact or "".join(f"{n}{u}" for n, u in pieces).lower() != compact.lower():
        raise FeedError(f"invalid interval {text!r}: use e.g. 45s, 30m, 2h or 1d")
    seconds = sum(int(number) * _UNITS[unit.lower()] for number, unit in pieces)
    if seconds <= 0:
        raise FeedError(f"invalid interval {text!r}: it must be longer than zero")
    return timedelta(seconds=seconds)


def format_interval(every: timedelta) -> str:
    """An interval in the shortest form `parse_interval` reads back ("30m", "1d", "90s")."""
    seconds = int(every.total_seconds())
    for unit, size in _UNITS.items():
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError("unreachable: every whole number of seconds divides by 1")


@dataclass
class Feed:
    """A followed feed and what the last refreshes learnt about it."""

    url: str
    every: timedelta = DEFAULT_EVERY
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_checked: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    seen: dict[str, tuple[str, date]] = field(default_factory=dict)
    """Entry id (or link) to a fingerprint of its content and the last day the feed listed it."""

    def is_due(self, now: datetime) -> bool:
        """Whether the feed should be refreshed at `now`."""
        return self.last_checked is None or _aware(now) >= self.last_checked + self.every

    def to_json(self) -> dict[str, Any]:
        """The feed as a JSON object."""
        return {
            "url": self.url,
            "every": format_interval(self.every),
            "title": self.title,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "last_checked": _iso(self.last_checked),
            "last_success": _iso(self.last_success),
            "last_error": self.last_error,
            "seen": {key: [fingerprint, day.isoformat()] for key, (fingerprint, day) in self.seen.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Feed:
        """A feed from `to_json`'s output; raises FeedError when it is not that."""
        try:
            today = datetime.now(UTC).date()
            seen = {
                str(key): (str(value), today)  # format 1: a fingerprint, listed as of now
                if isinstance(value, str)
                else (str(value[0]), date.fromisoformat(str(value[1])))
                for key, value in (data.get("seen") or {}).items()
            }
            return cls(
                url=str(data["url"]),
                every=parse_interval(str(data.get("every") or "30m")),
                title=data.get("title"),
                etag=data.get("etag"),
                last_modified=data.get("last_modified"),
                last_checked=_datetime(data.get("last_checked")),
                last_success=_datetime(data.get("last_success")),
                last_error=data.get("last_error"),
                seen=seen,
            )
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
            raise FeedError(f"invalid feed record {str(data)[:80]!r}: {error}") from error


class FeedStore:
    """The registry of followed feeds, kept in one JSON file.

    Every change is a read-modify-write of the file under an exclusive lock (`<file>.lock`), so
    processes sharing a data dir never undo each other's changes: a refresh saves only the state
    of the feed it refreshed (`save_state`), and a feed added meanwhile stays.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._feeds: dict[str, Feed] = {}
        if path.exists():
            self._feeds = {feed.url: feed for feed in _read(path)}

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> FeedStore:
        """The registry kept in `<data_dir>/feeds.json`."""
        return cls(data_dir / FEEDS_FILE)

    def add(self, url: str, every: str | timedelta = DEFAULT_EVERY) -> Feed:
        """Follow a feed (or change how often an already followed one is refreshed), and save."""
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise FeedError(f"not an http(s) feed URL: {url!r}")
        interval = parse_interval(every) if isinstance(every, str) else every
        if interval <= timedelta(0):
            raise FeedError("the refresh interval must be longer than zero")
        with self._locked():
            on_disk = self._on_disk()
            on_disk.setdefault(url, Feed(url, interval)).every = interval
            self._write(on_disk)
        feed = self._feeds.setdefault(url, on_disk[url])
        feed.every = interval
        return feed

    def remove(self, url: str) -> bool:
        """Stop following a feed and save; False when it was not followed."""
        url = url.strip()
        with self._locked():
            on_disk = self._on_disk()
            known = on_disk.pop(url, None) is not None
            if known:
                self._write(on_disk)
        return self._feeds.pop(url, None) is not None or known

    def get(self, url: str) -> Feed | None:
        """The followed feed with this URL, if any."""
        return self._feeds.get(url.strip())

    def list(self) -> builtins.list[Feed]:
        """Every followed feed, in the order they were added."""
        return builtins.list(self._feeds.values())

    def due(self, now: datetime) -> builtins.list[Feed]:
        """The feeds whose refresh interval has passed at `now`."""
        return [feed for feed in self._feeds.values() if feed.is_due(now)]

    def save_state(self, feed: Feed) -> None:
        """Save what a refresh learnt about one feed, keeping every other change made to the file
        meanwhile (its interval, other feeds); nothing when the feed was removed meanwhile."""
        with self._locked():
            on_disk = self._on_disk()
            current = on_disk.get(feed.url)
            if current is None:
                return
            on_disk[feed.url] = replace(feed, every=current.every)
            self._write(on_disk)

    def merge(self, feeds: Iterable[Feed]) -> int:
        """Add these feeds, with their state, unless already followed (a followed one keeps its own);
        return how many were added."""
        with self._locked():
            on_disk = self._on_disk()
            added = [feed for feed in feeds if feed.url not in on_disk]
            if added:
                on_disk.update((feed.url, feed) for feed in added)
                self._write(on_disk)
        for feed in added:
            self._feeds.setdefault(feed.url, feed)
        return len(added)

    def save(self) -> None:
        """Write the registry as it is in memory, over whatever the file holds (under the lock)."""
        with self._locked():
            self._write(self._feeds)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _on_disk(self) -> dict[str, Feed]:
        return {feed.url: feed for feed in _read(self.path)} if self.path.exists() else {}

    def _write(self, feeds: dict[str, Feed]) -> None:
        """Write feeds atomically: a temporary file next to the registry, then a rename."""
        text = json.dumps(
            {"version": _FORMAT_VERSION, "feeds": [feed.to_json() for feed in feeds.values()]},
            indent=2,
            ensure_ascii=False,
        )
        with atomic_file(self.path) as stream:
            stream.write(text + "\n")


def _read(path: Path) -> builtins.list[Feed]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise FeedError(f"cannot read {path}: {error.strerror or error}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FeedError(f"{path} is not valid JSON ({error}): fix or delete it") from error
    if not isinstance(data, dict) or not isinstance(data.get("feeds"), builtins.list):
        raise FeedError(f'{path} is not a feeds file (no "feeds" list): fix or delete it')
    return [Feed.from_json(item) for item in data["feeds"]]


# ----------------------------------------------------------------------------- refreshing


@dataclass
class FeedResult:
    """What one refresh of a feed found: articles to ingest, failures per URL, or that nothing changed."""

    url: str
    articles: builtins.list[Article] = field(default_factory=builtins.list)
    failures: builtins.list[LoadFailure] = field(default_factory=builtins.list)
    not_modified: bool = False
    deferred: int = 0
    """New or changed entries left for the next refresh (over `FeedLimits.max_new`)."""

    @property
    def loaded(self) -> builtins.list[Loaded]:
        """Articles and failures together, as `ingest_articles` takes them."""
        return [*self.articles, *self.failures]

    @property
    def ok(self) -> bool:
        """Whether the feed and every new entry were read."""
        return not self.failures


def refresh(
    feed: Feed,
    fetchers: Fetcher | Sequence[Fetcher],
    now: datetime,
    *,
    limits: FeedLimits | None = None,
    fallback_min_chars: int = FALLBACK_MIN_CHARS,
    checkpoint: Checkpoint | None = None,
) -> FeedResult:
    """Fetch a feed (conditionally) and the pages of its new or changed entries; update its state.

    An unchanged feed costs one small request. New and changed entries are read newest first, at
    most `limits.max_new` of them (the rest at the next refresh). Their pages are fetched by
    `fetchers`, each taking the hosts that hash to it, so different hosts are fetched at once while
    one host's pages still come one after another, spaced by its fetcher's politeness. A page that
    cannot be fetched is replaced by the entry's own text when that is long enough, else reported;
    entries that failed for a reason that may pass (timeouts, 5xx, DNS) are tried again next time.
    With `checkpoint`, the articles and failures are handed over every `limits.checkpoint_every`
    entries, and once more at the end (possibly none), with the feed's state up to date.
    """
    limits = limits or FeedLimits()
    fetchers = [fetchers] if isinstance(fetchers, Fetcher) else builtins.list(fetchers)
    now = _aware(now)
    today = now.date()
    result = FeedResult(feed.url)
    feed.last_checked = now
    fetched = fetchers[_worker(feed.url, len(fetchers))].get(
        feed.url, etag=feed.etag, last_modified=feed.last_modified
    )
    if isinstance(fetched, NotModified):
        result.not_modified = True
        feed.etag = fetched.etag or feed.etag
        feed.last_modified = fetched.last_modified or feed.last_modified
        feed.last_success, feed.last_error = now, None
        if checkpoint:
            checkpoint(feed, [])
        return result
    if isinstance(fetched, FetchFailure):
        feed.last_error = fetched.reason
        result.failures.append(fetched)
        if checkpoint:
            checkpoint(feed, [])
        return result
    parsed = feedparser.parse(
        fetched.content,
        response_headers={
            "content-type": fetched.content_type or "application/xml",
            "content-location": fetched.final_url,
        },
    )
    entries = [entry for entry in parsed.entries if _entry_key(entry)]
    if not entries and parsed.bozo:
        reason = f"malformed feed: {_one_line(parsed.get('bozo_exception'))}"
        feed.last_error = reason
        result.failures.append(FetchFailure(feed.url, reason))
        if checkpoint:
            checkpoint(feed, [])
        return result
    feed.title = _plain(str(parsed.feed.get("title") or "")) or feed.title
    todo: builtins.list[tuple[str, str, Any]] = []
    listed: set[str] = set()
    for entry in sorted(entries, key=_entry_moment, reverse=True):  # newest first; stable otherwise
        key = _entry_key(entry)
        if key in listed:
            continue
        listed.add(key)
        fingerprint = _fingerprint(entry)
        if feed.seen.get(key, ("", today))[0] == fingerprint:
            feed.seen[key] = (fingerprint, today)
        else:
            todo.append((key, fingerprint, entry))
    result.deferred = max(0, len(todo) - limits.max_new)
    # Until this refresh is through, a saved state must not let a conditional GET skip the feed.
    feed.etag = feed.last_modified = None
    retry_later = result.deferred > 0
    pending: builtins.list[Article | LoadFailure] = []
    for (key, fingerprint, _), loaded in _read_entries(
        todo[: limits.max_new], fetchers, feed.title, fallback_min_chars
    ):
        if isinstance(loaded, Article):
            result.articles.append(loaded)
        else:
            result.failures.append(loaded)
        if isinstance(loaded, FetchFailure) and loaded.retry:
            retry_later = True  # left as it was: still new or changed next time
        else:
            feed.seen[key] = (fingerprint, today)
        pending.append(loaded)
        if checkpoint and len(pending) >= limits.checkpoint_every:
            checkpoint(feed, pending)
            pending = []
    feed.seen = _remembered(feed.seen, today, limits)
    # With entries left for later, no validators: the next refresh gets the whole feed.
    feed.etag = None if retry_later else fetched.etag
    feed.last_modified = None if retry_later else fetched.last_modified
    feed.last_success = now
    first = result.failures[0] if result.failures else None
    count = len(result.failures)
    feed.last_error = (
        f"{count} {'entry' if count == 1 else 'entries'} failed, e.g. {first.origin}: {first.reason}"
        if first
        else None
    )
    if checkpoint:
        checkpoint(feed, pending)
    return result


def refresh_all(
    store: FeedStore,
    fetchers: Fetcher | Sequence[Fetcher],
    now: datetime,
    only_due: bool = False,
    *,
    limits: FeedLimits | None = None,
    checkpoint: Checkpoint | None = None,
) -> builtins.list[FeedResult]:
    """Refresh every feed (or only those due); one feed's failure never stops the others.

    Saves nothing itself: pass a `checkpoint` that stores the articles and saves the feed.
    """
    feeds = store.due(now) if only_due else store.list()
    results = []
    for feed in feeds:
        result = refresh(feed, fetchers, now, limits=limits, checkpoint=checkpoint)
        logger.info(
            "feed %s: %d articles, %d failures%s%s",
            feed.url,
            len(result.articles),
            len(result.failures),
            " (not modified)" if result.not_modified else "",
            f", {result.deferred} left for the next refresh" if result.deferred else "",
        )
        results.append(result)
    return results


def _worker(url: str, workers: int) -> int:
    """Which of `workers` fetchers takes a URL: always the same one for a host."""
    host = (urlsplit(url).hostname or "").lower()
    return zlib.crc32(host.encode("utf-8")) % max(1, workers)


_Todo = tuple[str, str, Any]


def _read_entries(
    todo: Sequence[_Todo], fetchers: Sequence[Fetcher], outlet: str | None, fallback_min_chars: int
) -> Iterator[tuple[_Todo, Article | LoadFailure]]:
    """Each entry with its article (or failure), in the order they are read: one thread per fetcher
    with work, each reading its hosts' entries one after another."""
    groups: dict[int, builtins.list[_Todo]] = {}
    for item in todo:
        groups.setdefault(_worker(str(item[2].get("link") or ""), len(fetchers)), []).append(item)
    if len(groups) <= 1:
        for index, items in groups.items():
            for item in items:
                yield item, _entry_article(item[2], fetchers[index], outlet, fallback_min_chars)
        return
    done: queue.Queue[tuple[_Todo, Article | LoadFailure]] = queue.Queue()

    def work(index: int, items: builtins.list[_Todo]) -> None:
        for item in items:
            done.put((item, _entry_article(item[2], fetchers[index], outlet, fallback_min_chars)))

    with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="feed-fetch") as pool:
        futures = [pool.submit(work, index, items) for index, items in groups.items()]
        for _ in range(len(todo)):
            while True:
                try:
                    yield done.get(timeout=0.5)
                    break
                except queue.Empty:
                    for future in futures:
                        if future.done() and future.exception() is not None:
                            raise RuntimeError("a feed fetch worker failed") from future.exception()


def _entry_article(
    entry: Any, fetcher: Fetcher, outlet: str | None, fallback_min_chars: int
) -> Article | LoadFailure:
    """The article an entry links to; else the entry's own text when it is long enough; else why not."""
    link = str(entry.get("link") or "").strip()
    published = _entry_date(entry)
    if link:
        fetched = fetcher.fetch_article(link)
        if isinstance(fetched, Article):
            if fetched.published_at is None and published is not None:
                return _with_date(fetched, published)
            return fetched
        failure: LoadFailure = fetched
    else:
        failure = FetchFailure(str(entry.get("id") or entry.get("title") or "entry"), "entry has no link")
    text = _entry_text(entry)
    if len(text) < fallback_min_chars:
        return failure
    logger.info("%s: %s; using the feed entry's own text instead", failure.origin, failure.reason)
    record = {
        "title": _plain(str(entry.get("title") or "")),
        "body": text,
        "url": canonical_url(strip_variant(link)) if link else None,
        "source": outlet,
        "published_at": published,
    }
    try:
        return article_from_record(record, failure.origin)
    except LoadError as error:
        return LoadFailure(failure.origin, str(error))


def _with_date(article: Article, published: date) -> Article:
    return replace(
        article, published_at=published, id=article_id(None, article.url, article.title, published)
    )


def _entry_key(entry: Any) -> str:
    return str(entry.get("id") or entry.get("link") or entry.get("title") or "").strip()


def _fingerprint(entry: Any) -> str:
    """What makes an entry "changed": its link, title, dates, summary or content."""
    parts = [
        entry.get("link"),
        entry.get("title"),
        entry.get("published"),
        entry.get("updated"),
        entry.get("summary"),
        *(item.get("value") for item in entry.get("content") or []),
    ]
    digest = hashlib.sha1(json.dumps([str(p or "") for p in parts]).encode("utf-8"))
    return digest.hexdigest()[:16]


def _entry_date(entry: Any) -> date | None:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(name)
        if value:
            try:
                return date(value.tm_year, value.tm_mon, value.tm_mday)
            except (AttributeError, ValueError):
                continue
    return None


def _entry_text(entry: Any) -> str:
    """The longest text the entry carries itself (full content or summary), as plain paragraphs."""
    candidates = [str(item.get("value") or "") for item in entry.get("content") or []]
    candidates.append(str(entry.get("summary") or ""))
    return max((_plain(text) for text in candidates), key=len, default="")


def _remembered(
    seen: dict[str, tuple[str, date]], today: date, limits: FeedLimits
) -> dict[str, tuple[str, date]]:
    """The seen entries still worth remembering: those listed in the last `seen_days` days, at most
    `max_seen` of them (the longest gone dropped first)."""
    oldest = today - timedelta(days=limits.seen_days)
    kept = sorted(
        ((key, value) for key, value in seen.items() if value[1] >= oldest), key=lambda kv: kv[1][1]
    )
    return dict(kept[-limits.max_seen :]) if limits.max_seen > 0 else {}


def _entry_moment(entry: Any) -> tuple[int, ...]:
    """When an entry was published or updated, for sorting (undated entries sort as oldest)."""
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(name)
        if value:
            return tuple(value[:6])
    return ()


class _TextParser(HTMLParser):
    """Plain text of an HTML fragment, with a paragraph break at each block element."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: builtins.list[str] = []

    def handle_starttag(self, tag: str, attrs: builtins.list[tuple[str, str | None]]) -> None:
        """Start a new paragraph at a block element."""
        if tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        """End the paragraph of a block element."""
        if tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        """Keep text."""
        self.parts.append(data)


def _plain(fragment: str) -> str:
    """Plain paragraphs of a feed's text or HTML fragment, entities decoded ("Smith &amp; Sons")."""
    if "<" not in fragment:
        text = html.unescape(fragment)
    else:
        parser = _TextParser()
        parser.feed(fragment)
        parser.close()
        text = "".join(parser.parts)
    paragraphs = (" ".join(block.split()) for block in re.split(r"\n\s*\n", text))
    return "\n\n".join(p for p in paragraphs if p)


def _one_line(error: object) -> str:
    text = " ".join(str(error or "not a feed").split())
    return text[:200]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _datetime(value: Any) -> datetime | None:
    return _aware(datetime.fromisoformat(str(value))) if value else None
