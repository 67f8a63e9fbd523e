"""The reader: what a question asks for, the typed spans a sentence holds, and the checks between them.

Pure text functions (no model, no store); the answerer's behaviour on real articles is in
test_answerer.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pytest

import store
from bot.answering.reader import (
    NAME_KINDS,
    Constraint,
    Context,
    Kind,
    aligned_span,
    analyse,
    bodies,
    bound,
    facts,
    full_name,
    gives_role,
    judge,
    kind_phrase,
    meant_span,
    name_coverage,
    spans,
)


@pytest.mark.parametrize(
    ("question", "kind", "focus"),
    [
        ("How many vehicles does Xiaomi plan to deliver in 2025?", Kind.NUMBER, "vehicles"),
        ("How much will the tram line cost?", Kind.MONEY, None),
        ("What percentage of the funding comes from the national government?", Kind.PERCENT, None),
        ("What is Xiaomi's market share in India?", Kind.PERCENT, "share"),
        ("What is the new fee?", Kind.MONEY, "fee"),
        ("How old is the star?", Kind.NUMBER, "age"),
        ("How much rain fell on the harbour city?", Kind.NUMBER, "rain"),
        ("How much did the depot cost?", Kind.MONEY, None),
        ("What was the strongest gust during Storm Idris?", Kind.NUMBER, "gust"),
        ("Which firmware version fixes the router flaw?", Kind.NUMBER, "version"),
        ("When did the council approve Line 4?", Kind.DATE, None),
        ("In which year did BYD first reach annual sales of 300,000 vehicles?", Kind.DATE, None),
        ("Who scored twice for Harbourside Rovers?", Kind.PERSON, None),
        ("Where is the telescope?", Kind.PLACE, None),
        ("Which company makes the Linkwave routers?", Kind.ORGANISATION, "company"),
        ("Which investment bank raised its target?", Kind.ORGANISATION, "bank"),
        ("What is the name of the storm that hit the harbour?", Kind.NAME, "storm"),
        ("Why did the central bank cut rates?", Kind.REASON, None),
        ("What happened to the ferries?", Kind.OTHER, None),
        # after "did", "will" or "has", the noun is the subject, unless a "be" makes it the focus
        ("What did the council reject?", Kind.OTHER, None),
        ("At what level did the crown trade against the dollar?", Kind.NUMBER, "level"),
        ("What has the bank promised its customers?", Kind.OTHER, None),
        ("What will the starting price of the SUV be?", Kind.MONEY, "price"),
        ("Which virus was found in dairy cattle?", Kind.OTHER, "virus"),
        ("Which two committee members voted against the cut?", Kind.PERSON, "members"),
        ("Which observatory's spectrograph measured the wobble?", Kind.ORGANISATION, "observatory"),
        ("In which journal will the paper be published?", Kind.ORGANISATION, "journal"),
        # a name inside the phrase after describing words; the "'s" of "what's"
        ("Which former NFL star will teach at his old college?", Kind.PERSON, "star"),
        ("What's the name of the new trend at airports?", Kind.NAME, "trend"),
        # a lexicon noun before "a" is still the noun ("rate a year earlier"), a verb before "the" is not
        ("What was Norland's unemployment rate a year earlier?", Kind.PERCENT, "rate"),
        # a noun of a person by its ending, however far into the question
        (
            "What is the name of the Hong Kong-based equity strategist who commented?",
            Kind.PERSON,
            "strategist",
        ),
        ("Which physician treated the patient?", Kind.PERSON, "physician"),
    ],
)
def test_expected_kind_and_focus(question: str, kind: Kind, focus: str | None) -> None:
    analysis = analyse(question)
    assert (analysis.expects, analysis.focus) == (kind, focus)


def test_constraints_are_the_questions_names_numbers_and_days() -> None:
    analysis = analyse("How many SU7 sedans did Xiaomi deliver in December 2024?")

    assert [(c.kind, c.text) for c in analysis.names] == [("name", "SU7"), ("name", "Xiaomi")]
    assert [(c.kind, c.text) for c in analysis.numbers] == [("date", "December 2024")]
    assert all(c.anchors_time for c in analysis.numbers)
    assert "sedans" not in [c.text for c in analysis.words]  # the counted noun is what is asked


def test_an_ordinal_of_the_question_is_a_constraint() -> None:
    analysis = analyse("On what date did the central bank of Norland make its first rate cut of the year?")
    (first,) = [c for c in analysis.numbers if c.text == "first"]
    assert first.anchors_time


@pytest.mark.parametrize(
    "question",
    [
        "In which month was the maker first told about the flaw?",
        "Which country will Xiaomi enter first?",
        "By how much did the stock rise on the first Friday of 2025?",
    ],
)
def test_an_ordinal_used_as_an_adverb_is_no_constraint(question: str) -> None:
    """ "First told" asks when the telling was, not about a first of several things; "the first
    Friday of 2025" is a day, which an article dates otherwise ("3 January")."""
    assert [c for c in analyse(question).numbers if c.keys[0].startswith("ord")] == []


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "Xiaomi delivered more than 130,000 SU7 sedans in 2024 and targets 300,000 vehicles in 2025.",
            {("130,000", Kind.NUMBER), ("300,000 vehicles", Kind.NUMBER), ("2024", Kind.DATE)},
        ),
        (
            "Shares closed at a record HKD 36.25 on 3 January 2025, a gain of 6.62% on the day.",
            {("HKD 36.25", Kind.MONEY), ("6.62%", Kind.PERCENT), ("3 January 2025", Kind.DATE)},
        ),
        (
            "Striker Daniel Okafor scored twice at Quayside Park.",
            {("Daniel Okafor", Kind.PERSON), ("Quayside Park", Kind.PLACE)},
        ),
        ("The line will cost €318 million, the council said.", {("€318 million", Kind.MONEY)}),
        ("A firmware update, version 3.4.2, was released.", {("3.4.2", Kind.NUMBER)}),
        (
            "The company is targeting 300,000 vehicle deliveries.",
            {("300,000 vehicle deliveries", Kind.NUMBER)},
        ),
        ("Gusts of up to 148 km/h toppled trees.", {("148 km/h", Kind.NUMBER)}),
        # an initial stands inside a name; a title goes only when two words or more are left
        (
            "Mary J. Blige joined Prince William, Mayor Ingrid Vallen and Prime Minister Narendra Modi.",
            {
                ("Mary J. Blige", Kind.PERSON),
                ("Prince William", Kind.PERSON),
                ("Ingrid Vallen", Kind.PERSON),
                ("Narendra Modi", Kind.PERSON),
            },
        ),
        # clubs and utilities are bodies by their last word
        (
            "Eastvale Athletic lost and Coastline Power restored supply.",
            {("Eastvale Athletic", Kind.ORGANISATION), ("Coastline Power", Kind.ORGANISATION)},
        ),
        # a body's name runs across a plural possessive, and a chamber is a body
        (
            "The Norland Bankers' Association and the Norland Chamber of Industry objected.",
            {
                ("Norland Bankers' Association", Kind.ORGANISATION),
                ("Norland Chamber of Industry", Kind.ORGANISATION),
            },
        ),
    ],
)
def test_typed_spans(sentence: str, expected: set[tuple[str, Kind]]) -> None:
    found = {(span.text, span.kind) for span in spans(sentence)}
    assert expected <= found, found
    assert all(sentence[span.start : span.end] == span.text for span in spans(sentence))


def test_a_designation_names_a_thing_and_a_letter_before_a_hyphen_nothing() -> None:
    """A word of letters and digits ("KX-2291b", "SU7", "R2 Plus") designates a thing, which answers
    no "where" or "which journal"; the "U" of "U-turn" is no name at all."""
    kinds = {span.text: span.kind for span in spans("So far KX-2291b and the SU7 impressed Ann Marsh.")}
    assert kinds["KX-2291b"] is Kind.THING and kinds["SU7"] is Kind.THING
    kinds = {span.text: span.kind for span in spans("It sells the Linkwave R2 and R2 Plus models.")}
    assert kinds["R2 Plus"] is Kind.THING
    for question in ("Where is the telescope located?", "In which journal was the paper published?"):
        sentence = "KX-2291b is the first confirmed planet from its survey."
        assert judge(analyse(question), _context(sentence)).short_answer is None
    assert not spans("The council made a U-turn on the plans.")
    assert analyse("Who is behind the government U-turn?").names == []


def test_a_name_its_article_writes_as_a_bodys_is_no_person_or_place() -> None:
    """One sense per discourse: an article that writes "Xiaomi shares" or "Xiaomi Corporation" names a
    company by "Xiaomi" wherever a sentence gives no clue, and a company answers no "who" or "where"."""
    article = "Xiaomi shares rose on Friday. The rally lifted the middle of Xiaomi's core business."
    sentence = "The rally lifted the middle of Xiaomi's core business."
    assert bodies(article) == {"xiaomi"}
    alone = judge(analyse("Who is the strategist?"), _context(sentence))
    in_article = judge(analyse("Who is the strategist?"), _context(sentence, article=article))
    assert alone.short_answer is not None and alone.short_answer.text == "Xiaomi"
    assert in_article.short_answer is None and in_article.typed == 0.0
    assert (
        judge(analyse("Where was Xiaomi's founder born?"), _context(sentence, article=article)).typed == 0.0
    )
    company = judge(analyse("Which company gained?"), _context(sentence, article=article))
    assert company.short_answer is not None and company.short_answer.text == "Xiaomi"


@pytest.mark.parametrize(
    ("sentence", "name", "kind"),
    [
        # "and" inside a body's name after "the" or a possessive, not between two names
        (
            "China's National Development and Reform Commission said so.",
            "National Development and Reform Commission",
            Kind.ORGANISATION,
        ),
        (
            "Then the Food and Drug Administration approved it.",
            "Food and Drug Administration",
            Kind.ORGANISATION,
        ),
        ("Daniel Okafor and Coastline Power agreed.", "Daniel Okafor", Kind.PERSON),
        ("Fans of the Rovers and Eastvale Athletic sang.", "Eastvale Athletic", Kind.ORGANISATION),
        # an acronym of a thing, and an awards ceremony, are things
        ("He will focus on AI models.", "AI", Kind.THING),
        ("The Golden Globe Awards returned to TV.", "Golden Globe Awards", Kind.THING),
    ],
)
def test_bodies_and_things_joined_or_typed_by_their_words(sentence: str, name: str, kind: Kind) -> None:
    kinds = {span.text: span.kind for span in spans(sentence)}
    assert kinds.get(name) is kind, kinds


def test_a_score_is_not_part_of_a_name() -> None:
    texts = [span.text for span in spans("Harbourside Rovers beat Eastvale Athletic 3-1 at Quayside Park.")]
    assert "Eastvale Athletic" in texts and "Eastvale Athletic 3" not in texts


@pytest.mark.parametrize(
    ("question", "sentence", "answer"),
    [
        (
            "Which pharmacy chain filed for bankruptcy?",
            "Rite Aid filed for bankruptcy in October.",
            "Rite Aid",
        ),
        (
            "Officers answered calls linked to what type of incidents?",
            "Officers answered calls linked to mental health incidents last year.",
            "mental health",
        ),
        ("Which firm makes the router?", "The weather was fine.", None),
    ],
)
def test_aligned_span_takes_the_words_where_the_wh_phrase_stands(
    question: str, sentence: str, answer: str | None
) -> None:
    span = aligned_span(analyse(question), sentence)
    assert (span.text if span else None) == answer


def _context(sentence: str, *, title: str = "", published: date | None = None, article: str = "") -> Context:
    return Context([sentence], 0, title=title, published=published, article=article)


def test_judge_gives_the_span_of_the_expected_kind_the_question_does_not_already_say() -> None:
    analysis = analyse("How many vehicles does Xiaomi plan to deliver in 2025?")
    sentence = "Lei Jun set a delivery target of 300,000 vehicles for Xiaomi in 2025."

    judgement = judge(analysis, _context(sentence, published=date(2025, 1, 2)))

    assert judgement.short_answer is not None and judgement.short_answer.text == "300,000 vehicles"
    assert (judgement.typed, judgement.names, judgement.numbers) == (1.0, 1.0, 1.0)
    assert judgement.missing == () and not judgement.missing_anchor


def test_judge_reports_a_name_and_a_date_the_article_never_states() -> None:
    analysis = analyse("How many SU7 sedans did Xiaomi deliver in India in December 2024?")
    sentence = "Xiaomi delivered more than 130,000 SU7 sedans last year."

    judgement = judge(analysis, _context(sentence, published=date(2025, 1, 2), article=sentence))

    assert set(judgement.missing) == {"India", "December 2024"}
    assert judgement.missing_anchor
    assert judgement.names < 1.0 and judgement.numbers == 0.0


def test_a_name_with_a_number_the_article_never_states_is_another_thing() -> None:
    """A model or line number in a name ("Linkwave R3") pins it like a date: a text about the R2 does
    not answer, though it names Linkwave; a plural model ("SU7s") is the model."""
    article = "Linkwave R2 routers have a flaw. Firmware 3.4.2 fixes it."
    other = judge(analyse("Which firmware fixes the Linkwave R3 router?"), _context(article, article=article))
    same = judge(analyse("Which firmware fixes the Linkwave R2 router?"), _context(article, article=article))
    assert other.missing == ("Linkwave R3",) and other.missing_anchor
    assert same.missing == () and not same.missing_anchor
    sold = "Xiaomi delivered 130,000 SU7 sedans."
    plural = judge(analyse("How many SU7s did Xiaomi hand over?"), _context(sold, article=sold))
    assert plural.missing == () and not plural.missing_anchor


def test_an_ordinal_the_sentence_contradicts_pins_another_event() -> None:
    """ "The first cut" is not answered by a sentence about the second, even when the article says
    "first" elsewhere, nor by any sentence of an article whose lead reports the second; a sentence
    that states no ordinal, in an article whose lead states none, is judged as before."""
    article = (
        "The bank cut its rate on Thursday for the second time this year. Wages are due in the first quarter."
    )
    question = analyse("When did the bank make its first rate cut?")
    second = judge(question, Context(article.split(". "), 0, article=article))
    later = judge(question, _context("The cut was 25 basis points.", article=article))
    plain = judge(
        question,
        _context(
            "The bank cut its rate on Thursday.", article="The bank cut rates. It was its first cut in years."
        ),
    )
    assert second.missing_anchor and second.missing == ()
    assert later.missing_anchor
    assert not plain.missing_anchor


def test_a_number_measuring_the_same_noun_otherwise_pins_another_thing() -> None:
    """ "Ten-year bonds" are not "two-year bonds": a sentence that measures the question's noun by
    another number in the same unit is about another thing; one that measures it as asked, or says
    the noun without a measure, is judged as before."""
    question = analyse("By how many basis points did yields on ten-year government bonds fall?")
    two = judge(question, _context("Yields on two-year government bonds fell by around six basis points."))
    ten = judge(question, _context("Yields on ten-year government bonds fell by around six basis points."))
    plain = judge(question, _context("Yields on government bonds fell by around six basis points."))
    assert two.missing_anchor
    assert not ten.missing_anchor and not plain.missing_anchor


def test_an_amount_in_a_clause_about_someone_else_is_not_the_questions() -> None:
    """ "On 31 points, while Eastvale drop to ninth": the points are Rovers', not Eastvale's; the
    same amount in Eastvale's own clause, or in a sentence of one clause, is judged as before."""
    question = analyse("How many points do Eastvale Athletic have?")
    rovers = judge(
        question, _context("The result moves Rovers up to fourth on 31 points, while Eastvale drop to ninth.")
    )
    eastvale = judge(
        question, _context("The result leaves Eastvale on 28 points, while Rovers move up to fourth.")
    )
    alone = judge(question, _context("Eastvale have 28 points from 20 games."))
    assert rovers.missing_anchor
    assert rovers.short_answer is not None and rovers.short_answer.text == "31 points"
    assert not eastvale.missing_anchor and not alone.missing_anchor


def test_an_amount_in_a_clause_apart_from_the_questions_words_is_not_the_questions() -> None:
    """The words the question asks about ("the regional authority") stand in another clause than the
    amount: the share is the national government's; in the amount's own clause, it answers."""
    question = analyse("What percentage of the funding will the regional authority pay?")
    other = judge(
        question,
        _context(
            "Around 60 percent of the funding will come from the national government, with the remainder"
            " covered by the city and the regional authority."
        ),
    )
    own = judge(
        question,
        _context(
            "The regional authority will pay 15 percent of the funding, with the city covering the rest."
        ),
    )
    assert other.missing_anchor and not own.missing_anchor


def test_a_level_is_an_amount_of_any_kind() -> None:
    """ "What level" asks for a number, money or a share alike, and a sentence with none does not say."""
    question = analyse("What level had inflation reached at its peak?")
    assert judge(question, _context("Inflation peaked at 7.9% in the spring.")).typed == 1.0
    assert judge(question, _context("The crown weakened against the euro after the cut.")).typed == 0.0


def test_a_share_price_answers_only_a_question_about_shares() -> None:
    sentence = "Demand for the SU7 lifted the stock price from a low of HKD 11.84 to HKD 36.25."
    cost = judge(analyse("How much does the SU7 sedan cost?"), _context(sentence))
    stock = judge(analyse("How much were the shares worth at their low?"), _context(sentence))
    assert cost.missing_anchor and not stock.missing_anchor


def test_the_measure_asked_for_named_otherwise_is_another_thing() -> None:
    """ "Stock price" does not answer "target price": the question's measure written with another
    word in front, unlike the question's in meaning, is another measure; a word alike in meaning,
    or the measure as asked, is not."""
    question = analyse("What target price did the bank set for Xiaomi shares?")
    stock = _context("Xiaomi's stock price had already exceeded HKD 35 per share.")
    target = _context("The bank set a target price of HKD 40 for Xiaomi shares.")
    assert judge(question, stock, None, _vectors([])).missing_anchor
    assert not judge(question, stock, None, _vectors([{"target", "stock"}])).missing_anchor
    assert not judge(question, target, None, _vectors([])).missing_anchor
    listed = _context("The bank's update, price HKD 40, came on Friday.")  # not side by side
    assert not judge(question, listed, None, _vectors([])).missing_anchor
    assert not judge(question, stock).missing_anchor  # without word vectors, not judged


def test_a_holiday_states_its_date() -> None:
    """ "Boxing Day" is 26 December: a question's date is stated by the holiday on it."""
    question = analyse("Which team do Rovers face on 26 December?")
    holiday = judge(question, _context("Rovers travel to Millbrook Town on Boxing Day."))
    other = judge(question, _context("Rovers travel to Millbrook Town on Christmas Eve."))
    assert holiday.missing == () and not holiday.missing_anchor
    assert other.missing == ("26 December",) and other.missing_anchor


def test_an_amount_naming_another_measure_is_another_thing() -> None:
    """ "Its 2% target" does not answer "what was the inflation rate"; "2.4% in the year" may."""
    question = analyse("What was the core inflation rate in October?")
    target = judge(question, _context("The bank wants inflation back at its 2% target."), None, _vectors([]))
    rate = judge(question, _context("Inflation was 2.4% in the year to October."), None, _vectors([]))
    assert target.missing_anchor and not rate.missing_anchor


def test_judge_finds_constraints_in_the_rest_of_the_article() -> None:
    analysis = analyse("How many SU7 sedans did Xiaomi deliver in December 2024?")
    sentence = "It delivered more than 20,000 of them that month."
    article = f"Xiaomi said on Wednesday that SU7 deliveries in December 2024 beat forecasts. {sentence}"

    judgement = judge(analysis, _context(sentence, article=article))

    assert judgement.missing == () and judgement.numbers == 1.0 and judgement.names == 1.0


@pytest.mark.parametrize(
    ("question", "sentence", "short"),
    [
        # the words of a name the question already says, or a title, are not the answer
        (
            "Which Westmere Council member proposed the bus scheme?",
            "The bus scheme was proposed by Westmere Council Member Bernard Quist in May.",
            "Bernard Quist",
        ),
        (
            "Which council official signed the tram contract?",
            "The contract was signed by Mayor Ingrid Vallen after the vote.",
            "Ingrid Vallen",
        ),
        # a dateline says where a report was filed, not what it says
        (
            "Which company recalled the routers?",
            "GULLHAVEN — Northlight Systems recalled the routers on Monday.",
            "Northlight Systems",
        ),
        (
            "Which chain cut its prices?",
            "WESTMERE, Jun 15 (Newswire) - The Norland Grocers chain cut its prices.",
            "Norland Grocers",
        ),
        # a question of no particular kind takes a name of any kind
        (
            "The storm closed which crossing?",
            "Officials in Gullhaven said the storm closed the Aldridge Crossing overnight.",
            "Aldridge Crossing",
        ),
    ],
)
def test_the_short_answer_is_the_name_itself(question: str, sentence: str, short: str) -> None:
    judgement = judge(analyse(question), _context(sentence))
    assert judgement.short_answer is not None and judgement.short_answer.text == short


@pytest.mark.parametrize(
    ("sentence", "title", "names"),
    [
        # a plural of an everyday word opening a sentence is no name, even when the headline, run on
        # without a full stop, ends just before it
        (
            "Astronomers using the Aurora Telescope have found a planet.",
            "New telescope spots a planet 412 light-years away",
            {"Aurora Telescope"},
        ),
        # nor a compound of everyday words; a compound with a rare part is
        (
            "Third-party candidate Robert Kennedy met Jean-Luc Martin.",
            "",
            {"Robert Kennedy", "Jean-Luc Martin"},
        ),
        # nor is "I" in its contractions, nor a capital of a title-case headline
        ('"I\'m delighted for Kieran," Daniel said.', "", {"Kieran", "Daniel"}),
        ("Researchers said the planet is rocky.", "Researchers Say Planet Is Rocky", set()),
        # a place of the gazetteer opening a sentence is a name, everyday word or not
        ("Cuba's power grid collapsed overnight.", "Power grid collapse", {"Cuba"}),
        # a body's name runs on through "for"
        (
            "It was led by Dr. Mariam Halloran of the Ridgecrest Institute for Astrophysics.",
            "",
            {"Mariam Halloran", "Ridgecrest Institute for Astrophysics"},
        ),
        ("The Centre for Policy Studies said so, for Reuters.", "", {"Centre for Policy Studies", "Reuters"}),
    ],
)
def test_which_capitalised_words_are_names(sentence: str, title: str, names: set[str]) -> None:
    vocabulary = facts(sentence, None, title).vocabulary
    assert {span.text for span in spans(sentence, vocabulary) if span.kind in NAME_KINDS} == names


@pytest.mark.parametrize(
    ("sentence", "thing"),
    [
        ("Storm Idris swept across the harbour city overnight.", "Storm Idris"),
        ("Crews cleared roads after Hurricane Milton passed.", "Hurricane Milton"),
        ("The planet lies 412 light-years from Earth in the constellation Lyra.", "Lyra"),
        ("Astronomers using the new Aurora Survey Telescope found it.", "Aurora Survey Telescope"),
        ("So the Aurora telescope began science operations in late 2024.", "Aurora"),
    ],
)
def test_names_of_things_answer_no_who_where_or_which_company(sentence: str, thing: str) -> None:
    """A storm, a constellation, a planet or a telescope is named, but is neither a person, a body
    nor a place; it still answers "which storm"."""
    vocabulary = facts(sentence, None, "").vocabulary
    kinds = {span.text: span.kind for span in spans(sentence, vocabulary)}
    assert kinds[thing] is Kind.THING
    for question in ("Who runs it?", "Which company runs it?", "Where is it?", "In which journal was it?"):
        assert judge(analyse(question), _context(sentence)).short_answer is None
    assert (judge(analyse("Which storm or planet was it?"), _context(sentence)).typed or 0) >= 0.9


@pytest.mark.parametrize(
    ("question", "sentence", "short"),
    [
        # a place, a person or a body is no hurricane, no film
        (
            "What is the name of the hurricane threatening California?",
            "The storm was expected to dump rain on the San Francisco Bay Area.",
            None,
        ),
        (
            "Which film leads the Oscar nominations?",
            "Director Brady Corbet's The Brutalist leads with 10.",
            "Brutalist",
        ),
        # a country is no city
        ("Which UK city saw unrest?", "Unrest among young men with roots in India grew.", None),
        ("Which UK city saw unrest?", "Unrest spread from India to Leicester.", "Leicester"),
        # an acronym of a thing is no body; a word the question says in another inflection is no answer
        ("Which automaker lost money?", "The SUV sold well, but Honda lost money.", "Honda"),
        ("Which Republican candidate won?", "Republicans cheered as Donald Trump won.", "Donald Trump"),
    ],
)
def test_a_name_of_another_kind_of_thing_than_asked_is_no_answer(
    question: str, sentence: str, short: str | None
) -> None:
    judgement = judge(analyse(question), _context(sentence))
    assert (judgement.short_answer.text if judgement.short_answer else None) == short


def test_a_name_with_the_focus_noun_in_it_fits_fully_unless_it_is_a_persons() -> None:
    """ "Howard University" is a university; "James Singer" is no singer."""
    assert (
        judge(
            analyse("At which university did she speak?"), _context("She spoke at Howard University.")
        ).typed
        == 1.0
    )
    judgement = judge(
        analyse("Which singer criticised it?"), _context("Spokesman James Singer criticised it.")
    )
    assert judgement.typed is not None and judgement.typed < 1.0


def test_a_part_of_a_counted_whole_is_counted_with_it() -> None:
    """ "Five of its seven members": "how many members backed it" is answered by the part, and the
    whole stands with it."""
    sentence = "The decision was backed by five of its seven members."
    judgement = judge(analyse("How many of the committee's members backed the decision?"), _context(sentence))
    assert judgement.short_answer is not None and judgement.short_answer.text == "five of its seven members"


def test_the_wh_phrase_window_does_not_outrank_a_better_kind() -> None:
    """The subject standing where the question's wh-phrase would ("Governor Elsa Varnholt told") does
    not outrank a name that fits the kind asked better ("in the capital, Kessby")."""
    sentence = "Governor Elsa Varnholt told reporters in the capital, Kessby, that inflation was easing."
    judgement = judge(analyse("What is the name of Norland's capital?"), _context(sentence))
    assert judgement.short_answer is not None and judgement.short_answer.text == "Kessby"


def test_a_thing_stays_a_thing_without_the_words_the_question_says() -> None:
    judgement = judge(
        analyse("What was the name of the storm?"), _context("Storm Idris swept across the harbour city.")
    )
    assert judgement.short_answer is not None
    assert (judgement.short_answer.text, judgement.short_answer.kind) == ("Idris", Kind.THING)


def test_a_name_the_question_says_in_a_compound_is_no_answer() -> None:
    """ "Hong Kong-based" says Hong Kong: it does not answer with what is left of it."""
    judgement = judge(
        analyse("Who is the Hong Kong-based strategist who commented?"),
        _context("The subsidy helps Hong Kong firms, said a strategist who follows them."),
    )
    assert judgement.short_answer is None and judgement.typed == 0.0


@pytest.mark.parametrize(
    ("question", "short"),
    [("A former prime minister of which nation was shot?", "Japan"), ("Where was he shot?", "Kashihara")],
)
def test_which_country_is_answered_by_a_country(question: str, short: str) -> None:
    """A country of the gazetteer answers "which country/nation" before a nearer city."""
    sentence = "The former prime minister was shot while campaigning in Kashihara, a city in Japan."
    judgement = judge(analyse(question), _context(sentence))
    assert judgement.short_answer is not None and judgement.short_answer.text == short


def test_which_country_is_not_answered_by_another_name() -> None:
    """The gazetteer lists every country: "which country" gets nothing from a sentence naming none,
    whatever other names it holds ("Lei", "Xiaomi")."""
    question = analyse("Which country will Xiaomi's car business enter first when it expands overseas?")
    for sentence in (
        "For Lei, who founded Xiaomi as a smartphone company, the car business is the centrepiece.",
        "Xiaomi plans to sell its cars overseas from 2027, Lei Jun said.",
    ):
        judgement = judge(question, _context(sentence))
        assert judgement.short_answer is None and judgement.typed == 0.0
    judgement = judge(question, _context("Xiaomi will start selling its cars in the U.S. next year."))
    assert judgement.short_answer is not None and judgement.short_answer.text == "U.S"


@pytest.mark.parametrize(
    ("sentence", "short"),
    [
        (
            "The hall's new class includes Cher, Mary J. Blige and Dave Matthews Band.",
            "Cher, Mary J. Blige and Dave Matthews Band",
        ),
        # a name beside another with no "and" is no list
        ("The new class, Cher, was inducted.", "Cher"),
    ],
)
def test_a_name_in_a_list_answers_with_the_list(sentence: str, short: str) -> None:
    judgement = judge(analyse("Which artist was inducted into the hall?"), _context(sentence))
    assert judgement.short_answer is not None and judgement.short_answer.text == short


@pytest.mark.parametrize(
    "sentence",
    [
        "Hackers threatened to leak data stolen from Reddit, according to a post reviewed by CNN.",
        "(CNN) Hackers threatened to leak data stolen from Reddit.",
        "Hackers threatened to leak data stolen from Reddit, said Vice News.",
    ],
)
def test_the_source_a_sentence_cites_is_seldom_the_answer(sentence: str) -> None:
    """The outlet a sentence cites ("reviewed by CNN", "(CNN)") tells who reported, not what."""
    judgement = judge(analyse("Which tech company did the hackers steal data from?"), _context(sentence))
    assert judgement.short_answer is not None and judgement.short_answer.text == "Reddit"


@pytest.mark.parametrize(
    ("question", "sentence", "short"),
    [
        ("Who is the mayor of Westmere?", "The plan was backed by mayor Ingrid Vallen.", "Ingrid Vallen"),
        ("Who is the mayor of Westmere?", "The plan was backed by deputy mayor Ingrid Vallen.", None),
        ("Who is the deputy mayor?", "The plan was backed by deputy mayor Ingrid Vallen.", "Ingrid Vallen"),
        ("Who will referee the derby?", "Striker Daniel Okafor scored twice in the derby.", None),
        ("Who will referee the derby?", "Anna Price has been appointed referee for it.", "Anna Price"),
        # a report of a match played names no referee of one to come
        ("Who will referee the derby?", "Anna Price, the referee, sent two players off.", None),
        ("Who refereed the derby?", "Anna Price, the referee, sent two players off.", "Anna Price"),
        # "who leads / runs / is in charge of" asks for a leader by any title
        ("Who is in charge of the club?", "Striker Daniel Okafor scored twice for the club.", None),
        (
            "Who is in charge of the club?",
            "The reaction was superb, said club manager Helen Marsh.",
            "Helen Marsh",
        ),
        ("Who runs the utility?", "Its chief executive Omar Lind apologised.", "Omar Lind"),
        # a verb of a role asks for that role, by its title or its verb
        ("Who refereed the derby?", "The crowd was incredible, said Rovers manager Helen Marsh.", None),
        ("Who refereed the derby?", "Referee: Andrew Pryce.", "Andrew Pryce"),
        ("Who founded the company?", "The company was founded by Lei Jun in 2010.", "Lei Jun"),
        ("Who designed the trams?", "The line links the districts of Brackenfield and Ostmoor.", None),
        # a role said of the person, or a "which" question, asks no role of the sentence
        ("Who will become a professor?", "Peyton Manning will teach at the college.", "Peyton Manning"),
        ("Which singer released a film?", "Taylor Swift released a concert film.", "Taylor Swift"),
    ],
)
def test_who_is_the_role_needs_a_name_the_sentence_gives_that_role(
    question: str, sentence: str, short: str | None
) -> None:
    """ "Who is the mayor" is answered by a name the sentence calls the mayor, not by a deputy mayor
    or a striker: a sentence with no such name has no answer of the kind asked."""
    judgement = judge(analyse(question), _context(sentence))
    assert (judgement.short_answer.text if judgement.short_answer else None) == short
    assert (judgement.typed == 0.0) is (short is None)


@pytest.mark.parametrize(
    ("sentence", "typed"),
    [
        ("The bank cut rates on 6 November 2024.", 1.0),
        ("The bank cut rates on Thursday.", 0.6),
        ("The bank cut rates in 2024.", 0.2),
    ],
)
def test_on_what_date_asks_for_a_day(sentence: str, typed: float) -> None:
    """ "On what date" is answered by a day; a weekday says less, a year hardly anything."""
    assert judge(analyse("On what date did the bank cut rates?"), _context(sentence)).typed == typed


def test_a_date_of_another_year_does_not_answer() -> None:
    question = analyse("When in 2024 did the stock fall to its low?")
    assert judge(question, _context("The stock fell to its low on 3 January 2025.")).typed == 0.0
    assert judge(question, _context("The stock fell to its low on 5 March 2024.")).typed == 1.0


def test_a_time_counted_back_needs_a_sentence_about_an_earlier_time() -> None:
    """ "A year earlier" or "last year" asks for another figure than today's: a sentence that speaks
    of no earlier time does not give it; "600 years ago" is history, not a time counted back."""
    question = analyse("What was the unemployment rate a year earlier?")
    assert judge(question, _context("Unemployment has edged up to 5.1%.")).missing_anchor
    assert not judge(question, _context("Unemployment rose to 5.1% from 4.6% a year earlier.")).missing_anchor
    history = analyse("What animal spread the plague over 600 years ago?")
    assert not judge(history, _context("Marmots carried the plague.")).missing_anchor


@pytest.mark.parametrize(
    ("sentence", "published", "typed"),
    [
        ("The stock fell to its low on Friday.", date(2025, 1, 4), 0.0),  # that Friday is in 2025
        ("The stock fell to its low on Friday.", date(2024, 9, 7), 1.0),
        ("The stock fell to its low last year.", date(2025, 1, 4), 1.0),  # "last year" is 2024
        ("The stock fell to its low last year.", date(2024, 9, 7), 0.0),
        ("The stock fell to its low on Friday.", None, 1.0),  # undated: the weekday may be of 2024
    ],
)
def test_a_weekday_or_last_year_is_of_the_articles_year(
    sentence: str, published: date | None, typed: float
) -> None:
    question = analyse("When in 2024 did the stock fall to its low?")
    assert judge(question, _context(sentence, published=published)).typed == typed


def test_a_dateline_still_answers_where() -> None:
    judgement = judge(
        analyse("Where were the routers recalled?"), _context("GULLHAVEN — The routers were recalled.")
    )
    assert judgement.short_answer is not None and judgement.short_answer.text == "GULLHAVEN"


def test_a_short_name_is_given_as_the_article_writes_it_in_full() -> None:
    analysis = analyse("Which striker scored twice?")
    sentence = "Okafor scored twice before the break."
    article = f"Harbourside Rovers beat Eastvale Athletic, with striker Daniel Okafor in form. {sentence}"
    where = _context(sentence, article=article)
    judgement = judge(analysis, where)

    assert judgement.short_answer is not None and judgement.short_answer.text == "Okafor"
    assert full_name(judgement.short_answer, where, analysis) == "Daniel Okafor"
    # words the question says are not added ("Which Rovers striker": not "Rovers Okafor")
    said = analyse("Which Rovers striker scored twice?")
    rovers = _context(sentence, article=f"The Rovers Okafor scored. {sentence}")
    assert full_name(judge(said, rovers).short_answer, rovers, said) == "Okafor"  # type: ignore[arg-type]


def _vectors(groups: list[set[str]]) -> Callable[[str], np.ndarray]:
    """Static word vectors for a test: the words of a group share a unit vector, every other word
    has one of its own, orthogonal to all the rest."""
    axis: dict[str, int] = {word: i for i, group in enumerate(groups) for word in group}

    def vector(word: str) -> np.ndarray:
        out = np.zeros(256)
        out[axis.setdefault(word, len(groups) + len(axis))] = 1.0
        return out

    return vector


def test_a_number_is_bound_to_the_question_by_the_words_around_it() -> None:
    """A number answers a count, money or share question when the words within `BOUND_WORDS` of it
    include one the question asks with, in form or near in meaning; not when it counts another thing."""
    question = analyse("How much will the Harlow Lane depot cost?")
    sentence = "The council set up a compensation fund of €4.5 million for shops on the route."
    money = next(span for span in spans(sentence) if span.kind is Kind.MONEY)
    unrelated = _vectors([])
    alike = _vectors([{"cost", "fund"}])

    assert bound(question, sentence, money, unrelated) == 0.0
    assert bound(question, sentence, money, alike) == 1.0
    stated = "The depot will cost €4.5 million, the council said after a long meeting on the route."
    assert bound(question, stated, next(s for s in spans(stated) if s.kind is Kind.MONEY), unrelated) == 1.0
    far = "The depot was approved by the council on Monday after a long debate about a fund of €4.5 million."
    assert bound(question, far, next(s for s in spans(far) if s.kind is Kind.MONEY), unrelated) == 0.0
    # what a number counts is said by its own unit too
    counted = "There are more than 10,000 monkeypox cases in the US, according to the CDC."
    cases = next(s for s in spans(counted) if s.kind is Kind.NUMBER)
    assert cases.text == "10,000 monkeypox cases"
    assert bound(analyse("How many monkeypox cases are there?"), counted, cases, unrelated) == 1.0


def test_judge_binds_only_number_answers() -> None:
    unrelated = _vectors([])
    sentence = "Harbourside Rovers gave a bonus of €4,000 to striker Daniel Okafor."
    money = judge(analyse("How much did the depot cost?"), _context(sentence), None, unrelated)
    person = judge(analyse("Who will referee the derby?"), _context(sentence), None, unrelated)
    assert money.short_answer is not None and money.bound == 0.0
    assert person.bound == 1.0  # a name is not bound this way
    assert judge(analyse("How much did the depot cost?"), _context(sentence)).bound == 1.0  # no vectors


def test_a_rare_acronym_the_article_never_states_pins_another_fact() -> None:
    """A rare acronym of the question ("CVE") that the article never states, nor spells out, names a
    fact it does not hold; an everyday one ("US") does not pin anything."""
    article = "Researchers at Northlight Security found the flaw in the Linkwave router."
    rare = judge(
        analyse("What CVE identifier was given to the Linkwave flaw?"), _context(article, article=article)
    )
    everyday = judge(analyse("Which US firm found the Linkwave flaw?"), _context(article, article=article))
    assert rare.missing == ("CVE",) and rare.missing_anchor
    assert everyday.missing == ("US",) and not everyday.missing_anchor


def test_no_span_of_the_expected_kind_means_no_fit() -> None:
    analysis = analyse("How much did the depot cost?")
    judgement = judge(analysis, _context("The depot will be built on the site of an old bus garage."))
    assert judgement.typed == 0.0 and judgement.short_answer is None


def test_a_why_question_needs_a_cause_and_no_span() -> None:
    analysis = analyse("Why did the central bank cut rates?")
    cause = judge(analysis, _context("The bank cut rates because price growth slowed."))
    none = judge(analysis, _context("The bank cut rates on Thursday."))
    assert (cause.typed, cause.short_answer) == (1.0, None)
    assert none.typed == 0.0
    sent_off = judge(
        analyse("Why was the captain sent off?"), _context("He was booked twice, for a late challenge.")
    )
    assert sent_off.typed == 1.0  # "for a ..." gives the reason for a penalty


@pytest.mark.parametrize(
    ("name", "text", "coverage"),
    [
        (("asia",), "Thailand became the third Asian nation to do so.", 1.0),
        (("united", "auto", "workers"), "The UAW called a strike.", 1.0),
        (("donald", "trump"), "On Monday, Trump said that he would sign it.", 0.75),
        (("donald", "trump"), "On Monday, Mr Trump said that he would sign it.", 0.75),
        (("harlow", "lane"), "The depot will stand at Moor Lane.", None),
        (("india",), "Xiaomi sells phones in China.", 0.0),
    ],
)
def test_name_coverage(name: tuple[str, ...], text: str, coverage: float | None) -> None:
    constraint = Constraint(" ".join(name).title(), "name", name, 3.0, 0, 0)
    found = name_coverage(constraint, facts(text))
    if coverage is None:
        assert 0.0 < found < 0.75  # a common word of the name is there, its distinctive one is not
    else:
        assert found == coverage


@pytest.mark.parametrize(
    ("question", "focus"),
    [
        ("What is Xiaomi's market share in India?", "market share"),
        ("What is the annual interest rate?", "interest rate"),
        ("What is the new fee?", "fee"),
        ("What was the strongest gust during Storm Idris?", "gust"),
    ],
)
def test_the_measure_asked_for_keeps_its_compound_noun(question: str, focus: str) -> None:
    analysis = analyse(question)
    assert analysis.focus_at is not None
    assert question[slice(*analysis.focus_at)] == focus


def test_the_measure_must_be_stated_as_asked() -> None:
    """ "market share" is not stated by a text that says "market value" and "per share"."""
    analysis = analyse("What is Xiaomi's market share?")
    other = Context(["Xiaomi's market value rose.", "It closed at 200% of its low, or HKD 36 per share."], 1)
    same = Context(["Xiaomi's market share rose.", "It reached 14% of phones sold."], 1)
    assert judge(analysis, other).focus == 0.0  # no stored vectors: no meaning to fall back on
    assert judge(analysis, same).focus == 1.0


@pytest.mark.parametrize(
    ("question", "sentence", "typed"),
    [
        ("What is Xiaomi's market share?", "Its value neared one trillion Hong Kong dollars.", 0.0),
        ("What is Xiaomi's market share?", "It has 14% of the market.", 1.0),
        ("How much did the depot cost?", "The depot employs 300 people.", 0.1),  # 0.5 x 0.2 for a unit
        ("How many people work at the depot?", "The depot will cost €40 million.", 0.0),  # no count
        ("How many trams will Westmere buy?", "About 60 percent of the trams are new.", 0.0),
        ("How much is spent on the depot?", "The depot will cost €40 million.", 1.0),
        # an amount of a thing is measured in units, not counted in other things
        ("How much rain fell in the storm?", "Forty-one schools closed in the storm.", 0.3),
        ("How much rain fell in the storm?", "The storm brought 80 mm in a night.", 1.0),
        ("How much oil does the field hold?", "The field holds 2 billion barrels.", 1.0),
    ],
)
def test_numbers_fit_measures_by_their_unit_and_size(question: str, sentence: str, typed: float) -> None:
    assert judge(analyse(question), _context(sentence)).typed == typed


@pytest.mark.parametrize(
    ("question", "gives"),
    [
        ("Who officiated the derby between Rovers and Eastvale?", True),
        ("Who will referee the return derby between Rovers and Eastvale?", False),  # a match to come
        ("Who refereed Rovers' game at Millbrook Town?", False),  # not beside Millbrook Town
        ("Who scored for Rovers?", False),  # no role asked
    ],
)
def test_a_sentence_giving_the_role_asked_for_is_worth_reading(question: str, gives: bool) -> None:
    lines = [
        "Rovers: Whitcombe; Doyle, Asante.",
        "Eastvale: Kowalski; Holloway, Reyes.",
        "Referee: Andrew Pryce.",
    ]
    context = Context(lines, 2, title="Rovers beat Eastvale 3-1 in the derby")
    assert gives_role(analyse(question), context) is gives


@pytest.mark.parametrize(
    ("question", "sentence", "short"),
    [
        ("What is the mass of the planet?", "It is roughly 3.1 times as massive as Earth.", "3.1 times"),
        ("What is the mass of the star?", "It circles its star once every 19.4 days.", None),
        (
            "Which ferry operator cancelled sailings?",
            "Sailings were cancelled by Harbour Lines Ltd.",
            "Harbour Lines Ltd",
        ),
    ],
)
def test_masses_and_operators_are_kinds_of_answer(question: str, sentence: str, short: str | None) -> None:
    judgement = judge(analyse(question), _context(sentence))
    assert judgement.typed is not None
    assert (
        judgement.short_answer.text if judgement.typed >= 0.5 and judgement.short_answer else None
    ) == short


def test_an_amount_said_of_another_body_is_not_the_questions() -> None:
    """A sentence that gives its year of another company than the question's, and names it, does
    not answer; one naming no company may speak of the question's; a body may be the answer asked."""
    article = "Xiaomi shares rose. BYD took 10 years to reach annual sales of 300,000."
    question = analyse("In which year did BYD first reach annual sales of 300,000 vehicles?")
    rival = "Lei Jun set a delivery target of 300,000 vehicles for Xiaomi in 2025."
    assert judge(question, _context(rival, article=article)).missing_anchor
    unnamed = "The company reached annual sales of 300,000 vehicles in 2018."
    assert not judge(question, _context(unnamed, article=article)).missing_anchor
    which = analyse("Which company did BYD overtake in sales?")
    assert not judge(
        which, _context("Sales of 300,000 vehicles put Xiaomi behind.", article=article)
    ).missing_anchor


def test_a_version_the_question_states_is_no_answer() -> None:
    question = analyse("How many customers have installed firmware 3.4.2?")
    judgement = judge(question, _context("A firmware update, version 3.4.2, was released last week."))
    assert judgement.typed == 0.0 and judgement.short_answer is None


@pytest.mark.parametrize("noun", ["office", "authority", "commission", "operator"])
def test_which_body_asks_for_an_organisation(noun: str) -> None:
    assert analyse(f"Which {noun} published the figures?").expects is Kind.ORGANISATION


@pytest.mark.parametrize(
    ("sentence", "typed"),
    [
        ("Wallstreetcn 2025.01.03 11:42", 1.0),
        ("The story ran shortly after 2 a.m. on Friday.", 1.0),
        ("Xiaomi shares closed at a record on 3 January 2025.", 0.3),  # a day, not a time of it
    ],
)
def test_at_what_time_asks_for_a_time_of_day(sentence: str, typed: float) -> None:
    assert judge(analyse("At what time was the Xiaomi article posted?"), _context(sentence)).typed == typed


def test_how_high_asks_for_an_amount_of_any_kind() -> None:
    """ "How high has unemployment climbed" is answered by a share as well as by a height."""
    question = analyse("How high has unemployment in Norland climbed?")
    assert judge(question, _context("Unemployment has edged up to 5.1%.")).typed == 1.0


@pytest.mark.parametrize(
    ("question", "short"),
    [
        ("By how much did the crown fall?", "six basis points"),  # "two-year" tells the bonds' term
        ("How long do the government bonds run?", "two-year"),
    ],
)
def test_a_number_joined_to_its_unit_describes_the_noun_after_it(question: str, short: str) -> None:
    sentence = "Yields on two-year government bonds fell by six basis points."
    judgement = judge(analyse(question), _context(sentence))
    assert judgement.short_answer is not None and judgement.short_answer.text == short


def test_a_mirror_is_measured_by_the_number_joined_to_it() -> None:
    question = analyse("How big is the primary mirror of the telescope?")
    judgement = judge(question, _context("The telescope has a 2.6-metre main mirror and a wide camera."))
    assert judgement.short_answer is not None and judgement.short_answer.text == "2.6-metre"


def test_a_noun_named_by_another_time_is_another_thing() -> None:
    """ "the committee's November meeting" does not tell of "the August meeting"."""
    question = analyse("How many members voted for the cut at the bank's August meeting?")
    november = "The decision, taken at the committee's November meeting, was backed by five members."
    assert judge(question, _context(november)).missing_anchor
    august = "At its August meeting five members voted for the cut, as at its November meeting."
    assert not judge(question, _context(august)).missing_anchor
    assert not judge(analyse("How many members voted for the cut?"), _context(november)).missing_anchor


def test_a_rates_move_counts_nothing() -> None:
    """Basis points measure a rate's move; they count no members."""
    question = analyse("How many committee members voted for the cut?")
    judgement = judge(question, _context("The committee cut the rate by 25 basis points."))
    assert judgement.typed is not None and judgement.typed < 0.5


def test_an_amount_in_a_clause_about_other_words_answers_nothing() -> None:
    """Two of the question's words in another clause, none in the amount's: the amount is another's."""
    question = analyse("By how much did the crown fall against the euro?")
    sentence = (
        "The crown weakened against the euro, while yields on government bonds dropped by six basis points."
    )
    assert judge(question, _context(sentence)).missing_anchor


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("The company wants to curb emissions of which gas?", "gas"),
        ("Inspectors found the virus in which type of grocery item?", "grocery item"),
        ("The charity wants to tackle what social crisis?", "social crisis"),
        ("Who won the derby?", None),  # typed by the word lists: a person
        ("How many trams will the city buy?", None),
        ("What happened in the harbour?", None),  # no kind named
    ],
)
def test_the_kind_a_question_asks_for(question: str, phrase: str | None) -> None:
    assert kind_phrase(analyse(question)) == phrase


def test_the_words_closest_to_the_kind_asked_for_are_the_short_answer(
    embeddings: store.SentenceTransformerEmbeddings,
) -> None:
    """The model says which words of a sentence are the kind of thing asked for; words the question
    says are never the answer, and nothing close enough is no answer."""
    sentence = (
        "Dairy farms in the region will change their feed to cut methane from their cows, the retailer said."
    )
    span = meant_span(
        analyse("The retailer wants to curb emissions of which gas?"), sentence, embeddings.encode
    )
    assert span is not None and span.text == "methane"
    disease = "The first affordable vaccine against malaria was given to children in Ghana this week."
    span = meant_span(
        analyse("A vaccine for which deadly disease was rolled out?"), disease, embeddings.encode
    )
    assert span is not None and span.text == "malaria"
    assert (
        meant_span(
            analyse("Which gas did the retailer name?"), "The retailer said nothing.", embeddings.encode
        )
        is None
    )
    assert meant_span(analyse("Who said it?"), sentence, embeddings.encode) is None
