"""The Telegram front end: a python-telegram-bot Application over the two services.

Handlers are small; the services (`Newsdesk` for answering, `Ingestor` for ingesting) live in a
typed `BotData`, each chat's follow-up history in a typed `ChatData` (PTB's `ContextTypes`);
answering and ingesting run in worker threads so one slow question never stalls other chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import logging
import re
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import (
    BotCommand,
    Chat,
    ForceReply,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseUpdateProcessor,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    ExtBot,
    InlineQueryHandler,
    MessageHandler,
    PersistenceInput,
    PicklePersistence,
    TypeHandler,
    filters,
)

from bot.alerts import ALERTS_FILE, Alert, FollowError, FollowStore, TopicMatcher, due_alerts
from bot.answering import Answer, InvalidQuestionError, Newsdesk, Turn, draft_text
from bot.config import BotSettings
from bot.feedback import FEEDBACK_FILE, FeedbackStore, Outcome, Vote
from bot.frontends.render import (
    LIMIT,
    VOTE,
    VOTED,
    answer_keyboard,
    escape,
    pack,
    render_answer,
    thanked,
)
from bot.metrics import MonitoringServer
from ingest import SUPPORTED_SUFFIXES, Ingestor, IngestReport, LoadError, LoadFailure, format_interval
from ingest.loaders import article_from_record
from store import Article, EmptyStoreError
from store.text import format_day

logger = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("start", "What this bot does"),
    BotCommand("help", "How to ask, and the commands"),
    BotCommand("sources", "The newest articles I know"),
    BotCommand("reset", "Forget our conversation (for follow-up questions)"),
    BotCommand("feeds", "The feeds I follow"),
    BotCommand("follow", "Get new articles about a topic (/follow Xiaomi cars)"),
    BotCommand("following", "The topics this chat follows"),
    BotCommand("unfollow", "Stop a topic (/unfollow 2)"),
    BotCommand("ingest", "Admins: add articles (a file, or /ingest URL)"),
    BotCommand("forget", "Admins: remove an article (/forget ARTICLE_ID)"),
]
HELP = (
    "Ask me a question about the news in plain words, e.g. <i>What is the 2025 delivery target?</i>\n"
    "I answer from my articles only, with numbered sources, or tell you when they don't say.\n\n"
    "Under each answer, buttons open its sources; 👍 / 👎 tell me whether it was right.\n\n"
    "/sources — the newest articles I know\n"
    "/follow TOPIC — I send you new articles about it, e.g. <i>/follow Xiaomi cars</i>\n"
    "/following — your topics; /unfollow N — stop topic N\n"
    "/reset — forget our conversation; follow-ups like <i>and in 2024?</i> use it\n"
    "/help — this message\n"
    "/feeds — the news feeds I follow\n"
    "/ingest — admins: send an article file (.txt .md .html .json .jsonl) or a link to add it\n"
    "/forget ARTICLE_ID — admins: remove an article\n\n"
    "In groups, mention me or reply to me. In any chat, type @ and my name, then a question, to "
    "share an answer there."
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
INLINE_TIMEOUT = 8.0
"""Seconds an inline answer may take: Telegram drops an inline query not answered within about ten."""
INLINE_CACHE_SIZE = 256
TELEGRAM_CHECK_TIMEOUT = 10.0
"""Seconds the health check waits for Telegram's answer to getMe."""
PENDING_COMMENTS = 20
"""👎 prompts a chat keeps waiting for a comment."""
COMMENT_PROMPT = "What was wrong? Reply to this message to tell me (optional)."


class BotData:
    """What every handler shares: the two services and the settings.

    PTB creates it empty (`ContextTypes(bot_data=BotData)`); `build_application` fills it once.
    """

    newsdesk: Newsdesk
    ingestor: Ingestor
    settings: BotSettings
    feedback: FeedbackStore
    follows: FollowStore
    matcher: TopicMatcher
    inline_cache: dict[str, tuple[float, InlineQueryResultArticle]]
    monitoring: MonitoringServer | None = None


@dataclass
class ChatData:
    """What the bot keeps per chat, across restarts: the last turns, for follow-up questions."""

    history: list[Turn] = field(default_factory=list)
    pending_comments: dict[int, str] = field(default_factory=dict)
    """Message ids of the bot's "what was wrong?" prompts, each with the id of the answer voted 👎."""


def _pending(chat: ChatData) -> dict[int, str]:
    """A chat's pending comment prompts (state saved before they existed has none)."""
    if not hasattr(chat, "pending_comments"):
        chat.pending_comments = {}
    return chat.pending_comments


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
    if update.channel_post or update.edited_channel_post:
        return  # channels are let in or not by NEWSDESK_INGEST_CHANNELS (see `channel_post`)
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
    chat = context.chat_data if context.chat_data is not None else ChatData()
    replied = message.reply_to_message
    if replied is not None and replied.message_id in _pending(chat):
        answer_id = _pending(chat).pop(replied.message_id)
        await asyncio.to_thread(context.bot_data.feedback.comment, answer_id, text)
        await message.reply_text("Thanks, noted. It helps me get better.")
        return
    if link := LINK.match(text):
        if not await _turned_away(update, context):
            await ingest_links(message, context, [link.group(1)])
        return
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
    answer_id = await asyncio.to_thread(context.bot_data.feedback.record, answer, chat_type=message.chat.type)
    await draft.finish(render_answer(answer), answer_keyboard(answer, answer_id))


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

    async def finish(self, parts: list[str], markup: InlineKeyboardMarkup | None = None) -> None:
        """Replace the draft with the first part of the final answer and send the rest; the last
        part carries the buttons."""
        last = len(parts) - 1
        for index, part in enumerate(parts):
            buttons = markup if index == last else None
            if index == 0 and self.sent is not None:
                if part != self.shown or buttons is not None:
                    await self.sent.edit_text(part, link_preview_options=NO_PREVIEW, reply_markup=buttons)
            else:
                await self.message.reply_html(part, link_preview_options=NO_PREVIEW, reply_markup=buttons)


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
            report = await asyncio.to_thread(context.bot_data.ingestor.ingest, [path], origin="upload")
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


# ----------------------------------------------------------------------------- feedback


async def vote(update: Update, context: Context) -> None:
    """A 👍 or 👎 pressed under an answer: stored once per answer, acknowledged at once, the buttons
    then thanked; a 👎 also asks what was wrong."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if query.data == VOTED:
        await query.answer("You already voted on this answer. Thanks!")
        return
    _, choice, answer_id = query.data.split(":", 2)
    outcome = await asyncio.to_thread(context.bot_data.feedback.vote, answer_id, Vote(choice))
    message = query.message if isinstance(query.message, Message) else None
    if outcome is Outcome.ALREADY:
        await query.answer("You already voted on this answer. Thanks!")
    elif outcome is Outcome.UNKNOWN:
        await query.answer("This answer is too old to vote on now.")
    else:
        await query.answer("Thanks!")
    if message is not None:
        with contextlib.suppress(TelegramError):  # another vote may have changed them already
            await message.edit_reply_markup(thanked(message.reply_markup))
    if outcome is Outcome.STORED and Vote(choice) is Vote.DOWN and message is not None:
        prompt = await message.reply_text(
            COMMENT_PROMPT,
            do_quote=True,
            reply_markup=ForceReply(selective=True, input_field_placeholder="What was wrong?"),
        )
        if context.chat_data is not None:
            pending = _pending(context.chat_data)
            pending[prompt.message_id] = answer_id
            for old in list(pending)[:-PENDING_COMMENTS]:
                del pending[old]


# ----------------------------------------------------------------------------- channels


async def channel_post(update: Update, context: Context) -> None:
    """A post (or an edit) in a channel of NEWSDESK_INGEST_CHANNELS becomes an article; a post that
    is only a link is fetched like `/ingest URL`. Other channels are ignored."""
    post = update.effective_message
    if post is None or not _listed(post.chat, context.bot_data.settings.ingest_channels):
        return
    text = (post.text or post.caption or "").strip()
    if not text:
        return
    ingestor = context.bot_data.ingestor
    if link := LINK.match(text):
        report = await asyncio.to_thread(ingestor.ingest, [link.group(1)], origin="channel")
    else:
        report = await asyncio.to_thread(
            ingestor.ingest_loaded, [channel_article(post, text)], origin="channel"
        )
    logger.info("channel %s post %d: %s", post.chat.id, post.message_id, report.summary())


def _listed(chat: Chat, channels: frozenset[str]) -> bool:
    return str(chat.id) in channels or (chat.username or "").lower() in channels


def channel_article(post: Message, text: str) -> Article | LoadFailure:
    """A channel post as an article: its first line the title, the rest the text (the whole post
    when it is one line), the channel the outlet, `https://t.me/<channel>/<id>` the link of a
    public channel; its identity is the chat and message id, so an edit replaces it."""
    title, _, rest = text.partition("\n")
    origin = f"telegram:{post.chat.id}/{post.message_id}"
    record = {
        "id": f"telegram-{post.chat.id}-{post.message_id}",
        "title": title.strip(),
        "body": rest.strip() or text,
        "url": f"https://t.me/{post.chat.username}/{post.message_id}" if post.chat.username else None,
        "source": post.chat.title or post.chat.username,
        "published_at": post.date.date().isoformat(),
    }
    try:
        return article_from_record(record, origin)
    except LoadError as error:
        return LoadFailure(origin, str(error))


# ----------------------------------------------------------------------------- topic alerts


async def follow(update: Update, context: Context) -> None:
    """`/follow TOPIC`: send this chat new articles about the topic."""
    message = update.effective_message
    assert message is not None
    try:
        followed = await asyncio.to_thread(
            context.bot_data.follows.follow, message.chat.id, " ".join(context.args or [])
        )
    except FollowError as error:
        await message.reply_text(str(error))
        return
    await message.reply_html(
        f"Following <b>{escape(followed.topic)}</b>: I will send new articles about it here. "
        "/following lists your topics."
    )


async def following(update: Update, context: Context) -> None:
    """`/following`: the chat's topics, numbered for /unfollow."""
    message = update.effective_message
    assert message is not None
    follows = await asyncio.to_thread(context.bot_data.follows.follows, message.chat.id)
    if not follows:
        await message.reply_html("This chat follows no topics. Try <i>/follow Xiaomi cars</i>.")
        return
    lines = ["<b>Topics followed here</b>"]
    lines += [
        f"{number}. {escape(item.topic)} (since {format_day(item.created_at.date())})"
        for number, item in enumerate(follows, start=1)
    ]
    lines.append("/unfollow N stops one.")
    await message.reply_html("\n".join(lines))


async def unfollow(update: Update, context: Context) -> None:
    """`/unfollow N`: stop the chat's N-th topic."""
    message = update.effective_message
    assert message is not None
    argument = (context.args or [""])[0]
    stopped = None
    if argument.isdigit():
        stopped = await asyncio.to_thread(context.bot_data.follows.unfollow, message.chat.id, int(argument))
    if stopped is None:
        await message.reply_text("Give the number of a topic from /following, e.g. /unfollow 1.")
        return
    await message.reply_html(f"Stopped following <b>{escape(stopped.topic)}</b>.")


async def send_alerts(context: Context) -> None:
    """JobQueue: send the articles stored since the last look to the chats whose topics they match,
    within each chat's hourly limit; each article once per chat."""
    data = context.bot_data
    alerts = await asyncio.to_thread(due_alerts, data.newsdesk.kb, data.follows, data.matcher)
    for alert in alerts:
        chat_id, article_id = alert.follow.chat_id, alert.article.id
        if not data.follows.may_send(chat_id):
            logger.info("alert for chat %s skipped: over the hourly limit", chat_id)
            continue
        if not data.follows.mark_sent(chat_id, article_id):
            continue
        try:
            await context.bot.send_message(chat_id, alert_text(alert), link_preview_options=NO_PREVIEW)
        except TelegramError as error:  # a chat that blocked the bot, say: it must not stop the others
            logger.warning("alert to chat %s failed: %s", chat_id, error)


def alert_text(alert: Alert) -> str:
    """An alert as HTML: the title (linked), outlet and date, the topic, the best matching sentence."""
    article = alert.article
    title = escape(article.title[:300])
    url = article.url if article.url and LINK.match(article.url) and len(article.url) <= 2_000 else None
    linked = f'<a href="{html.escape(url, quote=True)}">{title}</a>' if url else title
    details = ", ".join(
        part
        for part in (
            escape(article.source[:100]) if article.source else "",
            format_day(article.published_at) if article.published_at else "",
        )
        if part
    )
    sentence = alert.sentence if len(alert.sentence) <= 500 else alert.sentence[:499].rstrip() + "…"
    return (
        f"🔔 New on <i>{escape(alert.follow.topic)}</i>\n<b>{linked}</b>"
        + (f"\n{details}" if details else "")
        + (f"\n“{escape(sentence)}”" if sentence else "")
    )


# ----------------------------------------------------------------------------- inline mode


async def inline_answer(update: Update, context: Context) -> None:
    """`@bot question` in any chat: the answer as one inline result, reused for a few minutes."""
    query = update.inline_query
    assert query is not None
    question = " ".join(query.query.split())
    settings = context.bot_data.settings
    if not question:
        await query.answer([], cache_time=settings.inline_cache_seconds)
        return
    cache = context.bot_data.inline_cache
    key = question.lower()
    cached = cache.get(key)
    if cached is not None and cached[0] > time.monotonic():
        result = cached[1]
    else:
        try:
            answer = await asyncio.wait_for(
                asyncio.to_thread(context.bot_data.newsdesk.ask, question), INLINE_TIMEOUT
            )
        except (TimeoutError, InvalidQuestionError, EmptyStoreError):
            await query.answer([], cache_time=0)
            return
        result = inline_result(question, answer)
        cache[key] = (time.monotonic() + settings.inline_cache_seconds, result)
        for old in list(cache)[:-INLINE_CACHE_SIZE]:
            del cache[old]
    await query.answer([result], cache_time=settings.inline_cache_seconds, is_personal=False)


def inline_result(question: str, answer: Answer) -> InlineQueryResultArticle:
    """An answer as an inline result: titled by its short answer (or first words), sent as the
    answer with its sources, with the source buttons."""
    first_words = " ".join(answer.text.split()[:8])
    title = answer.short_answer or (first_words if answer.found else "Not found in my articles")
    return InlineQueryResultArticle(
        id=hashlib.sha1(question.lower().encode("utf-8")).hexdigest()[:32],
        title=title[:64],
        description=question[:120],
        input_message_content=InputTextMessageContent(
            render_answer(answer)[0], parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
        ),
        reply_markup=answer_keyboard(answer),
    )


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
    await start_monitoring(application)
    if application.job_queue is None:
        return
    if application.bot_data.ingestor.data_dir is not None:
        application.job_queue.run_repeating(refresh_feeds, interval=FEED_CHECK_EVERY, first=5.0)
    every = application.bot_data.settings.alerts_every
    application.job_queue.run_repeating(send_alerts, interval=every, first=min(every, 5.0))


async def start_monitoring(application: Application[Any, Context, Any, ChatData, BotData, Any]) -> None:
    """Start the /metrics and /healthz server, if there is one; Telegram's health is a `getMe` sent
    through this application's event loop, so a stuck loop shows as unhealthy too."""
    server = application.bot_data.monitoring
    if server is None:
        return
    loop = asyncio.get_running_loop()

    def telegram() -> str:
        future = asyncio.run_coroutine_threadsafe(application.bot.get_me(), loop)
        return f"@{future.result(timeout=TELEGRAM_CHECK_TIMEOUT).username}"

    server.health.checks["telegram"] = telegram
    server.start()


async def post_shutdown(application: Application[Any, Context, Any, ChatData, BotData, Any]) -> None:
    """Stop serving /metrics and /healthz."""
    if application.bot_data.monitoring is not None:
        application.bot_data.monitoring.stop()
        application.bot_data.monitoring = None


def build_application(
    settings: BotSettings,
    newsdesk: Newsdesk,
    ingestor: Ingestor,
    state_file: Path | None = None,
    data_dir: Path | None = None,
    monitoring: MonitoringServer | None = None,
) -> Application[Any, Context, Any, ChatData, BotData, Any]:
    """The bot: handlers, error handler, rate limiter, and the services in `BotData`.

    With `state_file`, chat histories survive a restart (PTB's PicklePersistence; bot_data,
    which holds live objects, is not persisted). When `ingestor` has a data dir, the feeds
    registered there are refreshed on their schedule by the JobQueue. Votes and followed topics
    are kept in `data_dir` (default: the ingestor's; in memory when there is none). `monitoring`
    (see `bot.metrics.monitoring`) is started with the application and stopped with it.
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
        .post_shutdown(post_shutdown)
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
    home = data_dir or ingestor.data_dir
    application.bot_data.feedback = FeedbackStore(home / FEEDBACK_FILE if home else None)
    application.bot_data.follows = FollowStore(home / ALERTS_FILE if home else None)
    application.bot_data.matcher = TopicMatcher(newsdesk.kb)
    application.bot_data.inline_cache = {}
    application.bot_data.monitoring = monitoring
    application.add_handler(TypeHandler(Update, gatekeeper), group=-1)
    application.add_handler(MessageHandler(filters.UpdateType.CHANNEL_POSTS, channel_post))
    application.add_handler(CallbackQueryHandler(vote, pattern=rf"^{VOTE}:"))
    application.add_handler(InlineQueryHandler(inline_answer))
    application.add_handler(CommandHandler("follow", follow))
    application.add_handler(CommandHandler("following", following))
    application.add_handler(CommandHandler("unfollow", unfollow))
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("sources", sources))
    application.add_handler(CommandHandler("reset", reset))
    application.add_handler(CommandHandler("feeds", feeds))
    application.add_handler(CommandHandler("forget", forget))
    application.add_handler(CommandHandler("ingest", ingest_command))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.Document.ALL, upload))
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, question)
    )
    application.add_error_handler(error_handler)
    return application


def run(
    settings: BotSettings,
    newsdesk: Newsdesk,
    ingestor: Ingestor,
    data_dir: Path | None = None,
    monitoring: MonitoringServer | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM: long polling, or a webhook when NEWSDESK_WEBHOOK_URL is set.

    Chat histories are kept in `data_dir` when it is given.
    """
    state_file = data_dir / STATE_FILE if data_dir else None
    application = build_application(settings, newsdesk, ingestor, state_file, data_dir, monitoring)
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
