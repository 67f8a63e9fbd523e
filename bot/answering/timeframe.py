"""Time in questions: "this week", "last month", "yesterday", "in 2024", "in March", "the latest".

Every question is answered as of a date. Relative expressions become a window of publication
dates that retrieval prefers; words asking for the newest news turn on a recency preference.
Windows are computed from the "as of" date, never from the machine's clock.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): number for number, name in enumerate(calendar.month_abbr) if name})
# Three-letter abbreviations are left out ("mar", "jan" are words and names), except "may", whose
# full name is three letters; `_IN_MONTH` requires a preposition before it.
_MONTH_NAMES = "|".join(sorted((m for m in _MONTHS if len(m) > 3 or m == "may"), key=len, reverse=True))
_MONTH_YEAR = re.compile(
    rf"\b(?:(in|since)\s+)?({_MONTH_NAMES})\.?(?:\s+of)?\s+((?:19|20)\d\d)\b", re.IGNORECASE
)
_IN_MONTH = re.compile(rf"\b(?:in|during|since|last)\s+({_MONTH_NAMES})\b(?!\s+\d)", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:in|during|of|since)\s+((?:19|20)\d\d)\b", re.IGNORECASE)
_RECENCY = re.compile(
    r"\b(latest|newest|most recent|recent(?:ly)?|current(?:ly)?|now|so far|to date|still|as of)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TimeWindow:
    """Publication dates a question points at, inclusive; `strong` for relative expressions."""

    start: date
    end: date
    label: str
    strong: bool = True

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def _month(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def time_window(question: str, as_of: date) -> TimeWindow | None:
    """The window of publication dates a question refers to, relative to `as_of`, if any."""
    text = question.lower()
    relative: list[tuple[str, date, date]] = [
        ("today", as_of, as_of),
        ("tonight", as_of, as_of),
        ("yesterday", as_of - timedelta(days=1), as_of - timedelta(days=1)),
        ("this week", as_of - timedelta(days=6), as_of),
        ("past week", as_of - timedelta(days=6), as_of),
        ("last week", as_of - timedelta(days=13), as_of - timedelta(days=7)),
        ("this weekend", as_of - timedelta(days=3), as_of),
        ("last weekend", as_of - timedelta(days=9), as_of - timedelta(days=4)),
        ("this month", as_of.replace(day=1), as_of),
        ("past month", as_of - timedelta(days=30), as_of),
        ("this year", date(as_of.year, 1, 1), as_of),
        ("last year", date(as_of.year - 1, 1, 1), date(as_of.year - 1, 12, 31)),
    ]
    for phrase, start, end in relative:
        if re.search(rf"\b{phrase}\b", text):
            return TimeWindow(start, min(end, as_of), phrase)
    if re.search(r"\blast month\b", text):
        previous = as_of.replace(day=1) - timedelta(days=1)
        start, end = _month(previous.year, previous.month)
        return TimeWindow(start, end, "last month")
    if match := _MONTH_YEAR.search(question):
        start, end = _month(int(match.group(3)), _MONTHS[match.group(2).lower()])
        if (match.group(1) or "").lower() == "since":
            end = as_of
        return TimeWindow(start, min(end, as_of), match.group(0).strip(), strong=False)
    if match := _IN_MONTH.search(question):
        month = _MONTHS[match.group(1).lower()]
        year = as_of.year if month <= as_of.month else as_of.year - 1
        start, end = _month(year, month)
        if match.group(0).lower().startswith("since"):
            end = as_of
        return TimeWindow(start, min(end, as_of), match.group(0).strip(), strong=False)
    if match := _YEAR.search(question):
        year = int(match.group(1))
        end = as_of if match.group(0).lower().startswith("since") else date(year, 12, 31)
        return TimeWindow(date(year, 1, 1), min(end, as_of), match.group(0), strong=False)
    return None


_NAMED_MONTH = re.compile(rf"\b({_MONTH_NAMES})\b(?:\s+((?:19|20)\d\d)\b)?", re.IGNORECASE)
_NAMED_YEAR = re.compile(r"(?<![\d.,-])((?:19|20)\d\d)(?![\d.,%-])")


def named_times(text: str, published: date) -> list[tuple[date, date]]:
    """The months and years a text of an article published on `published` names, as date ranges: a
    month without a year is its latest before publication ("August" in November 2024 is August
    2024). "May" counts only capitalised; other months are matched as written."""
    times = []
    for match in _NAMED_MONTH.finditer(text):
        name = match.group(1)
        if name.lower() == "may" and name != "May":
            continue
        month = _MONTHS[name.lower()]
        year = int(match.group(2)) if match.group(2) else published.year - (month > published.month)
        times.append(_month(year, month))
    years = _NAMED_YEAR.findall(_NAMED_MONTH.sub(" ", text))  # "March 2023" is a month, not a year
    times.extend((date(int(year), 1, 1), date(int(year), 12, 31)) for year in years)
    return times


def wants_recent(question: str) -> bool:
    """Whether the question asks for the newest state of things ("latest", "currently", "now")."""
    return bool(_RECENCY.search(question))


def is_time_bound(question: str, as_of: date) -> bool:
    """Whether an answer should say the date of its source: the question is about a time."""
    return wants_recent(question) or time_window(question, as_of) is not None


_CURRENT = re.compile(
    r"\b(new|newly|just|upcoming|next|ongoing|this (?:week|weekend|month|year))\b"
    # the present progressive and perfect tell of what is happening now: "is facing", "has formed"
    r"|\b(?:is|are|has|have)\s+(?:(?:not|now|already|just|also|recently)\s+)?(?:been\s+)?[a-z]+(?:ing|ed)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Freshness:
    """How an article's age bears on whether it can answer a news question.

    A news question, unless it names another time, asks about the news of its "as of" date: an
    answer from an article much older than the newest news of that date is likely an earlier
    story's (last year's recall, the previous nominee), and must be supported more strongly to be
    given. The factor is 1.0 for articles up to `full_days` older than the newest article as of the
    question's date, then decays with `scale_days` to `floor`; questions that ask about the present
    ("new", "latest", "currently", "this week") use the `current_*` values. When the question names
    a time ("in March 2024"), articles inside it are fresh and others decay with their distance from
    it.
    """

    full_days: int = 60
    scale_days: float = 365.0
    floor: float = 0.3
    current_full_days: int = 7
    current_scale_days: float = 14.0
    current_floor: float = 0.2
    report_days: int = 31
    """Days after a time the question names in which articles still report on it fully ("prices rose
    2.4% in the year to October" is news in November)."""

    def factor(
        self, question: str, as_of: date, published: date | None, newest: date | None, text: str = ""
    ) -> float:
        """The factor for an article published on `published`, when the newest news is `newest`, for
        its sentence `text`: a sentence that names a time inside the question's is about that time,
        whenever it was published ("1.4% in its August forecast" in a November article)."""
        if published is None:
            return 1.0
        window = time_window(question, as_of)
        if window is not None:
            if published in window or any(
                start <= window.end and window.start <= end for start, end in named_times(text, published)
            ):
                return 1.0
            distance = (
                (window.start - published).days
                if published < window.start
                else max(0, (published - window.end).days - self.report_days)
            )
            return max(self.current_floor, math.exp(-distance / self.current_scale_days))
        age = max(0, ((newest or as_of) - published).days)
        if wants_recent(question) or _CURRENT.search(question):
            full, scale, floor = self.current_full_days, self.current_scale_days, self.current_floor
        else:
            full, scale, floor = self.full_days, self.scale_days, self.floor
        return 1.0 if age <= full else max(floor, math.exp(-(age - full) / scale))
