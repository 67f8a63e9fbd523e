"""Loaders: files of news articles (.txt, .md, .html, .json, .jsonl) to `Article` values.

Every loader yields articles, `LoadFailure`s and `LoadNote`s, never raises for bad input, so one
broken file or record costs only itself: not deep nesting, not a page too big to parse, not a bug
a strange file finds.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from dateutil import parser as dateparser

from ingest.decoding import decode_text
from ingest.errors import LoadError
from ingest.identity import article_id, canonical_url
from store.records import Article
from store.text import printable

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".txt", ".text"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
JSON_SUFFIXES = frozenset({".json"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES | JSONL_SUFFIXES

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HTML_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)
_FIELD_ALIASES = {
    "source": ("source", "outlet", "publisher", "site", "site_name"),
    "published_at": ("published_at", "date", "published", "pubdate"),
    "url": ("url", "link", "canonical_url"),
}
_TITLE_MAX = 200
_EARLIEST_YEAR = 1800
_FUTURE_SLACK = timedelta(days=2)
"""How far past today a publication date may be (time zones, embargoed copy), not further."""


@dataclass(frozen=True)
class LoadFailure:
    """A source that could not be loaded, and why, in one line."""

    origin: str
    reason: str


@dataclass(frozen=True)
class LoadNote:
    """Something to report about a source that was still loaded: text repaired, cut or left out."""

    origin: str
    note: str


Loaded = Article | LoadFailure | LoadNote


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[LoadFailure]]:
    """Files to load under the given files and folders (recursively), and paths that cannot be."""
    paths = list(paths)
    files: list[Path] = []
    failures: list[LoadFailure] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and p.suffix.lower() in SUPPORTED_SUFFIXES
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        elif path.is_symlink() and not path.exists():
            failures.append(LoadFailure(str(path), "broken or looping symbolic link"))
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(path)
            else:
                failures.append(
                    LoadFailure(
                        str(path),
                        f"unsupported file type {path.suffix or '(none)'}: "
                        f"use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}",
                    )
                )
        else:
            failures.append(LoadFailure(str(path), "no such file or folder"))
    return list(dict.fromkeys(files)), failures + _unreadable_links(paths)


def _unreadable_links(paths: Iterable[Path]) -> list[LoadFailure]:
    """Symbolic links inside the given folders that lead nowhere or round in a loop."""
    return [
        LoadFailure(str(link), "broken or looping symbolic link")
        for path in paths
        if path.is_dir()
        for link in sorted(path.rglob("*"))
        if link.is_symlink()
        and not link.exists()
        and not any(part.startswith(".") for part in link.relative_to(path).parts)
    ]


def load_paths(
    paths: Iterable[Path],
    max_bytes: int,
    *,
    max_page_bytes: int | None = None,
    max_text_chars: int | None = None,
) -> Iterator[Loaded]:
    """Every article (or failure, or note) found under the given files and folders.

    `max_bytes` bounds any file; `max_page_bytes` an HTML page, whose parsing costs far more per
    byte; `max_text_chars` the text of a .txt or .md file that is parsed at all (what lies beyond
    could never be stored).
    """
    paths = list(paths)
    files, failures = discover(paths)
    yield from failures
    for file in files:
        yield from load_file(file, max_bytes, max_page_bytes=max_page_bytes, max_text_chars=max_text_chars)


def load_file(
    path: Path,
    max_bytes: int,
    *,
    max_page_bytes: int | None = None,
    max_text_chars: int | None = None,
) -> Iterator[Loaded]:
    """The articles of one file, or the reason it has none (see `load_paths` for the limits)."""
    origin = str(path)
    notes: list[str] = []
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit")
        suffix = path.suffix.lower()
        if suffix in HTML_SUFFIXES and max_page_bytes is not None and size > max_page_bytes:
            raise LoadError(
                f"HTML page is {size / 1e6:.1f} MB, over the {max_page_bytes / 1e6:g} MB page limit"
            )
        data = path.read_bytes()
        if suffix in JSONL_SUFFIXES:
            yield from _jsonl_articles(decode_text(data, notes=notes), origin)
        elif suffix in JSON_SUFFIXES:
            yield from _json_articles(decode_text(data, notes=notes), origin)
        elif suffix in HTML_SUFFIXES:
            yield html_article(data, origin)
        else:
            text = decode_text(data, notes=notes)
            if max_text_chars is not None and len(text) > max_text_chars:
                logger.debug("%s: parsing only the first %d characters", origin, max_text_chars)
                text = text[:max_text_chars]
            yield text_article(text, origin, markdown=suffix in MARKDOWN_SUFFIXES)
    except LoadError as error:
        yield LoadFailure(origin, str(error))
    except OSError as error:
        yield LoadFailure(origin, f"cannot read: {error.strerror or error}")
    except RecursionError:
        yield LoadFailure(origin, "nested too deeply to read")
    except Exception as error:  # a bug a strange file finds must cost that file only
        logger.exception("%s: unexpected error while loading", origin)
        yield LoadFailure(origin, f"cannot load ({type(error).__name__}: {error})")
    yield from (LoadNote(origin, note) for note in notes)


# ----------------------------------------------------------------------------- records


def article_from_record(record: Any, origin: str) -> Article:
    """An article from a JSON record `{id?, title, body, url?, source?, published_at?}`."""
    if not isinstance(record, dict):
        raise LoadError(f"expected a JSON object, got {type(record).__name__}")
    body = record.get("body", record.get("text", record.get("content")))
    if not isinstance(body, str) or not body.strip():
        raise LoadError("record has no body")
    title = record.get("title")
    if title is not None and not isinstance(title, str):
        raise LoadError("title must be a string")
    explicit = record.get("id")
    if explicit is not None and not isinstance(explicit, str | int):
        raise LoadError("id must be a string or a number")
    fields = {name: _field(record, name) for name in _FIELD_ALIASES}
    return _make_article(
        explicit=str(explicit) if explicit is not None else None,
        title=title or "",
        body=body,
        origin=origin,
        **fields,
    )


def _jsonl_articles(text: str, origin: str) -> Iterator[Loaded]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{origin}:{number}"
        try:
            yield article_from_record(json.loads(line), where)
        except json.JSONDecodeError as error:
            yield LoadFailure(where, f"line {number}: malformed JSON ({error.msg} at column {error.colno})")
        except RecursionError:
            yield LoadFailure(where, f"line {number}: JSON nested too deeply")
        except LoadError as error:
            yield LoadFailure(where, f"line {number}: {error}")


def _json_articles(text: str, origin: str) -> Iterator[Loaded]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        yield LoadFailure(
            origin, f"malformed JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        )
        return
    except RecursionError:
        yield LoadFailure(origin, "JSON nested too deeply")
        return
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    records = data if isinstance(data, list) else [data]
    for number, record in enumerate(records, start=1):
        where = f"{origin}#{number}" if isinstance(data, list) else origin
        try:
            yield article_from_record(record, where)
        except LoadError as error:
            yield LoadFailure(where, f"record {number}: {error}" if isinstance(data, list) else str(error))


# ----------------------------------------------------------------------------- text and markdown


def text_article(text: str, origin: str, *, markdown: bool) -> Article:
    """An article from plain text or Markdown with optional YAML front matter."""
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            # BaseLoader keeps every value a string: dates are then read (and refused with the
            # field's name) by `_parse_date`, and ids like 0012 keep their leading zeros.
            loaded = yaml.load(match.group(1), Loader=yaml.BaseLoader) or {}
        except yaml.YAMLError as error:
            raise LoadError(f"invalid front matter: {str(error).splitlines()[0]}") from error
        if not isinstance(loaded, dict):
            raise LoadError("invalid front matter: expected `key: value` lines")
        meta = loaded
        text = text[match.end() :]
    blocks = _markdown_blocks(text) if markdown else _text_blocks(text)
    title = meta.get("title")
    if not title and blocks:
        heading, is_heading = blocks[0]
        if is_heading or len(heading) <= _TITLE_MAX:
            title = heading
            blocks = blocks[1:]
    paragraphs = [block for block, _ in blocks]
    fields = {name: _field(meta, name) for name in _FIELD_ALIASES}
    if fields["published_at"] is None:
        outlet, fields["published_at"] = _dateline(paragraphs[:6])
        fields["source"] = fields["source"] or outlet
    return _make_article(
        explicit=str(meta["id"]) if meta.get("id") is not None else None,
        title=str(title or ""),
        body="\n\n".join(paragraphs),
        origin=origin,
        **fields,
    )


def _text_blocks(text: str) -> list[tuple[str, bool]]:
    """Paragraphs of plain text; a first line on its own is the title."""
    lines = text.strip().splitlines()
    if not lines:
        return []
    first, rest = lines[0].strip(), "\n".join(lines[1:])
    return [(first, True)] + [(p.strip(), False) for p in re.split(r"\n\s*\n", rest) if p.strip()]


def _markdown_blocks(text: str) -> list[tuple[str, bool]]:
    """Paragraphs, headings and list items of Markdown as plain text, in document order."""
    from markdown_it import MarkdownIt

    blocks: list[tuple[str, bool]] = []
    heading = False
    for token in MarkdownIt("commonmark").parse(text):
        if token.type == "heading_open":
            heading = True
        elif token.type == "heading_close":
            heading = False
        elif token.type == "inline":
            # Raw HTML stays as text: in news prose "<script>" is a word being quoted, not markup.
            plain = "".join(
                " " if child.type in ("softbreak", "hardbreak") else child.content
                for child in token.children or []
                if child.type in ("text", "code_inline", "html_inline", "softbreak", "hardbreak")
            ).strip()
            if plain:
                blocks.append((plain, heading))
        elif token.type in ("fence", "code_block", "html_block") and token.content.strip():
            blocks.append((token.content.strip(), False))
    return blocks


def _dateline(paragraphs: list[str]) -> tuple[str | None, date | None]:
    """Outlet and date from a byline near the top ("Wallstreetcn" over "2025.01.03 11:42"), if any.

    The outlet is taken only when it is a short line standing right above the date line.
    """
    for paragraph in paragraphs:
        lines = [line.strip() for line in paragraph.splitlines()]
        for index, line in enumerate(lines):
            if len(line) <= 40 and re.search(r"\b(19|20)\d\d\b", line):
                try:
                    day = _parse_date(line.replace(".", "-"))
                except LoadError:
                    continue
                above = lines[index - 1] if index else ""
                outlet = above if 0 < len(above) <= 40 and not re.search(r"[.!?:|]", above) else None
                return outlet, day
    return None, None


# ----------------------------------------------------------------------------- html


def html_article(data: bytes, origin: str, url: str | None = None, charset: str | None = None) -> Article:
    """An article from a web page: main text and metadata extracted by trafilatura.

    The encoding is the server's `charset` when it sent one (it outranks the page's own), else the
    page's `<meta charset>`, else what `decode_text` finds.
    """
    import trafilatura

    declared = _HTML_CHARSET.search(data[:4096])
    html = decode_text(data, charset or (declared.group(1).decode("ascii") if declared else None))
    document = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=True
    )
    text = getattr(document, "text", None) if document is not None else None
    if not text or not text.strip():
        raise LoadError("no article text found in the page")
    title = str(getattr(document, "title", None) or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and title and lines[0] == title:
        lines = lines[1:]
    published = getattr(document, "date", None)
    day = _parse_date(published) if published else None
    return _make_article(
        explicit=None,
        title=title,
        body="\n\n".join(lines),
        origin=origin,
        url=getattr(document, "url", None) or url,
        source=getattr(document, "sitename", None) or getattr(document, "hostname", None),
        published_at=day if day is not None and _plausible(day) else None,  # a guess from the page
    )


# ----------------------------------------------------------------------------- shared


def _field(meta: dict[str, Any], name: str) -> Any:
    for key in _FIELD_ALIASES[name]:
        if meta.get(key) not in (None, ""):
            return meta[key]
    return None


def _parse_date(value: Any) -> date:
    """A calendar date from ISO strings, YAML dates, timestamps or most written forms."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
        try:
            # Parsed twice with different defaults: a date missing its day, month or year
            # ("March 2024", "Friday") would otherwise be completed from today's date.
            first = dateparser.parse(value.strip(), default=datetime(2000, 1, 1)).date()
            second = dateparser.parse(value.strip(), default=datetime(2001, 2, 2)).date()
        except (ValueError, OverflowError) as error:
            raise LoadError(f"unreadable published_at {value!r}") from error
        if first != second:
            raise LoadError(f"incomplete published_at {value!r}: give year, month and day")
        return first
    raise LoadError(f"unreadable published_at {value!r}")


def _plausible(day: date) -> bool:
    return day.year >= _EARLIEST_YEAR and day <= date.today() + _FUTURE_SLACK


def _make_article(
    *,
    explicit: str | None,
    title: str,
    body: str,
    origin: str,
    url: Any,
    source: Any,
    published_at: Any,
) -> Article:
    body = printable(body).strip()
    if not body:
        raise LoadError("no article text")
    title = " ".join(printable(title).split())
    if not title:
        first = body.split("\n", 1)[0]
        title = first if len(first) <= 120 else first[:117].rsplit(" ", 1)[0] + "…"
    day = _parse_date(published_at) if published_at not in (None, "") else None
    if day is not None and not _plausible(day):
        when = "in the future" if day > date.today() else f"before {_EARLIEST_YEAR}"
        raise LoadError(f"published_at {day.isoformat()} is {when}")
    source = " ".join(printable(str(source)).split()) if source else None
    try:
        clean_url = canonical_url(str(url)) if url else None
    except ValueError as error:  # out-of-range port, broken IPv6 host
        raise LoadError(f"invalid url {url!r}: {error}") from error
    return Article(
        id=article_id(explicit, clean_url, title, day),
        title=title,
        body=body,
        url=clean_url,
        source=source or None,
        published_at=day,
        origin=origin,
    )
