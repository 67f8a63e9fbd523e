"""What a question gets back: an answer with numbered citations, or an honest "not found"."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

NOT_FOUND = "I could not find that in the articles I have."

# "[2]", "[1, 3]", and at the end of a growing draft an unfinished "[1, " (with the space before each)
_DRAFT_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]|\s*\[[\d,\s]*$")


def draft_text(text: str) -> str:
    """A model's answer while it is written, without its citation markers.

    The model numbers sources as they were listed in its prompt; the verified answer renumbers
    them from [1] in the order it cites them, so markers shown in a draft would change under the
    reader's eyes. The final answer brings them back with its list of sources.
    """
    return _DRAFT_MARKERS.sub("", text)


@dataclass(frozen=True)
class Citation:
    """A source an answer relies on; `n` is its number in the answer's [n] markers."""

    n: int
    article_id: str
    title: str
    source: str | None = None
    url: str | None = None
    published_at: date | None = None
    quote: str = ""
    """The article's own sentences the answer used (empty for a lead)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "n": self.n,
            "article_id": self.article_id,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "quote": self.quote,
        }


@dataclass(frozen=True)
class Answer:
    """An answer's text (with [n] markers), the sources it cites, and whether it was found."""

    text: str
    found: bool
    citations: list[Citation] = field(default_factory=list)
    leads: list[Citation] = field(default_factory=list)
    """When not found: the closest articles, as leads to read."""
    answerer: str = "extractive"
    as_of: date | None = None
    retrieved: tuple[str, ...] = ()
    """Ids of the articles retrieval returned, best first, each once (for evaluation and logs)."""
    checks: dict[str, bool] = field(default_factory=dict)
    """Verification checks run on the answer and whether each passed (LLM answers)."""
    question: str = ""
    """The question as answered: a follow-up rewritten to stand alone."""
    short_answer: str | None = None
    """The answer itself in a few words ("300,000 vehicles", "Daniel Okafor"), when the reader
    found a span of the asked kind in the quoted sentence; `text` then holds its support."""
    fallback: str | None = None
    """Why an LLM answer was not used (`no_sources`, `model_error`, `verification`); None otherwise."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields, as `newsdesk ask --json` prints them."""
        return {
            "answer": self.text,
            "short_answer": self.short_answer,
            "found": self.found,
            "citations": [citation.as_dict() for citation in self.citations],
            "leads": [lead.as_dict() for lead in self.leads],
            "answerer": self.answerer,
            "fallback": self.fallback,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "retrieved": list(self.retrieved),
            "checks": self.checks,
            "question": self.question,
        }


@dataclass(frozen=True)
class Turn:
    """One question and its answer's text, kept per chat for follow-up questions."""

    question: str
    answer: str
