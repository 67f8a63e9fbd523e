"""End-to-end tests of the Telegram front end: the real PTB Application over HTTP against the emulator.

Each test runs the bot (`build_application`, or `newsdesk bot` as a subprocess) against a
`BotAPIEmulator` on 127.0.0.1, injects user messages and checks what the bot sent back.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pytest
from langchain_core.documents import Document
from telegram.ext import Application

import ingest
import store
from bot.answering.answer import NOT_FOUND, Answer, Citation, Turn
from bot.answering.chain import Newsdesk
from bot.config import BotSettings
from bot.frontends.cli import configure_logging
from bot.frontends.telegram import COMMANDS, EMPTY_STORE, ERROR_REPLY, build_application

try:  # works whether or not tests/ is a package
    from tests.telegram_emulator import JSON, BotAPIEmulator, serve
except ImportError:
    from telegram_emulator import JSON, BotAPIEmulator, serve

T = TypeVar("T")

VENV_BIN = Path(sys.executable).parent
BOT_USERNAME = "newsdesk_test_bot"
USER = 1001  # the emulator's default user; in private chats the chat id is the user id
ADMIN = 7
GROUP = -1001
DELIVERY_QUESTION = "What is the 2025 delivery target?"
DELIVERY_URL = "https://pacific-auto-wire.test/ev/2025/01/02/xiaomi-2025-delivery-target"
ROUTER_QUESTION = "What flaw affects the Smith & Sons routers?"
ROUTER_URL = "https://circuit-ledger.test/security/2025/03/11/smith-sons-router-flaw"
PRIVATE_REPLY = "Sorry, this newsdesk bot is private."
ADMINS_ONLY = "Sorry, only admins can add or remove articles."
WAIT = 8.0  # seconds to wait for a reply from the in-process bot
SUBPROCESS_START = 60.0  # the subprocess loads the model before it registers its commands
SUBPROCESS_EXIT = 30.0

MakeApp = Callable[..., Application]


# ----------------------------------------------------------------------------------- helpers


async def replies(emu: BotAPIEmulator, chat_id: int, count: int = 1, timeout: float = WAIT) -> list[JSON]:
    """Wait, off the event loop, until the bot has sent `count` messages to `chat_id`."""
    return await asyncio.to_thread(emu.wait_for_messages, chat_id, count, timeout)


def texts(messages: Sequence[JSON]) -> list[str]:
    """Visible texts of the bot's messages."""
    return [message["text"] for message in messages]


def link_urls(message: JSON) -> list[str]:
    """URLs of the text links in a bot message."""
    return [entity["url"] for entity in message["entities"] if entity["type"] == "text_link"]


def one_line(text: str) -> str:
    """Text with every run of whitespace as one space, for comparing text split into messages."""
    return " ".join(text.split())


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PlainFollowUps:
    """Takes every question as it stands (the `standalone` half of the Answerer protocol)."""

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """The question, unchanged."""
        return question


@dataclass
class EchoAnswerer(PlainFollowUps):
    """Answers with the question it was given (so tests see what reached the core), recording it."""

    name: str = "echo"
    questions: list[str] = field(default_factory=list)

    def answer(self, question: str, documents: Sequence[Document], *, as_of: date | None = None) -> Answer:
        """Echo the question as the answer."""
        self.questions.append(question)
        return Answer(text=f"You asked: {question}", found=True, answerer=self.name, as_of=as_of)


@dataclass
class FixedAnswerer(PlainFollowUps):
    """Always returns the same answer, optionally after a callback (to observe the bot mid-answer)."""

    result: Answer
    before: Callable[[], object] | None = None
    name: str = "fixed"

    def answer(self, question: str, documents: Sequence[Document], *, as_of: date | None = None) -> Answer:
        """Return the fixed answer."""
        if self.before is not None:
            self.before()
        return self.result


@dataclass
class FailingAnswerer(PlainFollowUps):
    """Fails the way a buggy backend would, with internals in the message."""

    name: str = "failing"

    def answer(self, question: str, documents: Sequence[Document], *, as_of: date | None = None) -> Answer:
        """Raise."""
        raise RuntimeError("backend exploded at /srv/newsdesk/secret_path.py line 42")


def long_answer() -> Answer:
    """An answer of about 9,000 characters full of `&`, `<` and `>`, with two sources."""
    paragraphs = [
        " ".join(
            f"Paragraph {p}, sentence {s}: Smith & Sons sold R2 <Plus> routers for < 100 dollars "
            f"with speeds > 1 Gbps & more."
            for s in range(6)
        )
        for p in range(15)
    ]
    citations = [
        Citation(1, "a1", "Routers & <scripts>", "The Circuit Ledger", ROUTER_URL, date(2025, 3, 11)),
        Citation(2, "a2", "Deliveries", "Pacific Auto Wire", DELIVERY_URL, date(2025, 1, 2)),
    ]
    return Answer(text="\n\n".join(paragraphs), found=True, citations=citations)


# ---------------------------------------------------------------------------------- fixtures


@pytest.fixture
def emu() -> Iterator[BotAPIEmulator]:
    """A running Bot API emulator on 127.0.0.1."""
    with BotAPIEmulator() as emulator:
        yield emulator


@pytest.fixture
def make_app(emu: BotAPIEmulator, sample_kb: store.KnowledgeBase) -> MakeApp:
    """Build the real bot against the emulator: the sample store unless `kb` is given, settings as kwargs."""

    def make(*, kb: store.KnowledgeBase | None = None, answerer: Any = None, **settings: Any) -> Application:
        """The Application for these settings."""
        bot_settings = BotSettings(telegram_bot_token=emu.token, telegram_base_url=emu.base_url, **settings)
        newsdesk = Newsdesk(sample_kb if kb is None else kb, bot_settings, answerer=answerer)
        return build_application(
            bot_settings, newsdesk, ingest.Ingestor(newsdesk.kb, ingest.IngestSettings())
        )

    return make


def all_loggers() -> list[logging.Logger]:
    """The root logger and every logger created so far."""
    loggers = logging.root.manager.loggerDict.values()
    return [logging.getLogger(), *(item for item in loggers if isinstance(item, logging.Logger))]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put back every logger level `configure_logging` changes."""
    levels = {logger: logger.level for logger in all_loggers()}
    yield
    for logger in all_loggers():
        logger.setLevel(levels.get(logger, logging.NOTSET))


# ------------------------------------------------------------------------------ conversation


def test_start_and_help_reply(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    async def script() -> list[JSON]:
        emu.send_user_message("/start")
        await replies(emu, USER, 1)
        emu.send_user_message("/help")
        return await replies(emu, USER, 2)

    start, help_ = serve(make_app(), script)

    assert start["text"].startswith("Hi! I answer questions about the news")
    assert "What is the 2025 delivery target?" in start["text"]
    assert {"type": "italic", "offset": start["text"].index("What is"), "length": 33} in start["entities"]
    for command in ("/sources", "/help", "/ingest"):
        assert command in help_["text"]
    assert "In groups, mention me or reply to me." in help_["text"]


def test_question_gets_cited_answer(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    async def script() -> list[JSON]:
        emu.send_user_message(DELIVERY_QUESTION)
        return await replies(emu, USER)

    (reply,) = serve(make_app(), script)

    answer, _, sources = reply["text"].partition("\n\nSources\n")
    short, _, quote = answer.partition("\n")
    assert short.startswith("300,000 vehicle")  # the short answer first, in bold, then its quote
    assert {"type": "bold", "offset": 0, "length": len(short)} in reply["entities"]
    assert "300,000" in quote
    assert "[1]" in quote
    assert sources.startswith("[1] Lei Jun sets ambitious 2025 car delivery goal")
    assert "Pacific Auto Wire, 2 Jan 2025" in sources
    assert DELIVERY_URL in link_urls(reply)
    assert {"type": "bold", "offset": len(answer) + 2, "length": len("Sources")} in reply["entities"]
    assert reply["link_preview_disabled"]


@pytest.mark.parametrize(("turns", "follow_up_found"), [(3, True), (0, False)])
def test_follow_ups_use_the_kept_turns(
    emu: BotAPIEmulator, make_app: MakeApp, turns: int, follow_up_found: bool
) -> None:
    """ "and who set it?" borrows the previous question; with NEWSDESK_HISTORY_TURNS=0 no turn is kept."""
    app = make_app(history_turns=turns)
    kept: list[Turn] = []

    async def script() -> list[JSON]:
        emu.send_user_message(DELIVERY_QUESTION)
        await replies(emu, USER)
        emu.send_user_message("and who set it?")
        messages = await replies(emu, USER, 2)
        kept.extend(app.chat_data[USER].history)
        return messages

    _, follow_up = serve(app, script)

    assert ("\n\nSources\n" in follow_up["text"]) is follow_up_found
    assert follow_up["text"].startswith(NOT_FOUND) is not follow_up_found
    assert len(kept) == min(turns, 2)


def test_article_text_with_html_characters_is_escaped(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    # The emulator refuses invalid HTML like Telegram does, so an accepted reply proves the escaping.
    async def script() -> list[JSON]:
        emu.send_user_message(ROUTER_QUESTION)
        return await replies(emu, USER)

    (reply,) = serve(make_app(), script)

    assert "Smith & Sons" in reply["text"]
    assert "&amp;" in reply["raw_text"]
    assert "Budget routers sold by Smith & Sons hit by flaw" in reply["text"]
    assert ROUTER_URL in link_urls(reply)
    assert len(emu.calls["sendMessage"]) == 1  # accepted the first time, not after a retry


def test_long_answer_arrives_in_several_accepted_messages(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    answer = long_answer()

    async def script() -> list[JSON]:
        emu.send_user_message("Tell me everything about the routers")

        def sources_sent() -> bool:
            return any("Sources" in message["text"] for message in emu.sent_messages(USER))

        await asyncio.to_thread(emu.wait_until, sources_sent, WAIT, "the message with the sources")
        return emu.sent_messages(USER)

    messages = serve(make_app(answerer=FixedAnswerer(answer)), script)

    assert len(answer.text) > 2 * 4096
    assert len(messages) >= 3
    assert len(emu.calls["sendMessage"]) == len(messages)  # every part was accepted
    assert all(len(message["text"]) <= 4096 for message in messages)
    body, _, sources = one_line(" ".join(texts(messages))).partition(" Sources ")
    assert body == one_line(answer.text)
    assert sources.startswith("[1] Routers & <scripts> — The Circuit Ledger, 11 Mar 2025")
    assert link_urls(messages[-1]) == [ROUTER_URL, DELIVERY_URL]


def test_typing_is_shown_while_answering(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    # The answerer only returns once the emulator has seen "typing", so the action came mid-answer.
    def until_typing() -> None:
        emu.wait_until(lambda: "typing" in emu.chat_actions(USER), 5.0, "a typing action")

    answerer = FixedAnswerer(Answer(text="Done.", found=True), before=until_typing)

    async def script() -> list[JSON]:
        emu.send_user_message(DELIVERY_QUESTION)
        return await replies(emu, USER)

    (reply,) = serve(make_app(answerer=answerer), script)

    assert reply["text"] == "Done."
    assert emu.chat_actions(USER)[0] == "typing"


def test_empty_store_says_there_are_no_articles(
    emu: BotAPIEmulator, make_app: MakeApp, kb: store.KnowledgeBase
) -> None:
    async def script() -> list[JSON]:
        emu.send_user_message(DELIVERY_QUESTION)
        emu.send_user_message("/sources", chat_id=USER + 1, user_id=USER + 1)
        return [*await replies(emu, USER), *await replies(emu, USER + 1)]

    answer, sources = serve(make_app(kb=kb), script)

    assert answer["text"] == EMPTY_STORE
    assert sources["text"] == EMPTY_STORE


def test_sources_lists_the_newest_articles(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    async def script() -> list[JSON]:
        emu.send_user_message("/sources")
        return await replies(emu, USER)

    (reply,) = serve(make_app(), script)

    lines = reply["text"].splitlines()
    assert lines[0].startswith("8 articles from ")
    assert len(lines) == 9
    assert "• Budget routers sold by Smith & Sons hit by flaw" in reply["text"]


def test_overlong_question_gets_the_limit(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    async def script() -> list[JSON]:
        emu.send_user_message("why " * 300)
        return await replies(emu, USER)

    (reply,) = serve(make_app(), script)

    assert reply["text"] == "questions are limited to 1000 characters"


# ------------------------------------------------------------------------------------ groups


def test_group_message_needs_a_mention(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    async def script() -> list[JSON]:
        emu.send_user_message(DELIVERY_QUESTION, chat_type="group", chat_id=GROUP)
        asked = emu.send_user_message(
            f"@{BOT_USERNAME} {DELIVERY_QUESTION}", chat_type="group", chat_id=GROUP
        )
        (reply,) = await replies(emu, GROUP)
        await asyncio.sleep(0.5)  # time for a (wrong) reply to the unaddressed message
        assert reply["reply_to_message_id"] == asked["message"]["message_id"]
        return emu.sent_messages(GROUP)

    (reply,) = serve(make_app(), script)

    assert "300,000" in reply["text"]
    assert DELIVERY_URL in link_urls(reply)


@pytest.mark.parametrize(
    "text",
    [
        f"@{BOT_USERNAME} What is the 2025 delivery target?",
        "What is the 2025 delivery target, @NewsDesk_Test_Bot?",
        f"What is the 2025 @{BOT_USERNAME} delivery target?",
    ],
    ids=["leading", "trailing-other-case", "middle"],
)
def test_group_mention_is_stripped_from_the_question(
    emu: BotAPIEmulator, make_app: MakeApp, text: str
) -> None:
    answerer = EchoAnswerer()

    async def script() -> list[JSON]:
        emu.send_user_message(text, chat_type="supergroup", chat_id=GROUP)
        return await replies(emu, GROUP)

    serve(make_app(answerer=answerer), script)

    (question,) = answerer.questions
    assert "@" not in question
    assert question.replace(",", "").replace(" ?", "?") == "What is the 2025 delivery target?"


def test_other_mentions_do_not_address_the_bot(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    answerer = EchoAnswerer()

    async def script() -> list[JSON]:
        emu.send_user_message("@someone_else what is the target?", chat_type="group", chat_id=GROUP)
        emu.send_user_message(f"@{BOT_USERNAME} ping", chat_type="group", chat_id=GROUP)
        await replies(emu, GROUP)
        await asyncio.sleep(0.5)
        return emu.sent_messages(GROUP)

    (reply,) = serve(make_app(answerer=answerer), script)

    assert reply["text"] == "You asked: ping"
    assert answerer.questions == ["ping"]


def test_reply_to_the_bot_in_a_group_is_answered(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    answerer = EchoAnswerer()

    async def script() -> list[JSON]:
        emu.send_user_message(f"@{BOT_USERNAME} first question", chat_type="group", chat_id=GROUP)
        (first,) = await replies(emu, GROUP)
        emu.send_user_message(
            "and a follow-up?", chat_type="group", chat_id=GROUP, reply_to_message_id=first["message_id"]
        )
        return await replies(emu, GROUP, 2)

    _, follow_up = serve(make_app(answerer=answerer), script)

    assert follow_up["text"] == "You asked: and a follow-up?"
    assert answerer.questions == ["first question", "and a follow-up?"]


def test_bare_mention_asks_for_a_question(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    answerer = EchoAnswerer()

    async def script() -> list[JSON]:
        emu.send_user_message(f"@{BOT_USERNAME}", chat_type="group", chat_id=GROUP)
        return await replies(emu, GROUP)

    (reply,) = serve(make_app(answerer=answerer), script)

    assert reply["text"] == "What would you like to know? Ask me a question about the news."
    assert answerer.questions == []


# -------------------------------------------------------------------------------- allow-lists


def test_stranger_in_private_is_refused_politely(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    friend = 42
    answerer = EchoAnswerer()

    async def script() -> tuple[list[JSON], list[JSON]]:
        emu.send_user_message(DELIVERY_QUESTION)  # from USER, not allowed
        emu.send_user_message("from a friend", user_id=friend)
        return await replies(emu, USER), await replies(emu, friend)

    stranger, allowed = serve(make_app(answerer=answerer, allowed_users={friend}), script)

    assert texts(stranger) == [PRIVATE_REPLY]
    assert texts(allowed) == ["You asked: from a friend"]
    assert answerer.questions == ["from a friend"]


def test_admin_passes_the_allow_lists(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    answerer = EchoAnswerer()

    async def script() -> list[JSON]:
        emu.send_user_message("admin question", user_id=ADMIN)
        return await replies(emu, ADMIN)

    (reply,) = serve(make_app(answerer=answerer, allowed_users={42}, admins={ADMIN}), script)

    assert reply["text"] == "You asked: admin question"


def test_chats_outside_allowed_chats_are_ignored_silently(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    other_group = -2002
    answerer = EchoAnswerer()

    async def script() -> list[JSON]:
        emu.send_user_message(f"@{BOT_USERNAME} outside", chat_type="group", chat_id=other_group)
        emu.send_user_message(f"@{BOT_USERNAME} inside", chat_type="group", chat_id=GROUP)
        await replies(emu, GROUP)
        await asyncio.sleep(0.5)
        return emu.sent_messages()

    (reply,) = serve(make_app(answerer=answerer, allowed_chats={GROUP}), script)

    assert (reply["chat_id"], reply["text"]) == (GROUP, "You asked: inside")
    assert answerer.questions == ["inside"]


# ------------------------------------------------------------------------------------ uploads

ARTICLE = """---
title: Quillon Observatory counts the geysers of Zephyra-9
url: https://quillon.test/2025/01/15/zephyra-geysers
source: Quillon Bulletin
published_at: 2025-01-15
---
Astronomers at the Quillon Observatory said on Wednesday that the icy moon Zephyra-9 has exactly
4,217 active ice geysers, far more than any other moon surveyed so far.

The count comes from three years of images taken by the observatory's infrared camera.
"""


def test_only_admins_can_upload_and_uploads_become_answerable(
    emu: BotAPIEmulator, make_app: MakeApp, kb: store.KnowledgeBase
) -> None:
    async def script() -> list[JSON]:
        emu.send_user_document("zephyra.md", ARTICLE.encode())  # USER is not an admin
        refused = await replies(emu, USER)
        await asyncio.sleep(0.3)
        assert kb.is_empty()
        emu.send_user_document("zephyra.md", ARTICLE.encode(), caption="/ingest", user_id=ADMIN)
        report = await replies(emu, ADMIN, 1, timeout=15)
        emu.send_user_message("How many ice geysers does Zephyra-9 have?", user_id=ADMIN)
        answer = (await replies(emu, ADMIN, 2))[1]
        return [*refused, *report, answer]

    refused, report, answer = serve(make_app(kb=kb, admins={ADMIN}), script)

    assert refused["text"] == ADMINS_ONLY
    assert report["text"].startswith("1 added, 0 updated, 0 unchanged, 0 failed")
    assert kb.stats().articles == 1
    assert "4,217" in answer["text"]
    assert "https://quillon.test/2025/01/15/zephyra-geysers" in link_urls(answer)
    assert "typing" in emu.chat_actions(ADMIN)


@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        ("photo.png", b"\x89PNG\r\n", "I can't read photo.png: send one of"),
        ("huge.txt", b"x" * 1_100_000, "huge.txt is over the 1 MB limit."),
    ],
    ids=["unsupported-type", "too-large"],
)
def test_bad_uploads_are_refused(
    emu: BotAPIEmulator,
    make_app: MakeApp,
    kb: store.KnowledgeBase,
    filename: str,
    content: bytes,
    expected: str,
) -> None:
    async def script() -> list[JSON]:
        emu.send_user_document(filename, content, user_id=ADMIN)
        return await replies(emu, ADMIN)

    (reply,) = serve(make_app(kb=kb, admins={ADMIN}, max_upload_mb=1), script)

    assert reply["text"].startswith(expected)
    assert "getFile" not in emu.calls
    assert kb.is_empty()


def test_failed_upload_reports_the_reason_without_server_paths(
    emu: BotAPIEmulator, make_app: MakeApp, kb: store.KnowledgeBase
) -> None:
    async def script() -> list[JSON]:
        emu.send_user_document("bad.json", b"{not json", user_id=ADMIN)
        return await replies(emu, ADMIN)

    (reply,) = serve(make_app(kb=kb, admins={ADMIN}), script)

    first, second = reply["text"].splitlines()
    assert first.startswith("0 added, 0 updated, 0 unchanged, 1 failed")
    assert second.startswith("• failed bad.json: malformed JSON")
    assert "newsdesk-upload-" not in reply["text"]
    assert kb.is_empty()


def test_ingest_command_is_for_admins(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    async def script() -> list[JSON]:
        emu.send_user_message("/ingest")
        emu.send_user_message("/ingest", user_id=ADMIN)
        return [*await replies(emu, USER), *await replies(emu, ADMIN)]

    stranger, admin = serve(make_app(admins={ADMIN}), script)

    assert stranger["text"] == ADMINS_ONLY
    assert admin["text"].startswith("Send me an article file")


# ------------------------------------------------------------------------- load and failures


def test_ten_chats_asking_at_once_all_get_answers(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    chats = range(2001, 2011)

    async def script() -> dict[int, list[JSON]]:
        for chat in chats:
            emu.send_user_message(DELIVERY_QUESTION, user_id=chat)
        return {chat: await replies(emu, chat, 1, timeout=20) for chat in chats}

    answers = serve(make_app(), script)

    for chat in chats:
        (reply,) = answers[chat]
        assert "300,000" in reply["text"], chat


@dataclass
class SlowOnQuestion(PlainFollowUps):
    """Takes `seconds` to answer questions containing "slow", none for the others; echoes them."""

    seconds: float = 1.5
    name: str = "slow"

    def answer(self, question: str, documents: Sequence[Document], *, as_of: date | None = None) -> Answer:
        """Echo the question, late for a slow one."""
        if "slow" in question:
            time.sleep(self.seconds)
        return Answer(text=f"You asked: {question}", found=True, answerer=self.name, as_of=as_of)


def test_one_chat_is_answered_in_order_while_others_go_ahead(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    """Questions sent together from one chat get their answers in the order asked, even when the
    first takes longest; another chat does not wait for them."""
    other = USER + 1

    async def script() -> tuple[list[JSON], list[JSON]]:
        emu.send_user_message("first, slow")
        emu.send_user_message("second, quick")
        emu.send_user_message("third, quick")
        emu.send_user_message("another chat, quick", user_id=other)
        other_reply = await replies(emu, other, 1)
        assert len(emu.sent_messages(USER)) == 0  # the slow one still holds its chat
        return await replies(emu, USER, 3), other_reply

    mine, (theirs,) = serve(make_app(answerer=SlowOnQuestion()), script)

    assert texts(mine) == ["You asked: first, slow", "You asked: second, quick", "You asked: third, quick"]
    assert theirs["text"] == "You asked: another chat, quick"


def test_a_source_with_a_huge_title_still_gets_its_answer_through(
    emu: BotAPIEmulator, make_app: MakeApp
) -> None:
    """An article whose title, outlet or link is absurdly long cannot make the reply fail."""
    citation = Citation(1, "a1", "Big & <bold> " * 1_000, "Outlet " * 500, "javascript:alert(1)", None)
    answer = Answer("The ferry resumed. [1]", found=True, citations=[citation])

    async def script() -> list[JSON]:
        emu.send_user_message(DELIVERY_QUESTION)
        return await replies(emu, USER, 1)

    (reply,) = serve(make_app(answerer=FixedAnswerer(answer)), script)

    assert reply["text"].startswith("The ferry resumed. [1]")
    assert ERROR_REPLY not in reply["text"] and not link_urls(reply)


def test_rate_limited_send_is_retried(emu: BotAPIEmulator, make_app: MakeApp) -> None:
    async def script() -> list[JSON]:
        emu.fail_next("sendMessage", 429, retry_after=1)
        emu.send_user_message(DELIVERY_QUESTION)
        return await replies(emu, USER)

    started = time.monotonic()
    (reply,) = serve(make_app(), script)

    assert "300,000" in reply["text"]
    assert len(emu.calls["sendMessage"]) == 2
    assert emu.calls["sendMessage"][0]["text"] == emu.calls["sendMessage"][1]["text"]
    assert time.monotonic() - started >= 1.0  # it waited retry_after before trying again


def test_answerer_error_gets_a_generic_reply(
    emu: BotAPIEmulator, make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    async def script() -> list[JSON]:
        emu.send_user_message(DELIVERY_QUESTION)
        return await replies(emu, USER)

    with caplog.at_level(logging.ERROR, logger="bot.frontends.telegram"):
        (reply,) = serve(make_app(answerer=FailingAnswerer()), script)

    assert reply["text"] == ERROR_REPLY
    assert reply["text"].startswith("Sorry, something went wrong")
    for internal in ("RuntimeError", "Traceback", "secret_path", "exploded"):
        assert internal not in reply["text"]
    (record,) = [r for r in caplog.records if r.name == "bot.frontends.telegram"]
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(
    "verbose",
    [1, 2],
    ids=["-v", "-vv"],
)
def test_token_never_appears_in_logs(
    emu: BotAPIEmulator,
    make_app: MakeApp,
    kb: store.KnowledgeBase,
    caplog: pytest.LogCaptureFixture,
    verbose: int,
) -> None:
    # A question and an upload (whose download URL carries the token), logged as `newsdesk -v bot` does.
    level = logging.WARNING - 10 * verbose
    configure_logging(verbose)
    caplog.set_level(level)

    async def script() -> list[JSON]:
        emu.send_user_document("zephyra.md", ARTICLE.encode(), user_id=ADMIN)
        await replies(emu, ADMIN, 1, timeout=15)
        emu.send_user_message("How many ice geysers does Zephyra-9 have?", user_id=ADMIN)
        return await replies(emu, ADMIN, 2)

    serve(make_app(kb=kb, admins={ADMIN}), script)

    assert any(r.name.startswith("telegram") and r.levelno == level for r in caplog.records)
    assert emu.token not in caplog.text
    assert emu.token.split(":")[1] not in caplog.text


# ------------------------------------------------------------------------------ configuration


def test_allow_lists_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:env-token")
    monkeypatch.setenv("NEWSDESK_ADMINS", "7, 8")
    monkeypatch.setenv("NEWSDESK_ALLOWED_USERS", "42 43")
    monkeypatch.setenv("NEWSDESK_ALLOWED_CHATS", "-1001")

    settings = BotSettings()

    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == "1:env-token"
    assert "env-token" not in repr(settings)
    assert (settings.admins, settings.allowed_users) == ({7, 8}, {42, 43})
    assert settings.allowed_chats == {-1001}


def test_bot_needs_a_token(sample_kb: store.KnowledgeBase, run_cli: Callable[..., Any]) -> None:
    with pytest.raises(ValueError, match="TELEGRAM_BOT_TOKEN"):
        build_application(
            BotSettings(),
            Newsdesk(sample_kb, BotSettings()),
            ingest.Ingestor(sample_kb, ingest.IngestSettings()),
        )

    result = run_cli("bot")

    assert result.exit_code == 1
    assert result.output.strip() == "Error: set TELEGRAM_BOT_TOKEN (from @BotFather) to run the Telegram bot"


# ---------------------------------------------------------------------- `newsdesk bot` process


@pytest.fixture
def data_dir(tmp_path: Path, embeddings: store.SentenceTransformerEmbeddings) -> Path:
    """A store folder holding the delivery-target sample, ingested in-process."""
    folder = tmp_path / "store"
    with store.open_knowledge_base(store.StoreSettings(data_dir=folder), embeddings) as kb:
        report = ingest.Ingestor(kb, ingest.IngestSettings()).ingest(
            [ingest.samples_dir() / "xiaomi-ev-deliveries.md"]
        )
    assert report.ok and len(report.added) == 1
    return folder


@contextlib.contextmanager
def bot_process(
    emu: BotAPIEmulator, data_dir: Path, log: Path, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`newsdesk -v --data-dir DATA bot` against the emulator; killed if the test leaves it running."""
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": emu.token,
        "NEWSDESK_TELEGRAM_BASE_URL": emu.base_url,
        "HF_HUB_OFFLINE": "1",
        **env,
    }
    command = [str(VENV_BIN / "newsdesk"), "-v", "--data-dir", str(data_dir), "bot"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, env=environment, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def stop(process: subprocess.Popen[bytes], log: Path) -> int:
    """SIGTERM the bot and return its exit code, failing if it does not exit in time."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=SUBPROCESS_EXIT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the bot ignored SIGTERM for {SUBPROCESS_EXIT}s:\n{log.read_text()[-3000:]}")


def wait_or_fail(process: subprocess.Popen[bytes], log: Path, wait: Callable[[], T], what: str) -> T:
    """Run an emulator wait; on timeout, fail with the bot's log tail."""
    try:
        return wait()
    except TimeoutError as error:
        state = "running" if process.poll() is None else f"exited {process.returncode}"
        pytest.fail(f"{what}: {error}\nbot {state}; log:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_bot_command_polls_answers_and_stops_on_sigterm(
    emu: BotAPIEmulator, data_dir: Path, tmp_path: Path
) -> None:
    log, metrics = tmp_path / "bot.log", f"127.0.0.1:{free_port()}"
    monitored = {"NEWSDESK_METRICS_ADDR": metrics, "NEWSDESK_HEALTH_CHECK_EVERY": "0.5"}
    with bot_process(emu, data_dir, log, **monitored) as process:
        (commands,) = wait_or_fail(
            process, log, lambda: emu.wait_for_call("setMyCommands", 1, SUBPROCESS_START), "commands"
        )
        health = wait_or_fail(process, log, lambda: scrape(metrics, "/healthz", until=200), "/healthz")
        emu.send_user_message(DELIVERY_QUESTION)
        (reply,) = wait_or_fail(process, log, lambda: emu.wait_for_messages(USER, 1, 90), "answer")
        counted = scrape(metrics, "/metrics")
        code = stop(process, log)

    assert json.loads(health)["telegram"] == {
        "ok": True,
        "detail": "@" + BOT_USERNAME,
        "checked_at": json.loads(health)["telegram"]["checked_at"],
    }
    assert 'newsdesk_questions_total{outcome="found"} 1.0' in counted
    assert code == 0, log.read_text()[-3000:]
    assert [c["command"] for c in commands["commands"]] == [c.command for c in COMMANDS]
    assert "300,000" in reply["text"]
    assert DELIVERY_URL in link_urls(reply)
    output = log.read_text()
    assert "INFO telegram.ext.Application: Application started" in output
    assert emu.token not in output


def scrape(address: str, path: str, until: int | None = None, timeout: float = 20.0) -> str:
    """GET http://ADDRESS/PATH; with `until`, retried until that status comes (TimeoutError if not)."""
    host, port = address.split(":")
    deadline = time.monotonic() + timeout
    while True:
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read().decode()
            if until is None or response.status == until:
                return body
        except OSError:
            if until is None:
                raise
        finally:
            connection.close()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not answer {until} in {timeout}s")
        time.sleep(0.2)


def post_raw(url: str, update: JSON, secret: str | None) -> int:
    """POST an update to the webhook with a chosen secret header; return the HTTP status."""
    port = int(url.split(":")[2].split("/")[0])
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("POST", "/telegram", body=json.dumps(update).encode(), headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.mark.slow
def test_bot_command_serves_a_webhook(emu: BotAPIEmulator, data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("tornado", reason="python-telegram-bot[webhooks] (tornado) is not installed")
    port, secret, log = free_port(), "s3cret-Token_1", tmp_path / "bot.log"
    url = f"http://127.0.0.1:{port}/telegram"
    webhook_env = {
        "NEWSDESK_WEBHOOK_URL": url,
        "NEWSDESK_WEBHOOK_LISTEN": "127.0.0.1",
        "NEWSDESK_WEBHOOK_PORT": str(port),
        "NEWSDESK_WEBHOOK_SECRET": secret,
    }
    with bot_process(emu, data_dir, log, **webhook_env) as process:
        (registered,) = wait_or_fail(
            process, log, lambda: emu.wait_for_call("setWebhook", 1, SUBPROCESS_START), "webhook"
        )
        wait_or_fail(process, log, lambda: emu.wait_for_call("setMyCommands", 1, 10), "commands")
        update = emu.send_user_message(DELIVERY_QUESTION, queue=False)
        deadline = time.monotonic() + 10
        while True:  # the server may bind a moment after setWebhook
            try:
                status = emu.post_update_to_webhook(update)
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        wrong = emu.send_user_message("not from Telegram", queue=False)
        wrong_secret, no_secret = post_raw(url, wrong, "guessed"), post_raw(url, wrong, None)
        (reply,) = wait_or_fail(process, log, lambda: emu.wait_for_messages(USER, 1, 90), "answer")
        time.sleep(0.5)  # time for a (wrong) answer to the forged updates
        sent = emu.sent_messages(USER)
        code = stop(process, log)

    assert (registered["url"], registered["secret_token"]) == (url, secret)
    assert status == 200
    assert (wrong_secret, no_secret) == (403, 403)
    assert "300,000" in reply["text"]
    assert len(sent) == 1
    assert "getUpdates" not in emu.calls
    assert code == 0, log.read_text()[-3000:]
    assert emu.token not in log.read_text()
    assert secret not in log.read_text()


# ---------------------------------------------------------------------- admin: links, feeds, forget


def _admin_app(emu: BotAPIEmulator, kb: store.KnowledgeBase, data_dir: Path | None = None) -> Application:
    """The bot with ADMIN as admin, fetching from loopback allowed (the test site is on 127.0.0.1)."""
    settings = BotSettings(telegram_bot_token=emu.token, telegram_base_url=emu.base_url, admins=str(ADMIN))
    ingest_settings = ingest.IngestSettings(allow_private_urls=True, fetch_host_delay=0.0)
    return build_application(
        settings, Newsdesk(kb, BotSettings()), ingest.Ingestor(kb, ingest_settings, data_dir=data_dir)
    )


def test_an_admin_link_is_fetched_and_ingested(emu: BotAPIEmulator, kb: store.KnowledgeBase) -> None:
    """An admin sends a page link and gets the ingest report; a user's link is refused."""
    try:
        from tests.news_server import NewsServer
    except ImportError:
        from news_server import NewsServer

    with NewsServer() as site:
        url = site.url("/news/ferry")

        async def script() -> list[str]:
            emu.send_user_message(url, chat_id=USER, user_id=USER)
            refused = await replies(emu, USER)
            emu.send_user_message(f"/ingest {url}", chat_id=ADMIN, user_id=ADMIN)
            report = await replies(emu, ADMIN, timeout=30)
            return texts(refused) + texts(report)

        refused, report = serve(_admin_app(emu, kb), script)
    assert refused == ADMINS_ONLY
    assert "1 added" in report
    assert len(kb.all_articles()) == 1


def test_forget_removes_an_article_for_admins_only(
    emu: BotAPIEmulator, kb: store.KnowledgeBase, tmp_path: Path
) -> None:
    """/forget ID removes the article for an admin; others are refused and nothing is removed."""
    article = tmp_path / "a.md"
    article.write_text("---\ntitle: Quay repairs finish\npublished_at: 2025-01-05\n---\nThe quay reopened.\n")
    ingest.Ingestor(kb, ingest.IngestSettings()).ingest([article])
    (record,) = kb.all_articles()

    async def script() -> list[str]:
        emu.send_user_message(f"/forget {record.id}", chat_id=USER, user_id=USER)
        refused = await replies(emu, USER)
        assert kb.get_article(record.id) is not None
        emu.send_user_message(f"/forget {record.id} nope", chat_id=ADMIN, user_id=ADMIN)
        return texts(refused) + texts(await replies(emu, ADMIN))

    refused, done = serve(_admin_app(emu, kb), script)
    assert refused == ADMINS_ONLY
    assert f"Forgot {record.id}." in done and "Not in the store: nope." in done
    assert kb.get_article(record.id) is None


def test_feeds_lists_followed_feeds(emu: BotAPIEmulator, kb: store.KnowledgeBase, tmp_path: Path) -> None:
    """/feeds lists the feeds registered in the data dir, and says so when there are none."""

    async def script() -> list[str]:
        emu.send_user_message("/feeds", chat_id=USER, user_id=USER)
        return texts(await replies(emu, USER))

    (empty,) = serve(_admin_app(emu, kb, data_dir=tmp_path), script)
    assert "I follow no feeds" in empty
    ingest.FeedStore.in_data_dir(tmp_path).add("https://harbour-herald.test/rss.xml", "2h")
    before = len(emu.sent_messages(USER))

    async def again() -> list[str]:
        emu.send_user_message("/feeds", chat_id=USER, user_id=USER)
        return texts(await replies(emu, USER, before + 1))

    listing = serve(_admin_app(emu, kb, data_dir=tmp_path), again)[-1]
    assert "harbour-herald.test/rss.xml" in listing and "every 2h" in listing and "never" in listing
