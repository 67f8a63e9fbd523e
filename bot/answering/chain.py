"""The retrieval chain (LCEL): question -> retriever -> answerer -> `Answer`, and the service around it.

`Newsdesk.ask` is the one core function the CLI, the Telegram bot and `eval` all call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import date
from typing import Any, Protocol, TypedDict, cast
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda, RunnablePassthrough

from bot.answering import reader
from bot.answering.answer import Answer, Turn
from bot.answering.base import Answerer
from bot.answering.registry import make_answerer
from bot.answering.retriever import NewsRetriever
from bot.config import BotSettings
from store import KnowledgeBase

logger = logging.getLogger(__name__)


class Question(TypedDict):
    """The chain's input."""

    question: str
    as_of: date | None
    k: int | None
    exclude: Collection[str]


class InvalidQuestionError(ValueError):
    """A question that cannot be asked (empty, or too long)."""


MAX_QUESTION_CHARS = 1000


def build_chain(retriever: NewsRetriever, answerer: Answerer) -> Runnable[Question, Answer]:
    """question -> retrieved chunks (as of a date) -> answer, as one LangChain runnable."""

    def retrieve(inputs: dict[str, Any]) -> list[Any]:
        return retriever.invoke(
            inputs["question"],
            as_of=inputs.get("as_of"),
            k=inputs.get("k"),
            exclude=inputs.get("exclude", ()),
        )

    def answer(inputs: dict[str, Any]) -> Answer:
        documents = inputs["documents"]
        result = answerer.answer(inputs["question"], documents, as_of=inputs.get("as_of"))
        retrieved = tuple(dict.fromkeys(str(d.metadata["article_id"]) for d in documents))
        return replace(result, retrieved=retrieved)

    chain = RunnablePassthrough.assign(documents=RunnableLambda(retrieve, name="retrieve")) | RunnableLambda(
        answer, name=answerer.name
    )
    return cast(Runnable[Question, Answer], chain.with_config(run_name="newsdesk"))


class AnswerObserver(Protocol):
    """Told of every question `Newsdesk.ask` took (metrics): add one to `Newsdesk.observers`."""

    def answered(self, answer: Answer, seconds: float) -> None:
        """A question was answered (found or not) in `seconds`."""

    def failed(self, error: Exception, seconds: float) -> None:
        """Answering raised `error` after `seconds` (an empty store, a broken store connection...)."""


class Newsdesk:
    """Answers questions from a knowledge base; built once per process, shared by all front ends."""

    def __init__(
        self,
        kb: KnowledgeBase,
        settings: BotSettings,
        *,
        answerer: Answerer | None = None,
        clock: Callable[[], date] = date.today,
    ) -> None:
        self.kb = kb
        self.settings = settings
        self.clock = clock
        self.retriever = NewsRetriever(kb=kb, k=settings.top_k)
        self.answerer = answerer or make_answerer(settings, kb.embeddings)
        self.chain = build_chain(self.retriever, self.answerer)
        self.observers: list[AnswerObserver] = []

    def warm_up(self) -> None:
        """Load the model and open the store now, so the first question is not the slow one."""
        self.kb.embeddings.query_vector("warm up")
        self.kb.is_empty()
        reader.warm_up()

    def ask(
        self,
        question: str,
        *,
        as_of: date | None = None,
        k: int | None = None,
        history: Sequence[Turn] = (),
        on_token: Callable[[str], None] | None = None,
        exclude: Collection[str] = (),
    ) -> Answer:
        """Answer a question as of a date (today by default) from the articles published by then.

        `history` holds the chat's earlier turns, so that a follow-up ("and in 2024?") is first
        rewritten to stand alone. `on_token` receives the draft text as an LLM writes it; the
        returned answer is the verified final one. `exclude` names articles to answer without, as
        if they were not stored (`newsdesk eval --hide-evidence`).
        """
        question = " ".join(question.split())
        if not question:
            raise InvalidQuestionError("ask a question, e.g. “What is the 2025 delivery target?”")
        if len(question) > MAX_QUESTION_CHARS:
            raise InvalidQuestionError(f"questions are limited to {MAX_QUESTION_CHARS} characters")
        started = time.perf_counter()
        try:
            standalone = self.answerer.standalone(question, history) if history else question
            config = RunnableConfig(callbacks=[TokenRelay(on_token)]) if on_token else None
            answer = self.chain.invoke(
                {"question": standalone, "as_of": as_of or self.clock(), "k": k, "exclude": exclude}, config
            )
        except Exception as error:
            for observer in self.observers:
                observer.failed(error, time.perf_counter() - started)
            raise
        for observer in self.observers:
            observer.answered(answer, time.perf_counter() - started)
        logger.info("answered found=%s by %s", answer.found, answer.answerer)
        logger.debug("question: %s", standalone)  # people's questions stay out of default logs
        return replace(answer, question=standalone)

    def remember(self, history: Sequence[Turn], answer: Answer) -> list[Turn]:
        """A chat's history with this answer added: the last `history_turns` turns, none when it is 0.

        Every front end keeps its chats' histories through this, so they all keep the same turns.
        """
        keep = self.settings.history_turns
        return [*history, Turn(answer.question, answer.text)][-keep:] if keep > 0 else []


class TokenRelay(BaseCallbackHandler):
    """Passes the tokens a chat model streams inside the chain to a plain callback."""

    def __init__(self, on_token: Callable[[str], None]) -> None:
        self.on_token = on_token

    def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Relay one token of text."""
        if isinstance(token, str) and token:
            self.on_token(token)
