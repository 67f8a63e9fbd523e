"""Loaders: files of every supported kind to articles, identities, decoding, and bad inputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

import ingest
import store
from ingest.loaders import LoadFailure, load_file
from store.records import Article

WriteArticle = Callable[..., Path]
MAX_BYTES = 50_000_000
GOOD_BODY = "The ferry to the islands resumed on Monday. Passengers welcomed the return of the service."


def load_articles(path: Path) -> list[Article]:
    """Every article of one file; fails the test if the file yields a failure."""
    items = list(load_file(path, MAX_BYTES))
    failures = [item for item in items if isinstance(item, LoadFailure)]
    assert not failures, failures
    return [item for item in items if isinstance(item, Article)]


def load_one(path: Path) -> Article:
    """The single article of one file."""
    (article,) = load_articles(path)
    return article


def write_bytes(path: Path, data: bytes) -> Path:
    """Write data to path and return the path."""
    path.write_bytes(data)
    return path


def write_json(path: Path, data: object) -> Path:
    """Write data as JSON to path and return the path."""
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- formats


def test_markdown_front_matter_gives_the_fields(write_article: WriteArticle) -> None:
    """Title, url, source and published_at come from the YAML front matter; the body follows it."""
    path = write_article(
        "rates",
        "# Not the title\n\nThe bank cut its rate by a quarter point.",
        title="Bank cuts rate",
        url="https://news.test/economy/rates",
        source="Norland Times",
        published_at="2024-11-14",
    )
    article = load_one(path)
    assert article.title == "Bank cuts rate"
    assert article.url == "https://news.test/economy/rates"
    assert article.source == "Norland Times"
    assert article.published_at == date(2024, 11, 14)
    assert article.body == "Not the title\n\nThe bank cut its rate by a quarter point."
    assert article.origin == str(path)


def test_markdown_front_matter_aliases(tmp_path: Path) -> None:
    """Common alternative keys (date, link, outlet) fill the same fields."""
    path = tmp_path / "alias.md"
    path.write_text(
        "---\ntitle: Alias keys\nlink: https://news.test/alias\noutlet: Alias Post\ndate: 2023-06-15\n---\n"
        "Body text of the aliased article.\n",
        encoding="utf-8",
    )
    article = load_one(path)
    assert (article.url, article.source, article.published_at) == (
        "https://news.test/alias",
        "Alias Post",
        date(2023, 6, 15),
    )


def test_markdown_without_front_matter_takes_the_first_heading(tmp_path: Path) -> None:
    """Without front matter the first `# heading` is the title and is not repeated in the body."""
    path = tmp_path / "plain.md"
    path.write_text(
        "# Tram line approved after long debate\n\nThe council voted **34 to 16** in favour.\n\n"
        "## Funding\n\n- Most money comes from the state.\n",
        encoding="utf-8",
    )
    article = load_one(path)
    assert article.title == "Tram line approved after long debate"
    assert (
        article.body == "The council voted 34 to 16 in favour.\n\nFunding\n\nMost money comes from the state."
    )
    assert (article.url, article.source, article.published_at) == (None, None, None)


def test_text_title_is_the_first_line(tmp_path: Path) -> None:
    """A .txt file's first line is its title and the rest is its body."""
    path = tmp_path / "note.txt"
    path.write_text(
        "Harbour reopens after storm\n\nThe harbour reopened on Friday.\n\nShips queued outside.\n",
        encoding="utf-8",
    )
    article = load_one(path)
    assert article.title == "Harbour reopens after storm"
    assert article.body == "The harbour reopened on Friday.\n\nShips queued outside."


def test_seed_article_title_outlet_and_dateline(shared_dir: Path) -> None:
    """The seed .txt gets its title from line 1 and outlet and date from the dateline under it."""
    (path,) = sorted((shared_dir / "seed").glob("*.txt"))
    article = load_one(path)
    assert article.title == "Xiaomi rushes towards a trillion"
    assert article.source == "Wallstreetcn"
    assert article.published_at == date(2025, 1, 3)
    assert not article.body.startswith(article.title)
    assert "HKD 36.25" in article.body


def test_sample_html_page(tmp_path: Path) -> None:
    """The sample page yields its headline, outlet, date, canonical URL and only the story text."""
    article = load_one(ingest.samples_dir() / "harbour-storm.html")
    assert article.title == (
        "Storm Idris batters coast with 148 km/h gusts, leaving 63,500 homes without power"
    )
    assert article.source == "The Harbour Herald"
    assert article.published_at == date(2024, 10, 17)
    assert article.url == "https://harbour-herald.test/news/2024/10/17/storm-idris-power-cuts"
    assert article.body.startswith("Storm Idris swept across the harbour city")
    assert "Forty-one schools" in article.body
    for boilerplate in (
        "Subscribe",
        "cookies",
        "newsletter",
        "Related stories",
        "Privacy policy",
        "Copyright",
    ):
        assert boilerplate.lower() not in article.body.lower(), boilerplate


def test_every_bundled_sample_loads() -> None:
    """Each of the 8 bundled samples loads as exactly one titled article with a body."""
    files = sorted(ingest.samples_dir().iterdir())
    assert len(files) == 8
    articles = [load_one(path) for path in files]
    assert all(article.title and len(article.body) > 500 for article in articles)
    assert len({article.id for article in articles}) == 8


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(lambda records: records, id="array"),
        pytest.param(lambda records: {"articles": records}, id="articles-key"),
    ],
)
def test_json_array_gives_one_article_per_record(
    tmp_path: Path, shape: Callable[[list[dict[str, str]]], object]
) -> None:
    """A JSON array (or {"articles": [...]}) yields its records with their ids and fields."""
    records = [
        {
            "id": "feed-1",
            "title": "First",
            "body": "One body.",
            "source": "Wire",
            "published_at": "2024-05-01",
        },
        {"id": "feed-2", "title": "Second", "text": "Two body.", "url": "https://news.test/two"},
    ]
    path = write_json(tmp_path / "feed.json", shape(records))
    first, second = load_articles(path)
    assert (first.id, first.title, first.body, first.source, first.published_at) == (
        "feed-1",
        "First",
        "One body.",
        "Wire",
        date(2024, 5, 1),
    )
    assert (second.id, second.body, second.url) == ("feed-2", "Two body.", "https://news.test/two")
    assert first.origin == f"{path}#1"


def test_json_single_object(tmp_path: Path) -> None:
    """A JSON file holding one object is one article."""
    path = write_json(tmp_path / "one.json", {"id": 42, "title": "Single", "content": "Only body."})
    article = load_one(path)
    assert (article.id, article.title, article.body, article.origin) == (
        "42",
        "Single",
        "Only body.",
        str(path),
    )


def test_jsonl_records_keep_their_ids(tmp_path: Path) -> None:
    """Each JSONL line is one article with its own id; blank lines are skipped; origins carry the line."""
    lines = [
        json.dumps({"id": "a-1", "title": "Alpha", "body": "Alpha body."}),
        "",
        json.dumps({"id": "a-2", "title": "Beta", "body": "Beta body."}),
    ]
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    articles = load_articles(path)
    assert [(a.id, a.title, a.origin) for a in articles] == [
        ("a-1", "Alpha", f"{path}:1"),
        ("a-2", "Beta", f"{path}:3"),
    ]


# ----------------------------------------------------------------------------- identity


def record_id(tmp_path: Path, **record: str) -> Article:
    """The article of one JSON record."""
    return load_one(write_json(tmp_path / "record.json", {"title": "Same story", "body": "Body.", **record}))


def test_explicit_id_wins_over_url(tmp_path: Path) -> None:
    """A record's own id is its identity even when it has a URL."""
    article = record_id(tmp_path, id=" wire-77 ", url="https://news.test/a")
    assert article.id == "wire-77"


BASE_URL = "https://news.test/world/story?page=2"


@pytest.mark.parametrize(
    "variant",
    [
        "https://news.test/world/story?page=2&utm_source=x&utm_medium=social",
        "https://news.test/world/story?fbclid=IwAR0abc&page=2",
        "https://news.test/world/story?page=2#comments",
        "https://news.test/world/story/?page=2",
        "https://NEWS.Test/world/story?page=2",
        "HTTPS://news.test:443/world/story?page=2&gclid=1",
    ],
)
def test_url_identity_ignores_tracking_and_cosmetics(tmp_path: Path, variant: str) -> None:
    """Tracking parameters, fragments, trailing slashes, host case and default ports keep the same id."""
    base = record_id(tmp_path, url=BASE_URL)
    other = record_id(tmp_path, url=variant, title="A different headline")
    assert other.id == base.id
    assert other.url == base.url == BASE_URL
    assert base.id.startswith("u-")


@pytest.mark.parametrize(
    "variant",
    ["https://news.test/world/story?page=3", "https://news.test/world/other?page=2", "http://sport.test/x"],
)
def test_url_identity_keeps_what_names_the_page(tmp_path: Path, variant: str) -> None:
    """Another path, host or meaningful query parameter is another article."""
    assert record_id(tmp_path, url=variant).id != record_id(tmp_path, url=BASE_URL).id


def test_title_and_date_identity(tmp_path: Path) -> None:
    """Without id or URL the identity is the title (case and spacing ignored) and the date."""
    base = record_id(tmp_path, title="Storm  hits the COAST", published_at="2024-10-17")
    same = record_id(tmp_path, title="storm hits the coast", published_at="17 October 2024")
    other_day = record_id(tmp_path, title="Storm hits the coast", published_at="2024-10-18")
    assert base.id.startswith("t-")
    assert same.id == base.id
    assert other_day.id != base.id


# ----------------------------------------------------------------------------- decoding

CAFE = "Le café du coin\n\nLe café a rouvert ses portes; les habitués étaient ravis, déjà."


@pytest.mark.parametrize(
    ("data", "text"),
    [
        pytest.param(("\ufeff" + CAFE).encode("utf-8"), CAFE, id="utf-8-bom"),
        pytest.param(CAFE.encode("utf-16"), CAFE, id="utf-16-bom"),
        pytest.param(b"\xfe\xff" + CAFE.encode("utf-16-be"), CAFE, id="utf-16-be-bom"),
        pytest.param(
            "Le café “noir”\n\nLa brasserie “Chez Hélène” vend un café à 2,50 €.".encode("cp1252"),
            "Le café “noir”\n\nLa brasserie “Chez Hélène” vend un café à 2,50 €.",
            id="cp1252-quotes-euro",
        ),
        pytest.param(
            CAFE.encode("latin-1"),
            CAFE,
            id="latin-1",
        ),
        pytest.param(
            "Café\n\nNaïve.".encode("latin-1"),
            "Café\n\nNaïve.",
            id="latin-1-short",
        ),
    ],
)
def test_text_encodings_decode(tmp_path: Path, data: bytes, text: str) -> None:
    """BOM-marked Unicode and legacy Western encodings come out as the text that was written."""
    article = load_one(write_bytes(tmp_path / "encoded.txt", data))
    title, body = text.split("\n\n", 1)
    assert (article.title, article.body) == (title, body)


def test_html_declared_windows_1252(tmp_path: Path) -> None:
    """An HTML page declaring windows-1252 in a meta tag is decoded with that charset."""
    page = (
        '<html><head><meta charset="windows-1252"><title>Le café “noir”</title></head><body><article>'
        "<h1>Le café “noir”</h1><p>Le café du coin a rouvert ses portes après des mois de travaux, "
        "et les habitués étaient ravis de retrouver leur crème brûlée préférée à 5,50 €.</p>"
        "<p>La patronne, Hélène, a déclaré que la rénovation avait coûté plus cher que prévu.</p>"
        "</article></body></html>"
    )
    article = load_one(write_bytes(tmp_path / "cafe.html", page.encode("cp1252")))
    assert article.title == "Le café “noir”"
    assert "crème brûlée préférée à 5,50 €" in article.body
    assert "Hélène" in article.body


def test_dev_corpus_loads_with_its_own_fields(shared_dir: Path) -> None:
    """Every record of the evaluation corpus loads with its id, title and date."""
    path = shared_dir / "eval" / "dev_corpus.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    articles = load_articles(path)
    assert len(articles) == len(records)
    for article, record in zip(articles, records, strict=True):
        assert article.id == record["id"]
        assert article.title == " ".join(record["title"].split())
        assert article.published_at == date.fromisoformat(record["published_at"])


# ----------------------------------------------------------------------------- bad inputs


@dataclass(frozen=True)
class BadInput:
    """A file that must fail alone: its name, how to write it, and what the failure says."""

    name: str
    write: Callable[[Path], object] | None
    reason: str
    where: str = ""
    """What the failure's origin ends with, when more than the file name (a JSONL line)."""
    good_in_file: list[str] = field(default_factory=list)
    """Articles of the same file that must still be ingested."""


def _jsonl_with_bad_third_line(path: Path) -> None:
    good = [
        json.dumps({"id": f"line-{n}", "title": f"Line {n}", "body": f"Body of line {n}."}) for n in (1, 2, 4)
    ]
    path.write_text(
        "\n".join([good[0], good[1], '{"id": "line-3", "title": oops}', good[2]]), encoding="utf-8"
    )


BAD_INPUTS = [
    BadInput("empty.txt", lambda p: p.write_bytes(b""), "empty file"),
    BadInput("blank.md", lambda p: p.write_bytes(b"  \n\n\t\n"), "empty file"),
    BadInput(
        "image.txt", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(512)), "binary"
    ),
    BadInput(
        "garbage.txt",
        lambda p: p.write_bytes(bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D, 0xFF, 0xFE, 0x80] * 50)),
        "undecodable",
    ),
    BadInput("feed.jsonl", _jsonl_with_bad_third_line, "line 3", ":3", ["line-1", "line-2", "line-4"]),
    BadInput("nobody.json", lambda p: write_json(p, {"id": "x", "title": "No body here"}), "no body"),
    BadInput("notes.pdf", lambda p: p.write_bytes(b"%PDF-1.4\n"), "unsupported file type .pdf"),
    BadInput("missing.md", None, "no such file"),
    BadInput(
        "broken.md", lambda p: p.write_text("---\ntitle: [unclosed\n---\nBody.\n"), "invalid front matter"
    ),
    BadInput(
        "undated.md",
        lambda p: p.write_text("---\ntitle: Undated\npublished_at: sometime soon\n---\nBody.\n"),
        "unreadable published_at",
    ),
    BadInput(
        "badday.json",
        lambda p: write_json(p, {"title": "T", "body": "B.", "published_at": "31/31/2024"}),
        "published_at",
    ),
    BadInput("nested.json", lambda p: p.write_text("[" * 100_000 + "]" * 100_000), "nested too deeply"),
    BadInput(
        "nested.jsonl",
        lambda p: p.write_text(
            json.dumps({"id": "fine", "title": "Fine", "body": "A fine body."}) + "\n" + "[" * 100_000 + "\n"
        ),
        "nested too deeply",
        ":2",
        ["fine"],
    ),
    BadInput(
        "doomsday.json",
        lambda p: write_json(p, {"title": "T", "body": "B.", "published_at": "9999-12-31"}),
        "in the future",
    ),
    BadInput(
        "ancient.md",
        lambda p: p.write_text("---\ntitle: Old\npublished_at: 0001-01-01\n---\nBody.\n"),
        "before 1800",
    ),
    BadInput("loop.txt", lambda p: p.symlink_to(p), "looping symbolic link"),
]


def ingest_with_good_file(
    tmp_path: Path, kb: store.KnowledgeBase, bad: BadInput, settings: ingest.IngestSettings | None = None
) -> tuple[ingest.IngestReport, Path]:
    """Ingest a good article and one bad input in the same run."""
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    good = folder / "good.txt"
    good.write_text(f"A good article\n\n{GOOD_BODY}\n", encoding="utf-8")
    bad_path = folder / bad.name
    if bad.write is not None:
        bad.write(bad_path)
    report = ingest.Ingestor(kb, settings or ingest.IngestSettings()).ingest([good, bad_path])
    return report, bad_path


def assert_fails_alone(
    report: ingest.IngestReport, kb: store.KnowledgeBase, bad: BadInput, bad_path: Path
) -> None:
    """Exactly one failure naming the bad file; the good article (and good records) are stored."""
    assert len(report.failed) == 1, report.failed
    (failure,) = report.failed
    assert failure.origin == f"{bad_path}{bad.where}"
    assert bad.reason in failure.reason
    assert "\n" not in failure.reason
    good_ids = {article.id for article in kb.all_articles() if article.title == "A good article"}
    assert len(good_ids) == 1
    assert set(report.added) == good_ids | set(bad.good_in_file)
    assert kb.stats().articles == 1 + len(bad.good_in_file)


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[bad.name for bad in BAD_INPUTS])
def test_bad_input_fails_alone(tmp_path: Path, kb: store.KnowledgeBase, bad: BadInput) -> None:
    """A bad source is one clear failure naming it, and the good sources of the run are still ingested."""
    report, bad_path = ingest_with_good_file(tmp_path, kb, bad)
    assert_fails_alone(report, kb, bad, bad_path)


def test_file_over_the_size_limit_fails_alone(tmp_path: Path, kb: store.KnowledgeBase) -> None:
    """A file larger than max_file_mb is refused before it is read; smaller files pass."""
    bad = BadInput("big.md", lambda p: p.write_text("# Big\n\n" + "word " * 400), "limit")
    report, bad_path = ingest_with_good_file(tmp_path, kb, bad, ingest.IngestSettings(max_file_mb=0.001))
    assert_fails_alone(report, kb, bad, bad_path)


CRASHES = [
    pytest.param(
        BadInput(
            "impossible-day.md",
            lambda p: p.write_text("---\ntitle: Leap\npublished_at: 2024-02-30\n---\nBody.\n"),
            "published_at",
        ),
        id="yaml-impossible-date",
    ),
    pytest.param(
        BadInput(
            "bad-port.json",
            lambda p: write_json(p, {"title": "T", "body": "B.", "url": "https://news.test:99999/a"}),
            "url",
        ),
        id="url-port-out-of-range",
    ),
    pytest.param(
        BadInput(
            "bad-ipv6.json",
            lambda p: write_json(p, {"title": "T", "body": "B.", "url": "http://[news.test/a"}),
            "url",
        ),
        id="url-broken-ipv6",
    ),
]


@pytest.mark.parametrize("bad", CRASHES)
def test_bad_field_values_fail_alone(tmp_path: Path, kb: store.KnowledgeBase, bad: BadInput) -> None:
    """A bad date or URL value is a failure of its own source, not an exception that stops the run."""
    report, bad_path = ingest_with_good_file(tmp_path, kb, bad)
    assert_fails_alone(report, kb, bad, bad_path)


@pytest.mark.parametrize("value", ["March 2024", "2024", "Friday"])
def test_date_without_a_day_is_not_completed_from_today(tmp_path: Path, value: str) -> None:
    """A published_at naming no day is refused or left out, never filled in from the clock."""
    path = write_json(tmp_path / "partial.json", {"title": "T", "body": "B.", "published_at": value})
    (item,) = load_file(path, MAX_BYTES)
    if isinstance(item, LoadFailure):
        assert "published_at" in item.reason
    else:
        assert item.published_at is None


def test_html_page_over_the_page_limit_fails_alone(tmp_path: Path, kb: store.KnowledgeBase) -> None:
    """An HTML file is held to the page limit (parsing a huge page takes minutes and gigabytes)."""
    page = "<html><body><p>" + "All work and no play. " * 2_000 + "</p></body></html>"
    bad = BadInput("huge.html", lambda p: p.write_text(page), "page limit")
    settings = ingest.IngestSettings(fetch_max_mb=0.01)
    report, bad_path = ingest_with_good_file(tmp_path, kb, bad, settings)
    assert_fails_alone(report, kb, bad, bad_path)


def test_a_loader_bug_fails_its_file_alone(
    tmp_path: Path, kb: store.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a strange file makes a loader raise costs that file only."""

    def broken(*args: object, **kwargs: object) -> Article:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("ingest.loaders.html_article", broken)
    bad = BadInput("odd.html", lambda p: p.write_text("<p>odd</p>"), "ZeroDivisionError: a bug")
    report, bad_path = ingest_with_good_file(tmp_path, kb, bad)
    assert_fails_alone(report, kb, bad, bad_path)


# ----------------------------------------------------------------------------- limits and repairs


def ingest_notes(kb: store.KnowledgeBase, path: Path, **settings: int) -> tuple[ingest.IngestReport, Article]:
    """Ingest one file that must be stored with notes; the report and the stored article."""
    report = ingest.Ingestor(kb, ingest.IngestSettings(**settings)).ingest([path])
    assert report.ok and report.notes, report
    (stored,) = kb.all_articles()
    return report, stored


def test_text_over_the_article_limit_is_cut_at_a_paragraph_and_noted(
    tmp_path: Path, kb: store.KnowledgeBase
) -> None:
    paragraph = "The council met again on Tuesday. It talked for hours about the tram. " * 10
    body = "\n\n".join(f"Part {n}. {paragraph}" for n in range(100))  # about 70,000 characters
    path = write_json(tmp_path / "long.json", {"title": "Long", "body": body})

    report, stored = ingest_notes(kb, path, max_article_chars=5_000)

    assert len(stored.body) <= 5_000 and body.startswith(stored.body)
    assert stored.body.endswith(paragraph.strip())  # cut where a paragraph ends
    (note,) = report.notes
    assert note.origin == str(path) and "only the first" in note.note and "5,000" in note.note


def test_a_long_title_is_cut_at_a_word_and_noted(tmp_path: Path, kb: store.KnowledgeBase) -> None:
    title = "Council " * 100
    path = write_json(tmp_path / "title.json", {"title": title, "body": GOOD_BODY})

    report, stored = ingest_notes(kb, path)

    assert len(stored.title) <= 200 and stored.title.endswith("Council…")
    assert "title over 200 characters: shortened" in report.notes[0].note


def test_chunks_over_the_limit_are_left_out_and_noted(tmp_path: Path, kb: store.KnowledgeBase) -> None:
    body = "\n\n".join(f"Paragraph {n} tells one more thing about the ferry." * 8 for n in range(40))
    path = write_json(tmp_path / "many.json", {"title": "Many chunks", "body": body})

    report, stored = ingest_notes(kb, path, max_article_chunks=3)

    assert stored.chunk_count == 3
    assert any("only the first 3 stored" in note.note for note in report.notes)


def test_a_non_http_url_is_left_out_and_noted(tmp_path: Path, kb: store.KnowledgeBase) -> None:
    record = {"title": "Click", "body": GOOD_BODY, "url": "javascript:alert(document.cookie)"}
    path = write_json(tmp_path / "js.json", record)

    report, stored = ingest_notes(kb, path)

    assert stored.url is None
    assert "not http(s)" in report.notes[0].note


def test_control_characters_and_escape_sequences_are_removed(tmp_path: Path) -> None:
    """Article text cannot drive a terminal: escape sequences and control characters are dropped."""
    body = "Calm \x1b]0;pwned\x07day\x1b[2J at sea.\r\nThe ferry\x00 sailed \x1b[31mon time\x1b[0m."
    path = write_json(tmp_path / "esc.json", {"title": "Ferry \x1b[5mnews", "body": body})
    article = load_one(path)
    assert article.body == "Calm day at sea.\nThe ferry sailed on time."
    assert article.title == "Ferry news"


def test_invalid_utf8_inside_a_utf8_file_is_replaced_and_noted(tmp_path: Path) -> None:
    text = "Zürich — the café reopened. Crème brûlée is back. Naïve fans queued."
    data = text.encode() + b" \xff\xfe " + "Ünïcödé is fine.".encode()
    path = write_bytes(tmp_path / "bad-bytes.txt", b"Cafe news\n\n" + data)

    items = list(load_file(path, MAX_BYTES))

    (article,) = [item for item in items if isinstance(item, Article)]
    assert "Crème brûlée" in article.body and "\ufffd" in article.body  # UTF-8 kept, not cp1252
    (note,) = [item for item in items if isinstance(item, ingest.LoadNote)]
    assert "invalid UTF-8" in note.note


def test_a_broken_symbolic_link_in_a_folder_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "links"
    folder.mkdir()
    (folder / "good.txt").write_text(f"Good\n\n{GOOD_BODY}\n")
    (folder / "gone.txt").symlink_to(folder / "nowhere.txt")
    (folder / "loop.md").symlink_to(folder / "loop.md")

    items = list(ingest.load_paths([folder], MAX_BYTES))

    failures = {Path(item.origin).name: item.reason for item in items if isinstance(item, LoadFailure)}
    assert failures == {
        "gone.txt": "broken or looping symbolic link",
        "loop.md": "broken or looping symbolic link",
    }
    assert sum(isinstance(item, Article) for item in items) == 1
