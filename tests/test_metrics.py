"""/metrics and /healthz: scraped over HTTP while the real services work; the counters must move with
what happened. The bot's own (as `newsdesk bot` runs it, against the Bot API emulator) is scraped in
test_telegram_bot.py."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import ingest
import store
from bot.answering import Newsdesk
from bot.config import BotSettings
from bot.metrics import Health, Metrics, MonitoringServer, monitoring, parse_address, store_check
from ingest import FeedStore

try:  # works whether or not tests/ is a package
    from tests.openai_emulator import OpenAIEmulator, Reply
except ImportError:
    from openai_emulator import OpenAIEmulator, Reply

QUESTION = "What is the 2025 delivery target?"
EVERY = 0.1  # seconds between health checks in these tests


def get(url: str, path: str) -> tuple[int, str, str]:
    """(status, content type, body) of a GET on 127.0.0.1 (no proxies, whatever the environment)."""
    host, port = parse_address(url.removeprefix("http://"))
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read().decode()
    finally:
        connection.close()


def value(exposition: str, name: str, **labels: str) -> float:
    """One sample of a scrape (0 when absent)."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture
def served(sample_kb: store.KnowledgeBase, tmp_path: Path) -> Iterator[tuple[MonitoringServer, Newsdesk]]:
    """The monitoring server on a free port, fed by a Newsdesk and an Ingestor over the samples."""
    settings = BotSettings(metrics_addr="127.0.0.1:0", health_check_every=EVERY)
    newsdesk = Newsdesk(sample_kb, settings)
    ingestor = ingest.Ingestor(sample_kb, ingest.IngestSettings(), data_dir=tmp_path / "data")
    server = monitoring(settings, sample_kb, ingestor, newsdesk)
    assert server is not None
    with server:
        yield server, newsdesk


def test_metrics_count_questions_by_outcome_with_their_latency(
    served: tuple[MonitoringServer, Newsdesk],
) -> None:
    server, newsdesk = served
    status, kind, before = get(server.url, "/metrics")
    assert status == 200 and kind.startswith("text/plain; version=")
    assert value(before, "newsdesk_questions_total", outcome="found") == 0
    assert value(before, "newsdesk_store_articles") == 8 and value(before, "newsdesk_store_up") == 1
    assert value(before, "newsdesk_store_chunks") > 8 and value(before, "newsdesk_store_bytes") > 100_000

    assert newsdesk.ask(QUESTION).found
    assert not newsdesk.ask("Who won the 1998 chess olympiad in Elista?").found
    _, _, after = get(server.url, "/metrics")
    assert value(after, "newsdesk_questions_total", outcome="found") == 1
    assert value(after, "newsdesk_questions_total", outcome="not_found") == 1
    assert value(after, "newsdesk_questions_total", outcome="error") == 0
    assert value(after, "newsdesk_answer_seconds_count") == 2
    assert 0 < value(after, "newsdesk_answer_seconds_sum") < 30
    assert value(after, "newsdesk_answer_seconds_bucket", le="60.0") == 2


def test_articles_ingested_are_counted_by_origin(
    tmp_path: Path, embeddings: store.SentenceTransformerEmbeddings
) -> None:
    with store.open_knowledge_base(store.StoreSettings(data_dir=tmp_path / "other"), embeddings) as kb:
        metrics = Metrics(kb)
        ingestor = ingest.Ingestor(kb, ingest.IngestSettings())
        ingestor.observers.append(metrics)
        ingestor.ingest([ingest.samples_dir() / "tram-line.txt"])
        ingestor.ingest([ingest.samples_dir() / "tram-line.txt"])  # unchanged: not counted again
        upload = tmp_path / "upload.md"
        upload.write_text("---\ntitle: Ferry timetable\n---\nThe ferry runs hourly from May.\n")
        ingestor.ingest([upload], origin="upload")
        article = store.Article(id="c-1", title="Channel post", body="The pier reopens on Friday.")
        ingestor.ingest_loaded([article], origin="channel")
        scrape = metrics.exposition().decode()
    assert value(scrape, "newsdesk_articles_ingested_total", origin="file") == 1
    assert value(scrape, "newsdesk_articles_ingested_total", origin="upload") == 1
    assert value(scrape, "newsdesk_articles_ingested_total", origin="channel") == 1
    assert value(scrape, "newsdesk_store_articles") == 3


def test_llm_fallbacks_are_counted_by_reason(
    sample_kb: store.KnowledgeBase, llm_server: OpenAIEmulator
) -> None:
    settings = BotSettings(
        answerer="llm", llm_base_url=llm_server.base_url, llm_model="test-model", llm_timeout=1.0
    )
    newsdesk = Newsdesk(sample_kb, settings)
    metrics = Metrics(sample_kb)
    newsdesk.observers.append(metrics)
    llm_server.script(Reply(status=500, error="the model is down"), "A reply citing nothing at all.")
    first, second = newsdesk.ask(QUESTION), newsdesk.ask(QUESTION)
    assert (first.fallback, second.fallback) == ("model_error", "verification")
    scrape = metrics.exposition().decode()
    assert value(scrape, "newsdesk_llm_fallbacks_total", reason="model_error") == 1
    assert value(scrape, "newsdesk_llm_fallbacks_total", reason="verification") == 1


def test_healthz_reports_each_check_and_fails_when_one_fails_or_hangs(sample_kb: store.KnowledgeBase) -> None:
    state = {"telegram": "ok"}

    def telegram() -> str:
        if state["telegram"] == "down":
            raise ConnectionError("Telegram did not answer getMe")
        if state["telegram"] == "hang":
            time.sleep(3)
        return "@newsdesk_test_bot"

    health = Health({"store": store_check(sample_kb), "telegram": telegram}, every=EVERY)
    with MonitoringServer("127.0.0.1:0", Metrics(sample_kb), health) as server:
        wait_until(lambda: get(server.url, "/healthz")[0] == 200)
        _, kind, body = get(server.url, "/healthz")
        report = json.loads(body)
        assert kind == "application/json" and report["healthy"] is True
        assert report["store"]["ok"] and report["store"]["detail"] == "8 articles"
        assert report["telegram"] == {
            "ok": True,
            "detail": "@newsdesk_test_bot",
            "checked_at": report["telegram"]["checked_at"],
        }

        state["telegram"] = "down"
        wait_until(lambda: get(server.url, "/healthz")[0] == 503)
        report = json.loads(get(server.url, "/healthz")[2])
        assert report["healthy"] is False and report["store"]["ok"]
        assert report["telegram"]["detail"] == "Telegram did not answer getMe"

        state["telegram"] = "hang"
        wait_until(lambda: "stuck" in get(server.url, "/healthz")[2], timeout=5)
        assert get(server.url, "/healthz")[0] == 503
        assert get(server.url, "/nowhere")[0] == 404
        state["telegram"] = "ok"


def test_healthz_wants_a_recent_successful_feed_refresh(
    sample_kb: store.KnowledgeBase, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    health = Health({}, every=EVERY, data_dir=data_dir, clock=lambda: now)
    assert health.report() == (
        True,
        {"healthy": True, "feeds": {"ok": True, "detail": "no feeds followed", "last_success": None}},
    )

    feeds = FeedStore.in_data_dir(data_dir)
    feed = feeds.add("https://news.example/feed.xml", "10m")
    feed.last_success = now - timedelta(minutes=20)
    feeds.save_state(feed)
    healthy, report = health.report()
    assert healthy and report["feeds"]["detail"] == "1 feeds; last successful refresh 20 min ago"

    feed.last_success = now - timedelta(minutes=45)  # allowed: 3 x 10 min
    feeds.save_state(feed)
    healthy, report = health.report()
    assert not healthy and report["feeds"]["detail"].endswith("45 min ago (more than 30 min)")
    assert report["feeds"]["last_success"] == "2026-12-01T11:15:00+00:00"


@pytest.mark.parametrize("address", ["9464", "localhost", "127.0.0.1:http", ":9464", "1.2.3.4:70000"])
def test_a_bad_metrics_address_is_a_clear_error(address: str) -> None:
    with pytest.raises(ValueError, match=r"NEWSDESK_METRICS_ADDR must look like 127\.0\.0\.1:9464"):
        parse_address(address)
