"""The ingest service: every way articles get into (or out of) the store, behind one object.

The CLI, the Telegram bot, the feed scheduler and `newsdesk eval` all call an `Ingestor` instead of
wiring loaders, fetchers, feed registries and the pipeline themselves, so a rule about ingesting
lives in one place. Build one per process and share it: its writes take turns under one lock (two
uploads, a feed refresh and a /forget never interleave), and its `Fetcher` keeps each host's
robots.txt and request spacing across calls.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Protocol, TypeVar

from ingest.chunking import Chunker
from ingest.config import IngestSettings
from ingest.feeds import Feed, FeedError, FeedLimits, FeedResult, FeedStore, refresh_all
from ingest.fetch import Fetcher, FetchPolicy
from ingest.loaders import Loaded, LoadFailure, load_paths
from ingest.pipeline import (
    ArticleLimits,
    IngestReport,
    ProgressCallback,
    ingest_articles,
    is_url,
    make_chunker,
    store_embedded,
)
from store import Article, EmbeddedArticle, KnowledgeBase

logger = logging.getLogger(__name__)

Source = str | Path
"""A file, a folder, or an http(s) page URL."""
RefreshCallback = Callable[[list[FeedResult], IngestReport], None]


class IngestObserver(Protocol):
    """Told what an `Ingestor` did (metrics): add one to `Ingestor.observers`."""

    def stored(self, origin: str, articles: int) -> None:
        """`articles` were added or updated, arriving by `origin`: file, web, feed, upload, channel
        or import."""

    def refreshed(self, results: Sequence[FeedResult]) -> None:
        """Feeds were refreshed (each result says whether its feed could be read)."""


T = TypeVar("T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of `size` items (the last one shorter), read from `items` as they are needed."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class Ingestor:
    """Ingests files, folders, page URLs, uploads and feeds into one knowledge base, with reports.

    `kb` may be the knowledge base or a function that opens it, so that commands which only read
    the feed registry (`newsdesk feeds list`) never open the store. `data_dir` holds the feed
    registry (`feeds.json`); without it, feed methods raise `FeedError`. `fetcher` defaults to
    `fetch_workers` fetchers made from `settings` on first use (pages of different hosts are fetched
    at once, one host's one after another), closed by `close()`; a given one is used alone.
    """

    def __init__(
        self,
        kb: KnowledgeBase | Callable[[], KnowledgeBase],
        settings: IngestSettings,
        *,
        data_dir: Path | None = None,
        fetcher: Fetcher | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._kb = kb
        self.settings = settings
        self.data_dir = data_dir
        self.clock = clock
        self._fetchers: list[Fetcher] = [fetcher] if fetcher is not None else []
        self._owns_fetchers = fetcher is None
        self._lock = threading.RLock()
        self.observers: list[IngestObserver] = []

    @cached_property
    def kb(self) -> KnowledgeBase:
        """The knowledge base, opened on first use when a function to open it was given."""
        return self._kb if isinstance(self._kb, KnowledgeBase) else self._kb()

    @cached_property
    def chunker(self) -> Chunker:
        """The chunker, counting tokens with the store's own model."""
        return make_chunker(self.kb, self.settings)

    @property
    def fetchers(self) -> list[Fetcher]:
        """The HTTP fetchers with the configured safety policy, made on first use."""
        if not self._fetchers:
            policy = FetchPolicy.from_settings(self.settings)
            self._fetchers = [Fetcher(policy) for _ in range(self.settings.fetch_workers)]
        return self._fetchers

    @property
    def fetcher(self) -> Fetcher:
        """The first fetcher: pages given by URL, robots.txt and the checks of `follow`."""
        return self.fetchers[0]

    def close(self) -> None:
        """Close the fetchers this service made (the knowledge base belongs to its opener)."""
        if self._owns_fetchers:
            for fetcher in self._fetchers:
                fetcher.close()
            self._fetchers = []

    def __enter__(self) -> Ingestor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------- articles

    def ingest(
        self,
        sources: Sequence[Source],
        *,
        on_loaded: Callable[[int], None] | None = None,
        on_progress: ProgressCallback | None = None,
        origin: str | None = None,
    ) -> IngestReport:
        """Add or update the articles of files, folders and page URLs: one report, one embedding pass.

        `on_loaded(articles)` is called once every source is read; `on_progress(done, chunks)` after
        each batch is stored. Observers hear of the articles as arriving by `origin`, by default
        "file" or "web" (a page URL).
        """
        urls = [str(source) for source in sources if is_url(source)]
        paths = [Path(source) for source in sources if not is_url(source)]
        with self._lock:
            loaded: list[Loaded] = list(
                load_paths(
                    paths,
                    max_bytes=int(self.settings.max_file_mb * 1_000_000),
                    max_page_bytes=int(self.settings.fetch_max_mb * 1_000_000),
                    # markup and front matter aside, no more than this can ever be stored
                    max_text_chars=2 * self.settings.max_article_chars,
                )
            )
            loaded += [self.fetcher.fetch_article(url) for url in urls]
            if on_loaded:
                on_loaded(sum(isinstance(item, Article) for item in loaded))
            report = self._store(loaded, on_progress)
        if origin is not None:
            self._stored(origin, report)
        else:
            web = {item.id for item in loaded if isinstance(item, Article) and is_url(item.origin)}
            self._stored("web", report, web.__contains__)
            self._stored("file", report, lambda article_id: article_id not in web)
        return report

    def ingest_loaded(
        self, items: Iterable[Loaded], *, origin: str = "file", on_progress: ProgressCallback | None = None
    ) -> IngestReport:
        """Store articles that were already loaded, arriving by `origin` (failures are reported)."""
        with self._lock:
            report = self._store(items, on_progress)
        self._stored(origin, report)
        return report

    def _stored(
        self, origin: str, report: IngestReport, counted: Callable[[str], bool] = lambda _: True
    ) -> None:
        articles = sum(1 for article_id in (*report.added, *report.updated) if counted(article_id))
        if articles:
            for observer in self.observers:
                observer.stored(origin, articles)

    def restore(
        self, items: Iterable[Article | EmbeddedArticle], *, on_progress: ProgressCallback | None = None
    ) -> IngestReport:
        """Store articles read back from an export, a batch at a time as they stream in: plain
        articles go through the pipeline (chunked and embedded with this store's model), articles
        with their vectors are written as they are. Unchanged ones are skipped, so running it again,
        or after an interruption, only does what is left."""
        started = time.perf_counter()
        report = IngestReport()
        done = 0
        with self._lock:
            report.repaired_chunks = self.kb.repair()
            for batch in _batches(items, self.settings.ingest_batch):
                articles = [item for item in batch if isinstance(item, Article)]
                if articles:
                    report.extend(self._store(articles, None, repair=False))
                store_embedded([item for item in batch if isinstance(item, EmbeddedArticle)], self.kb, report)
                done += len(batch)
                if on_progress:
                    on_progress(done, report.chunks_written)
        report.seconds = time.perf_counter() - started
        self._stored("import", report)
        return report

    def forget(self, article_ids: Iterable[str]) -> tuple[list[str], list[str]]:
        """Remove articles and their chunks: (the ids removed, the ids that were not stored)."""
        removed: list[str] = []
        missing: list[str] = []
        with self._lock:
            for article_id in dict.fromkeys(article_ids):
                (removed if self.kb.forget(article_id) else missing).append(article_id)
        return removed, missing

    def _store(
        self, items: Iterable[Loaded], on_progress: ProgressCallback | None, *, repair: bool = True
    ) -> IngestReport:
        return ingest_articles(
            items,
            self.kb,
            self.chunker,
            batch_size=self.settings.ingest_batch,
            limits=ArticleLimits.from_settings(self.settings),
            on_progress=on_progress,
            repair=repair,
        )

    # ----------------------------------------------------------------------------- feeds

    @property
    def feeds(self) -> FeedStore:
        """The feed registry as it is on disk now (another process may have changed it)."""
        if self.data_dir is None:
            raise FeedError("feeds need a data dir (NEWSDESK_DATA_DIR)")
        return FeedStore.in_data_dir(self.data_dir)

    def follow(self, url: str, every: str | timedelta | None = None) -> Feed:
        """Follow a feed (or change how often an already followed one is refreshed).

        A URL no refresh could ever fetch (not http(s), a private or loopback address unless
        NEWSDESK_ALLOW_PRIVATE_URLS) is refused here with the reason.
        """
        refused = self.fetcher.refusal(url.strip())
        if refused is not None:
            raise FeedError(f"cannot follow {url.strip()}: {refused}")
        with self._lock:
            return self.feeds.add(url, every or self.settings.feed_every)

    def unfollow(self, url: str) -> bool:
        """Stop following a feed (its articles stay); False when it was not followed."""
        with self._lock:
            return self.feeds.remove(url)

    @property
    def feed_limits(self) -> FeedLimits:
        """How much one refresh of a feed may do (`NEWSDESK_FEED_MAX_NEW`, `NEWSDESK_FEED_SEEN_DAYS`)."""
        return FeedLimits(max_new=self.settings.feed_max_new, seen_days=self.settings.feed_seen_days)

    def refresh_feeds(self, *, only_due: bool = False) -> tuple[list[FeedResult], IngestReport]:
        """Fetch every feed (or only those due), ingest new and changed entries, and save their state.

        Every few entries their articles are stored and then the feed's state saved, so an
        interrupted refresh resumes where it stopped, and a crash costs a repeated fetch, never a
        lost article.
        """
        with self._lock:
            registry = self.feeds
            report = self._store([], None)  # repairs what an interrupted run left, once

            def checkpoint(feed: Feed, items: list[Article | LoadFailure]) -> None:
                if items:
                    report.extend(self._store(items, None, repair=False))
                registry.save_state(feed)

            results = refresh_all(
                registry,
                self.fetchers,
                self.clock(),
                only_due=only_due,
                limits=self.feed_limits,
                checkpoint=checkpoint,
            )
        self._stored("feed", report)
        for observer in self.observers:
            observer.refreshed(results)
        return results, report

    def has_due_feeds(self) -> bool:
        """Whether any followed feed's refresh interval has passed."""
        return self.data_dir is not None and bool(self.feeds.due(self.clock()))

    def watch(
        self, stop: threading.Event, *, on_refresh: RefreshCallback | None = None, max_wait: float = 60.0
    ) -> None:
        """Refresh due feeds on their schedules until `stop` is set.

        The registry is re-read every round, so feeds added or removed meanwhile (by `newsdesk
        feeds add`, say) are picked up.
        """
        while not stop.is_set():
            results, report = self.refresh_feeds(only_due=True)
            if results and on_refresh:
                on_refresh(results, report)
            now = self.clock()
            waits = [
                ((feed.last_checked or now) + feed.every - now).total_seconds() for feed in self.feeds.list()
            ]
            stop.wait(min([max_wait, *waits]))
