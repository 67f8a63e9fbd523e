"""What every answerer shares: the `Answerer` protocol, citations and leads, and the follow-up rule.

Answerers turn a question and retrieved chunks into an `Answer`. Each lives in a module of its
own (`extractive`, `llm`) below `registry`, which names them. What more than one of them needs
lives here, below all of them; the LLM answerer also uses the extractive one, through its public
`rank` and `answer`, as its fallback. Nothing imports the registry back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Protocol

from langchain_core.documents import Document

from bot.answering.answer import Answer, Citation, Turn

MAX_LEADS = 3


class Answerer(Protocol):
    """Writes an answer from retrieved chunks; `name` is recorded on every answer."""

    name: str

    def answer(self, question: str, documents: Sequence[Document], *, as_of: date | None = None) -> Answer:
        """The answer to `question` from `documents`, or a "not found" answer."""
        ...

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """The question rewritten to stand alone, given the chat's earlier turns."""
        ...


_FOLLOW_UP_OPENER = re.compile(r"^\s*(and|but|also|so|then|what about|how about)\b", re.IGNORECASE)
_PRONOUN = re.compile(r"\b(he|she|they|them|him|it)\b", re.IGNORECASE)
_OWN_SUBJECT = re.compile(r"(?<!^)\b[A-Z][\w-]+|\d")


def standalone_question(question: str, history: Sequence[Turn]) -> str:
    """The simple follow-up rule: a question that leans on the previous one borrows its words.

    A follow-up is short (four words or fewer), opens like one ("and", "what about"), or uses a
    personal pronoun ("who set it?") without naming anything of its own. Then "and in 2024?"
    after "What is the 2025 delivery target?" is searched as "What is the 2025 delivery target?
    and in 2024?": the earlier words find the story, the new ones pick the sentence. A question
    that reads as complete is left alone.
    """
    if not history:
        return question
    leans = _PRONOUN.search(question) and not _OWN_SUBJECT.search(question.strip())
    if len(question.split()) <= 4 or _FOLLOW_UP_OPENER.match(question) or leans:
        return f"{history[-1].question} {question}"
    return question


def citation(document: Document, n: int, quote: str = "") -> Citation:
    """A numbered citation of the article a retrieved chunk belongs to."""
    meta = document.metadata
    return Citation(
        n=n,
        article_id=str(meta["article_id"]),
        title=str(meta.get("title", "")),
        source=meta.get("source"),
        url=meta.get("url"),
        published_at=meta.get("published_at"),
        quote=quote,
    )


def leads(documents: Sequence[Document]) -> list[Citation]:
    """The closest distinct articles, for a "not found" answer."""
    seen: dict[str, Document] = {}
    for document in documents:
        seen.setdefault(str(document.metadata["article_id"]), document)
    return [citation(document, n) for n, document in enumerate(list(seen.values())[:MAX_LEADS], start=1)]
