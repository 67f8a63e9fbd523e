"""The extractive answerer on the bundled samples: when a question of few words is answered, and when not.

Real model, real embedded Chroma; every question is asked as of a fixed date after all the samples.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from langchain_core.documents import Document

import ingest
import store
from bot.answering.answer import NOT_FOUND, Answer, Turn
from bot.answering.chain import Newsdesk
from bot.answering.extractive import Candidate, ExtractiveAnswerer, terms
from bot.answering.reader import Context, analyse, judge
from bot.config import BotSettings
from bot.evaluation import evaluate, load_questions

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


# ----------------------------------------------------------------------------- the reader at work


@pytest.mark.parametrize(
    ("question", "short"),
    [
        ("What is the 2025 delivery target?", "300,000 vehicle"),
        ("Who scored twice for Harbourside Rovers?", "Daniel Okafor"),
        ("What was the strongest gust during Storm Idris?", "148 km/h"),
        ("Which firmware version fixes the router flaw?", "3.4.2"),
        ("How far is KX-2291b from Earth?", "412 light-years"),
        ("How much will Line 4 cost?", "€318 million"),
        ("When did Westmere council approve Line 4?", "15 June 2023"),
        ("Who refereed the derby?", "Andrew Pryce"),  # "Referee: Andrew Pryce."
        ("At what time was the strongest gust of Storm Idris recorded?", "2 a.m."),
    ],
)
def test_short_answer_is_the_span_that_answers(newsdesk: Newsdesk, question: str, short: str) -> None:
    """The short answer is the words of the expected kind in the quoted sentence, not the whole quote."""
    answer = newsdesk.ask(question, as_of=AS_OF)
    assert answer.found, answer.text
    assert answer.short_answer is not None and short in answer.short_answer, answer.short_answer
    assert answer.short_answer in answer.text  # taken from the quote, verbatim


def test_a_kind_the_word_lists_do_not_type_is_answered_by_meaning_when_asked(
    sample_kb: store.KnowledgeBase, newsdesk: Newsdesk
) -> None:
    """With `kind_floor` set, "which celestial body" is answered by the sentence's words closest to
    it in meaning; by default, the reader's nearest name stands."""
    question = "Which celestial body did astronomers discover with the Aurora telescope?"
    by_meaning = Newsdesk(
        sample_kb, BotSettings(), answerer=ExtractiveAnswerer(sample_kb.embeddings, kind_floor=0.4)
    ).ask(question, as_of=AS_OF)
    default = newsdesk.ask(question, as_of=AS_OF)
    assert by_meaning.found and by_meaning.short_answer == "planet"
    assert by_meaning.text == default.text  # the same quote: only the short answer differs
    assert default.short_answer != "planet"


def test_a_why_question_is_answered_by_the_quote_alone(newsdesk: Newsdesk) -> None:
    answer = newsdesk.ask("Why did Norland's central bank cut its rate?", as_of=AS_OF)
    assert answer.found and answer.short_answer is None
    assert "slowing price growth" in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "How many vehicles is Xiaomi targeting for delivery in 2026?",  # a year no article states
        "How many SU7 sedans did Xiaomi deliver in December 2024?",  # a month no article states
        "What CVE number has been assigned to the Linkwave R2 cross-site scripting bug?",  # no such name
        "Who will referee the Eastvale cup final in May?",
        "Who will referee the return derby?",  # "Referee: Andrew Pryce." was the last derby's
        "In which year did BYD first reach annual sales of 300,000 vehicles?",  # Xiaomi's target year
        "What was Norland's unemployment rate in October?",
        "How tall is the Point Lighthouse?",  # no height anywhere near it
        # a number of the right kind in a sentence about the right thing, counting something else
        "How much will the depot for the new tram line cost?",  # the €52 million near it buys trams
        "What share of the market does Xiaomi hold in Europe?",  # 6.62% is a day's gain
        "How much is the Linkwave R2 router's warranty worth?",  # 100 dollars is its price
        "Why did the council turn down the cheaper bus scheme?",  # it says that it did, not why
        "Where is the telescope that found KX-2291b based?",  # "Aurora", "KX-2291b" are no places
        "What CVE identifier does the Linkwave flaw have?",  # no article says "CVE"
    ],
)
def test_a_question_the_articles_do_not_answer_is_not_found(newsdesk: Newsdesk, question: str) -> None:
    """Questions naming stored things but asking what no article says get "not found", with leads."""
    answer = newsdesk.ask(question, as_of=AS_OF)
    assert not answer.found, answer.text
    assert answer.text == NOT_FOUND and answer.short_answer is None and answer.leads


def _candidate(sentence: str) -> Candidate:
    """A sentence read as a close candidate: similarity 0.7, word share 0.6, evidence 0.7."""
    return Candidate(
        sentence, Document(sentence, metadata={"article_id": "a"}), 0, 0, None, 0.7, 0.6, 0.7, 0.7
    )


def test_a_question_for_a_name_is_not_answered_by_a_sentence_naming_nothing(
    embeddings: store.SentenceTransformerEmbeddings,
) -> None:
    """ "Who", "which company" and "where" need a name: a sentence with none of any kind cannot
    answer them, however close it is (`nameless_floor`); a question of no particular kind can."""
    answerer = ExtractiveAnswerer(embeddings)
    sentence = "The council agreed to set up a fund for shops that lose trade during the works."
    candidate = _candidate(sentence)
    who = judge(analyse("Who will run the fund for shops that lose trade?"), Context([sentence], 0))
    what = judge(analyse("What was agreed for shops that lose trade?"), Context([sentence], 0))

    assert who.typed == 0.0 and answerer.answerability(candidate, who, 1.0) == 0.0
    assert answerer.answerability(candidate, what, 1.0) > answerer.min_answerability


def test_a_question_for_a_date_or_a_reason_keeps_little_without_one(
    embeddings: store.SentenceTransformerEmbeddings,
) -> None:
    """A sentence with no time in it does not say when (`date_fit_floor`), one with no cause does not
    say why (`reason_floor`), however close to the question it is."""
    answerer = ExtractiveAnswerer(embeddings)
    sentence = "The council rejected the cheaper bus scheme proposed by the opposition."
    candidate = _candidate(sentence)
    when = judge(analyse("When did the council reject the bus scheme?"), Context([sentence], 0))
    why = judge(analyse("Why did the council reject the bus scheme?"), Context([sentence], 0))
    what = judge(analyse("What did the council reject?"), Context([sentence], 0))

    assert answerer.answerability(candidate, when, 1.0) == pytest.approx(0.7 * answerer.date_fit_floor)
    assert answerer.answerability(candidate, why, 1.0) == pytest.approx(0.7 * answerer.reason_floor)
    assert max(answerer.date_fit_floor, answerer.reason_floor) * 0.7 < answerer.min_answerability
    assert answerer.answerability(candidate, what, 1.0) > answerer.min_answerability


NEAR_MISS = Path(__file__).parent / "data" / "near_miss.jsonl"


@pytest.fixture(scope="module")
def samples_and_seed(
    tmp_path_factory: pytest.TempPathFactory,
    embeddings: store.SentenceTransformerEmbeddings,
    shared_dir: Path,
) -> Iterator[store.KnowledgeBase]:
    """The bundled samples and the seed article, the corpus the near-miss set is written over."""
    settings = store.StoreSettings(data_dir=tmp_path_factory.mktemp("near_miss") / "data")
    with store.open_knowledge_base(settings, embeddings) as knowledge_base:
        report = ingest.Ingestor(knowledge_base, ingest.IngestSettings()).ingest(
            [ingest.samples_dir(), shared_dir / "seed"]
        )
        assert report.ok, report.failed
        yield knowledge_base


def test_near_miss_set_floor(samples_and_seed: store.KnowledgeBase) -> None:
    """The near-miss set (tests/data/near_miss.jsonl, docs/evaluation.md): questions that name stored
    people, companies and places but ask for a fact no article holds, and answerable questions asked
    in other words than the articles use. Pinned as aggregate floors below the levels measured over
    its 210 questions on 2026-12-02 (0.829 declined, 0.752 correct, 0.171 falsely declined; the
    history of each level, and of the questions written after each session's changes, is in
    docs/evaluation.md): a change that lowers them must say why."""
    questions = load_questions(NEAR_MISS)
    assert sum(not q.answerable for q in questions) >= 40 and sum(q.answerable for q in questions) >= 40

    metrics = evaluate(Newsdesk(samples_and_seed, BotSettings()), questions).metrics

    assert metrics.abstention is not None and metrics.abstention >= 0.80
    assert metrics.answer_accuracy is not None and metrics.answer_accuracy >= 0.73
    assert metrics.false_abstention is not None and metrics.false_abstention <= 0.20


def test_the_settings_default_threshold_is_the_answerers(
    embeddings: store.SentenceTransformerEmbeddings,
) -> None:
    """`NEWSDESK_MIN_ANSWERABILITY` defaults to the threshold the answerer was measured with."""
    settings = BotSettings()
    assert ExtractiveAnswerer.from_settings(settings, embeddings) == ExtractiveAnswerer(embeddings)
