"""Health and metrics over HTTP for `newsdesk bot` and `newsdesk watch` (off unless
NEWSDESK_METRICS_ADDR is set, e.g. `127.0.0.1:9464`).

- `GET /metrics`: the Prometheus text format (prometheus-client): questions by outcome, an answer
  latency histogram, LLM fallbacks by reason, articles stored by origin, feed refreshes and their
  errors, and the store's size (articles, chunks, bytes on disk when embedded), read at scrape time.
- `GET /healthz`: JSON, 200 when healthy and 503 when not. Checks run in a background thread every
  `NEWSDESK_HEALTH_CHECK_EVERY` seconds, never in the request: the store answers a count, Telegram
  answers `getMe` (the bot only, through its own event loop, so a stuck loop fails too), and when
  feeds are followed, one was refreshed successfully lately (within three of the shortest
  interval, at least 15 minutes). A check whose last result is older than three rounds counts as
  failed: whatever hangs, the endpoint still answers, and says so.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.answering import Answer, Newsdesk
from bot.config import BotSettings
from ingest import FeedResult, FeedStore, Ingestor
from store import KnowledgeBase

logger = logging.getLogger(__name__)

OUTCOMES = ("found", "not_found", "error")
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
MIN_FEED_SILENCE = timedelta(minutes=15)


def parse_address(address: str) -> tuple[str, int]:
    """`host:port` (or `[::1]:port`) as (host, port); raises ValueError with a readable message."""
    host, sep, port = address.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"NEWSDESK_METRICS_ADDR must look like 127.0.0.1:9464, not {address!r}")
    return host, int(port)


class Metrics:
    """The counters and histograms, in a registry of their own; an `AnswerObserver` of `Newsdesk`
    and an `IngestObserver` of `Ingestor` (add it to their `observers`)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.registry = CollectorRegistry()
        self.questions = Counter(
            "newsdesk_questions", "Questions answered, by outcome.", ["outcome"], registry=self.registry
        )
        for outcome in OUTCOMES:
            self.questions.labels(outcome)
        self.answer_seconds = Histogram(
            "newsdesk_answer_seconds",
            "Seconds from question to answer (retrieval and answering).",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "newsdesk_llm_fallbacks",
            "LLM answers replaced by the extractive answer, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.ingested = Counter(
            "newsdesk_articles_ingested",
            "Articles added or updated, by how they arrived (file, web, feed, upload, channel, import).",
            ["origin"],
            registry=self.registry,
        )
        self.feed_refreshes = Counter(
            "newsdesk_feed_refreshes", "Feed fetches (one per feed and refresh).", registry=self.registry
        )
        self.feed_errors = Counter(
            "newsdesk_feed_refresh_errors", "Feed fetches that failed.", registry=self.registry
        )
        self.last_feed_success = Gauge(
            "newsdesk_last_feed_refresh_timestamp_seconds",
            "Unix time of the last feed fetched successfully by this process.",
            registry=self.registry,
        )
        folder = Path(kb.location) if kb.location else None  # the embedded store's folder, or a URL
        self.registry.register(_StoreCollector(kb, folder if folder and folder.is_dir() else None))

    # AnswerObserver
    def answered(self, answer: Answer, seconds: float) -> None:
        """Count an answer and its latency."""
        self.questions.labels("found" if answer.found else "not_found").inc()
        self.answer_seconds.observe(seconds)
        if answer.fallback:
            self.fallbacks.labels(answer.fallback).inc()

    def failed(self, error: Exception, seconds: float) -> None:
        """Count a question that raised."""
        self.questions.labels("error").inc()
        self.answer_seconds.observe(seconds)

    # IngestObserver
    def stored(self, origin: str, articles: int) -> None:
        """Count articles stored."""
        self.ingested.labels(origin).inc(articles)

    def refreshed(self, results: Sequence[FeedResult]) -> None:
        """Count feed fetches and their failures."""
        self.feed_refreshes.inc(len(results))
        self.feed_errors.inc(sum(1 for result in results if not result.ok))
        if any(result.ok for result in results):
            self.last_feed_success.set_to_current_time()

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)


class _StoreCollector(Collector):
    """The store's size, read when scraped."""

    def __init__(self, kb: KnowledgeBase, path: Path | None) -> None:
        self.kb = kb
        self.path = path

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            articles, chunks = self.kb.articles.count(), self.kb.chunks.count()
        except Exception:  # a scrape must not fail because the store is away: `up` says so
            logger.warning("metrics: the store did not answer", exc_info=True)
            yield GaugeMetricFamily("newsdesk_store_up", "Whether the store answered this scrape.", value=0)
            return
        yield GaugeMetricFamily("newsdesk_store_up", "Whether the store answered this scrape.", value=1)
        yield GaugeMetricFamily("newsdesk_store_articles", "Articles stored.", value=articles)
        yield GaugeMetricFamily("newsdesk_store_chunks", "Chunks stored.", value=chunks)
        if self.path is not None and self.path.is_dir():
            index = Path(self.kb.lexical.path)
            files = [*self.path.rglob("*"), *index.parent.glob(f"{index.name}*")]  # with -wal, -shm
            yield GaugeMetricFamily(
                "newsdesk_store_bytes",
                "Bytes on disk of the embedded store and its keyword index.",
                value=sum(f.stat().st_size for f in files if f.is_file()),
            )


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one run of a health check."""

    ok: bool
    detail: str
    at: float
    """time.monotonic() when it finished."""
    wall: datetime


class Health:
    """Runs named checks in a background thread every `every` seconds and reports on them.

    A check is a function that returns a short detail (or None) when healthy and raises when not.
    """

    def __init__(
        self,
        checks: Mapping[str, Callable[[], str | None]],
        *,
        every: float = 30.0,
        data_dir: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.checks = dict(checks)
        self.every = every
        self.data_dir = data_dir
        self.clock = clock
        self.started = clock()
        self.results: dict[str, CheckResult] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="newsdesk-health", daemon=True)

    def start(self) -> None:
        """Start checking (the first round begins at once)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop checking (waits for the round in progress, at most a few seconds)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, check in self.checks.items():
                try:
                    result = CheckResult(True, check() or "ok", time.monotonic(), self.clock())
                except Exception as error:  # any failure is the check's answer
                    result = CheckResult(False, _one_line(error), time.monotonic(), self.clock())
                self.results[name] = result
            self._stop.wait(self.every)

    def report(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, a JSON-ready report of every check)."""
        now = time.monotonic()
        body: dict[str, Any] = {}
        healthy = True
        for name in self.checks:
            result = self.results.get(name)
            if result is None:
                ok, detail, at = False, "not checked yet", None
            elif now - result.at > 3 * self.every + 1:
                ok, detail = False, f"no result for {now - result.at:.0f}s (the check is stuck)"
                at = result.wall.isoformat(timespec="seconds")
            else:
                ok, detail, at = result.ok, result.detail, result.wall.isoformat(timespec="seconds")
            body[name] = {"ok": ok, "detail": detail, "checked_at": at}
            healthy &= ok
        if self.data_dir is not None:
            feeds = self._feeds()
            body["feeds"] = feeds
            healthy &= feeds["ok"]
        return healthy, {"healthy": healthy, **body}

    def _feeds(self) -> dict[str, Any]:
        """Whether a followed feed was refreshed successfully lately (from the registry, so any
        process refreshing them counts)."""
        assert self.data_dir is not None
        try:
            followed = FeedStore.in_data_dir(self.data_dir).list()
        except Exception as error:  # an unreadable registry is unhealthy, not a crash
            return {"ok": False, "detail": _one_line(error), "last_success": None}
        if not followed:
            return {"ok": True, "detail": "no feeds followed", "last_success": None}
        successes = [feed.last_success for feed in followed if feed.last_success]
        last = max(successes) if successes else None
        allowed = max(MIN_FEED_SILENCE, 3 * min(feed.every for feed in followed))
        silent = self.clock() - (last or self.started)
        ok = silent <= allowed
        detail = (
            f"{len(followed)} feeds; last successful refresh {silent.total_seconds() / 60:.0f} min ago"
            if last
            else f"{len(followed)} feeds; none refreshed successfully yet"
        )
        if not ok:
            detail += f" (more than {allowed.total_seconds() / 60:.0f} min)"
        return {
            "ok": ok,
            "detail": detail,
            "last_success": last.isoformat(timespec="seconds") if last else None,
        }


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:300]


class MonitoringServer:
    """`/metrics` and `/healthz` on one address, served by a thread; use it as a context manager or
    call `start()` and `stop()`."""

    def __init__(self, address: str, metrics: Metrics, health: Health) -> None:
        self.metrics = metrics
        self.health = health
        host, port = parse_address(address)
        try:
            self._server = ThreadingHTTPServer((host, port), type("Handler", (_Handler,), {"owner": self}))
        except OSError as error:
            raise ValueError(f"cannot serve metrics on {address}: {error.strerror or error}") from error
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.2,), name="newsdesk-metrics", daemon=True
        )

    @property
    def url(self) -> str:
        """Where it listens, as http://host:port."""
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://[{name}]:{port}" if ":" in name else f"http://{name}:{port}"

    def start(self) -> None:
        """Start the health checks and serving."""
        self.health.start()
        self._thread.start()
        logger.info("metrics and health on %s (/metrics, /healthz)", self.url)

    def stop(self) -> None:
        """Stop serving and checking."""
        self._server.shutdown()
        self._server.server_close()
        self.health.stop()

    def __enter__(self) -> MonitoringServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    owner: MonitoringServer

    def log_message(self, format: str, *args: object) -> None:
        """Scrapes every few seconds would flood the log."""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._reply(200, CONTENT_TYPE_LATEST, self.owner.metrics.exposition())
        elif path == "/healthz":
            healthy, body = self.owner.health.report()
            self._reply(200 if healthy else 503, "application/json", json.dumps(body, indent=2).encode())
        else:
            self._reply(404, "text/plain; charset=utf-8", b"not found: try /metrics or /healthz\n")

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET


def monitoring(
    settings: BotSettings,
    kb: KnowledgeBase,
    ingestor: Ingestor,
    newsdesk: Newsdesk | None = None,
    checks: Mapping[str, Callable[[], str | None]] | None = None,
) -> MonitoringServer | None:
    """The monitoring server NEWSDESK_METRICS_ADDR asks for (None when unset), its metrics fed by
    `newsdesk` and `ingestor`, its health made of the store check, `checks` and the feeds'."""
    if not settings.metrics_addr:
        return None
    metrics = Metrics(kb)
    ingestor.observers.append(metrics)
    if newsdesk is not None:
        newsdesk.observers.append(metrics)
    health = Health(
        {"store": store_check(kb), **(checks or {})},
        every=settings.health_check_every,
        data_dir=ingestor.data_dir,
    )
    return MonitoringServer(settings.metrics_addr, metrics, health)


def store_check(kb: KnowledgeBase) -> Callable[[], str]:
    """A health check: the store answers a count."""

    def check() -> str:
        return f"{kb.articles.count()} articles"

    return check
