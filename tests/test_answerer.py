"""The extractive answerer on the bundled samples: when a question of few words is answered, and when not.

Real model, real embedded Chroma; every question is asked as of a fixed date after all the samples.
"""

from __future__ import annotations

from datetime import date

import pytest

import store
from bot.answering.answer import NOT_FOUND, Answer, Turn
from bot.answering.chain import Newsdesk
from bot.answering.extractive import terms
from bot.config import BotSettings

AS_OF = date(2025, 12, 31)
STORM = "u-10c1ea6e0af438bd"
RECORD_HIGH = "u-1222f9b7ba4b235c"


@pytest.fixture(scope="module")
def newsdesk(sample_kb: store.KnowledgeBase) -> Newsdesk:
    """The default chain (extractive answerer) over the samples."""
    return Newsdesk(sample_kb, BotSettings())


@pytest.mark.parametrize(
    "question", ["Which is the best?", "What time is it?", "Who set it?", "and who set it?"]
)
def test_one_vague_word_shared_with_a_sentence_is_not_an_answer(newsdesk: Newsdesk, question: str) -> None:
    """A question whose only content word happens to occur in an unrelated sentence is not answered."""
    assert len(terms(question)) == 1
    answer = newsdesk.ask(question, as_of=AS_OF)
    assert not answer.found, answer.text
    assert answer.text == NOT_FOUND


@pytest.mark.parametrize(("question", "article"), [("Xiaomi?", RECORD_HIGH), ("storm", STORM)])
def test_a_one_word_topic_still_finds_its_story(newsdesk: Newsdesk, question: str, article: str) -> None:
    """A single word that names what a story is about is answered from that story."""
    answer = newsdesk.ask(question, as_of=AS_OF)
    assert answer.found, answer.text
    assert answer.citations[0].article_id == article


@pytest.mark.parametrize(("keep", "expected"), [(0, []), (1, ["third"]), (3, ["first", "second", "third"])])
def test_remember_keeps_the_last_turns(
    sample_kb: store.KnowledgeBase, keep: int, expected: list[str]
) -> None:
    """`Newsdesk.remember` keeps the last `history_turns` turns, and none at all when it is 0."""
    newsdesk = Newsdesk(sample_kb, BotSettings(history_turns=keep))
    history: list[Turn] = []
    for question in ("first", "second", "third"):
        history = newsdesk.remember(history, Answer(f"answer to {question}", found=True, question=question))
    assert [turn.question for turn in history] == expected
