"""The Telegram front end: a python-telegram-bot Application over the two services.

Handlers are small; the services (`Newsdesk` for answering, `Ingestor` for ingesting) live in a
typed `BotData`, each chat's follow-up history in a typed `ChatData` (PTB's `ContextTypes`);
answering and ingesting run in worker threads so one slow question never stalls other chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import BotCommand, LinkPreviewOptions, Message, MessageEntity, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseUpdateProcessor,
    CallbackContext,
    CommandHandler,
    ContextTypes,
    Defaults,
    ExtBot,
    MessageHandler,
    PersistenceInput,
    PicklePersistence,
    TypeHandler,
    filters,
)

from bot.answering import InvalidQuestionError, Newsdesk, Turn, draft_text
from bot.config import BotSettings
from bot.frontends.render import LIMIT, escape, pack, render_answer
from ingest import SUPPORTED_SUFFIXES, Ingestor, IngestReport, format_interval
from store import EmptyStoreError
from store.text import format_day

logger = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("start", "What this bot does"),
    BotCommand("help", "How to ask, and the commands"),
    BotCommand("sources", "The newest articles I know"),
    BotCommand("reset", "Forget our conversation (for follow-up questions)"),
    BotCommand("feeds", "The feeds I follow"),
    BotCommand("ingest", "Admins: add articles (a file, or /ingest URL)"),
    BotCommand("forget", "Admins: remove an article (/forget ARTICLE_ID)"),
]
HELP = (
    "Ask me a question about the news in plain words, e.g. <i>What is the 2025 delivery target?</i>\n"
    "I answer from my articles only, with numbered sources, or tell you when they don't say.\n\n"
    "/sources — the newest articles I know\n"
    "/reset — forget our conversation; follow-ups like <i>and in 2024?</i> use it\n"
    "/help — this message\n"
    "/feeds — the news feeds I follow\n"
    "/ingest — admins: send an article file (.txt .md .html .json .jsonl) or a link to add it\n"
    "/forget ARTICLE_ID — admins: remove an article\n\n"
    "In groups, mention me or reply to me."
)
EMPTY_STORE = "I have no articles yet. An admin can send me article files to read."
ADMINS_ONLY = "Sorry, only admins can add or remove articles."
ERROR_REPLY = "Sorry, something went wrong while answering. Please try again in a moment."
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
TYPING_EVERY = 4.5  # seconds; Telegram shows a chat action for about five
DRAFT_EVERY = 1.0  # seconds between edits of a streamed draft: Telegram's per-chat edit budget
FEED_CHECK_EVERY = 60.0  # seconds between checks for feeds whose refresh interval has passed
LINK = re.compile(r"^\s*(https?://\S+)\s*$", re.IGNORECASE)
STATE_FILE = "telegram-chats.pickle"
"""Chat histories in the data dir (a new name: files of the untyped state before it are ignored)."""
MAX_CONCURRENT_UPDATES = 256


class BotData:
    """What every handler shares: the two services and the settings.

    PTB creates it empty (`ContextTypes(bot_data=BotData)`); `build_application` fills it once.
    """

    newsdesk: Newsdesk
    ingestor: Ingestor
    settings: BotSettings


@dataclass
class ChatData:
    """What the bot keeps per chat, across restarts: the last turns, for follow-up questions."""

    history: list[Turn] = field(default_factory=list)


Context = CallbackContext[ExtBot[None], dict[Any, Any], ChatData, BotData]
CONTEXT_TYPES = ContextTypes(bot_data=BotData, chat_data=ChatData)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats are handled at once; those of one chat one after another, in the
    order they came, so several questions sent together are answered in order."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._pending: Counter[int] = Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's coroutine once the earlier updates of its chat are done."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())  # asyncio.Lock wakes waiters in order
        self._pending[chat.id] += 1
        try:
            async with lock:
                await coroutine
        finally:
            self._pending[chat.id] -= 1
            if not self._pending[chat.id]:  # no chat keeps a lock once it is quiet
                del self._pending[chat.id]
                del self._locks[chat.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


@contextlib.asynccontextmanager
async def typing(message: Message) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends."""

    async def keep_typing() -> None:
        while True:
            with contextlib.suppress(TelegramError):  # cosmetic: never fail an answer over it
                await message.chat.send_action(ChatAction.TYPING)
            await asyncio.sleep(TYPING_EVERY)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()


async def gatekeeper(update: Update, context: Context) -> None:
    """Stop updates from users or chats outside the allow-lists (refusing politely in private)."""
    settings = context.bot_data.settings
    user, chat = update.effective_user, update.effective_chat
    user_ok = not settings.allowed_users or (user is not None and user.id in settings.allowed_users)
    chat_ok = not settings.allowed_chats or (chat is not None and chat.id in settings.allowed_chats)
    if user is not None and user.id in settings.admins:
        return
    if not (user_ok and chat_ok):
        if update.effective_message and chat is not None and chat.type == ChatType.PRIVATE:
            await update.effective_message.reply_text("Sorry, this newsdesk bot is private.")
        raise ApplicationHandlerStop


async def start(update: Update, context: Context) -> None:
    """Greet and explain in two lines."""
    assert update.effective_message
    await update.effective_message.reply_html(
        "Hi! I answer questions about the news articles I have, quoting them with numbered sources.\n"
        "Ask me anything, e.g. <i>What is the 2025 delivery target?</i> — /help lists the commands."
    )


async def help_command(update: Update, context: Context) -> None:
    """List the commands."""
    assert update.effective_message
    await update.effective_message.reply_html(HELP)


async def sources(update: Update, context: Context) -> None:
    """List the newest articles with a count of the store."""
    assert update.effective_message
    kb = context.bot_data.newsdesk.kb
    stats, recent = await asyncio.to_thread(lambda: (kb.stats(), kb.recent_articles(10)))
    if not stats.articles:
        await update.effective_message.reply_text(EMPTY_STORE)
        return
    lines = [f"<b>{stats.articles} articles</b> from {stats.sources} outlets. Newest:"]
    for record in recent:
        when = format_day(record.published_at) if record.published_at else "undated"
        outlet = f" — {escape(record.source)}" if record.source else ""
        lines.append(f"• {escape(record.title)}{outlet}, {when}")
    for text in pack(["\n".join(lines)]):
        await update.effective_message.reply_html(text, link_preview_options=NO_PREVIEW)


def addressed_text(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question in a message, or None when a group message is not meant for the bot."""
    text = message.text or ""
    if message.chat.type == ChatType.PRIVATE:
        return text
    mention = f"@{bot_username}".lower()
    mentions = list(message.parse_entities([MessageEntity.MENTION]).values())
    mentioned = any(value.lower() == mention for value in mentions)
    replied = bool(message.reply_to_message and message.reply_to_message.from_user) and (
        message.reply_to_message.from_user.id == bot_id  # type: ignore[union-attr]
    )
    if not (mentioned or replied):
        return None
    cleaned = text
    for value in mentions:
        if value.lower() == mention:
            cleaned = cleaned.replace(value, " ")
    return " ".join(cleaned.split())


async def question(update: Update, context: Context) -> None:
    """Answer a question with citations (in groups only when mentioned or replied to)."""
    message = update.effective_message
    assert message
    text = addressed_text(message, context.bot.username, context.bot.id)
    if text is None:
        return
    if not text:
        await message.reply_text("What would you like to know? Ask me a question about the news.")
        return
    if link := LINK.match(text):
        if not await _turned_away(update, context):
            await ingest_links(message, context, [link.group(1)])
        return
    chat = context.chat_data if context.chat_data is not None else ChatData()
    loop = asyncio.get_running_loop()
    tokens: asyncio.Queue[str] = asyncio.Queue()
    newsdesk = context.bot_data.newsdesk

    def on_token(token: str) -> None:
        loop.call_soon_threadsafe(tokens.put_nowait, token)

    draft = Draft(message)
    try:
        async with typing(message):
            work = asyncio.create_task(
                asyncio.to_thread(newsdesk.ask, text, history=chat.history, on_token=on_token)
            )
            while not work.done():
                await asyncio.wait({work}, timeout=DRAFT_EVERY)
                await draft.show(_drain(tokens))
            answer = work.result()
    except EmptyStoreError:
        await message.reply_text(EMPTY_STORE)
        return
    except InvalidQuestionError as error:
        await message.reply_text(str(error))
        return
    chat.history = newsdesk.remember(chat.history, answer)  # before the reply: a quick follow-up sees it
    await draft.finish(render_answer(answer))


def _drain(queue: asyncio.Queue[str]) -> str:
    text = ""
    while not queue.empty():
        text += queue.get_nowait()
    return text


class Draft:
    """A reply that shows an answer while it is written, then becomes the final answer.

    Edits happen at most once per `DRAFT_EVERY` and only when the text changed, so Telegram
    never answers "message is not modified"; the draft ends with " …" so the final edit always
    differs from it.
    """

    def __init__(self, message: Message) -> None:
        self.message = message
        self.text = ""
        self.sent: Message | None = None
        self.shown = ""

    async def show(self, more: str) -> None:
        """Add streamed text and show it, if anything new arrived."""
        self.text += more
        if not draft_text(self.text).strip():
            return
        preview = escape(draft_text(self.text)[-(LIMIT - 10) :].rstrip()) + " …"
        if preview == self.shown:
            return
        if self.sent is None:
            self.sent = await self.message.reply_html(preview, link_preview_options=NO_PREVIEW)
        else:
            await self.sent.edit_text(preview, link_preview_options=NO_PREVIEW)
        self.shown = preview

    async def finish(self, parts: list[str]) -> None:
        """Replace the draft with the first part of the final answer and send the rest."""
        if self.sent is not None and parts:
            if parts[0] != self.shown:
                await self.sent.edit_text(parts[0], link_preview_options=NO_PREVIEW)
            parts = parts[1:]
        for part in parts:
            await self.message.reply_html(part, link_preview_options=NO_PREVIEW)


async def reset(update: Update, context: Context) -> None:
    """Forget this chat's earlier questions."""
    assert update.effective_message
    if context.chat_data is not None:
        context.chat_data.history = []
    await update.effective_message.reply_text("Done: I forgot our conversation. Ask me anything.")


async def ingest_command(update: Update, context: Context) -> None:
    """Ingest the pages linked in `/ingest URL...`, or explain how to send files."""
    message = update.effective_message
    assert message
    if await _turned_away(update, context):
        return
    urls = [arg for arg in context.args or [] if LINK.match(arg)]
    if urls:
        await ingest_links(message, context, urls)
        return
    await message.reply_html(
        "Send me an article file (.txt .md .html .json .jsonl) as a document, "
        "or a link: <code>/ingest https://…</code>"
    )


async def ingest_links(message: Message, context: Context, urls: list[str]) -> None:
    """Fetch and ingest article pages for an admin (callers check), replying with the report."""
    async with typing(message):
        report = await asyncio.to_thread(context.bot_data.ingestor.ingest, urls)
    await message.reply_html(format_report(report), link_preview_options=NO_PREVIEW)


async def forget(update: Update, context: Context) -> None:
    """Remove articles by id (admins only)."""
    message = update.effective_message
    assert message
    if await _turned_away(update, context):
        return
    if not context.args:
        await message.reply_html(
            "Usage: <code>/forget ARTICLE_ID</code> (ids are in <code>newsdesk stats</code>)"
        )
        return
    removed, missing = await asyncio.to_thread(context.bot_data.ingestor.forget, context.args)
    lines = [f"Forgot {escape(a)}." for a in removed] + [f"Not in the store: {escape(a)}." for a in missing]
    await message.reply_html("\n".join(lines))


async def feeds(update: Update, context: Context) -> None:
    """List followed feeds with their last refresh."""
    assert update.effective_message
    ingestor = context.bot_data.ingestor
    followed = ingestor.feeds.list() if ingestor.data_dir is not None else []
    if not followed:
        await update.effective_message.reply_text(
            "I follow no feeds. Operators add them with `newsdesk feeds add URL`."
        )
        return
    lines = ["<b>Feeds</b>"]
    for feed in followed:
        when = (
            f"{format_day(feed.last_success)} {feed.last_success:%H:%M} UTC" if feed.last_success else "never"
        )
        error = f" — last error: {escape(feed.last_error)}" if feed.last_error else ""
        every = format_interval(feed.every)
        lines.append(f"• {escape(feed.title or feed.url)} — every {every}, refreshed {when}{error}")
    for part in pack(["\n".join(lines)]):
        await update.effective_message.reply_html(part, link_preview_options=NO_PREVIEW)


async def refresh_feeds(context: Context) -> None:
    """JobQueue: refresh the feeds whose interval has passed and ingest what changed."""
    ingestor = context.bot_data.ingestor
    if not await asyncio.to_thread(ingestor.has_due_feeds):
        return
    report: IngestReport = (await asyncio.to_thread(ingestor.refresh_feeds, only_due=True))[1]
    logger.info("feeds refreshed: %s", report.summary())


async def upload(update: Update, context: Context) -> None:
    """Ingest a document sent by an admin and reply with the ingest report."""
    message = update.effective_message
    assert message and message.document
    if await _turned_away(update, context):
        return
    document = message.document
    name = Path(document.file_name or "upload.txt").name
    limit = context.bot_data.settings.max_upload_mb
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        await message.reply_text(f"I can't read {name}: send one of {', '.join(sorted(SUPPORTED_SUFFIXES))}.")
        return
    if document.file_size and document.file_size > limit * 1_000_000:
        await message.reply_text(f"{name} is over the {limit:g} MB limit.")
        return
    async with typing(message):
        with tempfile.TemporaryDirectory(prefix="newsdesk-upload-") as folder:
            path = Path(folder) / name
            telegram_file = await document.get_file()
            await telegram_file.download_to_drive(path)
            report = await asyncio.to_thread(context.bot_data.ingestor.ingest, [path])
    await message.reply_html(format_report(report, folder), link_preview_options=NO_PREVIEW)


def format_report(report: IngestReport, folder: str = "") -> str:
    """An ingest report as HTML: counts, then one line per failure and per note."""
    lines = [escape(report.summary())]
    for failure in report.failed:
        origin = failure.origin.removeprefix(folder).lstrip("/")
        lines.append(f"• failed {escape(origin)}: {escape(failure.reason)}")
    for note in report.notes:
        origin = note.origin.removeprefix(folder).lstrip("/")
        lines.append(f"• note {escape(origin)}: {escape(note.note)}")
    return pack(["\n".join(lines)])[0]


async def _turned_away(update: Update, context: Context) -> bool:
    """Whether the sender is not an admin; if so, they have been told that only admins may do this."""
    user = update.effective_user
    if user is not None and user.id in context.bot_data.settings.admins:
        return False
    if update.effective_message:
        await update.effective_message.reply_text(ADMINS_ONLY)
    return True


async def error_handler(update: object, context: Context) -> None:
    """Log the traceback; tell the user something went wrong without internals."""
    logger.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message:
        with contextlib.suppress(TelegramError):
            await update.effective_message.reply_text(ERROR_REPLY)


async def post_init(application: Application[Any, Context, Any, ChatData, BotData, Any]) -> None:
    """Register the command menu, load the model, and follow feeds when there are any."""
    await application.bot.set_my_commands(COMMANDS)
    await asyncio.to_thread(application.bot_data.newsdesk.warm_up)
    if application.job_queue is not None and application.bot_data.ingestor.data_dir is not None:
        application.job_queue.run_repeating(refresh_feeds, interval=FEED_CHECK_EVERY, first=5.0)


def build_application(
    settings: BotSettings,
    newsdesk: Newsdesk,
    ingestor: Ingestor,
    state_file: Path | None = None,
) -> Application[Any, Context, Any, ChatData, BotData, Any]:
    """The bot: handlers, error handler, rate limiter, and the services in `BotData`.

    With `state_file`, chat histories survive a restart (PTB's PicklePersistence; bot_data,
    which holds live objects, is not persisted). When `ingestor` has a data dir, the feeds
    registered there are refreshed on their schedule by the JobQueue.
    """
    if settings.telegram_bot_token is None:
        raise ValueError("set TELEGRAM_BOT_TOKEN (from @BotFather) to run the Telegram bot")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .context_types(CONTEXT_TYPES)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .concurrent_updates(PerChatUpdateProcessor())
        .post_init(post_init)
    )
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url)
    if settings.file_base_url:
        builder = builder.base_file_url(settings.file_base_url)
    if state_file is not None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        persistence = PicklePersistence(
            state_file,
            store_data=PersistenceInput(bot_data=False, user_data=False, callback_data=False),
            update_interval=30,
            context_types=CONTEXT_TYPES,
        )
        builder = builder.persistence(persistence)
    application = builder.build()
    application.bot_data.newsdesk = newsdesk
    application.bot_data.ingestor = ingestor
    application.bot_data.settings = settings
    application.add_handler(TypeHandler(Update, gatekeeper), group=-1)
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("sources", sources))
    application.add_handler(CommandHandler("reset", reset))
    application.add_handler(CommandHandler("feeds", feeds))
    application.add_handler(CommandHandler("forget", forget))
    application.add_handler(CommandHandler("ingest", ingest_command))
    application.add_handler(MessageHandler(filters.Document.ALL, upload))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, question))
    application.add_error_handler(error_handler)
    return application


def run(settings: BotSettings, newsdesk: Newsdesk, ingestor: Ingestor, data_dir: Path | None = None) -> None:
    """Serve until SIGINT/SIGTERM: long polling, or a webhook when NEWSDESK_WEBHOOK_URL is set.

    Chat histories are kept in `data_dir` when it is given.
    """
    state_file = data_dir / STATE_FILE if data_dir else None
    application = build_application(settings, newsdesk, ingestor, state_file)
    if settings.webhook_url:
        secret = (
            settings.webhook_secret.get_secret_value()
            if settings.webhook_secret
            else secrets.token_urlsafe(32)
        )
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path="telegram",
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
