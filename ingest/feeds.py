"""Feeds to follow (RSS 0.9x/1.0/2.0 and Atom), refreshed with conditional GETs into new and changed articles.

`FeedStore` keeps the registry in one JSON file (`<data_dir>/feeds.json`), written atomically.
`refresh` fetches one feed and the pages of its new or changed entries; `refresh_all` does every
feed (or every due one). Both update the feeds' state in memory: call `FeedStore.save()` once the
articles are ingested, so a crash in between costs a repeated fetch, never a lost article.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
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
from store.records import Article

logger = logging.getLogger(__name__)

FEEDS_FILE = "feeds.json"
DEFAULT_EVERY = timedelta(minutes=30)
MAX_SEEN = 500
"""Entries remembered per feed; more than any feed lists at once, so none is fetched twice."""
FALLBACK_MIN_CHARS = 300
"""An entry's own text stands in for its page only when it is at least this long."""

_INTERVAL = re.compile(r"(\d+)\s*([smhd])", re.IGNORECASE)
_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_FORMAT_VERSION = 1


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
    seen: dict[str, str] = field(default_factory=dict)
    """Entry id (or link) to a fingerprint of its content, oldest first."""

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
            "seen": self.seen,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Feed:
        """A feed from `to_json`'s output; raises FeedError when it is not that."""
        try:
            seen = data.get("seen") or {}
            return cls(
                url=str(data["url"]),
                every=parse_interval(str(data.get("every") or "30m")),
                title=data.get("title"),
                etag=data.get("etag"),
                last_modified=data.get("last_modified"),
                last_checked=_datetime(data.get("last_checked")),
                last_success=_datetime(data.get("last_success")),
                last_error=data.get("last_error"),
                seen={str(key): str(value) for key, value in seen.items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise FeedError(f"invalid feed record {str(data)[:80]!r}: {error}") from error


class FeedStore:
    """The registry of followed feeds, kept in one JSON file."""

    def __init__(self, path: Path, *, max_seen: int = MAX_SEEN) -> None:
        self.path = path
        self.max_seen = max_seen
        self._feeds: dict[str, Feed] = {}
        if path.exists():
            self._feeds = {feed.url: feed for feed in _read(path)}

    @classmethod
    def in_data_dir(cls, data_dir: Path, *, max_seen: int = MAX_SEEN) -> FeedStore:
        """The registry kept in `<data_dir>/feeds.json`."""
        return cls(data_dir / FEEDS_FILE, max_seen=max_seen)

    def add(self, url: str, every: str | timedelta = DEFAULT_EVERY) -> Feed:
        """Follow a feed (or change how often an already followed one is refreshed), and save."""
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise FeedError(f"not an http(s) feed URL: {url!r}")
        interval = parse_interval(every) if isinstance(every, str) else every
        if interval <= timedelta(0):
            raise FeedError("the refresh interval must be longer than zero")
        feed = self._feeds.get(url)
        if feed is None:
            feed = self._feeds[url] = Feed(url, interval)
        else:
            feed.every = interval
        self.save()
        return feed

    def remove(self, url: str) -> bool:
        """Stop following a feed and save; False when it was not followed."""
        if self._feeds.pop(url.strip(), None) is None:
            return False
        self.save()
        return True

    def get(self, url: str) -> Feed | None:
        """The followed feed with this URL, if any."""
        return self._feeds.get(url.strip())

    def list(self) -> builtins.list[Feed]:
        """Every followed feed, in the order they were added."""
        return builtins.list(self._feeds.values())

    def due(self, now: datetime) -> builtins.list[Feed]:
        """The feeds whose refresh interval has passed at `now`."""
        return [feed for feed in self._feeds.values() if feed.is_due(now)]

    def save(self) -> None:
        """Write the registry atomically: a temporary file next to it, then a rename."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            {"version": _FORMAT_VERSION, "feeds": [feed.to_json() for feed in self._feeds.values()]},
            indent=2,
            ensure_ascii=False,
        )
        handle, temporary = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text + "\n")
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise


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
    fetcher: Fetcher,
    now: datetime,
    *,
    max_seen: int = MAX_SEEN,
    fallback_min_chars: int = FALLBACK_MIN_CHARS,
) -> FeedResult:
    """Fetch a feed (conditionally) and the pages of its new or changed entries; update its state.

    An unchanged feed costs one small request. A page that cannot be fetched is replaced by the
    entry's own text when that is long enough, else reported. Entries that failed for a reason that
    may pass (timeouts, 5xx, DNS) are tried again at the next refresh.
    """
    now = _aware(now)
    result = FeedResult(feed.url)
    feed.last_checked = now
    fetched = fetcher.get(feed.url, etag=feed.etag, last_modified=feed.last_modified)
    if isinstance(fetched, NotModified):
        result.not_modified = True
        feed.etag = fetched.etag or feed.etag
        feed.last_modified = fetched.last_modified or feed.last_modified
        feed.last_success, feed.last_error = now, None
        return result
    if isinstance(fetched, FetchFailure):
        feed.last_error = fetched.reason
        result.failures.append(fetched)
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
        return result
    feed.title = parsed.feed.get("title") or feed.title
    current: dict[str, str] = {}
    retry_later = False
    for entry in entries:
        key = _entry_key(entry)
        fingerprint = _fingerprint(entry)
        if key in current:
            continue
        if feed.seen.get(key) == fingerprint:
            current[key] = fingerprint
            continue
        loaded = _entry_article(entry, fetcher, feed.title, fallback_min_chars)
        if isinstance(loaded, Article):
            result.articles.append(loaded)
        else:
            result.failures.append(loaded)
        if isinstance(loaded, FetchFailure) and loaded.retry:
            retry_later = True
            if key in feed.seen:
                current[key] = feed.seen[key]  # the old fingerprint: still "changed" next time
        else:
            current[key] = fingerprint
    feed.seen = _bounded(feed.seen, current, max_seen)
    # With entries to try again, forget the validators so the next refresh gets the whole feed.
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
    return result


def refresh_all(
    store: FeedStore, fetcher: Fetcher, now: datetime, only_due: bool = False
) -> list[FeedResult]:
    """Refresh every feed (or only those due); one feed's failure never stops the others. Does not save."""
    feeds = store.due(now) if only_due else store.list()
    results = []
    for feed in feeds:
        result = refresh(feed, fetcher, now, max_seen=store.max_seen)
        logger.info(
            "feed %s: %d articles, %d failures%s",
            feed.url,
            len(result.articles),
            len(result.failures),
            " (not modified)" if result.not_modified else "",
        )
        results.append(result)
    return results


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


def _bounded(old: dict[str, str], current: dict[str, str], limit: int) -> dict[str, str]:
    """The seen entries: older ones first, the feed's current ones last, at most `limit` (oldest dropped)."""
    merged = {key: value for key, value in old.items() if key not in current}
    merged.update(current)
    keys = builtins.list(merged)[-limit:] if limit > 0 else []
    return {key: merged[key] for key in keys}


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
    if "<" not in fragment:
        text = fragment
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
