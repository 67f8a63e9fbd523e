"""Answers as Telegram HTML: escaping, sources, and splitting long answers into valid messages.

Every message is checked with the emulator's strict `parse_html`, which refuses what Telegram refuses.
"""

from __future__ import annotations

import random
import re
from datetime import date

import pytest

from bot.answering.answer import NOT_FOUND, Answer, Citation, draft_text
from bot.frontends.render import LIMIT, escape, pack, render_answer, source_line

try:  # works whether or not tests/ is a package
    from tests.telegram_emulator import parse_html
except ImportError:
    from telegram_emulator import parse_html

MARKER = re.compile(r"\[\d+\]")
URL = 'https://news.test/a?x=1&y=<2>&q="quoted"'
HTML_TEXT = "Smith & Sons sold R2 <Plus> routers for < 100 dollars with speeds > 1 Gbps"


def visible(messages: list[str]) -> list[str]:
    """What users see of each message; fails like Telegram on invalid HTML."""
    return [parse_html(message)[0] for message in messages]


def one_line(text: str) -> str:
    """Text with every run of whitespace as one space, for comparing text split into messages."""
    return " ".join(text.split())


def cite(n: int, title: str = "Routers & <scripts>", url: str | None = URL) -> Citation:
    """A citation from The Circuit Ledger of 11 Mar 2025."""
    return Citation(n, f"a{n}", title, "The Circuit Ledger", url, date(2025, 3, 11), quote="q")


def check_messages(messages: list[str], text: str, limit: int = LIMIT, *, words: bool = True) -> list[str]:
    """Each message fits, is valid HTML, and together they show `text`; return the visible parts.

    With `words`, breaks fall between words (only whitespace may change); else anywhere.
    """
    assert messages
    assert all(len(message) <= limit for message in messages), [len(m) for m in messages]
    parts = visible(messages)
    assert "".join("".join(parts).split()) == "".join(text.split())
    if words:
        assert one_line(" ".join(parts)) == one_line(text)
    return parts


# -------------------------------------------------------------------------------- escaping


def test_escape_only_touches_what_telegram_parses() -> None:
    assert escape("a < b & c > d \"e\" 'f'") == "a &lt; b &amp; c &gt; d \"e\" 'f'"
    assert parse_html(escape(HTML_TEXT))[0] == HTML_TEXT


def test_source_line_escapes_everything_from_the_article() -> None:
    line = source_line(Citation(3, "a3", "R&D <b>bold</b>", "Smith & Sons <Media>", URL, date(2025, 1, 2)))

    text, entities = parse_html(line)

    assert text == "[3] R&D <b>bold</b> — Smith & Sons <Media>, 2 Jan 2025"
    assert entities == [{"type": "text_link", "offset": 4, "length": len("R&D <b>bold</b>"), "url": URL}]


@pytest.mark.parametrize(
    ("citation", "expected"),
    [
        (Citation(1, "a", "", None, None, None), "[1] untitled"),
        (Citation(2, "a", "T", "Wire", None, None), "[2] T — Wire"),
        (Citation(3, "a", "T", None, None, date(2024, 12, 5)), "[3] T — 5 Dec 2024"),
    ],
    ids=["bare", "no-url-or-date", "date-only"],
)
def test_source_line_leaves_out_what_is_missing(citation: Citation, expected: str) -> None:
    text, entities = parse_html(source_line(citation))

    assert (text, entities) == (expected, [])


def test_answer_with_sources_is_one_message() -> None:
    answer = Answer(f"{HTML_TEXT}. [1]\n\nSecond paragraph. [2]", True, [cite(1), cite(2, "Deliveries")])

    (message,) = render_answer(answer)
    text, entities = parse_html(message)

    assert text == (
        f"{HTML_TEXT}. [1]\n\nSecond paragraph. [2]\n\nSources\n"
        "[1] Routers & <scripts> — The Circuit Ledger, 11 Mar 2025\n"
        "[2] Deliveries — The Circuit Ledger, 11 Mar 2025"
    )
    assert [e["type"] for e in entities] == ["bold", "text_link", "text_link"]


def test_short_answer_comes_first_in_bold_then_its_quote() -> None:
    answer = Answer("They sold 270,000 <R2> units. [1]", True, [cite(1)], short_answer="270,000 <R2> units")

    (message,) = render_answer(answer)
    text, entities = parse_html(message)

    assert text.startswith("270,000 <R2> units\nThey sold 270,000 <R2> units. [1]\n\nSources\n")
    assert entities[0] == {"type": "bold", "offset": 0, "length": len("270,000 <R2> units")}


def test_not_found_lists_the_closest_articles() -> None:
    answer = Answer(NOT_FOUND, False, leads=[cite(1), cite(2, url=None)])

    (message,) = render_answer(answer)
    text, _ = parse_html(message)

    assert text.startswith(f"{NOT_FOUND}\n\nClosest articles\n[1] Routers & <scripts>")
    assert "Sources" not in text


def test_answer_without_sources_or_leads_is_just_its_text() -> None:
    assert visible(render_answer(Answer("Nothing to cite & <nothing> to lead.", False))) == [
        "Nothing to cite & <nothing> to lead."
    ]


# ---------------------------------------------------------------------------- long answers


def sentences(count: int, seed: int = 0) -> list[str]:
    """News-like sentences full of `&`, `<` and `>`, each ending with a citation marker."""
    rng = random.Random(seed)
    words = ["Smith", "&", "Sons", "<R2>", "routers", "<", "100", ">", "1", "Gbps", "R&D", "sold", "a&b"]
    return [
        f"Sentence {i} says "
        + " ".join(rng.choice(words) for _ in range(rng.randint(3, 25)))
        + f". [{rng.randint(1, 12)}]"
        for i in range(count)
    ]


LONG_TEXTS = {
    "many-paragraphs": "\n\n".join(" ".join(sentences(4, p)) for p in range(60)),
    "one-paragraph-of-sentences": " ".join(sentences(250)),
    "lines": "\n".join(sentences(200)),
    "one-sentence-of-words": "Smith & Sons " + " ".join(["R&D <x> a>b [3]"] * 700) + ".",
    "one-word-of-entities": "&<>" * 2000,
}


SOURCES_TEXT = (
    "Sources\n[1] Routers & <scripts> — The Circuit Ledger, 11 Mar 2025\n"
    "[2] Deliveries — The Circuit Ledger, 11 Mar 2025"
)


@pytest.mark.parametrize("text", LONG_TEXTS.values(), ids=LONG_TEXTS.keys())
def test_long_answer_splits_into_valid_messages(text: str) -> None:
    answer = Answer(text, True, [cite(1), cite(2, "Deliveries")])
    assert len(escape(text)) > LIMIT

    messages = render_answer(answer)

    parts = check_messages(messages, f"{text}\n\n{SOURCES_TEXT}", words=" " in text)
    assert len(messages) >= 2
    assert len(MARKER.findall(" ".join(parts))) == len(MARKER.findall(text)) + 2  # no marker cut apart
    assert parts[-1].endswith(SOURCES_TEXT)  # the sources block is whole, in the last message


def test_many_sources_split_between_source_lines() -> None:
    title = "Title {} with R&D <tags> and " + " ".join(["words"] * 20)
    citations = [cite(n, title.format(n)) for n in range(1, 61)]
    answer = Answer("Short answer & more. [1]", True, citations)

    messages = render_answer(answer)
    parts = visible(messages)

    assert len(messages) >= 2
    assert all(len(message) <= LIMIT for message in messages)
    lines = [line for part in parts for line in part.splitlines() if line.startswith("[")]
    assert lines == [f"[{n}] {title.format(n)} — The Circuit Ledger, 11 Mar 2025" for n in range(1, 61)]
    assert sum(len(parse_html(m)[1]) for m in messages) == 61  # Sources in bold, 60 links


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("limit", [40, 97, 300])
def test_pack_with_small_limits_keeps_text_and_markup_whole(seed: int, limit: int) -> None:
    rng = random.Random(seed)
    paragraphs = [" ".join(sentences(rng.randint(1, 6), seed * 100 + p)) for p in range(rng.randint(1, 8))]
    blocks = [escape(p) for p in paragraphs]

    messages = pack(blocks, limit)

    check_messages(messages, " ".join(paragraphs), limit, words=True)


def test_pack_fills_messages_up() -> None:
    messages = pack(["a" * 10] * 10, limit=35)

    assert messages == ["\n\n".join(["a" * 10] * 3)] * 3 + ["a" * 10]


def test_overlong_sentence_among_others_is_split_between_words() -> None:
    words = [f"w{i}&amp;[{i % 9 + 1}]" for i in range(1000)]  # escaped text, as render_answer passes it
    block = "Short first sentence. " + " ".join(words) + ". Short last sentence."

    messages = pack([block])

    check_messages(messages, parse_html(block)[0])


def test_citation_marker_stays_with_its_sentence() -> None:
    text = " ".join(sentences(250))
    assert len(escape(text)) > LIMIT

    messages = render_answer(Answer(text, True, [cite(1)]))

    for part in visible(messages):
        assert not MARKER.match(part), part[:60]
        first = part.split("\n")[0]
        assert first.startswith(("Sentence", "Sources")), first[:60]


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("Xiaomi targets 300,000 deliveries [3].", "Xiaomi targets 300,000 deliveries."),
        ("Two sources agree [1, 4] and one does not [2]", "Two sources agree and one does not"),
        ("The target rose [2", "The target rose"),  # a marker still being written
        ("The target rose [2,", "The target rose"),
        ("Prices [in euros] rose", "Prices [in euros] rose"),  # brackets that are not markers stay
    ],
)
def test_drafts_leave_out_the_models_citation_markers(written: str, shown: str) -> None:
    assert draft_text(written) == shown


# --------------------------------------------------------------------------- hostile sources


def test_any_source_fields_fit_in_a_valid_message() -> None:
    """However long an article's title, outlet or URL (and however many characters need escaping),
    its source line fits in a message Telegram accepts."""
    citation = Citation(
        1,
        "a1",
        "Routers & <scripts> " * 600,  # 12,000 characters, 3 escapes each
        "Outlet & Co " * 300,
        "https://news.test/" + "&x=<1>" * 1_000,
        date(2025, 3, 11),
        quote="q",
    )
    answer = Answer("The ferry resumed. [1]", True, [citation])

    messages = render_answer(answer)

    assert all(len(message) <= LIMIT for message in messages)
    text, entities = parse_html("".join(messages))  # valid HTML (Telegram's rules)
    assert "Routers & <scripts>" in text and "…" in text
    assert not [e for e in entities if e["type"] == "text_link"]  # a link that long is not linked


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(document.cookie)", "data:text/html,<b>x</b>", "file:///etc/passwd", "//news.test/a"],
)
def test_only_http_links_are_linked(url: str) -> None:
    citation = Citation(1, "a1", "Ferry news", "Harbour Times", url, date(2025, 3, 11), quote="q")
    line = source_line(citation)
    assert "<a " not in line and line.startswith("[1] Ferry news")


def test_an_http_link_is_linked() -> None:
    citation = Citation(
        1, "a1", "Ferry news", "Harbour Times", "https://news.test/a?b=1&c=2", None, quote="q"
    )
    assert (
        source_line(citation)
        == '[1] <a href="https://news.test/a?b=1&amp;c=2">Ferry news</a> — Harbour Times'
    )
