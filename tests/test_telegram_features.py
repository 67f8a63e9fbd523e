"""The bot beyond questions, end to end through the Bot API emulator with the real Application:
source and vote buttons, feedback and its export, channel ingestion, topic alerts, inline mode."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from telegram.ext import Application

import ingest
import store
from bot.answering.chain import Newsdesk
from bot.config import BotSettings
from bot.evaluation import evaluate, load_questions
from bot.feedback import FeedbackStore
from bot.frontends.cli import cli
from bot.frontends.telegram import COMMENT_PROMPT, build_application

try:  # works whether or not tests/ is a package
    from tests.news_server import NewsServer
    from tests.telegram_emulator import JSON, BotAPIEmulator, serve
    from tests.test_telegram_bot import DELIVERY_QUESTION, DELIVERY_URL, USER, replies
except ImportError:
    from news_server import NewsServer
    from telegram_emulator import JSON, BotAPIEmulator, serve
    from test_telegram_bot import DELIVERY_QUESTION, DELIVERY_URL, USER, replies

CHANNEL = -1002000000001
TODAY = datetime.now(UTC).date()


def buttons(message: JSON) -> list[dict[str, Any]]:
    """Every inline button of a bot message, row after row."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [button for row in rows for button in row]


def app_for(
    emu: BotAPIEmulator,
    kb: store.KnowledgeBase,
    data_dir: Path,
    ingest_settings: ingest.IngestSettings | None = None,
    **settings: Any,
) -> Application:
    """The real bot over `kb`, keeping its votes and follows in `data_dir`."""
    bot_settings = BotSettings(telegram_bot_token=emu.token, telegram_base_url=emu.base_url, **settings)
    newsdesk = Newsdesk(kb, bot_settings)
    ingestor = ingest.Ingestor(kb, ingest_settings or ingest.IngestSettings(), data_dir=data_dir)
    return build_application(bot_settings, newsdesk, ingestor, data_dir=data_dir)


@pytest.fixture
def emu() -> Any:
    """A running Bot API emulator on 127.0.0.1."""
    with BotAPIEmulator() as emulator:
        yield emulator


# ----------------------------------------------------------------------------- buttons and feedback


def test_an_answer_has_source_buttons_and_votes_are_kept_once(
    emu: BotAPIEmulator, sample_kb: store.KnowledgeBase, tmp_path: Path
) -> None:
    """The answer opens its source with a URL button and takes one vote: 👍 is stored, the buttons
    say thanks, and a second press is refused politely."""

    async def script() -> tuple[JSON, JSON, str, str]:
        emu.send_user_message(DELIVERY_QUESTION)
        (answer,) = await replies(emu, USER)
        up = next(b["callback_data"] for b in buttons(answer) if b["text"] == "👍")
        first = emu.press_button(USER, answer["message_id"], up)
        await asyncio.to_thread(emu.wait_until, lambda: emu.answer_to(first), 8, "the vote answered")
        thanked = await asyncio.to_thread(
            emu.wait_until, lambda: (m := emu.sent_messages(USER)[0])["edits"] and m, 8, "the buttons changed"
        )
        done = next(b["callback_data"] for b in buttons(thanked) if b.get("callback_data"))
        second = emu.press_button(USER, answer["message_id"], done)
        await asyncio.to_thread(emu.wait_until, lambda: emu.answer_to(second), 8, "the second press answered")
        return answer, thanked, first, second

    answer, thanked, first, second = serve(app_for(emu, sample_kb, tmp_path), script)

    links = [b for b in buttons(answer) if "url" in b]
    assert links == [{"text": "[1] Pacific Auto Wire", "url": DELIVERY_URL}]
    assert [b["text"] for b in buttons(answer) if "callback_data" in b] == ["👍", "👎"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons(answer) if "callback_data" in b)
    assert emu.answer_to(first)["text"] == "Thanks!"
    assert "already voted" in emu.answer_to(second)["text"]
    assert [b["text"] for b in buttons(thanked)] == ["[1] Pacific Auto Wire", "✓ Thanks for your feedback"]
    store_ = FeedbackStore.in_data_dir(tmp_path)
    (voted,) = store_.voted()
    assert (voted.question, voted.vote.value, voted.chat_type) == (DELIVERY_QUESTION, "up", "private")
    assert voted.short_answer and "300,000" in voted.short_answer
    assert voted.cited == ("u-b641e623bcbbc84d",)
    assert store_.counts() == (1, 1)


def test_a_thumbs_down_asks_what_was_wrong_and_keeps_the_reply(
    emu: BotAPIEmulator, sample_kb: store.KnowledgeBase, tmp_path: Path
) -> None:
    async def script() -> list[JSON]:
        emu.send_user_message("Who scored twice for Harbourside Rovers?")
        (answer,) = await replies(emu, USER)
        down = next(b["callback_data"] for b in buttons(answer) if b["text"] == "👎")
        emu.press_button(USER, answer["message_id"], down)
        prompt = (await replies(emu, USER, 2))[1]
        emu.send_user_message("It should name the goalkeeper too.", reply_to_message_id=prompt["message_id"])
        return await replies(emu, USER, 3)

    answer, prompt, thanks = serve(app_for(emu, sample_kb, tmp_path), script)

    assert prompt["text"] == COMMENT_PROMPT and prompt["reply_to_message_id"] == answer["message_id"]
    assert thanks["text"].startswith("Thanks, noted.")
    (voted,) = FeedbackStore.in_data_dir(tmp_path).voted()
    assert (voted.vote.value, voted.comment) == ("down", "It should name the goalkeeper too.")


def test_feedback_export_writes_questions_newsdesk_eval_reads(
    emu: BotAPIEmulator, sample_kb: store.KnowledgeBase, tmp_path: Path
) -> None:
    """Two answers voted 👍 and 👎 become one scored question (its gold answer the short answer, its
    evidence the cited article) and one line for review; `newsdesk feedback` shows the share."""

    async def script() -> None:
        for question in (DELIVERY_QUESTION, "How far is KX-2291b from Earth?"):
            emu.send_user_message(question)
        answers = await replies(emu, USER, 2)
        for answer, vote in zip(answers, ("👍", "👎"), strict=True):
            data = next(b["callback_data"] for b in buttons(answer) if b["text"] == vote)
            query = emu.press_button(USER, answer["message_id"], data)
            await asyncio.to_thread(emu.wait_until, lambda q=query: emu.answer_to(q), 8, "vote answered")

    serve(app_for(emu, sample_kb, tmp_path), script)
    exported = tmp_path / "feedback.jsonl"
    runner = CliRunner()
    listing = runner.invoke(cli, ["--data-dir", str(tmp_path), "feedback"])
    result = runner.invoke(cli, ["--data-dir", str(tmp_path), "feedback", "export", "--eval", str(exported)])

    assert "2 votes, 50% 👍" in listing.output
    assert result.exit_code == 0 and "wrote 1 questions and 1 for review" in result.output
    lines = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert [line["question_type"] for line in lines] == ["factoid", "review"]
    (question,) = load_questions(exported)  # the line for review waits for a person
    assert question.question == DELIVERY_QUESTION and "300,000" in question.answer
    assert question.evidence_ids(strict=True) == {"u-b641e623bcbbc84d"}
    metrics = evaluate(Newsdesk(sample_kb, BotSettings()), [question]).metrics
    assert metrics.answer_accuracy == 1.0 and metrics.strict.recall_5 == 1.0


# ----------------------------------------------------------------------------- channels


def test_posts_of_a_listed_channel_become_articles_and_edits_replace_them(
    emu: BotAPIEmulator, kb: store.KnowledgeBase, tmp_path: Path
) -> None:
    """A listed channel's post is stored (title its first line, outlet the channel, a t.me link) and
    answerable; its edit replaces it; an unlisted channel's post is ignored."""
    post = (
        "Harbour tunnel reopens\nThe harbour tunnel reopened on Monday after a nine-week repair of its roof."
    )

    async def script() -> None:
        sent = emu.send_channel_post(post, chat_id=CHANNEL, username="harbourdesk", title="Harbour Desk")
        emu.send_channel_post("Secret plans\nNothing to see here.", chat_id=-1002000000099, username="other")
        await asyncio.to_thread(emu.wait_until, lambda: kb.stats().articles == 1, 20, "the post stored")
        edited = post.replace("nine-week", "ten-week")
        emu.edit_channel_post(CHANNEL, sent["channel_post"]["message_id"], edited)
        await asyncio.to_thread(
            emu.wait_until, lambda: "ten-week" in kb.all_articles()[0].body, 20, "the edit stored"
        )

    serve(app_for(emu, kb, tmp_path, ingest_channels="@HarbourDesk"), script)

    (article,) = kb.all_articles()
    assert (article.title, article.source) == ("Harbour tunnel reopens", "Harbour Desk")
    assert article.url == "https://t.me/harbourdesk/1" and article.published_at == TODAY
    answer = Newsdesk(kb, BotSettings()).ask("How long did the harbour tunnel repair take?")
    assert answer.found and "ten-week" in answer.text
    assert not emu.sent_messages()  # nothing is ever posted back into a channel


def test_a_channel_post_of_a_link_is_fetched_and_a_photo_caption_is_read(
    emu: BotAPIEmulator, kb: store.KnowledgeBase, tmp_path: Path
) -> None:
    caption = "Lakeport pilots work in pairs\nHarbour pilots in Lakeport will work in pairs on night shifts."
    with NewsServer() as site:

        async def script() -> None:
            emu.send_channel_post(site.url("/news/ferry"), chat_id=CHANNEL, username="harbourdesk")
            emu.send_channel_post(None, chat_id=CHANNEL, username="harbourdesk", caption=caption)
            await asyncio.to_thread(emu.wait_until, lambda: kb.stats().articles == 2, 30, "both stored")

        settings = ingest.IngestSettings(allow_private_urls=True, fetch_host_delay=0)
        serve(app_for(emu, kb, tmp_path, settings, ingest_channels=str(CHANNEL)), script)

    titles = sorted(article.title for article in kb.all_articles())
    assert titles == ["Lakeport ferry returns after winter repairs", "Lakeport pilots work in pairs"]


# ----------------------------------------------------------------------------- topic alerts


def article_file(folder: Path, name: str, title: str, body: str) -> Path:
    """A Markdown article published today."""
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(
        f"---\ntitle: {title}\npublished_at: {TODAY.isoformat()}\n---\n{body}\n", encoding="utf-8"
    )
    return path


def test_a_followed_topic_brings_one_alert_for_a_matching_article_and_survives_a_restart(
    emu: BotAPIEmulator, kb: store.KnowledgeBase, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    folder = tmp_path / "articles"
    cars = article_file(
        folder,
        "cars",
        "Xiaomi raises its car delivery target",
        "Xiaomi said it now expects to deliver 350,000 electric cars this year, after strong orders for "
        "its SU7 sedan and the new YU7 sport utility vehicle.",
    )
    football = article_file(
        folder,
        "football",
        "Millbrook Town sign a new goalkeeper",
        "Millbrook Town have signed goalkeeper Ivo Marsh on a three-year contract, the club said on Friday.",
    )
    ingestor = ingest.Ingestor(kb, ingest.IngestSettings())

    async def script() -> list[JSON]:
        assert app.post_init is not None
        await app.post_init(app)  # what run_polling does first: the alerts job starts
        emu.send_user_message("/follow Xiaomi cars")
        await replies(emu, USER, 1)
        follows = app.bot_data.follows
        await asyncio.to_thread(emu.wait_until, follows.watching, 10, "the bot to look at the store once")
        await asyncio.to_thread(ingestor.ingest, [cars, football])
        await replies(emu, USER, 2, timeout=20)
        await asyncio.sleep(1.5)  # three more looks: nothing else may come
        return emu.sent_messages(USER)

    app = app_for(emu, kb, data_dir, alerts_every=0.5)
    reply, alert, *rest = serve(app, script)

    assert reply["text"].startswith("Following Xiaomi cars")
    assert rest == []  # one alert, for the matching article only, and only once
    assert alert["text"].startswith("🔔 New on Xiaomi cars\nXiaomi raises its car delivery target")
    assert "350,000 electric cars" in alert["text"]

    async def after_restart() -> list[JSON]:
        emu.send_user_message("/following")
        return await replies(emu, USER, 3)

    listing = serve(app_for(emu, kb, data_dir, alerts_every=0.5), after_restart)[-1]
    assert "1. Xiaomi cars" in listing["text"]


def test_follow_needs_a_topic_and_unfollow_a_number(
    emu: BotAPIEmulator, sample_kb: store.KnowledgeBase, tmp_path: Path
) -> None:
    async def script() -> list[JSON]:
        for text in (
            "/follow",
            "/follow Storm Idris",
            "/follow storm idris",
            "/unfollow 9",
            "/unfollow 1",
            "/following",
        ):
            emu.send_user_message(text)
        return await replies(emu, USER, 6)

    texts = [m["text"] for m in serve(app_for(emu, sample_kb, tmp_path), script)]

    assert texts[0].startswith("Tell me what to follow")
    assert texts[1].startswith("Following Storm Idris") and texts[2].startswith("Following Storm Idris")
    assert texts[3].startswith("Give the number of a topic")
    assert texts[4] == "Stopped following Storm Idris."
    assert texts[5].startswith("This chat follows no topics")


# ----------------------------------------------------------------------------- inline mode


def test_an_inline_query_gets_the_answer(
    emu: BotAPIEmulator, sample_kb: store.KnowledgeBase, tmp_path: Path
) -> None:
    """`@bot question` is answered with one result titled by the short answer, whose message is the
    answer with its sources; the same question again is served from the cache."""

    async def script() -> tuple[JSON, JSON, float]:
        first = emu.send_inline_query(DELIVERY_QUESTION)
        await asyncio.to_thread(emu.wait_until, lambda: emu.answer_to(first), 20, "the inline answer")
        started = time.monotonic()
        second = emu.send_inline_query(DELIVERY_QUESTION)
        await asyncio.to_thread(emu.wait_until, lambda: emu.answer_to(second), 20, "the cached answer")
        return emu.answer_to(first), emu.answer_to(second), time.monotonic() - started

    first, second, _ = serve(app_for(emu, sample_kb, tmp_path), script)

    (result,) = first["results"]
    assert result["type"] == "article" and "300,000" in result["title"]
    assert "300,000" in result["input_message_content"]["message_text"]
    assert result["input_message_content"]["parse_mode"] == "HTML"
    assert first["cache_time"] == 300 and second["results"] == first["results"]
    assert [b["url"] for b in buttons(result)] == [DELIVERY_URL]


def test_the_help_describes_the_new_features(
    emu: BotAPIEmulator, sample_kb: store.KnowledgeBase, tmp_path: Path
) -> None:
    async def script() -> list[JSON]:
        emu.send_user_message("/help")
        return await replies(emu, USER, 1)

    (help_,) = serve(app_for(emu, sample_kb, tmp_path), script)
    for words in ("/follow", "/following", "/unfollow", "👍", "type @"):
        assert words in help_["text"], words
