"""The answerer registry: configuration (`NEWSDESK_ANSWERER`) names an entry, `make_answerer` builds it.

A new backend is a module of its own beside `extractive` and `llm` that registers a factory here;
the chain never changes.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.answering.base import Answerer
from bot.answering.extractive import ExtractiveAnswerer
from bot.answering.llm import LLMAnswerer
from bot.config import BotSettings
from store import SentenceTransformerEmbeddings

AnswererFactory = Callable[[BotSettings, SentenceTransformerEmbeddings], Answerer]


class UnknownAnswererError(ValueError):
    """The configured answerer is not registered."""


ANSWERERS: dict[str, AnswererFactory] = {
    "extractive": ExtractiveAnswerer.from_settings,
    "llm": LLMAnswerer.from_settings,
}


def make_answerer(settings: BotSettings, embeddings: SentenceTransformerEmbeddings) -> Answerer:
    """The answerer named by `settings.answerer`."""
    try:
        factory = ANSWERERS[settings.answerer]
    except KeyError:
        raise UnknownAnswererError(
            f"unknown answerer {settings.answerer!r}: NEWSDESK_ANSWERER must be one of {', '.join(ANSWERERS)}"
        ) from None
    return factory(settings, embeddings)
