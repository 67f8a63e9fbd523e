"""Text rules every layer shares: sentences, numbers, stop words and how dates are written.

One rule, one place: ingest splits articles into sentences with these rules, the lexical index
and the answerers normalise numbers and drop stop words with them, and every front end writes
dates the same way.

Sentence splitting is tuned for news prose and fast enough for millions of words. A sentence ends
at `.`, `!`, `?` or `…` (plus closing quotes or brackets) followed by space and a capital, digit or
opening quote; not after a known abbreviation ("Mr.", "U.S.", "Jan.") or an initial ("J. Smith");
decimal numbers such as "36.25" never match because no space follows the dot. CJK full stops end a
sentence with no space. A line break inside a paragraph ends a sentence when the line looks like a
heading or a list item (no final punctuation) or is short, and is otherwise a soft wrap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_ABBREVIATION_WORDS = """
mr mrs ms mx dr prof sr jr st mt ft messrs inc ltd co corp plc llc bros vs v etc al e.g eg i.e ie
u.s u.k u.n e.u a.m p.m jan feb mar apr jun jul aug sep sept oct nov dec no nos gov sen rep gen
col lt sgt capt cmdr adm maj rev hon pres supt dept est approx fig vol ed eds cf
"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+|[。！？]+[」』”’)]*")
_OPENERS = "\"'“‘([«"
_PARAGRAPHS = re.compile(r"\n\s*\n")
_HARD_ENDS = '.!?…:;"”’)。！？'
_INITIALS = re.compile(r"^(?:[A-Za-z]\.)*[A-Za-z]$")


@dataclass(frozen=True)
class Sentence:
    """A sentence and the index of the paragraph it belongs to."""

    text: str
    paragraph: int


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines, stripped, empty ones dropped."""
    return [p.strip() for p in _PARAGRAPHS.split(text) if p.strip()]


def split_sentences(text: str) -> list[Sentence]:
    """All sentences of a text, in order, with their paragraph numbers."""
    sentences: list[Sentence] = []
    for index, paragraph in enumerate(split_paragraphs(text)):
        for block in _lines_to_blocks(paragraph):
            sentences.extend(Sentence(s, index) for s in _split_block(block))
    return sentences


def _lines_to_blocks(paragraph: str) -> list[str]:
    """Join soft-wrapped lines; keep heading-like or list-like lines apart."""
    blocks: list[str] = []
    current: list[str] = []
    for raw in paragraph.splitlines():
        line = raw.strip()
        if not line:
            continue
        starts_item = line[:2] in ("- ", "* ", "• ") or bool(re.match(r"\d+[.)] ", line))
        if current and starts_item:
            blocks.append(" ".join(current))
            current = []
        current.append(line)
        if line[-1] in _HARD_ENDS or len(line) < 50:
            # ends a sentence, or is short like a heading or a byline: a hard break
            blocks.append(" ".join(current))
            current = []
    if current:
        blocks.append(" ".join(current))
    return blocks


def _split_block(block: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _END.finditer(block):
        end = match.end()
        if end >= len(block):
            break
        if match.group().rstrip()[-1:] in ".!?…\"'”’)]" and not _is_boundary(block, match.start(), end):
            continue
        piece = block[start:end].strip()
        if piece:
            sentences.append(piece)
        start = end
    tail = block[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _is_boundary(block: str, dot: int, after: int) -> bool:
    """Whether the punctuation at `dot` really ends a sentence."""
    following = block[after]
    if following in _OPENERS:
        following = block[after + 1] if after + 1 < len(block) else ""
    if not following.isalnum() or following.islower():  # capitals, digits, uncased scripts
        return False
    if block[dot] != ".":
        return True
    word = block[:dot].rsplit(None, 1)[-1].lstrip(_OPENERS) if block[:dot].strip() else ""
    if word.lower() in _ABBREVIATIONS:
        return False
    return not _INITIALS.match(word)


# ----------------------------------------------------------------------------- numbers and words

_THOUSANDS = re.compile(r"(?<=\d)[,\u202f\u2009](?=\d{3}(?!\d))")

STOPWORDS = frozenset(
    """
    a an the and or but of to in on at by for with from as into about is are was were be been has
    have had do does did will would can could should what which who whom whose when where why how
    that this these those it its there their they them he she his her i you we our not no so if
    """.split()  # noqa: SIM905 (a word list reads best as text)
)
"""Function words: they carry no topic, so keyword search and word overlap ignore them."""

QUESTION_FILLER = STOPWORDS | frozenset(
    """
    over after before than then being may might it's him your us yes also just any some all more
    most much many says said say according news week year month day today latest recent recently new
    """.split()  # noqa: SIM905
)
"""Stop words plus the words of how people ask about news ("latest", "this week", "said"), which
say nothing about which sentence answers."""


def strip_thousands(text: str) -> str:
    """Numbers without digit grouping: "300,000" and "300\u202f000" become "300000"; "3.75" stays."""
    return _THOUSANDS.sub("", text)


# ----------------------------------------------------------------------------- dates


def format_day(day: date) -> str:
    """A date as people read it in a citation: "3 Jan 2025" (on every platform, unlike "%-d")."""
    return f"{day.day} {day:%b %Y}"


# Terminal escape sequences (CSI "ESC [ ... m", OSC "ESC ] ... BEL", and the two-character ones), then
# any other control character but tab and newline: text from articles must not drive a terminal.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text without terminal escape sequences or control characters, line breaks kept.

    "\\r\\n" and a lone "\\r" become "\\n"; tabs stay; bidirectional overrides, which can make
    text read differently from what it is, go too.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))
