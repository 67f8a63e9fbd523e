"""The LLM answerer behind the real Telegram bot: streamed drafts, verified finals, per-chat history.

Two emulators on 127.0.0.1: the Bot API (`BotAPIEmulator`) and an OpenAI-compatible model
(`OpenAIEmulator`), with the real PTB Application and the real ChatOpenAI in between.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

import ingest
import store
from bot.answering import Newsdesk, Turn
from bot.answering.registry import make_answerer
from bot.config import BotSettings
from bot.frontends.telegram import DRAFT_EVERY, ERROR_REPLY, build_application

try:  # works whether or not tests/ is a package
    from tests.openai_emulator import JSON, OpenAIEmulator, Reply
    from tests.telegram_emulator import BotAPIEmulator, running, serve
except ImportError:
    from openai_emulator import JSON, OpenAIEmulator, Reply
    from telegram_emulator import BotAPIEmulator, running, serve


USER = 1001  # the emulator's default user; its private chat has the same id
OTHER = 1002
DELIVERY_QUESTION = "What is the 2025 delivery target?"
DELIVERY_TITLE = "Lei Jun sets ambitious 2025 car delivery goal"
DELIVERY_URL = "https://pacific-auto-wire.test/ev/2025/01/02/xiaomi-2025-delivery-target"
FOLLOW_UP = "and who set it?"
REWRITTEN = "Who set Xiaomi's 2025 car delivery target?"
DRAFT_END = " …"
WAIT = 10.0
_SOURCE_TAG = re.compile(r'<source id="(\d+)" outlet="[^"]*" title="([^"]*)"')

MakeApp = Callable[..., Application]


class TimedBotAPIEmulator(BotAPIEmulator):
    """The Bot API emulator, also noting when each message was sent or edited."""

    def __init__(self) -> None:
        super().__init__()
        self.updates_at: list[tuple[str, float]] = []

    def _api_sendMessage(self, params: JSON) -> JSON:
        self.updates_at.append(("send", time.monotonic()))
        return super()._api_sendMessage(params)

    def _api_editMessageText(self, params: JSON) -> JSON:
        self.updates_at.append(("edit", time.monotonic()))
        return super()._api_editMessageText(params)


# ----------------------------------------------------------------------------------- helpers


def is_final(message: JSON) -> bool:
    """Whether a bot message is a finished answer rather than a streamed draft."""
    return not message["text"].endswith(DRAFT_END)


async def final_replies(emu: BotAPIEmulator, chat_id: int, count: int = 1) -> list[JSON]:
    """Wait, off the event loop, until `count` of the bot's messages in a chat are finished answers."""

    def finished() -> list[JSON] | None:
        messages = emu.sent_messages(chat_id)
        return messages if sum(is_final(m) for m in messages) >= count else None

    return await asyncio.to_thread(emu.wait_until, finished, WAIT, f"{count} final answer(s) in {chat_id}")


def is_rewrite(body: JSON) -> bool:
    """Whether a model request asks to rewrite a follow-up."""
    return str(body["messages"][0]["content"]).startswith("Rewrite the user's last question")


def delivery_number(body: JSON) -> int | None:
    """The number the prompt gives the delivery-target article, if it is among the sources."""
    prompt = str(body["messages"][-1]["content"])
    titles = _SOURCE_TAG.findall(prompt)
    return next((int(n) for n, title in titles if html.unescape(title).startswith(DELIVERY_TITLE)), None)


def model(body: JSON) -> str:
    """A well-behaved model: rewrites follow-ups from the conversation, answers with a citation."""
    if is_rewrite(body):
        return REWRITTEN if DELIVERY_QUESTION in str(body["messages"][-1]["content"]) else FOLLOW_UP
    if delivery_number(body) is None:
        return "NOT FOUND"
    if REWRITTEN in str(body["messages"][-1]["content"]):
        return f"Xiaomi founder Lei Jun set the 2025 target of 300,000 deliveries [{delivery_number(body)}]."
    return f"Xiaomi is targeting 300,000 vehicle deliveries in 2025 [{delivery_number(body)}]."


# ---------------------------------------------------------------------------------- fixtures


@pytest.fixture
def emu() -> Iterator[TimedBotAPIEmulator]:
    """A running Bot API emulator on 127.0.0.1."""
    emulator = TimedBotAPIEmulator()
    with emulator:
        yield emulator


@pytest.fixture
def make_app(
    emu: BotAPIEmulator,
    llm_server: OpenAIEmulator,
    sample_kb: store.KnowledgeBase,
    embeddings: store.SentenceTransformerEmbeddings,
) -> MakeApp:
    """Build the real bot with the LLM answerer on the emulators; bot settings as keyword arguments."""

    def make(*, state_file: Path | None = None, **settings: Any) -> Application:
        """The Application for these settings."""
        bot = BotSettings(
            telegram_bot_token=emu.token,
            telegram_base_url=emu.base_url,
            answerer="llm",
            llm_base_url=llm_server.base_url,
            llm_model="test-model",
            llm_api_key="k",
            llm_timeout=5,
            **settings,
        )
        newsdesk = Newsdesk(sample_kb, bot, answerer=make_answerer(bot, embeddings))
        ingestor = ingest.Ingestor(sample_kb, ingest.IngestSettings())
        return build_application(bot, newsdesk, ingestor, state_file=state_file)

    return make


# ------------------------------------------------------------------------------------ streaming


def test_answer_streams_into_one_message_edited_about_once_a_second(
    emu: TimedBotAPIEmulator, llm_server: OpenAIEmulator, make_app: MakeApp
) -> None:
    """The draft grows as tokens arrive, edits are spaced by DRAFT_EVERY, and the verified answer ends it."""
    pieces = ["Xiaomi is ", "targeting 300,000 ", "vehicle deliveries ", "in 2025 ", "[{n}]."]

    def respond(body: JSON) -> Reply:
        """The answer in five chunks 0.6 s apart: about 4 s of streaming."""
        return Reply(chunks=[p.format(n=delivery_number(body)) for p in pieces], chunk_delay=0.6)

    llm_server.respond_with(respond)

    async def script() -> tuple[list[JSON], float]:
        started = time.monotonic()
        emu.send_user_message(DELIVERY_QUESTION)
        messages = await final_replies(emu, USER)
        return messages, time.monotonic() - started

    (reply,), duration = serve(make_app(), script)

    answer, _, sources = reply["text"].partition("\n\nSources\n")
    assert answer == "Xiaomi is targeting 300,000 vehicle deliveries in 2025 [1]."
    assert sources.startswith(f"[1] {DELIVERY_TITLE}")
    assert DELIVERY_URL in [e.get("url") for e in reply["entities"]]
    drafts = [params["text"] for params in emu.calls["sendMessage"] + emu.calls["editMessageText"]][:-1]
    assert len(drafts) >= 2, drafts  # the text was shown while it was written
    assert all(draft.endswith(DRAFT_END) for draft in drafts)
    # Drafts leave out the model's markers: it numbers sources as its prompt listed them ([3], say),
    # and the final answer renumbers them from [1].
    raw = "".join(pieces).replace(" [{n}]", "")
    assert all(raw.startswith(html.unescape(draft.removesuffix(DRAFT_END))) for draft in drafts)
    assert not any(re.search(r"\[\d", draft) for draft in drafts)
    assert [len(d) for d in drafts] == sorted({len(d) for d in drafts})  # each edit showed more text
    # One message, every edit accepted (a "message is not modified" 400 would leave calls > edits).
    assert len(emu.calls["sendMessage"]) == 1
    assert reply["edits"] == len(emu.calls["editMessageText"]) == len(drafts)
    assert reply["edits"] <= duration + 2
    draft_times = [at for _, at in emu.updates_at[:-1]]  # the final edit may follow the last draft closely
    assert all(b - a >= DRAFT_EVERY * 0.9 for a, b in itertools.pairwise(draft_times))


def test_unverified_draft_is_replaced_by_the_extractive_answer(
    emu: TimedBotAPIEmulator, llm_server: OpenAIEmulator, make_app: MakeApp
) -> None:
    """A streamed answer that fails verification is shown as a draft, then replaced by the fallback."""

    def respond(body: JSON) -> Reply:
        """An invented number, streamed over about 2.5 s."""
        n = delivery_number(body)
        return Reply(
            chunks=["Xiaomi is targeting ", "350,000 vehicle ", f"deliveries in 2025 [{n}]."], chunk_delay=0.6
        )

    llm_server.respond_with(respond)

    async def script() -> list[JSON]:
        emu.send_user_message(DELIVERY_QUESTION)
        return await final_replies(emu, USER)

    (reply,) = serve(make_app(), script)

    drafts = [params["text"] for params in emu.calls["sendMessage"] + emu.calls["editMessageText"]][:-1]
    assert any("350,000" in draft for draft in drafts)
    assert "350,000" not in reply["text"]
    assert "300,000" in reply["text"]
    assert "\n\nSources\n[1] " + DELIVERY_TITLE in reply["text"]
    assert reply["text"] != ERROR_REPLY
    assert len(emu.calls["sendMessage"]) == 1
    assert reply["edits"] == len(emu.calls["editMessageText"])


# ------------------------------------------------------------------------------------ history


def test_history_survives_a_restart_and_is_used_for_follow_ups(
    emu: BotAPIEmulator, llm_server: OpenAIEmulator, make_app: MakeApp, tmp_path: Path
) -> None:
    """Turns kept in the typed ChatData are pickled; after a restart, a follow-up is rewritten with them."""
    state_file = tmp_path / "state" / "state.pickle"
    llm_server.respond_with(model)

    async def first() -> list[JSON]:
        emu.send_user_message(DELIVERY_QUESTION)
        return await final_replies(emu, USER)

    (first_reply,) = serve(make_app(state_file=state_file), first)
    assert state_file.exists()
    restarted = make_app(state_file=state_file)

    async def second() -> tuple[list[Turn], list[JSON]]:
        async with running(restarted):
            loaded = list(restarted.chat_data[USER].history)
            emu.send_user_message(FOLLOW_UP)
            return loaded, await final_replies(emu, USER, 2)

    loaded, (_, follow_up) = asyncio.run(second())

    first_answer = first_reply["text"].partition("\n\nSources")[0]
    assert loaded == [Turn(DELIVERY_QUESTION, first_answer)]
    rewrite = next(body for body in llm_server.requests if is_rewrite(body))
    assert f"Q: {DELIVERY_QUESTION}\nA: {first_answer}" in rewrite["messages"][-1]["content"]
    assert follow_up["text"].startswith(
        "Xiaomi founder Lei Jun set the 2025 target of 300,000 deliveries [1]."
    )
    assert DELIVERY_URL in [e.get("url") for e in follow_up["entities"]]
    assert restarted.chat_data[USER].history[-1].question == REWRITTEN


def test_history_keeps_the_last_turns_per_chat_and_reset_clears_it(
    emu: BotAPIEmulator, llm_server: OpenAIEmulator, make_app: MakeApp
) -> None:
    """Each chat keeps its own last `history_turns` turns; /reset forgets one chat's, not the other's."""
    llm_server.respond_with(model)
    app = make_app(history_turns=2)
    histories: dict[str, list[Any]] = {}

    async def script() -> list[JSON]:
        for n, question in enumerate([DELIVERY_QUESTION, FOLLOW_UP, FOLLOW_UP], start=1):
            emu.send_user_message(question)
            await final_replies(emu, USER, n)
        emu.send_user_message(DELIVERY_QUESTION, user_id=OTHER)
        await final_replies(emu, OTHER)
        histories["before"] = list(app.chat_data[USER].history)
        emu.send_user_message("/reset")
        await final_replies(emu, USER, 4)
        histories["after"] = list(app.chat_data[USER].history)
        histories["other"] = list(app.chat_data[OTHER].history)
        requests_before = len(llm_server.requests)
        emu.send_user_message(FOLLOW_UP)
        replies = await final_replies(emu, USER, 5)
        histories["new"] = [body for body in llm_server.requests[requests_before:] if is_rewrite(body)]
        return replies

    replies = serve(app, script)

    assert [turn.question for turn in histories["before"]] == [REWRITTEN, REWRITTEN]
    assert histories["after"] == []
    assert [turn.question for turn in histories["other"]] == [DELIVERY_QUESTION]
    assert replies[3]["text"] == "Done: I forgot our conversation. Ask me anything."
    assert histories["new"] == []  # no history after /reset: nothing to rewrite
    assert app.chat_data[USER].history[0].question == FOLLOW_UP
