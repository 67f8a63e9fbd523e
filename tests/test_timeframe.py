"""Time in questions: relative expressions become publication windows computed from the "as of" date.

Every case uses fixed dates; nothing here reads the machine's clock.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.answering.timeframe import (
    Freshness,
    TimeWindow,
    is_time_bound,
    named_times,
    time_window,
    wants_recent,
)

WED = date(2025, 3, 12)  # a Wednesday in the middle of a month


WINDOWS: list[tuple[str, date, date, date, bool]] = [
    # question, as_of, start, end, strong
    ("What happened today?", WED, WED, WED, True),
    ("What happened yesterday?", WED, date(2025, 3, 11), date(2025, 3, 11), True),
    ("What happened yesterday?", date(2025, 3, 1), date(2025, 2, 28), date(2025, 2, 28), True),
    ("What happened this week?", WED, date(2025, 3, 6), WED, True),
    ("What happened last week?", WED, date(2025, 2, 27), date(2025, 3, 5), True),
    ("What happened this month?", WED, date(2025, 3, 1), WED, True),
    ("What happened last month?", WED, date(2025, 2, 1), date(2025, 2, 28), True),
    ("What happened last month?", date(2025, 1, 15), date(2024, 12, 1), date(2024, 12, 31), True),
    ("What happened last month?", date(2025, 1, 1), date(2024, 12, 1), date(2024, 12, 31), True),
    ("What happened last month?", date(2024, 3, 31), date(2024, 2, 1), date(2024, 2, 29), True),
    ("What happened this year?", WED, date(2025, 1, 1), WED, True),
    ("What happened last year?", WED, date(2024, 1, 1), date(2024, 12, 31), True),
    ("What did the bank decide in 2024?", WED, date(2024, 1, 1), date(2024, 12, 31), False),
    ("What did the bank decide in 2025?", WED, date(2025, 1, 1), WED, False),
    ("What did the bank decide in March 2024?", WED, date(2024, 3, 1), date(2024, 3, 31), False),
    ("What did the bank decide in March?", WED, date(2025, 3, 1), WED, False),
    ("What did the bank decide in March?", date(2025, 2, 10), date(2024, 3, 1), date(2024, 3, 31), False),
    ("What did the bank decide in March?", date(2025, 4, 2), date(2025, 3, 1), date(2025, 3, 31), False),
    ("What has the bank done since May?", WED, date(2024, 5, 1), WED, False),
    ("What has the bank done since May?", date(2025, 8, 20), date(2025, 5, 1), date(2025, 8, 20), False),
]


@pytest.mark.parametrize(("question", "as_of", "start", "end", "strong"), WINDOWS)
def test_relative_expression_maps_to_its_window(
    question: str, as_of: date, start: date, end: date, strong: bool
) -> None:
    """Each expression gives the expected inclusive window, strong for relative phrases, soft for names."""
    window = time_window(question, as_of)
    assert window is not None
    assert (window.start, window.end, window.strong) == (start, end, strong)


@pytest.mark.parametrize(
    ("question", "start"),
    [
        ("What has the bank done since 2024?", date(2024, 1, 1)),
        ("What has the bank done since March 2024?", date(2024, 3, 1)),
    ],
)
def test_since_a_named_period_runs_to_as_of(question: str, start: date) -> None:
    """ "Since" opens a window that runs from the named period up to the as-of date."""
    window = time_window(question, WED)
    assert window is not None
    assert (window.start, window.end, window.strong) == (start, WED, False)


@pytest.mark.parametrize(
    "question",
    [
        "What is the 2025 delivery target?",
        "May I ask who won the derby?",
        "Who is Priya Raman?",
        "How many homes lost power in the storm?",
    ],
)
def test_no_window_without_a_time_expression(question: str) -> None:
    """A year used as a name, or "May" as a verb, is not a time window."""
    assert time_window(question, WED) is None


@pytest.mark.parametrize(
    ("question", "recent"),
    [
        ("What is the latest on the Xiaomi rally?", True),
        ("Who is currently leading the league?", True),
        ("What is Xiaomi's share price now?", True),
        ("What is the most recent rate decision?", True),
        ("Who won the derby?", False),
        ("Does anyone know about the snow?", False),  # "now" only inside other words
    ],
)
def test_wants_recent(question: str, recent: bool) -> None:
    """Words asking for the newest state turn on the recency preference; other questions do not."""
    assert wants_recent(question) is recent


@pytest.mark.parametrize(
    ("question", "bound"),
    [
        ("What is Xiaomi's share price now?", True),
        ("What happened last week?", True),
        ("What did the bank decide in March 2024?", True),
        ("How many homes lost power in the storm?", False),
        ("What is the 2025 delivery target?", False),
    ],
)
def test_is_time_bound(question: str, bound: bool) -> None:
    """A question is time-bound when it names a window or asks for the latest news."""
    assert is_time_bound(question, WED) is bound


AS_OF_DATES = [
    date(2025, 1, 1),
    date(2025, 1, 31),
    date(2024, 2, 29),
    date(2025, 3, 1),
    WED,
    date(2025, 12, 31),
]


@pytest.mark.parametrize("as_of", AS_OF_DATES, ids=str)
@pytest.mark.parametrize("question", sorted({case[0] for case in WINDOWS}))
def test_windows_never_end_after_as_of(question: str, as_of: date) -> None:
    """No window reaches past the date the question is asked on."""
    window = time_window(question, as_of)
    assert isinstance(window, TimeWindow)
    assert window.end <= as_of
    assert as_of + timedelta(days=1) not in window
    if window.start <= as_of:  # a named period after as_of ("in 2025" asked in 2024) is left empty
        assert window.start <= window.end
        assert window.start in window and window.end in window


# ----------------------------------------------------------------------------- freshness

NEWEST = date(2025, 3, 10)
FRESHNESS = Freshness(full_days=60, scale_days=365, floor=0.3, current_full_days=7, current_scale_days=14)


def test_an_article_within_full_days_of_the_newest_news_is_fully_fresh() -> None:
    factor = FRESHNESS.factor("Who won the derby?", WED, NEWEST - timedelta(days=60), NEWEST)
    assert factor == 1.0


def test_older_articles_decay_down_to_the_floor() -> None:
    ages = [90, 200, 400, 3000]
    factors = [FRESHNESS.factor("Who won the derby?", WED, NEWEST - timedelta(days=a), NEWEST) for a in ages]
    assert factors == sorted(factors, reverse=True) and factors[0] < 1.0
    assert factors[-1] == FRESHNESS.floor


@pytest.mark.parametrize(
    "question", ["Who is the new coach?", "Which team is leading the league?", "What happened this week?"]
)
def test_a_question_about_the_present_wants_fresher_news(question: str) -> None:
    published = NEWEST - timedelta(days=30)
    assert FRESHNESS.factor(question, NEWEST, published, NEWEST) < FRESHNESS.factor(
        "Who won the derby?", NEWEST, published, NEWEST
    )


def test_a_named_time_makes_its_own_articles_fresh_and_others_decay_with_distance() -> None:
    """Articles of the named time are fresh, and so are those reporting on it within `report_days`
    after it ("prices rose in March" is news in April); an article from before it cannot know."""
    question = "What did the bank decide in March 2024?"
    inside = FRESHNESS.factor(question, WED, date(2024, 3, 14), NEWEST)
    reported = FRESHNESS.factor(question, WED, date(2024, 3, 31) + timedelta(FRESHNESS.report_days), NEWEST)
    before = FRESHNESS.factor(question, WED, date(2024, 2, 20), NEWEST)
    near = FRESHNESS.factor(question, WED, date(2024, 5, 20), NEWEST)
    far = FRESHNESS.factor(question, WED, date(2025, 3, 1), NEWEST)
    assert inside == reported == 1.0 > before
    assert 1.0 > near > far >= FRESHNESS.current_floor


def test_a_sentence_naming_the_time_asked_about_is_fresh_whenever_published() -> None:
    """ "1.4% in its August forecast", in a November article, tells of August; "in the spring" does
    not, nor does an August of another year."""
    question = "What growth had the bank forecast in August?"
    as_of, published = date(2025, 3, 31), date(2024, 11, 14)
    assert FRESHNESS.factor(question, as_of, published, NEWEST, "1.4% in its August forecast") == 1.0
    assert FRESHNESS.factor(question, as_of, published, NEWEST, "0.9% this year") < 1.0
    assert FRESHNESS.factor(question, as_of, published, NEWEST, "its August 2023 forecast") < 1.0


@pytest.mark.parametrize(
    ("text", "times"),
    [
        ("in its August forecast", [(date(2024, 8, 1), date(2024, 8, 31))]),
        (
            "in December, as in March 2023",
            [(date(2023, 12, 1), date(2023, 12, 31)), (date(2023, 3, 1), date(2023, 3, 31))],
        ),
        ("since 2019", [(date(2019, 1, 1), date(2019, 12, 31))]),
        ("prices may fall; 2,024 units; 3.75%", []),
    ],
)
def test_named_times_are_dated_from_the_article(text: str, times: list[tuple[date, date]]) -> None:
    assert named_times(text, date(2024, 11, 14) if "August" in text else date(2024, 1, 20)) == times


def test_an_undated_article_is_not_judged_by_age() -> None:
    assert FRESHNESS.factor("Who won the derby?", WED, None, NEWEST) == 1.0
