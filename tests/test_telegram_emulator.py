"""Self-tests for the Telegram Bot API emulator, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest
from telegram import Bot
from telegram.error import BadRequest, InvalidToken, RetryAfter

try:  # works whether or not tests/ is a package
    from tests.telegram_emulator import BotAPIEmulator, parse_html
except ImportError:
    from telegram_emulator import BotAPIEmulator, parse_html

T = TypeVar("T")
CHAT = 4242


@pytest.fixture
def emu() -> Iterator[BotAPIEmulator]:
    """A running emulator, stopped after the test."""
    with BotAPIEmulator() as emulator:
        yield emulator


def with_bot(emu: BotAPIEmulator, fn: Callable[[Bot], Awaitable[T]], token: str | None = None) -> T:
    """Run ``fn(bot)`` with a real, initialised ``telegram.Bot`` pointed at the emulator."""

    async def main() -> T:
        bot = Bot(token or emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url)
        async with bot:
            return await fn(bot)

    return asyncio.run(main())


def test_get_me_and_wrong_token(emu: BotAPIEmulator) -> None:
    me = with_bot(emu, lambda bot: bot.get_me())
    assert (me.id, me.username, me.is_bot) == (999, "newsdesk_test_bot", True)
    with pytest.raises(InvalidToken):
        with_bot(emu, lambda bot: bot.get_me(), token="1:wrong")


def test_send_message_valid_html(emu: BotAPIEmulator) -> None:
    text = '<b>Top</b> story: <a href="https://example.com/?a=1&amp;b=2">link</a> &lt;3 &#x27;ok&#39;'
    message = with_bot(emu, lambda bot: bot.send_message(CHAT, text, parse_mode="HTML"))
    assert message.text == "Top story: link <3 'ok'"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bold", 0, 3), ("text_link", 11, 4)]
    assert message.entities[1].url == "https://example.com/?a=1&b=2"
    (sent,) = emu.sent_messages(CHAT)
    assert (sent["raw_text"], sent["text"], sent["parse_mode"]) == (text, message.text, "HTML")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("hi <script>x</script>", 'Unsupported start tag "script" at byte offset 3'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("Tom & Jerry", "can't parse entities"),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("&nbsp;", "can't parse entities"),
    ],
)
def test_send_message_invalid_html_rejected(emu: BotAPIEmulator, text: str, fragment: str) -> None:
    with pytest.raises(BadRequest, match="parse entities") as excinfo:
        with_bot(emu, lambda bot: bot.send_message(CHAT, text, parse_mode="HTML"))
    assert fragment.lower() in excinfo.value.message.lower()
    assert emu.sent_messages() == []


def test_length_and_empty_validation(emu: BotAPIEmulator) -> None:
    async def scenario(bot: Bot) -> None:
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(CHAT, "x" * 4097)
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(CHAT, "<b></b>", parse_mode="HTML")
        await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # visible length counts

    with_bot(emu, scenario)
    assert len(emu.sent_messages(CHAT)[0]["text"]) == 4096


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter.retry_after type
def test_injected_429_surfaces_as_retry_after(emu: BotAPIEmulator) -> None:
    emu.fail_next("sendMessage", retry_after=3)

    async def scenario(bot: Bot) -> None:
        with pytest.raises(RetryAfter, match="Retry in 3"):
            await bot.send_message(CHAT, "first")
        await bot.send_message(CHAT, "second")

    with_bot(emu, scenario)
    assert [c["text"] for c in emu.calls["sendMessage"]] == ["first", "second"]
    assert [m["text"] for m in emu.sent_messages(CHAT)] == ["second"]


def test_get_updates_long_polling(emu: BotAPIEmulator) -> None:
    async def scenario(bot: Bot) -> tuple[list[Any], float, list[Any]]:
        threading.Timer(
            0.3, emu.send_user_message, args=("/ask@newsdesk_test_bot what's new? @bobby",)
        ).start()
        started = time.monotonic()
        updates = await bot.get_updates(timeout=5)
        elapsed = time.monotonic() - started
        remaining = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
        return list(updates), elapsed, list(remaining)

    updates, elapsed, remaining = with_bot(emu, scenario)
    assert 0.2 < elapsed < 3
    message = updates[0].message
    assert message.text.startswith("/ask@newsdesk_test_bot") and message.chat.type == "private"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bot_command", 0, 22),
        ("mention", 35, 6),
    ]
    assert remaining == [] and emu.pending_updates() == []


def test_edit_message_text_not_modified(emu: BotAPIEmulator) -> None:
    async def scenario(bot: Bot) -> None:
        sent = await bot.send_message(CHAT, "<b>draft</b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text(
                "<b>draft</b>", chat_id=CHAT, message_id=sent.message_id, parse_mode="HTML"
            )
        await bot.edit_message_text("final", chat_id=CHAT, message_id=sent.message_id)

    with_bot(emu, scenario)
    (record,) = emu.sent_messages(CHAT)
    assert (record["text"], record["edits"], record["parse_mode"]) == ("final", 1, None)


def test_document_round_trip(emu: BotAPIEmulator) -> None:
    content = b"line1\r\nline2\n\x00\xff binary--tail\r\n"
    update = emu.send_user_document("notes.txt", content, caption="/ingest now", chat_id=CHAT, user_id=CHAT)
    document = update["message"]["document"]
    assert update["message"]["caption_entities"] == [{"type": "bot_command", "offset": 0, "length": 7}]

    async def scenario(bot: Bot) -> tuple[bytes, bytes, str | None]:
        downloaded = await (await bot.get_file(document["file_id"])).download_as_bytearray()
        sent = await bot.send_document(
            CHAT, document=content[::-1], filename="out.bin", caption="<i>done</i>", parse_mode="HTML"
        )
        assert sent.document is not None
        uploaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
        return bytes(downloaded), bytes(uploaded), sent.caption

    downloaded, uploaded, caption = with_bot(emu, scenario)
    assert (downloaded, uploaded, caption) == (content, content[::-1], "done")
    assert emu.sent_messages(CHAT)[0]["document"]["file_name"] == "out.bin"


def test_commands_actions_replies_and_wait(emu: BotAPIEmulator) -> None:
    question = emu.send_user_message("hello", chat_id=-1005, chat_type="supergroup")["message"]

    async def scenario(bot: Bot) -> None:
        await bot.set_my_commands([("ask", "Ask a question"), ("ingest", "Add a document")])
        assert [c.command for c in await bot.get_my_commands()] == ["ask", "ingest"]
        await bot.send_chat_action(-1005, "typing")
        await bot.send_message(
            -1005, "answer", reply_to_message_id=question["message_id"], disable_web_page_preview=True
        )

    with_bot(emu, scenario)
    (answer,) = emu.wait_for_messages(-1005, 1, timeout=1)
    assert answer["reply_to_message_id"] == question["message_id"] and answer["link_preview_disabled"]
    assert answer["message"]["reply_to_message"]["text"] == "hello"
    assert emu.chat_actions(-1005) == ["typing"]
    params = emu.calls["sendMessage"][0]  # form fields arrive typed: ints, and JSON objects decoded
    assert params["chat_id"] == -1005 and params["reply_parameters"]["message_id"] == question["message_id"]
    follow_up = emu.send_user_message(
        "more?", chat_id=-1005, chat_type="supergroup", reply_to_message_id=answer["message_id"]
    )
    assert follow_up["message"]["reply_to_message"]["from"]["id"] == 999
    with pytest.raises(TimeoutError, match="2 bot message"):
        emu.wait_for_messages(-1005, 2, timeout=0.2)


def test_webhook_delivery_with_secret(emu: BotAPIEmulator) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers.get("X-Telegram-Bot-Api-Secret-Token"), json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/tg"
        with_bot(emu, lambda bot: bot.set_webhook(url, secret_token="s3cret"))
        update = emu.send_user_message("hi", queue=False)
        assert emu.post_update_to_webhook(update) == 200
        assert received == [("s3cret", update)]
        info = with_bot(emu, lambda bot: bot.get_webhook_info())
        assert info.url == url
    finally:
        server.shutdown()
        server.server_close()


def test_parse_html_utf16_offsets_and_pre_language() -> None:
    text, entities = parse_html(
        '😀 <pre><code class="language-python">x</code></pre> <tg-spoiler>s</tg-spoiler>'
    )
    assert text == "😀 x s"
    assert entities == [
        {"type": "pre", "offset": 3, "length": 1, "language": "python"},
        {"type": "spoiler", "offset": 5, "length": 1},
    ]


# ----------------------------------------------------------------------------- keyboards and queries


def keyboard(rows: list[list[dict[str, str]]]) -> Any:
    """An InlineKeyboardMarkup from plain dicts."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    return InlineKeyboardMarkup([[InlineKeyboardButton(**button) for button in row] for row in rows])


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ([[{"text": "x", "callback_data": "d" * 65}]], r"(?i)button_data_invalid"),
        ([[{"text": f"{n}", "callback_data": f"{n}"} for n in range(101)]], r"(?i)reply markup is too long"),
        ([[{"text": "x", "url": "javascript:alert(1)"}]], r"(?i)url is invalid"),
    ],
)
def test_keyboards_are_checked_like_telegram(emu: BotAPIEmulator, rows: Any, error: str) -> None:
    with pytest.raises(BadRequest, match=error):
        with_bot(emu, lambda bot: bot.send_message(CHAT, "Pick", reply_markup=keyboard(rows)))


def test_a_callback_query_is_answered_once(emu: BotAPIEmulator) -> None:
    rows = [[{"text": "👍", "callback_data": "vote:up:abc"}]]
    sent = with_bot(emu, lambda bot: bot.send_message(CHAT, "Answer", reply_markup=keyboard(rows)))
    with pytest.raises(ValueError, match="no button"):
        emu.press_button(CHAT, sent.message_id, "vote:down:abc")
    query_id = emu.press_button(CHAT, sent.message_id, "vote:up:abc")
    (update,) = emu.pending_updates()
    assert update["callback_query"]["data"] == "vote:up:abc"
    assert with_bot(emu, lambda bot: bot.answer_callback_query(query_id, text="Thanks!"))
    assert emu.answer_to(query_id) == {"text": "Thanks!", "show_alert": False}
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        with_bot(emu, lambda bot: bot.answer_callback_query(query_id))


def test_channel_posts_and_inline_queries_arrive_as_updates(emu: BotAPIEmulator) -> None:
    post = emu.send_channel_post("Headline\nBody of the post.")
    edited = emu.edit_channel_post(
        post["channel_post"]["chat"]["id"], post["channel_post"]["message_id"], "New"
    )
    query_id = emu.send_inline_query("delivery target")
    kinds = [next(key for key in update if key != "update_id") for update in emu.pending_updates()]
    assert kinds == ["channel_post", "edited_channel_post", "inline_query"]
    assert post["channel_post"]["chat"]["type"] == "channel" and "from" not in post["channel_post"]
    assert edited["edited_channel_post"]["text"] == "New"
    from telegram import InlineQueryResultArticle, InputTextMessageContent

    result = InlineQueryResultArticle(
        "1", "Title", InputTextMessageContent("<b>Answer</b>", parse_mode="HTML")
    )
    assert with_bot(emu, lambda bot: bot.answer_inline_query(query_id, [result]))
    assert emu.answer_to(query_id)["results"][0]["title"] == "Title"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        with_bot(emu, lambda bot: bot.answer_inline_query(query_id, [result]))
