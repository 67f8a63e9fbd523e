"""The reader: what a question asks for, whether a sentence says it, and the few words that answer.

Classic question answering, without a reading model (none can be downloaded here):

- **Expected answer type.** The question's wh-phrase and its focus noun say what kind of span answers
  it: "how many" a number, "how much ... cost" money, "what percentage" a percentage, "when" a date,
  "who" a person, "where" or "which country" a place, "which company" an organisation, "which film" a
  name; "why" and "what happened" are answered by a whole sentence.
- **Typed spans.** Numbers with their unit, money, percentages, dates and times are found by pattern;
  names (runs of capitalised words) are typed as person, organisation or place by their words and
  the words around them.
- **Constraints.** The question's names, numbers and content words must be stated by the answer
  sentence or its close context (its chunk and the article's title and date). Names and numbers are
  hard: an article that never names "India" cannot say what happened in India. Content words are
  soft and weighted by how rare they are in English; a word missing in form can still be present in
  meaning, which the question's own contextual token vectors, compared with the sentence vectors
  stored at ingest, tell.
- **Short answer.** The span of the expected type in the answer sentence that the question does not
  already contain, nearest the words the sentence shares with the question.

`Reader.judge` combines these into an answerability score for one candidate sentence; the extractive
answerer quotes the best candidate only when its score clears the threshold.
"""

from __future__ import annotations

import bisect
import itertools
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from functools import cached_property, lru_cache

import numpy as np

from bot.answering.gazetteer import KINDS_OF_PLACE, LANDS, PLACES, WHOLE_KINDS_OF_PLACE
from store.text import QUESTION_FILLER, STOPWORDS, split_sentences, strip_thousands


class Kind(StrEnum):
    """The kinds of answer a question can ask for, and of span a sentence can hold."""

    NUMBER = "number"
    MONEY = "money"
    PERCENT = "percent"
    DATE = "date"
    PERSON = "person"
    ORGANISATION = "organisation"
    PLACE = "place"
    NAME = "name"
    """Any proper name: a film, a product, a storm, an event; or a name not typed further."""
    THING = "thing"
    """The name of a thing, not of a person, a body or a place: "Storm Idris", "the constellation
    Lyra", "the Aurora Survey Telescope" (a noun of such things stands in or before the name)."""
    REASON = "reason"
    """Why, how, what happened: the sentence itself answers; no span is expected."""
    OTHER = "other"
    """What the question asks for could not be told; any sentence may answer."""


NAME_KINDS = frozenset({Kind.PERSON, Kind.ORGANISATION, Kind.PLACE, Kind.NAME, Kind.THING})
"""Kinds a name span can have; a `NAME` question accepts any of them."""


# ----------------------------------------------------------------------------- words

_STEMMERS = threading.local()  # a Snowball stemmer keeps state while it works: one per thread


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The Snowball (Porter 2) stem of a lowercase word: "deliveries" and "delivered" -> "deliv"."""
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        import snowballstemmer

        stemmer = _STEMMERS.english = snowballstemmer.stemmer("english")
    return str(stemmer.stemWord(word))


@lru_cache(maxsize=65_536)
def rarity(word: str) -> float:
    """How much a word says about a sentence: 0.5 for everyday words, up to 4 for rare ones.

    From the word's frequency in English (wordfreq's Zipf scale, 7 = "the", 3 = once per million
    words): 6.5 minus it, within [0.5, 4].
    """
    from wordfreq import zipf_frequency

    return min(4.0, max(0.5, 6.5 - zipf_frequency(word, "en")))


_WORD = re.compile(r"[^\W\d_][\w'’&.-]*[^\W_]|[^\W\d_]|\d[\d,.:/]*\d%?|\d%?", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s?$")


@dataclass(frozen=True, slots=True)
class Token:
    """A word of a text and where it stands."""

    text: str
    start: int
    end: int
    lower: str
    """Lowercase, without a possessive ending ("Xiaomi's" -> "xiaomi")."""

    @property
    def capitalised(self) -> bool:
        """Starts with a capital letter, or is a code such as "SU7" or "KX-2291b"."""
        return self.text[:1].isupper()


def tokens(text: str) -> list[Token]:
    """The words and numbers of a text, with their character offsets."""
    return [
        Token(word, m.start(), m.end(), _POSSESSIVE.sub("", word.lower()).rstrip("."))
        for m in _WORD.finditer(text)
        for word in (m.group(0),)
    ]


def word_keys(text: str) -> set[str]:
    """Stems of the words of a text, lowercase, for matching content words in any form."""
    return {stem(token.lower) for token in tokens(text) if not token.text[0].isdigit()}


# ----------------------------------------------------------------------------- numbers

_SCALES = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "m": 1e6,
    "mn": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
}
_UNITS_AND_TEENS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty"
)
_NUMBER_WORDS: dict[str, float] = {word: value for value, word in enumerate(_UNITS_AND_TEENS.split())}
_NUMBER_WORDS |= {
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_NUMBER_WORDS |= {"hundred": 100, "dozen": 12, "half": 0.5, "a dozen": 12}
_SCALE_WORDS = "thousand|million|billion|trillion|mn|bn|tn"
_TENS = "(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
_ONES = "(?:one|two|three|four|five|six|seven|eight|nine)"
_DIGITS = r"\d+(?:[.,]\d+)*(?!\d|[.,]\d|st\b|nd\b|rd\b|th\b)"  # not an ordinal ("24th")
_WORDS = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_NUMERAL = re.compile(
    rf"(?<![\w.])({_DIGITS}|(?:{_TENS}-{_ONES}|{_WORDS})(?!\w))"
    rf"(?:\s?({_SCALE_WORDS}|k|m|b)\b)?",
    re.IGNORECASE,
)


def number_value(text: str, scale: str | None = None) -> float | None:
    """The value of a numeral ("300,000", "2.9", "twelve"), times its scale word ("million"), if any."""
    clean = strip_thousands(text)
    try:
        value = float(clean.replace(",", "."))
    except ValueError:
        parts = [_NUMBER_WORDS.get(part) for part in text.lower().split("-")]  # "forty-one"
        if not parts or any(part is None for part in parts):
            return None
        value = sum(part for part in parts if part is not None)
    if scale:
        value *= _SCALES[scale.lower()]
    return value


_ORDINALS = "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth"
_ORDINAL_WORDS = {word: number for number, word in enumerate(_ORDINALS.split())}
_ORDINAL = re.compile(
    rf"\b(?:({'|'.join(list(_ORDINAL_WORDS)[1:])})|(\d{{1,3}})(?:st|nd|rd|th))\b", re.IGNORECASE
)


def ordinals(text: str) -> list[tuple[str, int, int, str]]:
    """(matched text, start, end, key) of every ordinal ("second", "24th"): key "ord2", "ord24"."""
    return [
        (
            m.group(0),
            m.start(),
            m.end(),
            f"ord{_ORDINAL_WORDS[m.group(1).lower()] if m.group(1) else int(m.group(2))}",
        )
        for m in _ORDINAL.finditer(text)
    ]


def number_key(value: float) -> str:
    """A canonical form of a number, so "2.9 million", "2,900,000" and "2.9m" compare equal."""
    return f"{value:.6g}"


def numbers(text: str) -> list[tuple[str, int, int, float]]:
    """(matched text, start, end, value) of every number in a text, written in digits or words."""
    found = []
    for match in _NUMERAL.finditer(text):
        value = number_value(match.group(1), match.group(2))
        if value is not None:
            found.append((match.group(0), match.start(), match.end(), value))
    return found


# ----------------------------------------------------------------------------- spans


@dataclass(frozen=True, slots=True)
class Span:
    """A typed piece of a sentence that can answer a question: "300,000 vehicles", "Daniel Okafor"."""

    text: str
    start: int
    end: int
    kind: Kind
    attested: bool = False
    """Whether its article says what kind of name it is elsewhere (`bodies`): a company named where a
    sentence gives no clue ("the middle of Xiaomi's core business") is still no person or place."""


_CURRENCY_SYMBOL = r"(?:US\$|HK\$|A\$|C\$|NZ\$|S\$|R\$|\$|€|£|¥|₹|₩)"
_CURRENCY_CODE = r"(?:USD|HKD|EUR|GBP|CNY|RMB|JPY|INR|CHF|AUD|CAD|KRW|SGD)"
_CURRENCY_WORD = r"(?:dollars?|euros?|pounds?|pence|yuan|renminbi|yen|rupees?|francs?|won|cents?)"
_AMOUNT = rf"\d+(?:[.,]\d+)*(?:\s?(?:{_SCALE_WORDS}|m|bn|k)\b)?"
_MONEY = re.compile(
    rf"{_CURRENCY_SYMBOL}\s?{_AMOUNT}|{_CURRENCY_CODE}\s?{_AMOUNT}|{_AMOUNT}\s?(?:{_CURRENCY_CODE}|{_CURRENCY_WORD})\b"
)
_PERCENT = re.compile(r"\d+(?:[.,]\d+)?\s?(?:%|per\s?cent\b|percent\b|percentage points?\b)", re.IGNORECASE)
_HOLIDAYS = {
    r"New Year['’]s Day": (1, 1),
    r"Valentine['’]s Day": (2, 14),
    r"St\.? Patrick['’]s Day": (3, 17),
    "Halloween": (10, 31),
    "Christmas Eve": (12, 24),
    "Christmas Day": (12, 25),
    "Boxing Day": (12, 26),
    r"New Year['’]s Eve": (12, 31),
}
"""Days named by a holiday on a fixed date, as (month, day): "Boxing Day" is 26 December."""
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DATE = re.compile(
    rf"\b(?:{_WEEKDAY},?\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\s+\d{{4}})\b"
    rf"|\b{_WEEKDAY}\b"
    r"|\b(?:19|20)\d\d-\d\d-\d\d\b|\b\d{4}\.\d\d\.\d\d\b"
    r"|\b(?:in|since|by|until|from|of)\s+(?:19|20)\d\d\b"
    r"|\b\d{1,2}(?::\d\d)?\s?(?:a\.m\.|p\.m\.|am|pm)(?![a-z])|\b\d{1,2}:\d\d\b"
    r"|\b(?:yesterday|today|tonight|tomorrow|last (?:week|month|year|night)|next (?:week|month|year))\b"
    r"|\b(?:early|mid|late)[- ](?:19|20)\d\d\b"
    r"|\b(?:January|February|March|April|June|July|August|September|October|November|December)\b"
    rf"|\b(?:{'|'.join(_HOLIDAYS)})\b"
)
_UNITS = (
    r"basis points|percentage points|light-years|km/h|mph|km|kg|cm|mm|m|g|mg|lb|lbs|ft|°C|°F|MW|GW|kW|kWh|"
    r"GWh|ha|x"
)
_VERSION = re.compile(r"(?<![\w.])\d+(?:\.\d+){2,}(?![\w.]|\.\d)")
"""A version number ("3.4.2"): a number of its own kind, with no value."""
_UNIT_STOP = STOPWORDS | {"and", "or", "to", "of", "in", "on", "at", "by", "for", "per"}


_PARTITIVE = re.compile(
    rf" of (?:its|the|their|his|her|our) (?:{_DIGITS}|{_WORDS}) [a-z][a-z-]+s\b", re.IGNORECASE
)
"""A part of a counted whole, after the part's number: "(five) of its seven members"."""


def number_spans(sentence: str) -> list[Span]:
    """Money, percentages and other numbers (with the noun they count: "300,000 vehicles")."""
    spans: list[Span] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    for pattern, kind in ((_MONEY, Kind.MONEY), (_PERCENT, Kind.PERCENT), (_VERSION, Kind.NUMBER)):
        for match in pattern.finditer(sentence):
            if free(match.start(), match.end()):
                spans.append(Span(match.group(0), match.start(), match.end(), kind))
                taken.append((match.start(), match.end()))
    for match in _DATE.finditer(sentence):
        taken.append((match.start(), match.end()))  # dates are not counts
    for text, start, end, _ in numbers(sentence):
        if not free(start, end) or text.lower() in ("one", "half") or _is_year(text):
            continue
        unit = re.match(rf"\s?({_UNITS})(?![\w/])|[\s-]([a-z][a-z-]{{2,}})\b", sentence[end:])
        if (part := _PARTITIVE.match(sentence, end)) is not None:
            end = part.end()  # "five of its seven members": the five are members too
        elif unit and (unit.group(1) or unit.group(2) not in _UNIT_STOP):
            end += unit.end()
            plural = re.match(r"\s([a-z][a-z-]{2,}s)\b", sentence[end:])
            if (
                unit.group(2)
                and not unit.group(2).endswith("s")
                and plural
                and plural.group(1) not in _UNIT_STOP
            ):
                end += plural.end()  # "300,000 vehicle deliveries": a noun before the counted noun
        spans.append(Span(sentence[start:end], start, end, Kind.NUMBER))
        taken.append((start, end))
    return spans


def date_spans(sentence: str) -> list[Span]:
    """Dates, days, years after "in"/"since", and times of day."""
    spans = []
    for match in _DATE.finditer(sentence):
        text = re.sub(r"^(?:in|since|by|until|from|of)\s+", "", match.group(0), flags=re.IGNORECASE)
        start = match.end() - len(text)
        spans.append(Span(text, start, match.end(), Kind.DATE))
    return spans


_MONTH_NUMBERS = {
    name: number
    for number, names in enumerate(
        [
            "",
            "january jan",
            "february feb",
            "march mar",
            "april apr",
            "may",
            "june jun",
            "july jul",
            "august aug",
            "september sep sept",
            "october oct",
            "november nov",
            "december dec",
        ]
    )
    for name in names.split()
}


def day_keys(text: str) -> set[str]:
    """Comparable keys of a written date: "6 January 2025" and "Boxing Day" -> {"1-6"}, {"12-26"};
    "December 2024" -> {"2024-12"}.

    Only dates that name a month count (a bare year is a number; weekdays name no date).
    """
    for holiday, (day_month, day_of) in _HOLIDAYS.items():
        if re.search(holiday, text, re.IGNORECASE):
            return {f"{day_month}-{day_of}"}
    words = [t.lower for t in tokens(text)]
    month = next((_MONTH_NUMBERS[w] for w in words if w in _MONTH_NUMBERS), None)
    if month is None:
        return set()
    day = next(
        (int(w[:2].rstrip("snrt")) for w in words if re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)?", w)), None
    )
    year = next((int(w) for w in words if _is_year(w)), None)
    if day is not None and 1 <= day <= 31:
        return {f"{month}-{day}"}
    return {f"{year}-{month}"} if year is not None else set()


def _is_year(text: str) -> bool:
    return bool(re.fullmatch(r"(?:19|20)\d\d", text))


_ORG_WORDS = frozenset(
    """
    inc inc. corp corp. corporation co co. ltd ltd. llc plc group holdings company companies bank
    council ministry department agency authority commission committee court university college school
    administration
    chamber athletic wanderers albion power electric utilities telecom
    institute foundation association federation union league party club fc united city rovers
    airlines airways motors motor technologies technology systems labs laboratories partners capital
    fund trust board office bureau service services police army navy force forces government parliament
    senate congress assembly network media news times post herald journal review daily press wire
    studios records pharmaceuticals energy oil airlines railway railways hospital clinic church
    """.split()  # noqa: SIM905 (a word list reads best as text)
)
_PLACE_WORDS = frozenset(
    """
    street st road rd lane avenue ave boulevard square park bridge river lake sea ocean bay gulf coast
    island islands mountain mountains mount valley county province state region district city town
    village harbour harbor port airport station stadium arena hall centre center heights hill hills
    area north south east west northern southern eastern western
    """.split()  # noqa: SIM905
)
_TITLES = frozenset(
    """
    mr mrs ms miss dr prof sir dame lord lady president vice-president chancellor prime minister premier
    governor senator sen rep representative mayor king queen prince princess pope bishop judge justice
    ceo chief chairman chairwoman chair founder director coach manager captain striker midfielder
    defender goalkeeper player referee spokesman spokeswoman spokesperson secretary general gen col
    lt sgt officer author editor analyst economist researcher professor actor actress singer star
    """.split()  # noqa: SIM905
)
_FOR_BODIES = frozenset(
    {"centre", "center", "centers", "centres", "society", "alliance", "coalition", "campaign"}
)
"""Words of bodies named "... for ..." besides those of `_ORG_WORDS` ("Centre for Policy Studies")."""
_NAMED_FOR = _ORG_WORDS | _FOR_BODIES
"""Words of a body's name that "for" and more of the name may follow ("Institute for Astrophysics")."""
_PLACE_PREPOSITIONS = frozenset({"in", "at", "near", "from", "to", "across", "around", "outside", "inside"})
_CONNECTORS = frozenset({"of", "de", "du", "van", "von", "der", "la", "le", "&", "bin", "al"})
_NOT_NAMES = STOPWORDS | frozenset(
    """
    monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december mr mrs ms dr i i'm i’m i've i’ve i'd i’d i'll i’ll
    while although though however
    meanwhile furthermore moreover additionally also yet still despite after before since during once
    whether then than over under because unless until about instead overall indeed
    """.split()  # noqa: SIM905
)


def name_spans(sentence: str, vocabulary: Vocabulary | None = None) -> list[Span]:
    """Runs of capitalised words (with "of", "de", "&" inside them), typed by their words and context.

    A run at the very start of the sentence counts only from its second word unless its first word
    is not an everyday word (sentence case capitalises "The", "Analysts").
    """
    words = tokens(sentence)
    spans: list[Span] = []
    index = 0
    while index < len(words):
        if not _name_word(words, index, vocabulary):
            index += 1
            continue
        end = index
        while (
            end + 1 < len(words)
            and _joined(sentence, words[end], words[end + 1])
            and (
                _name_word(words, end + 1, vocabulary)
                or (
                    (
                        words[end + 1].lower in _CONNECTORS
                        # "Ridgecrest Institute for Astrophysics", "Centre for Policy Studies"
                        or (words[end + 1].lower == "for" and words[end].lower in _NAMED_FOR)
                        # "the (China's) National Development and Reform Commission": one body
                        or (
                            words[end + 1].lower == "and"
                            and index > 0
                            and (words[index - 1].lower == "the" or _POSSESSIVE.search(words[index - 1].text))
                            and not any(word.lower in _ORG_WORDS for word in words[index : end + 1])
                            and _body_follows(words, end + 2, sentence, vocabulary)
                        )
                    )
                    and end + 2 < len(words)
                    and _joined(sentence, words[end + 1], words[end + 2])
                    and _name_word(words, end + 2, vocabulary)
                )
            )
        ):
            end += 1
        if (
            end + 1 < len(words)
            and re.fullmatch(r"\d{1,3}", words[end + 1].text)
            and words[end + 1].start == words[end].end + 1
            and not re.match(r"[-–]\d", sentence[words[end + 1].end :])  # not the "3" of "3-1"
        ):
            end += 1  # "Line 4", "Apollo 11"
        run = words[index : end + 1]
        if (compound := re.search(r"-[a-z]", run[-1].text)) is not None:  # "Hong Kong-listed"
            head = run[-1].text[: compound.start()]
            if len(run) == 1 and len(head) == 1:  # "U-turn", "X-ray": a word, not a name
                index = end + 1
                continue
            run[-1] = Token(head, run[-1].start, run[-1].start + len(head), head.lower())
        titled = run[0].lower in _TITLES and len(run) > 1
        while run[0].lower in _TITLES and len(run) > 2:
            run = run[1:]  # "Prime Minister Narendra Modi" is Narendra Modi; "Prince William" stays
        kind = (
            Kind.PERSON
            if titled
            else _name_kind(run, words[index - 1] if index else None, sentence, run[-1].end)
        )
        attested = (
            vocabulary is not None
            and len(run) == 1
            and kind in (Kind.NAME, Kind.PLACE, Kind.ORGANISATION)
            and run[0].lower not in PLACES
            and _POSSESSIVE.sub("", run[0].lower) in vocabulary.bodies
        )
        if attested:
            kind = Kind.ORGANISATION  # the article writes it as a body's name elsewhere
        spans.append(Span(sentence[run[0].start : run[-1].end], run[0].start, run[-1].end, kind, attested))
        index = end + 1
    return spans


def _body_follows(words: Sequence[Token], start: int, sentence: str, vocabulary: Vocabulary | None) -> bool:
    """Whether the name that starts at `start` ends in a body's word ("Reform Commission")."""
    end = start
    while end < len(words) and _name_word(words, end, vocabulary):
        if words[end].lower in _ORG_WORDS:
            return True
        if end + 1 == len(words) or not _joined(sentence, words[end], words[end + 1]):
            return False
        end += 1
    return False


def _joined(sentence: str, first: Token, second: Token) -> bool:
    """Whether two words stand in one name: one space apart, the first not possessive unless the
    second names a body ("Furthermore, Lei Jun" and "Xiaomi's Hong Kong" are two names each,
    "Bankers' Association" is one)."""
    gap = sentence[first.end : second.start]
    if gap == ". " and len(first.text) == 1:
        return True  # an initial: "Mary J. Blige"
    if second.lower in _ORG_WORDS:
        return gap in (" ", "' ", "’ ")
    return gap == " " and not _POSSESSIVE.search(first.text)


@dataclass(frozen=True)
class Vocabulary:
    """How the words of a text are written: those seen in lowercase, and those seen capitalised where
    sentence case does not explain it. It tells "Ohio is the 24th state" (a name) from "Gusts of 148
    km/h" (a word) at the start of a sentence."""

    lowercase: frozenset[str] = frozenset()
    proper: frozenset[str] = frozenset()
    bodies: frozenset[str] = frozenset()
    """Names the text writes as a body's, whatever a sentence says around them (`bodies`)."""

    @classmethod
    def of(cls, text: str, headline: str = "") -> Vocabulary:
        """The vocabulary of a text and its headline (read with two regular expressions: articles can
        be long). The capitals of a headline in title case ("Survey Telescope Spots Water World") say
        nothing and are not read."""
        words = _LONG_WORD.findall(headline)
        title_case = sum(word[0].isupper() for word in words) > TITLE_CASE * len(words)
        both = f"{headline}\n{text}"
        read = text if title_case or not headline else both
        return cls(
            frozenset(_LOWERCASE_WORD.findall(both)),
            frozenset(_POSSESSIVE.sub("", word.lower()) for word in _MID_SENTENCE_CAPITAL.findall(read)),
            bodies(both),
        )


_BODY_CUE = re.compile(
    r"\b([A-Z][\w&-]*[a-z0-9][\w&-]*)(?:['’]s?)? (?:(?:shares|stock|shareholders|headquarters|founder|"
    r"co-founder|employees|workforce|subsidiary|spokesperson|spokesman|spokeswoman)\b|"
    r"(?:Corporation|Corp|Inc|Group|Holdings|Ltd|plc)\b)"
)
"""A name followed by what only a body has ("Xiaomi shares", "Xiaomi's founder") or by the word
that makes it one ("Xiaomi Corporation")."""


@lru_cache(maxsize=256)
def bodies(text: str) -> frozenset[str]:
    """The one-word names a text writes as bodies' (`_BODY_CUE`), lowercased: one sense per discourse,
    so "lands in the middle of Xiaomi's core business" names a company, not a person or a place."""
    return frozenset(
        word
        for match in _BODY_CUE.finditer(text)
        if (word := match.group(1).lower()) not in _NOT_NAMES and not re.search(r"-[a-z]", word)
    )


_LONG_WORD = re.compile(r"\b[^\W\d_]{4,}\b")
TITLE_CASE = 0.7
"""Share of a headline's words of four letters or more that, capitalised, make it title case."""
_LOWERCASE_WORD = re.compile(r"(?<![\w'’-])[a-z][a-z'’-]*[a-z]|(?<![\w'’-])[a-z](?![\w'’-])")
_MID_SENTENCE_CAPITAL = re.compile(r"(?<=[\w,;:] )[A-Z][\w&'’.-]*\w|(?<=[\w,;:] )[A-Z](?!\w)")


def _name_word(words: Sequence[Token], index: int, vocabulary: Vocabulary | None = None) -> bool:
    word = words[index]
    if not word.capitalised or word.text[0].isdigit() or word.lower in _NOT_NAMES:
        return False
    if index > 0 and not _SENTENCE_END.search(words[index - 1].text):
        return True
    # Sentence case capitalises the first word: "Analysts said", "Legendary actor James Earl Jones".
    # It starts a name when it is not an everyday word ("Xiaomi", "Kamala") or the next word is a
    # name too ("Hunter Biden", "Prince William").
    if vocabulary is not None and word.lower in vocabulary.proper:
        return True  # written capitalised mid-sentence elsewhere: a name
    if word.lower in PLACES:  # "Cuba's power grid collapsed"
        return True
    if vocabulary is not None and word.text.lower() in vocabulary.lowercase:
        return False  # "Gusts" where the text also writes "gusts"
    following = words[index + 1] if index + 1 < len(words) else None
    return _rare(word.lower) or (
        following is not None
        and following.capitalised
        and following.lower not in _NOT_NAMES
        and following.start == word.end + 1
    )


def _rare(word: str) -> bool:
    """Whether a word is too rare in English to be an everyday word at a sentence's start; a plural
    whose singular is everyday ("Astronomers") is everyday, and so is a compound of everyday words
    ("Third-party", not "Jean-Luc")."""
    if "-" in word:
        return any(_rare(part) for part in word.split("-") if part)
    return rarity(word) >= RARE_WORD and not (
        word.endswith("s") and not word.endswith("ss") and rarity(word[:-1]) < EVERYDAY_SINGULAR
    )


_SENTENCE_END = re.compile(r"[.!?]$")
RARE_WORD = 3.0
"""`rarity` from which a word counts as rare (a Zipf frequency in English below 3.5)."""
EVERYDAY_SINGULAR = 3.5
"""`rarity` below which a plural's singular is an everyday word (a Zipf frequency above 3)."""


_DESIGNATION = re.compile(r"(?=[\w-]*[A-Za-z])(?=[\w-]*\d)[A-Za-z][\w-]*")
"""A word of letters and digits, such as a catalogue or model designation ("KX-2291b", "SU7")."""
_NEXT_WORD = re.compile(r" ([a-z]+)\b")
"""The lowercase word right after a name ("the Aurora telescope")."""


def _name_kind(run: Sequence[Token], before: Token | None, sentence: str, end: int) -> Kind:
    lowered = [token.lower for token in run]
    if " ".join(lowered).replace(".", "") in PLACES:
        return Kind.PLACE
    if (len(run) == 1 and lowered[0] in _THING_ACRONYMS) or (
        any(_DESIGNATION.fullmatch(token.text) for token in run) and not set(lowered) & _ORG_WORDS
    ):
        return Kind.THING  # "KX-2291b", "R2 Plus": a catalogue or model designation; "AI", "SUV"
    if (
        any(word in _ORG_WORDS for word in lowered)
        or "for" in lowered
        or (
            len(run) == 1
            and run[0].text.isalpha()
            and run[0].text.isupper()
            and len(run[0].text) > 1
            and lowered[0] not in _THING_ACRONYMS
        )
    ):
        return Kind.ORGANISATION
    if lowered[-1] in _PLACE_WORDS:
        return Kind.PLACE
    if before is not None and before.lower in _TITLES:
        return Kind.PERSON
    if (len(run) > 1 and lowered[0] in _THINGS) or lowered[-1] in _THINGS or " ".join(lowered) in _CELESTIAL:
        return Kind.THING  # "Hurricane Milton", "Aurora Wide-Field Survey Telescope", "Earth"
    if (
        before is not None
        and sentence[before.end : run[0].start] == " "
        and (before.text.islower() or before.start == 0)  # "the constellation Lyra", "Storm Idris swept"
        and (described := _THINGS_AND_FOCUS.get(before.lower)) is not None
    ):
        return described  # "carmaker BYD" is a body, "the constellation Lyra" a thing
    if (following := _NEXT_WORD.match(sentence, end)) is not None and following.group(1) in _THINGS:
        return Kind.THING  # "the Aurora telescope", "the Starliner spacecraft"
    after = sentence[end : end + 12].lower()
    if after.startswith((" said", " says", " told", ", who", " who ")):
        return Kind.PERSON
    if before is not None and before.lower in _PLACE_PREPOSITIONS and len(run) <= 2:
        return Kind.PLACE
    if 2 <= len(run) <= 3 and all(token.text.isalpha() and token.text.istitle() for token in run):
        return Kind.PERSON  # "Taylor Swift", "Elsa Varnholt": places and bodies are caught above
    return Kind.NAME


def spans(sentence: str, vocabulary: Vocabulary | None = None) -> list[Span]:
    """Every typed span of a sentence: numbers, money, percentages, dates and names (a name that
    overlaps a number or date, such as "HKD" in "HKD 36.25", is left out)."""
    names = name_spans(sentence, vocabulary)
    numeric = [
        span
        for span in [*number_spans(sentence), *date_spans(sentence)]
        # a bare number inside a name ("Line 4") belongs to the name
        if not (span.kind is Kind.NUMBER and any(n.start < span.start < n.end for n in names))
    ]
    return [
        *numeric,
        *(
            _without_possessive(span)
            for span in names
            if all(span.end <= other.start or span.start >= other.end for other in numeric)
            and len(span.text.rstrip(".")) > 1  # "E." of "E. coli"
            and not _adjective(span, sentence)
        ),
    ]


def _adjective(span: Span, sentence: str) -> bool:
    """A nationality before a noun ("Australian government", "Asian nation") describes, not names."""
    return (
        " " not in span.text
        and bool(_DEMONYM.search(span.text.lower()))
        and bool(re.match(r"\s+[a-z]", sentence[span.end :]))
    )


def _without_possessive(span: Span) -> Span:
    trimmed = _POSSESSIVE.sub("", span.text)
    return replace(span, text=trimmed, end=span.start + len(trimmed)) if trimmed != span.text else span


# ----------------------------------------------------------------------------- questions

_WH = re.compile(
    r"\b(how many|how much|what percentage|what percent|what proportion|what fraction|how long|how old|"
    r"how far|how tall|how high|how big|how large|how fast|how often|how deep|how heavy|"
    r"what year|which year|what date|what day|which day|what month|which month|what time|when|"
    r"who|whom|whose|where|why|what happened|what caused|how|what|which)\b",
    re.IGNORECASE,
)
_FOCUS_KINDS: dict[Kind, str] = {
    Kind.MONEY: """price prices cost costs fee fees fine fines salary pay wage wages budget bill revenue
        revenues profit profits loss losses value worth valuation fare fares bonus funding investment
        tariff tariffs tax taxes spending amount sum bid""",
    Kind.PERCENT: "percentage percent proportion share rate rates",
    Kind.NUMBER: """number total count target population toll speed height distance temperature
        age capacity attendance crowd size length weight mass depth score tally margin gust gusts version""",
    Kind.DATE: "year date day month time season week decade century anniversary deadline",
    Kind.PERSON: """person man woman boy girl president ceo leader minister candidate player singer actor
        actress star artist author writer director founder coach manager chief judge official
        spokesperson spokesman spokeswoman scientist journalist pope king queen prince princess senator
        governor mayor footballer athlete striker goalkeeper referee winner host presenter chancellor
        chairman chairwoman executive rapper musician comedian economist politician lawmaker
        billionaire entrepreneur astronaut designer chef premier member""",
    Kind.ORGANISATION: """company companies firm automaker carmaker maker manufacturer bank brand
        organisation organization group team club party agency network channel newspaper airline
        retailer chain university school college union government council ministry broadcaster
        publisher startup supermarket insurer lender regulator exchange studio label outlet journal
        magazine observatory institute laboratory operator operators utility provider office
        authority association department commission committee""",
    Kind.PLACE: """country countries city cities state states town region province nation island place
        location area venue stadium county capital continent port airport street district village
        neighbourhood neighborhood border coast""",
    Kind.NAME: """name film movie show series book novel song album storm hurricane typhoon ship horse
        planet telescope app title character villain mascot nickname""",
}
FOCUS = {word: kind for kind, words in _FOCUS_KINDS.items() for word in words.split()}
"""Nouns after "what"/"which" that say what kind of answer a question wants."""
_THINGS = frozenset(
    """
    film movie series book novel song album storm hurricane typhoon cyclone ship planet telescope app
    constellation galaxy comet asteroid spacecraft satellite rocket vaccine virus variant
    awards prize festival championship championships cup tournament olympics
    """.split()  # noqa: SIM905
)
"""Nouns of things that are neither people nor bodies nor places: in or before a name, they type it."""
_THING_ACRONYMS = frozenset(
    "suv suvs ev evs ai gdp cpi ipo tv pc dna rna gps usb api vpn ceo cfo cto coo mp mps pm".split()  # noqa: SIM905
)
"""Acronyms of things and roles, not of bodies ("SUV", "GDP", "CEO")."""
_CELESTIAL = frozenset("sun moon earth mercury venus mars jupiter saturn uranus neptune pluto".split())  # noqa: SIM905
"""The solar system's bodies, named alone: things, not places ("412 light-years from Earth")."""
_THINGS_AND_FOCUS = {
    **{word: kind for word, kind in FOCUS.items() if kind in (Kind.PERSON, Kind.ORGANISATION, Kind.PLACE)},
    **dict.fromkeys(_THINGS, Kind.THING),
}
_AMOUNTS = frozenset({Kind.NUMBER, Kind.MONEY, Kind.PERCENT})
"""Kinds of answer only a number gives."""
_MEASURED = _AMOUNTS | {Kind.DATE}
_VERB_LIKE = re.compile(r"..(?:ed|ing)$")
_PERCENT_CUES = frozenset({"percentage", "percent", "proportion", "rate"})
_GROWTH = frozenset({"rise", "rising", "rose", "grow", "growing", "grew", "growth", "increase", "increasing"})
_HOW_MEASURES = {
    "old": "age",
    "far": "distance",
    "tall": "height",
    "high": "level",  # "how high has unemployment climbed": a share as much as a height
    "deep": "depth",
    "heavy": "weight",
    "fast": "speed",
}
_MONEY_CUES = frozenset(
    """
    cost costs costing pay paid pays spend spent spending worth price priced raise raised charge charged
    fine fined earn earned earns sell sold buy bought invest invested fund funded budget dollars euros
    pounds yuan yen salary wage fee bid valued value money lose lost loss losses profit revenue bonus
    prize reward payment grant ransom settlement compensation damages bail loan debt
    """.split()  # noqa: SIM905
)
_AUXILIARIES = frozenset(
    """
    is are was were be been being do does did has have had will would can could should may might must
    shall get got gets become became
    """.split()  # noqa: SIM905
)
_DETERMINERS = frozenset(["the", "a", "an", "its", "their", "his", "her", "this", "that", "these", "those"])
_QUESTION_WORDS = frozenset(
    [
        "how",
        "many",
        "much",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "where",
        "when",
        "why",
        "percentage",
        "percent",
        "proportion",
        "fraction",
    ]
)


_DEMONYM = re.compile(r"(?:an|ese|ish|ch)$")


@dataclass(frozen=True)
class Constraint:
    """Something the question states that an answering sentence (or its context) must state too."""

    text: str
    kind: str
    """`name`, `number` or `word`."""
    keys: tuple[str, ...]
    """Name: its lowercase words; number: its canonical value; word: its stem."""
    weight: float
    start: int
    end: int

    @property
    def anchors_time(self) -> bool:
        """Whether it pins the story in time: a date, a year or an ordinal ("the first cut")."""
        key = self.keys[0]
        return self.kind == "date" or key.startswith("ord") or (key.isdigit() and 1900 <= int(key) <= 2100)


@dataclass(frozen=True)
class Analysis:
    """What a question asks for (`expects`, its `focus` noun) and what it states (`constraints`)."""

    question: str
    expects: Kind
    focus: str | None
    constraints: tuple[Constraint, ...]
    own_words: frozenset[str]
    """Lowercase words and number keys of the question: a span made only of them answers nothing."""
    slot: tuple[int, int] = (0, 0)
    """Where the question's wh-phrase and its focus noun stand ("which pharmacy chain")."""
    focus_at: tuple[int, int] | None = None
    """Where the focus noun (with its modifiers) stands, when it is one of the focus lexicon's
    measures ("market share" in "what is Xiaomi's market share", "fee", "delivery target"): an
    answer must be about it."""
    focus_words: tuple[str, ...] = ()
    """The stems of those words, which a sentence states in form when it has them side by side."""

    def says(self, word: str) -> bool:
        """Whether the question has this lowercase word, in any inflection (dots dropped: "u.s." is
        "us"; "republicans" for "republican")."""
        word = word.replace(".", "")
        return word in self.own_words or stem(word) in self._own_stems

    @cached_property
    def _own_stems(self) -> frozenset[str]:
        return frozenset(stem(word) for word in self.own_words if not word[0].isdigit())

    @cached_property
    def counts_back(self) -> bool:
        """Whether the question counts time back from the story's ("a year earlier", "last year")."""
        return _EARLIER.search(self.question) is not None

    @cached_property
    def role(self) -> frozenset[str] | None:
        """The stems of the role a "who" question asks about (`_role`), or None."""
        return _role(self)

    @cached_property
    def to_come(self) -> bool:
        """Whether the question asks about a time to come ("who will referee", `_FUTURE`)."""
        return _FUTURE.search(self.question) is not None

    @cached_property
    def timed_nouns(self) -> frozenset[tuple[str, str]]:
        """The question's nouns named by a time, as (time, noun stem): "the August meeting"."""
        return _timed_nouns(self.question)

    @cached_property
    def about_shares(self) -> bool:
        """Whether the question speaks of a company's shares ("stock", "shares", "market")."""
        return bool({token.lower for token in tokens(self.question)} & _MARKET_WORDS)

    @property
    def wh_phrase(self) -> str:
        """The question's wh-phrase with its focus noun, lowercase ("how much rain", "on what date")."""
        return self.question[self.slot[0] : self.slot[1]].lower()

    @property
    def counts(self) -> bool:
        """Whether the question asks "how many": a count, never an amount of money or a share."""
        return self.wh_phrase.startswith("how many")

    @property
    def names(self) -> list[Constraint]:
        """The names the question states."""
        return [c for c in self.constraints if c.kind == "name"]

    @property
    def numbers(self) -> list[Constraint]:
        """The numbers and days the question states."""
        return [c for c in self.constraints if c.kind in ("number", "date")]

    @property
    def ordinals(self) -> frozenset[str]:
        """The keys of the ordinals the question states ("the first cut")."""
        return frozenset(c.keys[0] for c in self.numbers if c.keys[0].startswith("ord"))

    @property
    def words(self) -> list[Constraint]:
        """The content words the question states, other than names and numbers."""
        return [c for c in self.constraints if c.kind == "word"]


def expected_kind(question: str) -> tuple[Kind, str | None, tuple[int, int]]:
    """The kind of answer a question wants, its focus noun, and where the wh-phrase stands."""
    match = _question_word(question)
    if match is None:
        return Kind.OTHER, None, (0, 0)
    wh = match.group(1).lower()
    where = (match.start(), match.end())
    following = tokens(_CONTRACTION.sub(lambda m: " " * len(m.group(0)), question[match.end() :]))
    after = following[:6]
    if wh == "how many":  # the counted noun: its first plural ("home networks", "homes lost power")
        counted = [
            t.lower
            for t in itertools.takewhile(
                lambda t: t.lower not in _AUXILIARIES | STOPWORDS and not _VERB_LIKE.search(t.lower),
                after[:4],
            )
        ]
        plural = next((word for word in counted if word.endswith("s")), None)
        return Kind.NUMBER, plural or (counted[-1] if counted else None), where
    words = {t.lower for t in tokens(question)}
    if wh == "how fast" and words & _GROWTH:  # "how fast were prices rising": a rate
        return Kind.PERCENT, None, where
    if wh == "how much":
        if words & _PERCENT_CUES:  # "by how much, in percentage terms"
            return Kind.PERCENT, None, where
        if words & _MONEY_CUES:
            return Kind.MONEY, None, where
        # "how much rain": the amount of a thing, measured, not counted
        mass = after[0].lower if after and _modifier(after[0]) and after[0].lower != "more" else None
        return Kind.NUMBER, mass, where
    if wh in ("what percentage", "what percent", "what proportion", "what fraction"):
        return Kind.PERCENT, None, where
    if wh.startswith("how ") and wh != "how":  # how old, how far, how fast...: what is measured
        return Kind.NUMBER, _HOW_MEASURES.get(wh.split()[1]), where
    if wh in ("when",) or wh.split()[-1] in ("year", "date", "day", "month", "time"):
        return Kind.DATE, None, where
    if wh in ("who", "whom", "whose"):
        return Kind.PERSON, None, where
    if wh == "where":
        return Kind.PLACE, None, where
    if wh in ("why", "what caused"):
        return Kind.REASON, None, where
    if wh in ("how", "what happened"):
        return Kind.OTHER, None, where
    # what / which: the head of the noun phrase after it ("which investment bank", "what is Xiaomi's
    # market share", "what is the name of the candidate"), typed by the focus lexicon; after "did",
    # "will" or "has", that phrase is the subject ("what did the council reject"), unless a "be"
    # makes it the thing asked for ("what will the starting price be")
    if after and after[0].lower in _DO_AND_MODALS and not {"be", "been"} & {t.lower for t in following}:
        return Kind.OTHER, None, where
    phrase = _noun_phrase(after)
    if phrase and phrase[-1] == "name":  # "the name of the X": X decides
        at = next(i for i, token in enumerate(following) if token.lower == "name")
        rest = _noun_phrase(following[at + 1 : at + 9])  # "of the Hong Kong-based equity strategist"
        kind = _focus_kind(rest[-1]) if rest else None
        return (kind if kind is not None else Kind.NAME), (rest[-1] if rest else "name"), where
    if not phrase:
        return Kind.OTHER, None, where
    head = phrase[-1]
    if head in _LEVELS:
        return Kind.NUMBER, head, where
    kind = _focus_kind(head)
    # "which virus", "which goods": a noun outside the lexicon says what is asked, not of what kind
    return (kind if kind is not None else Kind.OTHER), head, where


_LEVELS = frozenset({"level", "levels"})
"""Nouns of an amount of any kind: "at what level did the crown trade" wants a number, money or a share."""
_DO_AND_MODALS = frozenset(
    "do does did will would can could should may might must shall has have had".split()  # noqa: SIM905
)
"""Auxiliaries after which "what" asks for an object, not for the noun that follows."""
_CONTRACTION = re.compile(r"^['’]s\b")
"""The "'s" of "What's the name": "is", not a word of the phrase."""


def _focus_kind(word: str) -> Kind | None:
    kind = FOCUS.get(word) or FOCUS.get(word.rstrip("s"))
    if kind is None and _AGENT_NOUN.fullmatch(word):
        return Kind.PERSON  # "which strategist", "which physician": a person by the word's ending
    return kind


_AGENT_NOUN = re.compile(r"[a-z]{4,}(?:ist|ian)s?")
"""Nouns of people by their ending: strategist, novelist, physician, historian."""


def _question_word(question: str) -> re.Match[str] | None:
    """The wh-phrase that asks: one opening the last sentence ("When the weather warms up, it's time
    for a cookout! How many hot dogs..."), else the last "what"/"which"/"how many" one ("stunned fans
    when he confirmed he was returning as what villain?"), else the first."""
    matches = list(_WH.finditer(question))
    if not matches:
        return None
    for match in reversed(matches):
        before = question[: match.start()].rstrip()
        if not before or before[-1] in '.!?"“”':
            return match
    asking = [m for m in matches if m.group(1).lower().startswith(("what", "which", "how many", "how much"))]
    return asking[-1] if asking else matches[0]


def _noun_phrase(after: Sequence[Token]) -> list[str]:
    """The words of the noun phrase that opens `after`, up to its head: determiners and auxiliaries
    skipped, stopped at a preposition, verb-like word or name ("is the new fee to" -> [new, fee])."""
    words: list[str] = []
    for index, token in enumerate(after):
        word = token.lower
        modifier = token.capitalised or token.text[0].isdigit()  # "Xiaomi's", "African", "2025"
        if not words and (word in _AUXILIARIES or word in ("the", "a", "an", "of") or modifier):
            continue
        if modifier and words and all(w in _DESCRIBING for w in words):
            continue  # "which former NFL star", "the original Star Wars characters"
        if word in STOPWORDS or word in _AUXILIARIES or modifier or (words and _VERB_LIKE.search(word)):
            break  # "which royal residence hosted": the phrase ends at a verb
        if (
            words
            and words[-1] not in _DESCRIBING
            and _focus_kind(words[-1]) is not None
            and _focus_kind(word) is None
        ):
            break  # "wind speed recorded": the head is the last lexicon noun
        if (
            words
            and index + 1 < len(after)
            and after[index + 1].lower in _DETERMINERS
            and (_focus_kind(word) is None or word.endswith("s"))
        ):
            break  # "which firmware version fixes the flaw": a word before "the" is a verb, not "rate a year"
        words.append(word)
        if len(words) == 3 or _POSSESSIVE.search(token.text):
            break  # "which observatory's spectrograph" asks for the observatory
    lexicon = [i for i, w in enumerate(words) if _focus_kind(w) is not None and w not in _DESCRIBING]
    return words[: lexicon[-1] + 1] if lexicon else words


@lru_cache(maxsize=256)  # the answerer reads a question's candidates, then picks its short answer
def analyse(question: str) -> Analysis:
    """The question's expected answer kind and its constraints (names, numbers, content words)."""
    expects, focus, (wh_start, wh_end) = expected_kind(question)
    constraints: list[Constraint] = []
    covered: list[tuple[int, int]] = [(wh_start, wh_end)]

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in covered)

    for span in name_spans(question):
        if not free(span.start, span.end):
            continue
        words = tuple(t.lower for t in tokens(span.text) if t.lower not in _CONNECTORS)
        if len(words) == 1 and _DEMONYM.search(words[0]) and re.match(r"\s+[a-z]", question[span.end :]):
            continue  # "which African country": an adjective, matched as a word
        if words and not (len(words) == 1 and words[0] in FOCUS):
            constraints.append(Constraint(span.text, "name", words, 3.0, span.start, span.end))
            covered.append((span.start, span.end))
    for span in date_spans(question):
        for key in day_keys(span.text):  # "on 6 January 2025": the day must be stated, not just a day
            constraints.append(Constraint(span.text, "date", (key,), 3.0, span.start, span.end))
            covered.append((span.start, span.end))
    for text, start, end, key in ordinals(question):
        # "the first rate cut of the year" is not answered by the second
        if free(start, end) and _ordinal_of_a_thing(question, start):
            constraints.append(Constraint(text, "number", (key,), 3.0, start, end))
            covered.append((start, end))
    for text, start, end, value in numbers(question):
        if not free(start, end) or text.lower() in ("one", "a dozen", "half"):
            continue
        constraints.append(Constraint(text, "number", (number_key(value),), 3.0, start, end))
        covered.append((start, end))
    for token in tokens(question):
        word = token.lower
        if (
            not free(token.start, token.end)
            or token.text[0].isdigit()
            or word in QUESTION_FILLER
            or word in _AUXILIARIES
            or word in _QUESTION_WORDS
            or word == focus
            or len(word) < 2
        ):
            continue
        constraints.append(
            Constraint(token.text, "word", (stem(word),), rarity(word), token.start, token.end)
        )
    own = {part for t in tokens(question) for part in {t.lower, *t.lower.split("-")}}  # "Kong-based"
    own |= {number_key(v) for *_, v in numbers(question)}
    slot_end = wh_end
    focus_at = None
    focus_words: tuple[str, ...] = ()
    if focus is not None:  # the slot runs to the focus noun when it follows the wh-phrase closely
        after = tokens(question[wh_end:])[:5]
        at = next((i for i, t in enumerate(after) if t.lower == focus), None)
        slot_end = wh_end + after[at].end if at is not None else wh_end
        if at is not None and _focus_kind(focus) in _MEASURED and _focus_kind(focus) is expects:
            first = at  # with the lowercase words that modify it: "market share", "delivery target"
            if first > 0 and _measure_modifier(after[first - 1]):
                first -= 1
            focus_at = (wh_end + after[first].start, wh_end + after[at].end)
            focus_words = tuple(stem(t.lower) for t in after[first : at + 1])
    return Analysis(
        question,
        expects,
        focus,
        tuple(constraints),
        frozenset(own),
        (wh_start, slot_end),
        focus_at,
        focus_words,
    )


def _measure_modifier(token: Token) -> bool:
    """A word that makes another measure of the noun after it: a lowercase noun ("market share",
    `_modifier`) or -ing word ("starting price", "closing price")."""
    return _modifier(token) or bool(_ATTRIBUTIVE.fullmatch(token.text))


_ATTRIBUTIVE = re.compile(r"[a-z]+ing")


def _ordinal_of_a_thing(question: str, start: int) -> bool:
    """Whether the ordinal at `start` picks one of several things ("its first cut", "for the second
    time", "Xiaomi's third model"), not an adverb ("was the maker first told" asks about the telling)."""
    before = question[:start].split()[-1:]
    if re.match(rf"\w+\s+{_WEEKDAY}\b", question[start:]):
        return False  # "the first Friday of 2025" is a day, whose date the article gives otherwise
    return bool(before) and (before[0].lower() in _ORDINAL_LEADS or bool(_POSSESSIVE.search(before[0])))


_ORDINAL_LEADS = _DETERMINERS | {"for", "in", "on", "at"}
"""Words before an ordinal that pick one of several things with it ("the first", "for a second")."""


def _modifier(token: Token) -> bool:
    """A lowercase noun that makes a compound with the next ("market" in "market share"), as far as
    word lists tell: not a function word, a verb form or a describing adjective ("new", "strongest")."""
    word = token.lower
    return (
        token.text.islower()
        and word not in STOPWORDS
        and word not in _AUXILIARIES
        and word not in _QUESTION_WORDS
        and word not in _DESCRIBING
        and not _VERB_LIKE.search(word)
        and not word.endswith(("ly", "ous", "ful"))
    )


_DESCRIBING = frozenset(
    """
    new old latest current recent average overall final official expected estimated planned minimum
    maximum big small large high low top main exact total full annual monthly weekly daily first last
    next previous initial original own entire net gross real best worst strongest weakest highest lowest
    biggest largest smallest fastest longest greatest former major famous popular classic iconic
    legendary historic historical leading
    """.split()  # noqa: SIM905
)


# ----------------------------------------------------------------------------- judging


@dataclass(frozen=True)
class Context:
    """A candidate sentence where it stands: among its chunk's sentences, under its article's title
    and date, with the sentence vectors stored at ingest (one row per sentence) when there are any."""

    sentences: Sequence[str]
    index: int
    title: str = ""
    published: date | None = None
    vectors: np.ndarray | None = None
    article: str = ""
    """The whole article's text, when known: where its names and numbers are looked for."""

    @property
    def sentence(self) -> str:
        """The candidate sentence."""
        return self.sentences[self.index]

    @property
    def near(self) -> Sequence[str]:
        """The sentence with the one before and the one after it."""
        return self.sentences[max(0, self.index - 1) : self.index + 2]

    @property
    def near_vectors(self) -> np.ndarray | None:
        """Vectors of `near`, when stored."""
        return None if self.vectors is None else self.vectors[max(0, self.index - 1) : self.index + 2]

    @property
    def following(self) -> str:
        """The sentence after the candidate, or ""."""
        return self.sentences[self.index + 1] if self.index + 1 < len(self.sentences) else ""


@dataclass(frozen=True)
class Judgement:
    """How well one sentence answers a question, and the words that answer it."""

    names: float
    """Rarity-weighted share of the question's names its article states (1.0 when it has none):
    everyday names ("US", "UK") weigh little, as articles often leave them unsaid."""
    numbers: float
    """Share of the question's numbers, days and ordinals its article states (its own date counts)."""
    typed: float | None
    """How well the sentence's best span fits the expected kind (1.0: a span of that kind, with the
    unit or noun asked for; 0.0: none); None when no kind is expected."""
    short_answer: Span | None
    focus: float = 1.0
    """Whether the sentence or its neighbours state the measure asked for ("share", "fee", "target"),
    in form or in meaning (1.0 when the question names none)."""
    missing: tuple[str, ...] = ()
    """The question's names (less than half stated) and numbers the article does not state."""
    missing_anchor: bool = False
    """Whether a year, date or ordinal of the question is among them (it pins another story in time),
    a name of the question with a number in it is ("Linkwave R3": another model) or a rare acronym
    ("CVE"), the question counts time back ("a year earlier") and the sentence speaks of no earlier
    time, or the sentence
    or its article's lead (`_lead`) states another ordinal than the question's ("for the second
    time" for "the first cut"), measures
    its noun otherwise ("two-year bonds" for "ten-year bonds"), names the measure asked for otherwise
    ("stock price" for "target price", `contradicts`) or gives the amount as another measure ("its 2%
    target" for "the inflation rate"), or gives an amount or date and names another body or person
    of the kind the question names, not the question's ("for Xiaomi" for "BYD", `_rival`)."""
    expects: Kind = Kind.OTHER
    """The kind of answer the question asks for."""
    bound: float = 1.0
    """For a count, money or a share: how closely the short answer is tied to what the question asks
    (`bound`); 1.0 for other questions."""

    @property
    def measured(self) -> bool:
        """Whether the question asks for a count, an amount of money or a share: only a number answers."""
        return self.expects in _AMOUNTS


def judge(
    analysis: Analysis,
    context: Context,
    focus_vector: np.ndarray | None = None,
    word_vector: Callable[[str], np.ndarray] | None = None,
    *,
    meaning_floor: float = 0.3,
    meaning_full: float = 0.5,
) -> Judgement:
    """Check a candidate sentence against a question's constraints and expected kind.

    Names and numbers are looked for in the title and the chunk, then (only for what those do not
    state) in the first `ARTICLE_CHARS` of the article. `focus_vector` is the question's contextual
    vector for its focus noun (`Analysis.focus_at`): when the noun is missing in form it counts as
    present in meaning by its best cosine with the stored vectors of the sentence and its
    neighbours, linearly from `meaning_floor` (absent) to `meaning_full` (present). `word_vector`
    gives a word's static vector, for `bound`; without it a number answer is taken as bound.
    """
    near = facts(" ".join(context.sentences), context.published, context.title)
    whole: Facts | None = None  # the whole article, read only for what the chunk does not state

    def stated(constraint: Constraint, text: Facts) -> float:
        if constraint.kind == "name":
            return name_coverage(constraint, text)
        return (
            1.0 if constraint.keys[0] in (text.days if constraint.kind == "date" else text.numbers) else 0.0
        )

    def coverage(constraint: Constraint) -> float:
        nonlocal whole
        found = stated(constraint, near)
        if found < 1.0 and context.article:
            whole = whole or facts(context.article[:ARTICLE_CHARS], context.published, context.title)
            found = max(found, stated(constraint, whole))
        return found

    missing: list[str] = []
    missing_anchor = False
    names = []
    for constraint in analysis.names:
        found = coverage(constraint)
        names.append((found, max(rarity(key) for key in constraint.keys)))
        if found < 0.5:
            missing.append(constraint.text)
            # a name with a number in it ("Linkwave R3", "Line 5") the article never states is another
            # thing; a rare acronym it never states ("CVE") is a fact it does not hold
            missing_anchor = (
                missing_anchor or any(c.isdigit() for c in constraint.text) or _rare_acronym(constraint)
            )
    numbers_found = []
    for constraint in analysis.numbers:
        numbers_found.append(coverage(constraint))
        if not numbers_found[-1]:
            missing.append(constraint.text)
            missing_anchor = missing_anchor or constraint.anchors_time

    focus = 1.0
    if analysis.focus_at is not None and not _says(analysis.focus_words, " ".join(context.near)):
        vectors = context.near_vectors
        best = (
            float(np.max(vectors @ focus_vector))
            if focus_vector is not None and vectors is not None and len(vectors)
            else 0.0
        )
        focus = _ramp(best, meaning_floor, meaning_full)

    vocabulary = near.vocabulary
    if context.article:
        vocabulary = replace(vocabulary, bodies=vocabulary.bodies | bodies(context.article[:ARTICLE_CHARS]))
    typed, short = _answer_span(analysis, context.sentence, vocabulary, context.published)
    lead = _lead(context) if analysis.ordinals else ""
    missing_anchor = missing_anchor or contradicts(
        analysis, context.sentence, short, word_vector, lead, vocabulary
    )
    if analysis.expects is Kind.REASON:  # a why-question is answered by a sentence that gives a cause
        typed = 1.0 if _CAUSE.search(context.sentence) else 0.0
    return Judgement(
        bound=bound(analysis, context.sentence, short, word_vector)
        if analysis.expects in _AMOUNTS and short is not None and word_vector is not None
        else 1.0,
        names=sum(s * w for s, w in names) / sum(w for _, w in names) if names else 1.0,
        numbers=sum(numbers_found) / len(numbers_found) if numbers_found else 1.0,
        typed=typed,
        short_answer=short,
        focus=focus,
        missing=tuple(missing),
        missing_anchor=missing_anchor,
        expects=analysis.expects,
    )


_EARLIER = re.compile(
    r"\b(?:(?:a|one|two|three) (?:years?|months?|weeks?) (?:earlier|ago|before)|"
    r"(?:last|previous|prior) (?:year|month|week|quarter)|the year before)\b",
    re.IGNORECASE,
)
"""A question's time counted back from the story's ("a year earlier", "last year")."""
_BEFORE_NOW = re.compile(
    r"\b(?:earlier|ago|before|last|previous|prior|year-earlier|year-on-year|compared with|down from|"
    r"up from|(?:19|20)\d\d)\b",
    re.IGNORECASE,
)
"""Words by which a sentence speaks of an earlier time than its story's."""


def _rival(analysis: Analysis, sentence: str, vocabulary: Vocabulary | None) -> bool:
    """Whether the sentence gives its amount or date of another body or person than the question
    names: it names one of the same kind, and not the question's ("Lei Jun set a target for Xiaomi"
    gives no year of BYD's). A sentence naming nobody ("The company is targeting...") may speak of
    the question's."""
    if not analysis.names or analysis.expects not in _MEASURED:
        return False  # a body or a person of the sentence may be the answer itself
    asked = {
        (span.start, span.end): span.kind
        for span in spans(analysis.question, vocabulary)
        if span.kind in (Kind.ORGANISATION, Kind.PERSON)
    }
    here = facts(sentence)
    kinds = set()
    for constraint in analysis.names:
        kind = next((k for (start, end), k in asked.items() if start <= constraint.start < end), None)
        if kind is None:
            continue
        if name_coverage(constraint, here) >= 0.5:
            return False
        kinds.add(kind)
    if not kinds:
        return False
    return any(
        span.kind in kinds and not any(analysis.says(token.lower) for token in tokens(span.text))
        for span in spans(sentence, vocabulary)
    )


def _rare_acronym(constraint: Constraint) -> bool:
    """Whether a name of the question is an acronym rare in English ("CVE", not "US" or "NHS")."""
    text = constraint.text.rstrip("'’s")
    return text.isupper() and 2 <= len(text) <= 5 and text.isalpha() and rarity(text.lower()) >= RARE_ACRONYM


RARE_ACRONYM = 3.5
"""`rarity` from which an acronym is rare."""


_MEASURE_WORD = re.compile(
    rf"(?<![\w.-])(\d+(?:\.\d+)?|{_TENS}-{_ONES}|{_WORDS})-([a-z]+)\b(?!-)", re.IGNORECASE
)


def contradicts(
    analysis: Analysis,
    sentence: str,
    short: Span | None = None,
    word_vector: Callable[[str], np.ndarray] | None = None,
    lead: str = "",
    vocabulary: Vocabulary | None = None,
) -> bool:
    """Whether the sentence is about another thing than the question, whatever words they share:
    it, or the `lead` of its article (`_lead`), states another ordinal than the question's and not
    its own ("for the second time" for "the first cut"), speaks of no earlier time for a question
    counting back ("a year earlier"), gives an amount or date of another body or person (`_rival`),
    measures a noun of the question by another number in the same unit ("two-year bonds" for
    "ten-year bonds") or names it by another time ("the November meeting" for "the August meeting",
    `_timed_otherwise`), or, with `word_vector`, names
    the measure asked for otherwise ("stock price" for "target price", `_renamed`) or gives its
    amount `short` as another measure ("its 2% target" for "the inflation rate",
    `_names_other_measure`), or gives the amount in a clause about someone else ("on 31 points,
    while Eastvale drop", `_anothers_amount`)."""
    if _other_ordinal(analysis, sentence) or _other_ordinal(analysis, lead):
        return True
    # "a year earlier": a sentence that speaks of no earlier time gives today's figure
    if analysis.counts_back and _BEFORE_NOW.search(sentence) is None:
        return True
    if _rival(analysis, sentence, vocabulary):  # "Lei Jun set a target for Xiaomi": no year of BYD's
        return True
    if short is not None and analysis.expects in _AMOUNTS and _anothers_amount(analysis, sentence, short):
        return True
    if short is not None and short.kind is Kind.MONEY and _share_price(analysis, sentence, short):
        return True
    if word_vector is not None and (
        _renamed(analysis, sentence, word_vector)
        or (short is not None and _names_other_measure(analysis, sentence, short, word_vector))
    ):
        return True
    if _timed_otherwise(analysis, sentence):
        return True
    asked = _measured_nouns(analysis.question)
    if not asked:
        return False
    stated = _measured_nouns(sentence)
    return any(
        unit == other_unit
        and noun == other_noun
        and value != other_value
        and (value, unit, noun) not in stated
        for value, unit, noun in asked
        for other_value, other_unit, other_noun in stated
    )


_TIMED_NOUN = re.compile(
    rf"\b({_MONTH}|{_WEEKDAY}|spring|summer|autumn|winter)(?:['’]s)?\s+([a-z]+)\b", re.IGNORECASE
)
"""A noun named by a time: "the August meeting", "Friday's session", "its spring forecast"."""


def _timed_nouns(text: str) -> frozenset[tuple[str, str]]:
    """A text's nouns named by a time, as (time, noun stem)."""
    return frozenset(
        (match.group(1).lower().rstrip("."), stem(match.group(2).lower()))
        for match in _TIMED_NOUN.finditer(text)
        if match.group(2).islower() and match.group(2) not in STOPWORDS  # "in May to ..." names nothing
    )


def _timed_otherwise(analysis: Analysis, sentence: str) -> bool:
    """Whether the sentence names a noun of the question by another time than the question does, and
    never by the question's: "the committee's November meeting" does not tell of "the August
    meeting"."""
    asked = analysis.timed_nouns
    if not asked:
        return False
    stated = _timed_nouns(sentence)
    return any(
        noun == other_noun and time != other_time and (time, noun) not in stated
        for time, noun in asked
        for other_time, other_noun in stated
    )


_CLAUSE_JOINS = re.compile(r";|,\s+(?:while|whereas|but|although|though|with)\b|\s+(?:while|whereas)\s+")
"""Where a sentence joins clauses about different subjects ("..., while Eastvale drop to ninth")."""


def _anothers_amount(analysis: Analysis, sentence: str, short: Span) -> bool:
    """Whether the amount stands in a clause that names someone else and not the question's names,
    which the sentence states only in another clause ("The result moves Rovers up to fourth on 31
    points, while Eastvale drop to ninth" gives no points of Eastvale's), or away from the words the
    question asks about (`_phrase_elsewhere`)."""
    joins = [match.start() for match in _CLAUSE_JOINS.finditer(sentence)]
    if not joins:
        return False
    start = max((at for at in joins if at <= short.start), default=0)
    end = min((at for at in joins if at > short.start), default=len(sentence))
    clause, rest = sentence[start:end], f"{sentence[:start]} {sentence[end:]}"
    if _phrase_elsewhere(analysis, clause, rest):
        return True
    if not analysis.names:
        return False

    def says_a_name(words: set[str]) -> bool:
        return any(set(constraint.keys) & words for constraint in analysis.names)

    def words_of(text: str) -> set[str]:
        return {token.lower for token in tokens(text)}  # "Eastvale's" is "eastvale"

    someone_else = any(not says_a_name(words_of(span.text)) for span in name_spans(clause))
    return someone_else and not says_a_name(words_of(clause)) and says_a_name(words_of(rest))


_MARKET_WORDS = frozenset({"stock", "stocks", "share", "shares", "trade", "traded", "trading", "market"})
"""Words by which a question or a sentence speaks of a company's shares."""


def _share_price(analysis: Analysis, sentence: str, short: Span) -> bool:
    """Whether money a sentence gives as a share price ("the stock price ... rose to HKD 36.25")
    answers a question that does not ask about shares ("how much does the sedan cost")."""
    if analysis.about_shares:
        return False
    before = tokens(sentence[: short.start])[-BOUND_WORDS:]
    return any(token.lower in _MARKET_WORDS for token in before)


def _phrase_elsewhere(analysis: Analysis, clause: str, rest: str) -> bool:
    """Whether two or more words side by side in the question ("the regional authority") stand in
    another clause of the sentence, and outweigh (by rarity) the question's words in the amount's own
    clause: "60 percent ... from the national government's fund, with the remainder covered by the
    city and the regional authority" gives no share of the regional authority's."""
    asked = [c for c in analysis.words if c.text[0].islower() and c.text.lower() not in STOPWORDS]
    in_clause = {stem(token.lower) for token in tokens(clause)}
    in_rest = {stem(token.lower) for token in tokens(rest)}
    elsewhere = [c for c in asked if c.keys[0] in in_rest and c.keys[0] not in in_clause]
    here = [c for c in asked if c.keys[0] in in_clause]
    phrase = any(
        re.fullmatch(r"\s+", analysis.question[first.end : second.start])
        for first, second in itertools.pairwise(elsewhere)
    )
    if not phrase and (len(elsewhere) < 2 or here):
        return False
    return sum(c.weight for c in elsewhere) > sum(c.weight for c in here)


def _other_ordinal(analysis: Analysis, text: str) -> bool:
    """Whether the text states ordinals, none of them the question's ("for the second time" for
    "the first cut")."""
    if not analysis.ordinals:
        return False
    stated = {key for *_, key in ordinals(text)}
    return bool(stated) and not analysis.ordinals <= stated


def _lead(context: Context) -> str:
    """The headline and first sentence of the candidate's article: they say which occurrence of an
    event the story reports ("cut rates for the second time this year"), so an ordinal of the
    question they contradict ("its first move of the year") pins another story, whichever of its
    sentences is read."""
    first = split_sentences(context.article[:LEAD_CHARS])
    return f"{context.title}. {first[0].text if first else ''}"


LEAD_CHARS = 400
"""Characters of an article's start read for its first sentence."""


def _measured_nouns(text: str) -> set[tuple[float, str, str]]:
    """(number, unit, noun stem) of each "ten-year government bonds", "30-day ban" of a text: the
    noun is the last of the one or two lowercase nouns that follow."""
    found = set()
    for match in _MEASURE_WORD.finditer(text):
        value = number_value(match.group(1))
        nouns = list(itertools.takewhile(_modifier, tokens(text[match.end() : match.end() + 40])[:2]))
        if value is not None and nouns:
            found.add((value, stem(match.group(2).lower()), stem(nouns[-1].lower)))
    return found


def _names_other_measure(
    analysis: Analysis, sentence: str, span: Span, word_vector: Callable[[str], np.ndarray]
) -> bool:
    """Whether an amount answering a measure question is followed by the name of another measure:
    "its 2% target" does not answer "what was the inflation rate", "a 60 percent stake" no "share"
    unlike in meaning."""
    if analysis.expects not in _AMOUNTS or analysis.focus is None or span.kind not in _AMOUNTS:
        return False
    after = tokens(sentence[span.end : span.end + 20])[:1]
    if not after or _focus_kind(after[0].lower) is None:
        return False
    word = after[0].lower
    return stem(word) != stem(analysis.focus) and _unlike(analysis.focus, word, word_vector)


def _unlike(word: str, another: str, word_vector: Callable[[str], np.ndarray]) -> bool:
    """Whether two words name different things by the static vectors (cosine below `CONTRADICTING`)."""
    return float(word_vector(word) @ word_vector(another)) < CONTRADICTING


def _renamed(analysis: Analysis, sentence: str, word_vector: Callable[[str], np.ndarray]) -> bool:
    """Whether the sentence writes the measure the question asks for with another word in front,
    unlike the question's in meaning, and never as asked: "stock price" for "target price"."""
    if analysis.focus_at is None or len(analysis.focus_words) < 2 or _says(analysis.focus_words, sentence):
        return False
    modifier, head = analysis.focus_words[-2], analysis.focus_words[-1]
    asked = tokens(analysis.question[analysis.focus_at[0] : analysis.focus_at[1]])[-2].lower
    words = tokens(sentence)
    return any(
        stem(word.lower) == head
        and sentence[before.end : word.start] == " "
        and _measure_modifier(before)
        and stem(before.lower) != modifier
        and _unlike(asked, before.lower, word_vector)
        for before, word in itertools.pairwise(words)
    )


CONTRADICTING = 0.4
"""Static-vector cosine below which two words in front of the same noun name different things."""


BOUND_WORDS = 8
"""Words either side of a number answer where the question's own words are looked for."""


def bound(
    analysis: Analysis,
    sentence: str,
    span: Span,
    word_vector: Callable[[str], np.ndarray],
    *,
    low: float = 0.2,
    high: float = 0.5,
) -> float:
    """How closely a number is tied to what the question asks: 1.0 when a lowercase content word of
    the question (or its focus noun) stands within `BOUND_WORDS` words of it or in its own unit
    ("10,000 monkeypox cases"), by stem; else the best
    cosine between the static vectors of such a word and a word there, from `low` (0.0) to `high`
    (1.0). A number whose unit is of the measure asked for ("412 light-years" for "how far") is bound.

    A sentence about the right company or place often holds a number of another measure: "a
    compensation fund of €4.5 million" does not say what the depot costs, "a gain of 200%" is no
    market share. The words around a number say what it counts; when none of them is the
    question's, in form or near in meaning, the number answers another question.
    """
    if analysis.focus in _MEASURES and span.kind is Kind.NUMBER and _unit_fit(analysis, span) == 1.0:
        return 1.0  # "412 light-years" for "how far": its unit says what it measures
    asked = [c.text.lower() for c in analysis.words if c.text[0].islower()]
    if analysis.focus is not None:
        asked.append(analysis.focus)
    asked = [word for word in asked if word not in STOPWORDS]
    if not asked:
        return 1.0
    words = tokens(sentence)
    inside = [i for i, t in enumerate(words) if t.start < span.end and t.end > span.start]
    if not inside:
        return 1.0
    near = [  # the span's own unit counts: "10,000 monkeypox cases" is bound to "how many cases"
        t.lower
        for t in words[max(0, inside[0] - BOUND_WORDS) : inside[-1] + 1 + BOUND_WORDS]
        if t.text[0].isalpha() and t.lower not in STOPWORDS
    ]
    stems = {stem(word) for word in asked}
    if any(stem(word) in stems for word in near):
        return 1.0
    if not near:
        return 0.0
    best = max(float(word_vector(a) @ word_vector(n)) for a in asked for n in near)
    return _ramp(best, low, high)


def _ramp(value: float, low: float, high: float) -> float:
    """0.0 up to `low`, 1.0 from `high`, linear between: a cosine read as "absent" to "present"."""
    return min(1.0, max(0.0, (value - low) / (high - low)))


def _says(words: Sequence[str], text: str) -> bool:
    """Whether a text has these stems side by side, in this order ("market share", not "market
    value ... per share")."""
    stems = [stem(token.lower) for token in tokens(text)]
    n = len(words)
    return any(stems[i : i + n] == list(words) for i in range(len(stems) - n + 1))


_CAUSE = re.compile(
    r"\b(because|due to|owing to|thanks to|as a result|result of|caused by|blamed|citing|cited|"
    r"in order to|so that|so as to|aimed at|in an effort to|in a bid to|to avoid|to prevent|"
    r"reason|reasons|led to|driven by|amid (?:fears|concerns)|fears? (?:of|that)|"
    r"concerns? (?:about|over|that)|saying (?:that|it)|noting that|noting|explaining|arguing|warning that|"
    r"for (?:a|an))\b",
    re.IGNORECASE,
)
"""Words that introduce a cause or a purpose, which a why-question needs."""


@dataclass(frozen=True)
class Facts:
    """What a text (an article, with its title) states, in the forms constraints are matched in."""

    text: str
    words: frozenset[str]
    """Lowercase words, without dots or possessives ("U.S." -> "us", "Xiaomi's" -> "xiaomi")."""
    numbers: frozenset[str]
    """Number keys of its numbers and ordinals, and the year of its date."""
    days: frozenset[str]
    """Day keys of its dates, and of its own date."""
    vocabulary: Vocabulary

    @cached_property
    def sorted_words(self) -> tuple[str, ...]:
        """`words` in order, for finding the words that start with a given one."""
        return tuple(sorted(self.words))

    @cached_property
    def initials(self) -> frozenset[str]:
        """Initials of its capitalised runs ("uaw" for "United Auto Workers"), read when asked for."""
        return frozenset(
            "".join(word[0] for word in run.split() if word[0].isupper()).lower()
            for run in _CAPITALISED_RUN.findall(self.text)
        )


_CAPITALISED_RUN = re.compile(r"\b[A-Z][\w&'’-]*(?:\s+(?:of |and |& )?[A-Z][\w&'’-]*)+")
ARTICLE_CHARS = 8_000
"""How much of an article the reader looks through for a question's names and numbers."""


_POSSESSIVES = re.compile(r"['’]s?\b")
_WORDS_OF = re.compile(r"[^\W_][\w.&'’-]*[^\W_]|[^\W_]")


@lru_cache(maxsize=256)
def facts(body: str, published: date | None = None, headline: str = "") -> Facts:
    """The facts of a text under its headline, read once per article however many of its sentences
    are candidates."""
    text = f"{headline}\n{body}" if headline else body
    numbers_ = {number_key(v) for *_, v in numbers(text)} | {key for *_, key in ordinals(text)}
    days = {key for span in date_spans(text) for key in day_keys(span.text)}
    if published is not None:
        numbers_.add(number_key(published.year))
        days |= {f"{published.month}-{published.day}", f"{published.year}-{published.month}"}
    lowered = _POSSESSIVES.sub("", text.lower()).replace(".", "")  # "U.S." -> "us", "Xiaomi's" -> "xiaomi"
    words = set(_WORDS_OF.findall(lowered))
    return Facts(text, frozenset(words), frozenset(numbers_), frozenset(days), Vocabulary.of(body, headline))


def name_coverage(constraint: Constraint, text: Facts) -> float:
    """How much of a name a text states.

    1.0 for all its words, in any inflection ("Asia" in "Asian", "Muslim" in "Muslims"), or its
    initials ("UAW" for "United Auto Workers", and the other way round); 0.75 when its last word
    stands capitalised in the text (people are named by surname: "Trump" for "Donald Trump"); else
    the rarity-weighted share of its words present.
    """
    keys = constraint.keys
    present = [_stated(key, text) for key in keys]
    if all(present):
        return 1.0
    if any(not found and any(c.isdigit() for c in key) for key, found in zip(keys, present, strict=True)):
        return 0.0  # a model or a line the text never names: "Linkwave R3" is not the "Linkwave R2"
    if len(keys) > 1 and "".join(key[0] for key in keys) in text.words:
        return 1.0
    if (
        len(keys) == 1
        and constraint.text.isupper()
        and 1 < len(constraint.text) <= 5
        and keys[0] in text.initials
    ):
        return 1.0
    weights = [rarity(key) for key in keys]
    share = sum(w for w, found in zip(weights, present, strict=True) if found) / sum(weights)
    surname = len(keys) > 1 and keys[-1] in text.vocabulary.proper and _alone(keys[-1], text.text)
    return max(share, 0.75) if surname else share


def _alone(word: str, text: str) -> bool:
    """Whether a capitalised word stands in a text as a name of its own ("Trump said", "Mr Trump"),
    not as the end of another name ("Moor Lane" does not name "Harlow Lane")."""
    for match in re.finditer(rf"\b{re.escape(word.capitalize())}\b", text):
        before = re.search(r"([A-Z][\w'’.-]*) $", text[max(0, match.start() - 40) : match.start()])
        if before is None or before.group(1).lower().rstrip(".") in _TITLES:
            return True
    return False


_PLURAL_MODEL = re.compile(r"\w*\d[a-z]*s")
"""A model name in the plural ("su7s"), which a text states in the singular."""


def _stated(key: str, text: Facts) -> bool:
    """Whether a name's word stands in a text, as it is or inflected ("asia" -> "asian", "asians",
    "SU7s" -> "SU7")."""
    if key in text.words or (_PLURAL_MODEL.fullmatch(key) and key[:-1] in text.words):
        return True
    if len(key) < 4:
        return False
    index = bisect.bisect_left(text.sorted_words, key)
    for word in text.sorted_words[index : index + 8]:  # the words that start with it come first
        if word.startswith(key) and len(word) - len(key) <= 3:
            return True
    return False


_FIT: dict[Kind, dict[Kind, float]] = {
    Kind.NUMBER: {Kind.NUMBER: 1.0, Kind.MONEY: 0.5, Kind.PERCENT: 0.5},
    Kind.MONEY: {Kind.MONEY: 1.0, Kind.NUMBER: 0.5},
    Kind.PERCENT: {Kind.PERCENT: 1.0, Kind.NUMBER: 0.3},
    Kind.DATE: {Kind.DATE: 1.0},
    # names are typed by heuristics (no gazetteer, no tagger): a near kind still fits in part
    Kind.PERSON: {Kind.PERSON: 1.0, Kind.NAME: 0.8, Kind.ORGANISATION: 0.25, Kind.PLACE: 0.3},
    Kind.ORGANISATION: {Kind.ORGANISATION: 1.0, Kind.NAME: 0.8, Kind.PLACE: 0.5, Kind.PERSON: 0.4},
    Kind.PLACE: {Kind.PLACE: 1.0, Kind.NAME: 0.8, Kind.ORGANISATION: 0.5, Kind.PERSON: 0.4},
    Kind.NAME: {Kind.NAME: 1.0, Kind.THING: 1.0, Kind.PERSON: 0.8, Kind.ORGANISATION: 0.8, Kind.PLACE: 0.8},
}
"""How well a span of one kind (inner keys) answers a question expecting another (outer keys)."""
_NOT_BODIES = frozenset({Kind.PERSON, Kind.PLACE})
"""Kinds of answer that a name attested as a body's (`Span.attested`) cannot give."""
_MEASURES: dict[str, str] = {
    measure: units
    for measures, units in (
        ("temperature", "degree degrees °c °f celsius fahrenheit kelvin"),
        (
            "distance length height depth width",
            "km kilometre kilometres kilometer kilometers mile miles m metre "
            "metres meter meters cm mm feet foot ft inch inches light-years light-year yards",
        ),
        ("speed gust gusts wind winds", "km/h mph knots kph"),
        ("age", "years year-old years-old"),
        ("weight mass", "kg kilograms tonnes tons pounds lb lbs grams"),
        ("volume capacity", "litres liters gallons barrels"),
        ("duration time", "seconds minutes hours days weeks months years decades"),
    )
    for measure in measures.split()
}


_RELATIVE_UNITS = frozenset({"times", "fold"})
"""Units of a measure given against another thing's: any measure may be said so."""
_MEASURE_UNITS = (
    frozenset(unit for units in _MEASURES.values() for unit in units.split()) - {"years", "days"}
) | {
    "basis points",  # a rate's move counts no members, votes or cars
    "percentage points",
}


def _answer_span(
    analysis: Analysis, sentence: str, vocabulary: Vocabulary | None = None, published: date | None = None
) -> tuple[float | None, Span | None]:
    """How well the sentence's best span fits the expected kind (0 when none does; None when no kind
    is expected), and that span: one the question does not already contain, of the best-fitting kind,
    nearest the words it shares with the question. A name loses the words at its start the question
    says (`_unsaid`); a dateline answers only "where".

    A question of no particular kind ("which virus", "what happened") still gets the nearest name
    as its short answer when the sentence has one, but does not need it.
    """
    if analysis.expects is Kind.REASON:
        return None, None
    expected = _FIT.get(analysis.expects)
    fits = expected if expected is not None else _ANY_NAME
    if analysis.focus in _LEVELS:
        fits = _ANY_AMOUNT
    found = [
        (fit, span)
        for span in (_unsaid(span, analysis, sentence) for span in spans(sentence, vocabulary))
        if (
            fit := (0.0 if span.attested and analysis.expects in _NOT_BODIES else fits.get(span.kind, 0.0))
            * _unit_fit(analysis, span)
            * _measure_fit(analysis, span, published)
            * (SOURCE_FIT if _source(span, sentence) else 1.0)
        )
        > 0
        and not _said_by_question(span, analysis)
        and (analysis.expects is Kind.PLACE or not _dateline(span, sentence))
        and not _measures_another_noun(span, sentence, analysis)
    ]
    role = analysis.role
    if role is not None:  # "who is the mayor": a name the sentence calls the mayor ("mayor Ingrid Vallen")
        timely = _in_time(analysis, sentence)
        found = [
            (fit, span)
            for fit, span in found
            if span.kind not in NAME_KINDS or (timely and _in_role(span, role, analysis, sentence))
        ]
    window = aligned_span(analysis, sentence)
    if not found:
        if expected is None or analysis.expects is Kind.NAME:
            return (0.0 if expected is not None else None), window
        return 0.0, None
    anchors = anchor_positions(analysis, sentence)

    def rank(item: tuple[float, Span]) -> float:
        fit, span = item
        inside = window is not None and window.start <= span.start and span.end <= window.end
        return fit * 100 + (WINDOW_RANK if inside else 0) - _distance(span, anchors, sentence) / 10

    fit, span = max(found, key=rank)
    if span.kind in NAME_KINDS:
        span = _listed(span, [other for _, other in found if other.kind in NAME_KINDS], sentence)
    if (
        window is not None
        and expected is None
        and not (window.start <= span.start and span.end <= window.end)
    ):
        span = window  # a question of no particular kind: the words where its wh-phrase stands
    return (fit if expected is not None else None), span


WINDOW_RANK = 30
"""What standing where the question's wh-phrase stands adds to a span's rank (its fit counts 100):
it decides between spans of the same kind, but does not make a person ("Governor Elsa Varnholt
told reporters") outrank a name that fits better ("in the capital, Kessby" for "Norland's
capital")."""


_ROLE_CHANGES = frozenset({"deputy", "vice", "assistant", "acting", "former", "interim", "associate"})
"""Words that make another role of the one after them: a deputy mayor is not the mayor."""


_ROLE_LEADS = frozenset(
    {"is", "was", "are", "were", "will", "would", "be", "the", "a", "an", "current", "new", "in"}
)
"""Words between "who" and the role it asks about ("who is the new mayor", "who is in charge")."""


_LEADING = frozenset({"leads", "led", "heads", "headed", "runs", "ran", "manages", "managed", "charge"})
"""Words of "who leads / heads / runs / is in charge of": they ask for whoever leads, by any title."""
_LEADERS = frozenset(
    stem(word)
    for word in """
    manager coach head chief boss director leader chairman chairwoman chair president ceo
    executive commissioner governor mayor captain principal
    """.split()  # noqa: SIM905
)
"""Stems of the titles of whoever leads: any of them answers "who leads / runs / is in charge of"."""
_ROLE_VERBS = {
    verb: titles
    for verbs, titles in (
        ("refereed referees officiated", "referee official umpire"),
        ("edited edits", "editor edited"),
        ("wrote writes authored", "author writer written"),
        ("coached coaches", "coach"),
        ("captained captains", "captain"),
        ("founded", "founder co-founder"),
        ("directed", "director"),
        ("designed", "designer architect"),
    )
    for verb in verbs.split()
}
"""Verbs of a role, and the role's titles: "who refereed" asks for a name the sentence calls the
referee, or says refereed ("founded by Lei Jun")."""


def _role(analysis: Analysis) -> frozenset[str] | None:
    """The stems of the role a "who" question asks about, from the titles list: the word just after
    "who" and its auxiliaries ("who is the mayor", "who will referee"), or any leader's title for
    "who leads / runs / is in charge of"; not a role said of the person ("who will become a
    professor"). "Which singer" is not asked this way: articles name the singer without the word."""
    if analysis.expects is not Kind.PERSON or analysis.focus is not None:
        return None
    after = tokens(analysis.question[analysis.slot[1] :])
    head = next((t.lower for t in after if t.lower not in _ROLE_LEADS), None)
    if head in _LEADING:
        return _LEADERS
    if head in _ROLE_VERBS:  # "who refereed": the referee, or whoever the sentence says refereed
        return frozenset(stem(word) for word in (head, *_ROLE_VERBS[head].split()))
    return frozenset({stem(head)}) if head in _TITLES else None


def gives_role(analysis: Analysis, context: Context) -> bool:
    """Whether the sentence gives the role a "who is the referee" question asks about to a name
    ("Referee: Andrew Pryce"), beside every name of the question (in it, its neighbours or the title),
    and, for a question about the future ("who will referee"), speaks of the future: such a sentence
    answers however little else it shares with the question."""
    role = analysis.role
    if role is None or not any(
        span.kind in NAME_KINDS and _in_role(span, role, analysis, context.sentence)
        for span in name_spans(context.sentence)
    ):
        return False
    near = facts(" ".join(context.near), context.published, context.title)
    if any(name_coverage(constraint, near) < 0.5 for constraint in analysis.names):
        return False
    return _in_time(analysis, " ".join(context.near))


def _in_time(analysis: Analysis, text: str) -> bool:
    """Whether a text can give a role's holder at the time the question asks about: any text for a
    question about now or before, one that speaks of the future for "who will referee" (a report of
    a match played, "Referee: Andrew Pryce.", names no referee of the next)."""
    return not analysis.to_come or _FUTURE.search(text) is not None


_FUTURE = re.compile(
    r"\b(?:will|shall|going to|due to|next|upcoming|scheduled|expected to|set to|appointed|named|chosen|"
    r"selected|to take over)\b",
    re.IGNORECASE,
)
"""Words of a time to come: "who will referee" is not answered by a report of a match played."""


def _in_role(span: Span, role: frozenset[str], analysis: Analysis, sentence: str) -> bool:
    """Whether the sentence calls the name by the role (stems), just before it ("deputy mayor Ingrid
    Vallen" is a deputy mayor, unless the question says "deputy") or just after it ("Okafor, the
    referee")."""
    before = tokens(sentence[: span.start])[-3:]
    after = tokens(sentence[span.end :])[:4]
    for index, token in enumerate(before):
        if stem(token.lower) in role:
            changed = index > 0 and before[index - 1].lower in _ROLE_CHANGES
            return not changed or analysis.says(before[index - 1].lower)
    return any(stem(token.lower) in role for token in after)


def _listed(span: Span, names: Sequence[Span], sentence: str) -> Span:
    """The list of names a name stands in ("Cher, Mary J. Blige and Dave Matthews Band"), or the
    name alone: a question asking for one of them is answered by them all, as the article gives them."""
    ordered = sorted(names, key=lambda other: other.start)
    at = next((i for i, other in enumerate(ordered) if other == span), None)
    if at is None:
        return span
    first = last = at
    while first > 0 and _LIST_GAP.fullmatch(sentence[ordered[first - 1].end : ordered[first].start]):
        first -= 1
    while last + 1 < len(ordered) and _LIST_GAP.fullmatch(
        sentence[ordered[last].end : ordered[last + 1].start]
    ):
        last += 1
    gaps = [sentence[ordered[i].end : ordered[i + 1].start] for i in range(first, last)]
    if not any(re.search(r"\b(?:and|or)\b", gap) for gap in gaps):
        return span  # "Shinzo Abe, Japan's former leader": a name and another beside it, no list
    start, end = ordered[first].start, ordered[last].end
    return Span(sentence[start:end], start, end, span.kind)


_LIST_GAP = re.compile(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+")


SOURCE_FIT = 0.5
"""How well a name the sentence cites as its source fits an organisation or a name question."""
_SOURCE_BEFORE = re.compile(
    r"(?:according to|told|reviewed by|reported by|cited by|quoted by|said)\s+(?:the\s+)?$", re.IGNORECASE
)


def _source(span: Span, sentence: str) -> bool:
    """Whether a name is cited as the source of what the sentence says ("according to Reuters",
    "reviewed by CNN", "(CNN)"): it tells who reported, seldom what is asked."""
    if span.kind not in (Kind.ORGANISATION, Kind.NAME):
        return False
    before = sentence[max(0, span.start - 20) : span.start]
    return bool(_SOURCE_BEFORE.search(before)) or (
        before.endswith("(") and sentence[span.end : span.end + 1] == ")"
    )


_ANY_NAME = dict.fromkeys(NAME_KINDS, 1.0)
"""A question of no particular kind ("which virus") may be answered by a name of any kind."""
_ANY_AMOUNT = dict.fromkeys(_AMOUNTS, 1.0)
"""A question after an amount of any kind ("at what level", "how high") by a number, money or a share."""
_DATELINE = re.compile(r"\s*(?:\(\w+\)\s*)?[—–-]|,? \w{3}\.? \d{1,2} \(")


def _dateline(span: Span, sentence: str) -> bool:
    """Whether a span is the dateline that opens a report ("FORT PIERCE —", "SYDNEY, Nov 7 (Reuters)"):
    where it was filed, not what it says."""
    return span.start == 0 and span.text.isupper() and bool(_DATELINE.match(sentence, span.end))


def _unsaid(span: Span, analysis: Analysis, sentence: str) -> Span:
    """A name without the words at its start that the question says or that are titles: "Supreme
    Court Justice Samuel Alito" answers "which Supreme Court justice" with "Samuel Alito"."""
    if span.kind not in NAME_KINDS:
        return span
    words = tokens(span.text)
    drop = 0
    while drop < len(words) - 1 and (
        analysis.says(words[drop].lower)
        # a title goes when a name of two words or more is left: "Prince William" stays as it is
        or (words[drop].lower.rstrip(".") in _TITLES and drop < len(words) - 2)
    ):
        drop += 1
    if not drop or words[drop].lower in _CONNECTORS:
        return span
    start, end = span.start + words[drop].start, span.start + words[-1].end
    kept = [Token(t.text, t.start + span.start, t.end + span.start, t.lower) for t in words[drop:]]
    if words[drop - 1].lower.rstrip(".") in _TITLES:
        kind = Kind.PERSON
    elif span.kind is Kind.THING:
        kind = Kind.THING  # "Idris" of "Storm Idris" is still a storm
    else:
        kind = _name_kind(kept, None, sentence, end)
    return Span(sentence[start:end], start, end, kind)


def full_name(span: Span, context: Context, analysis: Analysis) -> str:
    """A name as its article writes it in full elsewhere: "Joe Biden" for "Biden", "Detroit Lions" for
    "Lions" (the longest name of the title, the chunk and the article's first `ARTICLE_CHARS` that
    ends with it, at most two words longer, adding no words the question says); other spans as they
    are."""
    if span.kind not in NAME_KINDS:
        return span.text
    words = span.text.split()
    longest = span.text
    for text in (context.title, " ".join(context.sentences), context.article[:ARTICLE_CHARS]):
        if f" {span.text}" not in text:
            continue  # nothing written before it there: no need to read the names
        for name in name_spans(text):
            longer = name.text.split()
            added = longer[: len(longer) - len(words)]
            if (
                len(words) < len(longer) <= len(words) + 2
                and longer[len(added) :] == words
                and not any(analysis.says(w.lower()) for w in added)
                and len(name.text) > len(longest)
            ):
                longest = name.text
    return longest


_KIND_OF = frozenset({"type", "kind", "sort", "form", "variety"})
"""Focus nouns that say "of what follows" ("what kind of shares"): the noun after them is the kind."""


def kind_phrase(analysis: Analysis) -> str | None:
    """The words of the question that name the kind of thing it asks for, when the word lists do not
    type it ("gas" in "curb emissions of which gas", "social crisis", "grocery item" in "which type
    of grocery item"); None when the question names no such kind."""
    if analysis.expects not in (Kind.OTHER, Kind.NAME) or analysis.focus is None:
        return None
    start, end = analysis.slot
    if analysis.focus in _KIND_OF:
        rest = _noun_phrase(tokens(analysis.question[end:]))
        return " ".join(rest) if rest else None
    words = [
        t.text
        for t in tokens(analysis.question[start:end])
        if t.lower not in _QUESTION_WORDS and t.text.lower() not in STOPWORDS
    ]
    return " ".join(words) or analysis.focus


def meant_span(
    analysis: Analysis,
    sentence: str,
    encode: Callable[[Sequence[str]], np.ndarray],
    vocabulary: Vocabulary | None = None,
    floor: float = 0.4,
) -> Span | None:
    """The words of a sentence closest in meaning to the kind of thing the question asks for
    (`kind_phrase`): "methane" for "which gas", "malaria" for "which deadly disease", "Mecca" for
    "which religious site". Candidates are the sentence's names and its runs of one or two content
    words the question does not say; each is encoded alone and compared with the kind, and the best
    counts from a cosine of `floor`. None when the question names no kind or nothing comes close.

    A lexical answer type, matched by meaning: the word lists type people, places, amounts and dates;
    this covers the open-ended rest ("which animal", "what food").
    """
    kind = kind_phrase(analysis)
    if kind is None:
        return None
    candidates = [
        span
        for span in [*spans(sentence, vocabulary), *_word_runs(sentence, analysis)]
        if (span.kind in NAME_KINDS or span.kind is Kind.OTHER) and not _said_by_question(span, analysis)
    ]
    if not candidates:
        return None
    vectors = encode([kind, *(span.text for span in candidates)])
    similarity = vectors[1:] @ vectors[0]
    best = int(np.argmax(similarity))
    return candidates[best] if similarity[best] >= floor else None


def _word_runs(sentence: str, analysis: Analysis, longest: int = 2) -> list[Span]:
    """Every run of one to `longest` adjacent content words (letters, no function words, none the
    question says), as spans of no particular kind."""
    words = tokens(sentence)
    runs: list[list[Token]] = [[]]
    for index, word in enumerate(words):
        content = (
            word.text.replace("-", "").isalpha()
            and len(word.lower) > 2
            and word.lower not in STOPWORDS
            and word.lower not in _AUXILIARIES
            and word.lower not in analysis.own_words
        )
        joined = index > 0 and sentence[words[index - 1].end : word.start] in (" ", "-")
        if not content or not joined:
            runs.append([])
        if content:
            runs[-1].append(word)
    return [
        Span(sentence[run[i].start : run[i + n - 1].end], run[i].start, run[i + n - 1].end, Kind.OTHER)
        for run in runs
        for n in range(1, longest + 1)
        for i in range(len(run) - n + 1)
    ]


_EDGE_WORDS = (
    STOPWORDS | _AUXILIARIES | frozenset({"also", "now", "then", "just", "called", "named", "known"})
)
_CLAUSE_BREAK = re.compile(r"[,;:()“”\"]")


def aligned_span(analysis: Analysis, sentence: str) -> Span | None:
    """The words of a sentence that stand where the question's wh-phrase stands, if it can tell.

    Readers and quizzes often ask in the article's own words: "Which pharmacy chain filed for
    bankruptcy?" is answered by "Rite Aid filed for bankruptcy"; "calls linked to what type of
    incidents?" by "calls linked to mental health incidents". The question's content words just
    before its wh-phrase and just after its focus noun are found in the sentence (by stem), and the
    words between them (or before the right one, back to the clause's start, or after the left
    one, up to the clause's end) are the answer: at most six words, edges trimmed of function
    words, not all the question's own.
    """
    start, end = analysis.slot
    question = tokens(analysis.question)
    left = [t for t in question if t.end <= start and _content(t)][-3:]
    right = [t for t in question if t.start >= end and _content(t)][:3]
    words = tokens(sentence)
    stems = [stem(w.lower) for w in words]
    left_at = next(
        (i for t in reversed(left) for i in range(len(words) - 1, -1, -1) if stems[i] == stem(t.lower)), None
    )
    right_at = next(
        (
            i
            for t in right
            for i in range(len(words))
            if stems[i] == stem(t.lower) and (left_at is None or i > left_at + 1)
        ),
        None,
    )
    if left_at is None and right_at is None:
        return None
    if left_at is not None and right_at is not None:
        chosen = words[left_at + 1 : right_at]
    elif right_at is not None:
        chosen = words[:right_at]
        breaks = [
            i
            for i, w in enumerate(chosen[:-1])
            if _CLAUSE_BREAK.search(sentence[w.end : chosen[i + 1].start])
        ]
        chosen = chosen[breaks[-1] + 1 :] if breaks else chosen
    else:
        assert left_at is not None
        chosen = []
        for i in range(left_at + 1, len(words)):
            if chosen and _CLAUSE_BREAK.search(sentence[words[i - 1].end : words[i].start]):
                break
            chosen.append(words[i])
    while chosen and chosen[0].lower in _EDGE_WORDS:
        chosen = chosen[1:]
    while chosen and chosen[-1].lower in _EDGE_WORDS:
        chosen = chosen[:-1]
    if not 1 <= len(chosen) <= 6:
        return None
    span = Span(sentence[chosen[0].start : chosen[-1].end], chosen[0].start, chosen[-1].end, Kind.OTHER)
    return None if _said_by_question(span, analysis) else span


def _content(token: Token) -> bool:
    return token.lower not in STOPWORDS and token.lower not in _AUXILIARIES and not token.text[0].isdigit()


def anchor_positions(analysis: Analysis, sentence: str) -> list[int]:
    """Where the sentence states the question's names and words (character offsets)."""
    words = {c.keys[0] for c in analysis.words}
    names = {key for c in analysis.names for key in c.keys}
    return [t.start for t in tokens(sentence) if stem(t.lower) in words or t.lower in names]


def _distance(span: Span, anchors: Sequence[int], sentence: str) -> int:
    """Words between a span and the nearest anchor (the sentence's length when there is none)."""
    if not anchors:
        return len(sentence.split())
    nearest = min(anchors, key=lambda anchor: abs(anchor - span.start))
    low, high = sorted((nearest, span.start))
    return len(sentence[low:high].split())


def _unit_fit(analysis: Analysis, span: Span) -> float:
    """For a number question, how well a number's unit fits what is counted or measured.

    "What temperature" is not answered by "412 light-years": for a measure (temperature, speed,
    age...), a unit of that measure fits and any other fits poorly. For a count ("how many cars"),
    the counted noun fits fully, a bare number nearly, another noun ("300,000 vehicles") well, since
    articles name what they count in their own words. A name that contains the focus noun ("Howard
    University" for "which university") fits fully whatever its kind.
    """
    focus = analysis.focus
    if focus is None:
        return 1.0
    words = [t.lower for t in tokens(span.text)]
    if span.kind in NAME_KINDS:
        return _name_fit(focus, span, words)
    if span.kind is not Kind.NUMBER or analysis.expects is not Kind.NUMBER:
        return 1.0
    unit = _NUMERAL.sub("", span.text).strip(" -").lower()
    if not unit:
        return 0.8
    if stem(unit.split()[-1]) == stem(focus) or unit in _MEASURES.get(focus, "").split():
        return 1.0
    if unit in _RELATIVE_UNITS and focus in _MEASURES:  # "3.1 times as massive" gives a mass
        return 0.8
    if analysis.wh_phrase.startswith("how much"):
        # an amount of a thing ("how much rain") is measured in units, not counted in schools
        return 1.0 if unit in _MEASURE_UNITS else 0.3
    if focus in _MEASURES or unit in _MEASURE_UNITS:  # "148 km/h" counts nothing
        return 0.3
    return 0.8


def _name_fit(focus: str, span: Span, words: Sequence[str]) -> float:
    """How well a name fits the kind of thing a question's focus noun asks for: a country of the
    gazetteer answers "which country" and no other name does; no country or region answers "which
    city"; a person, a body or a place answers no "which hurricane" or "which film"; a name that
    contains the focus noun fits fully ("Howard University" for "which university"), unless it is a
    person's ("James Singer" is no singer)."""
    name = " ".join(words)
    if focus in KINDS_OF_PLACE:
        if name in KINDS_OF_PLACE[focus]:
            return 1.0
        return 0.0 if focus in WHOLE_KINDS_OF_PLACE else 0.8
    if focus in _SETTLEMENTS and name in LANDS:
        return 0.0
    if {focus, focus.rstrip("s")} & _THINGS and span.kind in (Kind.PERSON, Kind.ORGANISATION, Kind.PLACE):
        return 0.0
    if span.kind is not Kind.PERSON and stem(focus) in {stem(word) for word in words}:
        return 1.0
    return 0.9


_SETTLEMENTS = frozenset(
    {"city", "cities", "town", "towns", "village", "villages", "capital", "capitals", "port", "ports"}
)
"""Focus nouns of places that a country or a region does not answer ("which city")."""


_RELATIVE_YEAR = re.compile(r"\b(this|last) year\b", re.IGNORECASE)
"""A year named from the article's own: "last year"."""


def _asks_day(analysis: Analysis) -> bool:
    """Whether the question asks for a day ("on what date", "which day"), not any time ("when")."""
    return bool(re.fullmatch(r"(?:on )?(?:what|which) (?:date|day)", analysis.wh_phrase))


def _asks_clock(analysis: Analysis) -> bool:
    """Whether the question asks for a time of day ("at what time"), not of the year."""
    return analysis.wh_phrase == "what time" and not re.match(
        r"\s+of\s+(?:the\s+)?(?:year|month|season|week)", analysis.question[analysis.slot[1] :]
    )


_CLOCK = re.compile(
    r"(?<![\d.:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])|\d\s*(?:[ap]\.m\.|[ap]m\b)|\b(?:noon|midnight|o['’]clock)\b",
    re.IGNORECASE,
)
"""A time of day: "11:42", "2 a.m.", "noon"."""


def _measure_fit(analysis: Analysis, span: Span, published: date | None = None) -> float:
    """A count stands in for money or a share only bare ("130,000 vehicles" does not answer "how much
    does it cost"), and for a share only up to 100; "on what date" is answered by a day, poorly by
    a year or a month ("in 2025"), and a date of another year than the question's not at all: a
    weekday or "last year" without a year is of the year of the article's date (`published`)."""
    if span.kind is Kind.DATE:
        years = {c.keys[0] for c in analysis.numbers if c.anchors_time and c.keys[0].isdigit()}
        stated = {token.lower for token in tokens(span.text) if _is_year(token.lower)}
        if not stated and published is not None and not re.search(_MONTH, span.text):
            relative = _RELATIVE_YEAR.search(span.text)
            stated = {str(published.year - (1 if relative and relative.group(1).lower() == "last" else 0))}
        if years and stated and not stated & years:
            return 0.0  # "3 January 2025" is no day of 2024
        if _asks_clock(analysis):
            return 1.0 if _CLOCK.search(span.text) else 0.3  # "at what time": "11:42", "2 a.m."
        if not _asks_day(analysis):
            return 1.0
        if any(re.fullmatch(r"\d{1,2}-\d{1,2}", key) for key in day_keys(span.text)):
            return 1.0  # "6 January", "Jan. 6, 2025"
        return 0.6 if re.search(_WEEKDAY, span.text) else 0.2
    if span.kind in (Kind.MONEY, Kind.PERCENT) and analysis.counts:
        return 0.0  # "how many trams" is not answered by "€318 million" or "60 percent"
    if span.kind is Kind.NUMBER and analysis.expects in (Kind.MONEY, Kind.PERCENT):
        unit = _NUMERAL.sub("", span.text).strip(" -")
        if unit:
            return 0.2
        values = [value for *_, value in numbers(span.text)]
        if analysis.expects is Kind.PERCENT and values and values[0] > 100:
            return 0.0  # "one trillion" is no share
        return 1.0
    return 1.0


def _measures_another_noun(span: Span, sentence: str, analysis: Analysis) -> bool:
    """Whether a number joined to its unit describes a noun after it that the question does not ask
    about: "two-year government bonds" tells the bonds' term, not "by how much the crown fell"; "a
    2.6-metre main mirror" answers "how big is the mirror"."""
    if span.kind is not Kind.NUMBER or not _MEASURE_WORD.fullmatch(span.text):
        return False
    described = _DESCRIBED.match(sentence, span.end)
    return described is not None and not any(
        analysis.says(word.lower()) for word in described.groups() if word
    )


_DESCRIBED = re.compile(r"\s+([a-z]+)(?:\s+([a-z]+))?(?:\s+([a-z]+))?")
"""The lowercase words after a number joined to its unit: the noun it describes and its modifiers."""


def _said_by_question(span: Span, analysis: Analysis) -> bool:
    """Whether a span only repeats the question ("2025" when the question asks about 2025)."""
    if span.text.lower() in analysis.own_words:
        return True  # "3.4.2" for "who installed firmware 3.4.2", read as no number
    words = [t.lower.replace(".", "") for t in tokens(span.text)]
    keys = {number_key(v) for *_, v in numbers(span.text)}
    if keys and keys <= analysis.own_words:
        return True
    content = [w for w in words if w not in STOPWORDS and not w[0].isdigit()]
    return bool(content) and all(analysis.says(w) for w in content) and not keys


def warm_up() -> None:
    """Load the word lists the reader uses (word frequencies, the stemmer), so no question waits for them."""
    rarity("news")
    stem("news")
