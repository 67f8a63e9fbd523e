"""Following feeds: the registry file, conditional refreshes, new and changed entries, and failures."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

import ingest
import store
from bot.config import BotSettings
from bot.metrics import monitoring
from ingest.feeds import (
    Feed,
    FeedError,
    FeedLimits,
    FeedResult,
    FeedStore,
    format_interval,
    parse_interval,
    refresh,
    refresh_all,
)
from ingest.fetch import Fetcher, FetchFailure, FetchPolicy

try:  # works whether or not tests/ is a package
    from tests.news_server import Entry, FeedSpec, NewsServer, fake_dns
except ImportError:
    from news_server import Entry, FeedSpec, NewsServer, fake_dns

NOW = datetime(2025, 3, 5, 8, 0, tzinfo=UTC)
LONG_SUMMARY = (
    "Harbour pilots in Lakeport will work in pairs on night shifts from next month, after a review of "
    "two near misses in the narrow channel last autumn. The pilots' association said the change would "
    "cost the port about 300,000 crowns a year. Shipping companies, who pay for pilotage, said they "
    "accepted the extra cost because the channel is the only route to the container quay."
)


@pytest.fixture
def server() -> Iterator[NewsServer]:
    """The made-up news site on 127.0.0.1."""
    with NewsServer() as running:
        yield running


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    """A fetcher for the local site: loopback allowed, no politeness delay, short timeouts."""
    with httpx.Client(trust_env=False) as client:
        yield Fetcher(
            FetchPolicy(allow_private=True, host_delay=0.0, timeout=0.3), client=client, resolver=fake_dns
        )


def refreshed(server: NewsServer, fetcher: Fetcher, path: str, feed: Feed | None = None) -> FeedResult:
    """Refresh the feed at path (a new one unless given)."""
    return refresh(feed or Feed(server.url(path)), fetcher, NOW)


def page_requests(server: NewsServer) -> list[str]:
    """Paths of every page requested (feeds and robots.txt left out)."""
    return [r.route for r in server.requests() if not r.route.startswith(("/feeds/", "/robots.txt"))]


# ----------------------------------------------------------------------------- the registry


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("45s", 45), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), (" 10 M ", 600)],
)
def test_intervals_are_parsed(text: str, seconds: int) -> None:
    """Seconds, minutes, hours, days and their combinations."""
    assert parse_interval(text) == timedelta(seconds=seconds)
    assert parse_interval(format_interval(parse_interval(text))) == parse_interval(text)


@pytest.mark.parametrize("text", ["", "30", "10x", "0m", "-5m", "m30", "1.5h", "2h 30"])
def test_bad_intervals_are_refused(text: str) -> None:
    """Anything else is a FeedError naming the accepted forms."""
    with pytest.raises(FeedError, match="invalid interval"):
        parse_interval(text)


def test_the_registry_round_trips(tmp_path: Path) -> None:
    """Feeds and their state survive a save and a reload, in a JSON file written atomically."""
    feeds = FeedStore.in_data_dir(tmp_path / "data")
    first = feeds.add("https://news.test/rss.xml")
    feeds.add("https://other.test/atom.xml", every="2h")
    first.etag, first.last_modified = '"abc"', "Wed, 05 Mar 2025 07:00:00 GMT"
    first.last_checked = first.last_success = NOW
    first.last_error, first.title = "1 entries failed", "News"
    first.seen = {"urn:a": ("f1", date(2025, 3, 1)), "urn:b": ("f2", date(2025, 3, 5))}
    feeds.save()

    again = FeedStore(tmp_path / "data" / "feeds.json")
    assert again.list() == feeds.list()
    assert [feed.every for feed in again.list()] == [timedelta(minutes=30), timedelta(hours=2)]
    assert json.loads((tmp_path / "data" / "feeds.json").read_text())["feeds"][1]["every"] == "2h"
    names = sorted(p.name for p in (tmp_path / "data").iterdir())
    assert names == ["feeds.json", "feeds.json.lock"]  # no temporary left

    assert again.remove("https://other.test/atom.xml")
    assert not again.remove("https://other.test/atom.xml")
    assert [feed.url for feed in FeedStore(tmp_path / "data" / "feeds.json").list()] == [first.url]


def test_adding_again_changes_the_interval_only(tmp_path: Path) -> None:
    """A feed is followed once; adding it again keeps its state."""
    feeds = FeedStore(tmp_path / "feeds.json")
    feeds.add("https://news.test/rss.xml").etag = '"kept"'
    feeds.add("https://news.test/rss.xml", every="1d")
    (feed,) = feeds.list()
    assert (feed.every, feed.etag) == (timedelta(days=1), '"kept"')


@pytest.mark.parametrize("url", ["news.test/rss.xml", "ftp://news.test/rss.xml", "file:///tmp/rss.xml"])
def test_only_http_feeds_can_be_added(tmp_path: Path, url: str) -> None:
    """Feed URLs must be http(s)."""
    with pytest.raises(FeedError, match="not an http"):
        FeedStore(tmp_path / "feeds.json").add(url)


def test_a_corrupt_registry_is_a_clear_error(tmp_path: Path) -> None:
    """A damaged feeds.json is reported with what to do, not silently replaced."""
    path = tmp_path / "feeds.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(FeedError, match=r"not valid JSON.*fix or delete it"):
        FeedStore(path)
    path.write_text('{"feeds": [{"every": "30m"}]}', encoding="utf-8")
    with pytest.raises(FeedError, match="invalid feed record"):
        FeedStore(path)


def test_due_feeds(tmp_path: Path) -> None:
    """A feed is due when never checked or when its interval has passed since the last check."""
    feeds = FeedStore(tmp_path / "feeds.json")
    fresh, stale = feeds.add("https://a.test/rss", "1h"), feeds.add("https://b.test/rss", "1h")
    never = feeds.add("https://c.test/rss", "1h")
    fresh.last_checked = NOW - timedelta(minutes=59)
    stale.last_checked = NOW - timedelta(minutes=60)
    assert feeds.due(NOW) == [stale, never]
    assert feeds.due(NOW.replace(tzinfo=None)) == [stale, never]  # naive times are taken as UTC


# ----------------------------------------------------------------------------- refreshing


@pytest.mark.parametrize("path", ["/feeds/rss.xml", "/feeds/atom.xml", "/feeds/rdf.xml"])
def test_a_refresh_yields_the_entries_then_nothing(server: NewsServer, fetcher: Fetcher, path: str) -> None:
    """RSS 2.0, Atom and RSS 1.0: every entry's page, then a 304 costing one request and nothing more."""
    feed = Feed(server.url(path))
    first = refresh(feed, fetcher, NOW)
    assert first.ok and not first.not_modified
    assert [a.title for a in first.articles] == [
        "Lakeport ferry returns after winter repairs",
        "Town library starts lending telescopes",
    ]
    assert [a.url for a in first.articles] == [server.url("/news/ferry"), server.url("/news/telescopes")]
    assert {a.source for a in first.articles} == {"Harbourside Courier"}
    assert feed.etag and feed.last_success == NOW and feed.last_error is None
    assert feed.title == "Harbourside Courier: latest"

    second = refresh(feed, fetcher, NOW + timedelta(minutes=30))
    assert second.not_modified and second.articles == [] and second.failures == []
    feed_requests = server.requests(path)
    assert len(feed_requests) == 2
    assert feed_requests[1].headers["If-None-Match"] == feed.etag
    assert page_requests(server) == ["/news/ferry", "/news/telescopes"]
    assert feed.last_checked == NOW + timedelta(minutes=30)


def test_if_modified_since_is_sent_when_there_is_no_etag(server: NewsServer, fetcher: Fetcher) -> None:
    """With only a Last-Modified date remembered, the refresh asks If-Modified-Since."""
    feed = Feed(server.url("/feeds/rss.xml"))
    refresh(feed, fetcher, NOW)
    feed.etag = None
    assert refresh(feed, fetcher, NOW).not_modified
    assert server.requests("/feeds/rss.xml")[1].headers["If-Modified-Since"] == feed.last_modified


def test_a_changed_entry_is_fetched_again_and_updated_in_place(
    server: NewsServer, fetcher: Fetcher, kb: store.KnowledgeBase
) -> None:
    """An updated story is re-fetched alone, and the pipeline replaces it under the same id."""
    chunker = ingest.make_chunker(kb, ingest.IngestSettings())
    feed = Feed(server.url("/feeds/atom.xml"))
    first = refresh(feed, fetcher, NOW)
    assert len(ingest.ingest_articles(first.loaded, kb, chunker).added) == 2

    ferry = server.stories["ferry"]
    server.stories["ferry"] = replace(
        ferry,
        updated=datetime(2025, 3, 5, 7, 0, tzinfo=UTC),
        paragraphs=[*ferry.paragraphs, "On Wednesday the ferry was briefly held in port by fog."],
    )
    second = refresh(feed, fetcher, NOW + timedelta(hours=1))
    assert [a.url for a in second.articles] == [server.url("/news/ferry")]
    assert second.articles[0].id == first.articles[0].id
    report = ingest.ingest_articles(second.loaded, kb, chunker)
    assert report.updated == [first.articles[0].id] and not report.added
    assert "held in port by fog" in (kb.get_article(first.articles[0].id) or pytest.fail()).body
    assert len(kb.all_articles()) == 2
    assert page_requests(server) == ["/news/ferry", "/news/telescopes", "/news/ferry"]


def test_a_new_entry_is_added(server: NewsServer, fetcher: Fetcher) -> None:
    """Only the entry that was not there before is fetched."""
    feed = Feed(server.url("/feeds/rss.xml"))
    refresh(feed, fetcher, NOW)
    server.feeds["/feeds/rss.xml"].entries.insert(0, "bakers")
    result = refresh(feed, fetcher, NOW)
    assert [a.title for a in result.articles] == ["Bakers in Tolvern stop night shifts"]
    assert page_requests(server) == ["/news/ferry", "/news/telescopes", "/news/bakers"]
    assert len(feed.seen) == 3


def test_entry_links_are_canonicalised(server: NewsServer, fetcher: Fetcher) -> None:
    """A tracking redirect in the feed leads to the article's canonical URL."""
    server.feeds["/feeds/rss.xml"] = FeedSpec("rss", [Entry("urn:x", "Bridge", "/go/bridge")])
    (article,) = refreshed(server, fetcher, "/feeds/rss.xml").articles
    assert article.url == server.url("/news/bridge")


def test_failures_are_reported_per_url_and_the_rest_is_done(server: NewsServer, fetcher: Fetcher) -> None:
    """Each broken entry is one failure; good entries and the summary fallback still come through."""
    entries: list[str | Entry] = [
        "ferry",
        Entry("urn:404", "Gone", "/missing"),
        Entry("urn:500", "Broken", "/broken"),
        Entry("urn:slow", "Slow", "/slow"),
        Entry("urn:pdf", "Report", "/report.pdf"),
        Entry("urn:empty", "Empty", "/empty"),
        Entry("urn:huge", "Huge", "/huge"),
        Entry("urn:dns", "Nowhere", "http://nowhere.test/news/story"),
        Entry("urn:pilots", "Pilots to work in pairs", "/news/pilots", summary=LONG_SUMMARY),
        Entry("urn:short", "Short", "/also-missing", summary="Too short to stand in for the page."),
        "bridge",
    ]
    server.feeds["/feeds/rss.xml"] = FeedSpec("rss", entries)
    feed = Feed(server.url("/feeds/rss.xml"))
    result = refresh(feed, fetcher, NOW)

    assert [a.title for a in result.articles] == [  # newest first
        "Lakeport ferry returns after winter repairs",
        "Council approves footbridge over the Ash river",
        "Pilots to work in pairs",
    ]
    pilots = result.articles[2]
    assert pilots.body == LONG_SUMMARY and pilots.source == "Harbourside Courier: latest"
    assert pilots.url == server.url("/news/pilots") and pilots.published_at == date(2025, 3, 1)
    reasons = {failure.origin.removeprefix(server.base): failure.reason for failure in result.failures}
    assert reasons == {
        "/missing": "HTTP 404 Not Found",
        "/broken": "HTTP 500 Internal Server Error",
        "/slow": "timed out waiting for the server (after 0.3 s)",
        "/report.pdf": "not HTML (content type application/pdf)",
        "/empty": "no article text found in the page",
        "/huge": "page over 5 MB",
        "http://nowhere.test/news/story": "DNS lookup failed for nowhere.test: Name or service not known",
        "/also-missing": "HTTP 404 Not Found",
    }
    assert feed.last_success == NOW and feed.last_error and feed.last_error.startswith("8 entries failed")

    # Failures that may pass (5xx, timeout, DNS) are tried again with a full fetch of the feed;
    # the others, and the entries that worked, are not.
    before = len(page_requests(server))
    again = refresh(feed, fetcher, NOW + timedelta(minutes=30))
    assert "If-None-Match" not in server.requests("/feeds/rss.xml")[1].headers
    assert sorted(page_requests(server)[before:]) == ["/broken", "/slow"]
    assert {f.origin.removeprefix(server.base) for f in again.failures} == {
        "/broken",
        "/slow",
        "http://nowhere.test/news/story",
    }


def test_a_malformed_feed_fails_alone(server: NewsServer, fetcher: Fetcher, tmp_path: Path) -> None:
    """refresh_all reports a malformed feed, a missing feed and a dead host, and refreshes the others."""
    feeds = FeedStore(tmp_path / "feeds.json")
    for path in ("/feeds/broken.xml", "/feeds/missing.xml", "/feeds/rss.xml"):
        feeds.add(server.url(path))
    feeds.add("http://nowhere.test/feed.xml")
    results = refresh_all(feeds, fetcher, NOW)

    broken, missing, good, dead = results
    (failure,) = broken.failures
    assert failure.origin == server.url("/feeds/broken.xml")
    assert failure.reason.startswith("malformed feed: ")
    assert missing.failures == [
        FetchFailure(server.url("/feeds/missing.xml"), "HTTP 404 Not Found", status=404)
    ]
    assert dead.failures[0].reason.startswith("DNS lookup failed for nowhere.test")
    assert len(good.articles) == 2 and good.ok
    assert [f.last_error is None for f in feeds.list()] == [False, False, True, False]


def test_refresh_all_can_take_only_due_feeds(server: NewsServer, fetcher: Fetcher, tmp_path: Path) -> None:
    """With only_due, a feed checked within its interval is left alone."""
    feeds = FeedStore(tmp_path / "feeds.json")
    feeds.add(server.url("/feeds/rss.xml"), every="1h")
    feeds.add(server.url("/feeds/atom.xml"), every="1h")
    refresh_all(feeds, fetcher, NOW)
    feeds.add(server.url("/feeds/rdf.xml"), every="1h")
    results = refresh_all(feeds, fetcher, NOW + timedelta(minutes=10), only_due=True)
    assert [r.url for r in results] == [server.url("/feeds/rdf.xml")]
    results = refresh_all(feeds, fetcher, NOW + timedelta(hours=2), only_due=True)
    assert len(results) == 3 and results[0].not_modified


def test_seen_entries_are_remembered_by_age_not_count(server: NewsServer, fetcher: Fetcher) -> None:
    """An entry the feed stopped listing is remembered for `seen_days`, however many there are; the
    feed's current entries are kept."""
    today = NOW.date()
    old = {f"urn:old:{n}": ("x", today - timedelta(days=100)) for n in range(3)}
    recent = {f"urn:recent:{n}": ("x", today - timedelta(days=10)) for n in range(2_000)}
    feed = Feed(server.url("/feeds/rss.xml"), seen={**old, **recent})

    refresh(feed, fetcher, NOW, limits=FeedLimits(seen_days=90))

    assert set(feed.seen) == {*recent, "urn:harbourside:ferry", "urn:harbourside:telescopes"}
    assert feed.seen["urn:harbourside:ferry"][1] == today


def test_new_entries_are_read_newest_first_and_the_rest_next_time(
    server: NewsServer, fetcher: Fetcher
) -> None:
    """At most `max_new` new entries a refresh, newest first; the next refresh gets the whole feed
    again (no validators) and reads the rest."""
    server.feeds["/feeds/rss.xml"] = FeedSpec("rss", ["telescopes", "bridge", "bakers", "ferry"])
    feed = Feed(server.url("/feeds/rss.xml"))
    limits = FeedLimits(max_new=2)

    first = refresh(feed, fetcher, NOW, limits=limits)
    second = refresh(feed, fetcher, NOW + timedelta(minutes=30), limits=limits)
    third = refresh(feed, fetcher, NOW + timedelta(hours=1), limits=limits)

    assert [a.title.split()[0] for a in first.articles] == ["Bakers", "Lakeport"]  # 4 and 3 March
    assert first.deferred == 2 and feed.etag is not None
    assert "If-None-Match" not in server.requests("/feeds/rss.xml")[1].headers
    assert [a.title.split()[0] for a in second.articles] == ["Town", "Council"]  # 2 and 1 March
    assert second.deferred == 0
    assert third.not_modified and not third.articles
    assert len(page_requests(server)) == 4  # each page once


def test_an_interrupted_refresh_resumes_where_it_stopped(
    server: NewsServer, fetcher: Fetcher, kb: store.KnowledgeBase, tmp_path: Path
) -> None:
    """Each checkpoint stores its articles, then saves the feed's state: a refresh that dies after
    two entries has them stored and marked seen, and the next one reads only the other two."""
    registry = FeedStore(tmp_path / "feeds.json")
    server.feeds["/feeds/rss.xml"] = FeedSpec("rss", ["telescopes", "bridge", "bakers", "ferry"])
    feed = registry.add(server.url("/feeds/rss.xml"))
    ingestor = ingest.Ingestor(kb, ingest.IngestSettings())
    calls = 0

    def checkpoint(feed: Feed, items: list[store.Article | ingest.LoadFailure]) -> None:
        nonlocal calls
        calls += 1
        ingestor.ingest_loaded(items)
        registry.save_state(feed)
        if calls == 2:
            raise KeyboardInterrupt  # the process is stopped here

    with pytest.raises(KeyboardInterrupt):
        refresh(feed, fetcher, NOW, limits=FeedLimits(checkpoint_every=1), checkpoint=checkpoint)

    saved = FeedStore(tmp_path / "feeds.json").list()[0]
    assert len(saved.seen) == 2 and saved.etag is None  # no validator may skip the rest
    assert kb.stats().articles == 2
    resumed = refresh(saved, fetcher, NOW + timedelta(minutes=5))
    assert len(resumed.articles) == 2
    assert sorted(page_requests(server)) == [
        "/news/bakers",
        "/news/bridge",
        "/news/ferry",
        "/news/telescopes",
    ]


def test_pages_of_different_hosts_are_fetched_at_once(server: NewsServer) -> None:
    """With two fetchers, two hosts are fetched in parallel, while one host's pages still come one
    after another."""
    server.slow_seconds = 1.0
    entries: list[str | Entry] = [
        Entry(f"urn:{host}:{n}", f"{host} {n}", f"http://{host}:{server.port}/slow?n={n}")
        for n in range(2)
        for host in ("127.0.0.1", "localhost")
    ]
    server.feeds["/feeds/rss.xml"] = FeedSpec("rss", entries)
    with httpx.Client(trust_env=False) as one, httpx.Client(trust_env=False) as two:
        policy = FetchPolicy(allow_private=True, host_delay=0.0, timeout=5.0, respect_robots=False)
        fetchers = [Fetcher(policy, client=one), Fetcher(policy, client=two)]
        refresh(Feed(server.url("/feeds/rss.xml")), fetchers, NOW)

    first, second = (
        sorted(r.at for r in server.requests("/slow", host=f"{h}:{server.port}"))
        for h in ("127.0.0.1", "localhost")
    )
    assert abs(first[0] - second[0]) < 0.5  # the two hosts started together
    assert first[1] - first[0] >= 0.9 and second[1] - second[0] >= 0.9  # each host one at a time


def test_feed_text_has_its_entities_decoded(server: NewsServer, fetcher: Fetcher) -> None:
    """A feed that escapes twice ("Smith &amp;amp; Sons") still gives "Smith & Sons"."""
    summary = LONG_SUMMARY.replace("Shipping companies", "Smith &amp; Sons and other shippers")
    entry = Entry("urn:amp", "Smith &amp; Sons back pilots", "/missing-page", summary=summary)
    server.feeds["/feeds/rss.xml"] = FeedSpec("rss", [entry])
    (article,) = refreshed(server, fetcher, "/feeds/rss.xml").articles
    assert article.title == "Smith & Sons back pilots"
    assert "Smith & Sons and other shippers" in article.body and "&amp;" not in article.body


def test_processes_sharing_the_registry_keep_each_others_changes(tmp_path: Path) -> None:
    """The bot saving a refreshed feed does not drop a feed `feeds add` added meanwhile, nor undo
    its new interval; twenty writers at once all land."""
    path = tmp_path / "feeds.json"
    bot = FeedStore(path)
    refreshed_feed = bot.add("https://a.test/rss", "1h")
    cli = FeedStore(path)
    cli.add("https://b.test/rss")
    cli.add("https://a.test/rss", "2h")
    refreshed_feed.title, refreshed_feed.last_success = "A", NOW
    bot.save_state(refreshed_feed)

    saved = {feed.url: feed for feed in FeedStore(path).list()}
    assert set(saved) == {"https://a.test/rss", "https://b.test/rss"}
    assert saved["https://a.test/rss"].title == "A" and saved["https://a.test/rss"].every == timedelta(
        hours=2
    )

    writers = [
        threading.Thread(target=lambda n=n: FeedStore(path).add(f"https://w{n}.test/rss")) for n in range(20)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert len(FeedStore(path).list()) == 22


def test_a_feed_refresh_could_never_fetch_cannot_be_followed(tmp_path: Path, kb: store.KnowledgeBase) -> None:
    """`feeds add` refuses a loopback or private feed URL, as refresh would, saying why."""
    ingestor = ingest.Ingestor(kb, ingest.IngestSettings(), data_dir=tmp_path)
    for url in ("http://127.0.0.1:8080/rss", "http://localhost/feed.xml", "http://10.0.0.5/rss"):
        with pytest.raises(FeedError, match=r"cannot follow .*address"):
            ingestor.follow(url)
    assert not (tmp_path / "feeds.json").exists()
    allowed = ingest.Ingestor(kb, ingest.IngestSettings(allow_private_urls=True), data_dir=tmp_path)
    assert allowed.follow("http://127.0.0.1:8080/rss").url == "http://127.0.0.1:8080/rss"


def test_watch_ingests_due_feeds_until_stopped(
    server: NewsServer, kb: store.KnowledgeBase, tmp_path: Path
) -> None:
    """`Ingestor.watch` (behind `newsdesk watch`) refreshes a due feed, ingests it, and stops on request."""

    import httpx

    FeedStore.in_data_dir(tmp_path).add(server.url("/feeds/rss.xml"), "1h")
    stop = threading.Event()
    rounds: list[int] = []
    fetcher = Fetcher(
        FetchPolicy(allow_private=True, host_delay=0.0, timeout=5.0), client=httpx.Client(trust_env=False)
    )
    with (
        fetcher,
        ingest.Ingestor(kb, ingest.IngestSettings(), data_dir=tmp_path, fetcher=fetcher) as ingestor,
    ):
        monitored = monitoring(BotSettings(metrics_addr="127.0.0.1:0", health_check_every=0.1), kb, ingestor)
        assert monitored is not None
        worker = threading.Thread(
            target=ingestor.watch,
            args=(stop,),
            kwargs={"on_refresh": lambda results, report: rounds.append(len(report.added)), "max_wait": 0.2},
        )
        with monitored:
            worker.start()
            deadline = time.monotonic() + 60
            while not rounds and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.3)  # a health check round after the refresh
            metrics, health = monitored.metrics.exposition().decode(), monitored.health.report()
            stop.set()
            worker.join(timeout=10)
    assert not worker.is_alive()
    assert f'newsdesk_articles_ingested_total{{origin="feed"}} {float(rounds[0])}' in metrics
    assert (
        "newsdesk_feed_refreshes_total 1.0" in metrics and "newsdesk_feed_refresh_errors_total 0.0" in metrics
    )
    assert health[0] and health[1]["feeds"]["last_success"] is not None
    assert rounds and rounds[0] > 0  # the first round ingested the feed's entries
    assert rounds[1:] == []  # within the hour it was not due again
    assert FeedStore.in_data_dir(tmp_path).list()[0].last_success is not None
