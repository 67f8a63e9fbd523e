"""Answers as Telegram HTML: escaped article text, numbered sources, split under 4096 characters."""

from __future__ import annotations

import re
from html import escape as _html_escape
from urllib.parse import urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit

from bot.answering import Answer, Citation
from store.text import format_day, split_sentences

LIMIT = MessageLimit.MAX_TEXT_LENGTH
TITLE_CHARS = 1_000
"""Most characters of a source's title, once escaped; a source line stays far under `LIMIT`."""
OUTLET_CHARS = 200
URL_CHARS = 2_000
"""A longer link (once escaped) is left out and the title shown plain."""
VOTE = "vote"
"""Callback data of the vote buttons: `vote:up:<answer id>`, `vote:down:<answer id>`, `vote:done`."""
VOTED = f"{VOTE}:done"
BUTTONS_PER_ROW = 3
BUTTON_LABEL_CHARS = 32


def escape(text: str) -> str:
    """Escape article text for Telegram HTML: only <, > and & need it outside attributes."""
    return _html_escape(text, quote=False)


def source_line(item: Citation) -> str:
    """`[n] <a href=url>Title</a> — Outlet, 3 Jan 2025`, everything from the article escaped.

    Whatever the article's fields, the line fits in a message: a title or outlet too long is cut
    (at a character, never inside an escape), and only an http(s) link of sensible length is linked.
    """
    title = _escaped_within(item.title or "untitled", TITLE_CHARS)
    href = _html_escape(item.url, quote=True) if item.url and _linkable(item.url) else None
    linked = f'<a href="{href}">{title}</a>' if href and len(href) <= URL_CHARS else title
    details = ", ".join(
        part
        for part in (
            _escaped_within(item.source, OUTLET_CHARS) if item.source else "",
            format_day(item.published_at) if item.published_at else "",
        )
        if part
    )
    return f"[{item.n}] {linked}" + (f" — {details}" if details else "")


def render_answer(answer: Answer) -> list[str]:
    """The messages that carry an answer: the short answer in bold, its supporting text, then its
    sources (or leads)."""
    blocks = [escape(paragraph) for paragraph in answer.text.split("\n\n") if paragraph.strip()]
    if answer.short_answer:
        blocks[0] = (
            f"<b>{escape(answer.short_answer)}</b>\n{blocks[0]}"
            if blocks
            else f"<b>{escape(answer.short_answer)}</b>"
        )
    if answer.citations:
        blocks.append("<b>Sources</b>\n" + "\n".join(source_line(c) for c in answer.citations))
    elif answer.leads:
        blocks.append("<b>Closest articles</b>\n" + "\n".join(source_line(c) for c in answer.leads))
    return pack(blocks)


def _escaped_within(text: str, limit: int) -> str:
    """The escaped text, cut (before escaping, with "…") so that it is at most `limit` characters."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    keep = limit - 1
    while len(escape(text[:keep])) > limit - 1:
        keep -= max(1, (len(escape(text[:keep])) - limit) // 5)
    return escape(text[:keep]) + "…"


def _linkable(url: str) -> bool:
    """Whether a URL may be a link: http(s) only (never `javascript:` or `data:`)."""
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def answer_keyboard(answer: Answer, answer_id: str | None = None) -> InlineKeyboardMarkup | None:
    """The buttons under an answer: one link per cited source with an http(s) URL ("[1] Outlet"),
    three to a row, then 👍 / 👎 when the answer was recorded under `answer_id`."""
    links = [
        InlineKeyboardButton(_label(f"[{citation.n}] {citation.source or citation.title}"), url=citation.url)
        for citation in (answer.citations if answer.found else [])
        if citation.url and _linkable(citation.url) and len(citation.url) <= URL_CHARS
    ]
    rows = [links[start : start + BUTTONS_PER_ROW] for start in range(0, len(links), BUTTONS_PER_ROW)]
    if answer_id is not None:
        rows.append(
            [
                InlineKeyboardButton("👍", callback_data=f"{VOTE}:up:{answer_id}"),
                InlineKeyboardButton("👎", callback_data=f"{VOTE}:down:{answer_id}"),
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None


def thanked(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup:
    """The same buttons with the vote row replaced by a thank-you."""
    rows = [
        list(row)
        for row in (markup.inline_keyboard if markup is not None else ())
        if not any(str(button.callback_data or "").startswith(f"{VOTE}:") for button in row)
    ]
    rows.append([InlineKeyboardButton("✓ Thanks for your feedback", callback_data=VOTED)])
    return InlineKeyboardMarkup(rows)


def _label(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BUTTON_LABEL_CHARS else text[: BUTTON_LABEL_CHARS - 1].rstrip() + "…"


def pack(blocks: list[str], limit: int = LIMIT) -> list[str]:
    """Join HTML blocks into messages of at most `limit` characters, breaking between blocks.

    A block is a complete HTML fragment, so a break never falls inside a tag or a citation.
    A block longer than a message is broken between lines, then between sentences, then words.
    """
    messages: list[str] = []
    current = ""
    for piece in (piece for block in blocks for piece in _fit(block, limit)):
        candidate = f"{current}\n\n{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = piece
    if current:
        messages.append(current)
    return messages


def _fit(block: str, limit: int) -> list[str]:
    if len(block) <= limit:
        return [block]
    lines = block.split("\n")
    if len(lines) > 1:
        return [piece for line in lines for piece in _fit(line, limit)]
    if "<" in block:  # a single source line over 4096 characters cannot happen with real titles
        return [block[:limit]]
    # plain escaped text: break between sentences, then between words (entities stay whole)
    units = _with_markers([s.text for s in split_sentences(block)])
    words = [word for unit in units for word in (unit.split(" ") if len(unit) > limit else [unit])]
    return _greedy(words, limit, " ")


_LEADING_MARKERS = re.compile(r"^((?:\[\d+\]\s*)+)(.*)$", re.DOTALL)


def _with_markers(sentences: list[str]) -> list[str]:
    """Sentences with any leading "[n]" moved back to the sentence it cites."""
    out: list[str] = []
    for sentence in sentences:
        match = _LEADING_MARKERS.match(sentence)
        if match and out:
            out[-1] = f"{out[-1]} {match.group(1).strip()}"
            sentence = match.group(2).strip()
        if sentence:
            out.append(sentence)
    return out


def _greedy(parts: list[str], limit: int, joiner: str) -> list[str]:
    out: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current}{joiner}{part}" if current else part
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            out.append(current)
        while len(part) > limit:  # one "word" longer than a message: cut outside any entity
            cut = part.rfind("&", 0, limit) if "&" in part[limit - 8 : limit] else limit
            out.append(part[: cut or limit])
            part = part[cut or limit :]
        current = part
    if current:
        out.append(current)
    return out
