"""The extractive answerer: quotes the sentences of the retrieved chunks that best answer a question."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
from langchain_core.documents import Document

from bot.answering.answer import NOT_FOUND, Answer, Turn
from bot.answering.base import citation, leads, standalone_question
from bot.answering.reader import (
    Context,
    Judgement,
    Kind,
    aligned_span,
    analyse,
    facts,
    full_name,
    gives_role,
    judge,
    meant_span,
)
from bot.answering.timeframe import Freshness, is_time_bound
from bot.config import BotSettings
from store import SentenceTransformerEmbeddings
from store.text import QUESTION_FILLER, format_day, strip_thousands

_WORD = re.compile(r"\w+")


def terms(text: str) -> set[str]:
    """Content words of a text, lowercased, numbers without separators, crudely stemmed to 6 letters."""
    words = _WORD.findall(strip_thousands(text.lower()))
    return {word[:6] for word in words if word not in QUESTION_FILLER and (len(word) > 1 or word.isdigit())}


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved chunk, with how well it answers the question."""

    text: str
    document: Document
    rank: int
    index: int
    vector: np.ndarray | None
    semantic: float
    lexical: float
    score: float
    evidence: float

    @property
    def article_id(self) -> str:
        """Id of the article the sentence belongs to."""
        return str(self.document.metadata["article_id"])

    @property
    def order(self) -> tuple[int, int]:
        """Where the sentence stands in its article (chunk position, sentence index)."""
        return int(self.document.metadata.get("position", 0)), self.index


@dataclass(frozen=True)
class Reading:
    """A candidate sentence as the reader judged it, and how answerable it makes the question."""

    candidate: Candidate
    judgement: Judgement
    freshness: float
    answerability: float


@dataclass
class ExtractiveAnswerer:
    """Quotes the sentence of the retrieved chunks that answers the question, with the answer in it.

    Each sentence gets a *rank score*: its similarity to the question (a vector computed at ingest
    from the sentence in context, see `encode_passages`), the IDF-weighted share of the question's
    content words it contains, and its chunk's standing in retrieval (fused score relative to the
    best chunk, which carries the date prior and the keyword match). And *evidence*: 0.6 similarity
    + 0.4 word share, how strongly the text itself answers (a question of one content word earns
    half the word share: "Who set it?" is not answered by any sentence containing "set").

    The best `read_top` sentences by rank are then *read* (`bot.answering.reader`): does the article
    state the question's names and dates, does the sentence hold a span of the kind asked for (a
    number of the right unit, a person, a date...), how old is the article against the newest news
    of the question's date (`Freshness`). Their *answerability* is the evidence scaled by those
    (see `answerability`); below `min_answerability` the answer is "not found" with the closest
    articles as leads. Otherwise the most answerable sentence is quoted first, with its short
    answer, and runners-up within `companion_margin` of its rank score join it, up to
    `max_sentences`. Every quoted sentence is text of the cited article, verbatim. Weights, margin
    and thresholds: docs/evaluation.md.
    """

    embeddings: SentenceTransformerEmbeddings
    min_answerability: float = 0.24
    min_evidence: float = 0.3
    """Evidence below which a sentence cannot answer, however it fits."""
    vague_evidence: float = 0.4
    """The same for a question of fewer than `full_credit_terms` content words ("Which is the best?",
    "Who set it?"): one shared word is weak evidence, so the meaning must match closely ("Xiaomi?")."""
    max_sentences: int = 3
    read_top: int = 6
    role_reads: int = 2
    """Candidates below `read_top` read as well when they give the role a question asks about to a
    name ("Referee: Andrew Pryce" for "who refereed the derby", `reader.gives_role`)."""
    lead_share: float = 0.5
    freshness: Freshness = field(default_factory=Freshness)
    fit_floor: float = 0.5
    """Answerability kept when a question asks for a kind of answer the sentence has no span of."""
    measure_fit_floor: float = 0.0
    """The same when the question asks for a count, money or a share (`Judgement.measured`)."""
    nameless_floor: float = 0.0
    """The same when the question asks for a person, an organisation or a place and the sentence names
    nothing at all: "who" is not answered by a sentence without a name."""
    anchor_penalty: float = 0.3
    """Answerability kept when the article does not state a year, date or ordinal of the question."""
    number_penalty: float = 0.85
    """Answerability kept when the article does not state another number of the question."""
    name_floor: float = 0.8
    """Answerability kept when the article states none of the question's names."""
    focus_floor: float = 0.5
    """Answerability kept when the sentence's context does not state the measure the question asks
    for ("market share", "fee", "target")."""
    reason_floor: float = 0.25
    """Answerability kept when a why-question's sentence gives no cause or purpose (`reader._CAUSE`)."""
    date_fit_floor: float = 0.25
    """`fit_floor` for a question that asks for a date: "when" needs a time, however close the sentence."""
    bound_floor: float = 0.0
    """Answerability kept when a number answer stands among none of the words the question asks with
    (`reader.bound`): it counts something else."""
    companion_margin: float = 0.1
    weights: tuple[float, float, float] = (0.5, 0.2, 0.3)
    evidence_weights: tuple[float, float] = (0.6, 0.4)
    full_credit_terms: int = 2
    """Content words a question needs for the full word-share part of the evidence."""
    kind_floor: float | None = None
    """Cosine from which the words of the quoted sentence closest in meaning to the kind of thing a
    question asks for ("which gas") are its short answer (`reader.meant_span`); None: never. Off by
    default: 0.4 raises dev short-answer accuracy by 0.03-0.04 but encodes some 25 phrases for half
    the questions, 12-15 ms, which takes `benchmarks/query.py`'s ask p95 over its 3x budget
    (docs/evaluation.md)."""
    name: str = "extractive"

    @classmethod
    def from_settings(
        cls, settings: BotSettings, embeddings: SentenceTransformerEmbeddings
    ) -> ExtractiveAnswerer:
        """The answerer the settings describe."""
        return cls(
            embeddings, min_answerability=settings.min_answerability, max_sentences=settings.max_sentences
        )

    def answer(self, question: str, documents: Sequence[Document], *, as_of: date | None = None) -> Answer:
        """The best sentences with citations and a short answer, or NOT_FOUND with leads."""
        candidates = self.rank(question, documents)
        readings = self.read(question, candidates, as_of or date.today())
        most = max(readings, key=lambda reading: reading.answerability, default=None)
        if most is None or most.answerability < self.min_answerability:
            return Answer(NOT_FOUND, found=False, leads=leads(documents), answerer=self.name, as_of=as_of)
        best = self.lead(readings, most)
        ranked = [best.candidate, *(c for c in candidates if c is not best.candidate)]
        answer = compose(self.select(ranked), answerer=self.name, as_of=as_of)
        short = self.short_answer(question, best)
        return with_source_date(replace(answer, short_answer=short), question)

    def short_answer(self, question: str, reading: Reading) -> str | None:
        """The reader's short answer of the leading sentence; for a question after a kind of thing the
        word lists do not type ("which gas"), the words closest to that kind in meaning, unless the
        short answer stands where the question's wh-phrase does (`reader.aligned_span`)."""
        short = reading.judgement.short_answer
        analysis = analyse(question)
        where = context(reading.candidate)
        chosen = short
        if self.kind_floor is not None:
            window = aligned_span(analysis, where.sentence)
            if short is None or window is None or not window.start <= short.start <= short.end <= window.end:
                vocabulary = facts(" ".join(where.sentences), where.published, where.title).vocabulary
                encode = self.embeddings.encode
                chosen = meant_span(analysis, where.sentence, encode, vocabulary, self.kind_floor) or short
        return full_name(chosen, where, analysis) if chosen else None

    def supports(self, question: str, candidates: Sequence[Candidate], as_of: date | None = None) -> bool:
        """Whether any of these sentences answers the question well enough to be given as its answer."""
        readings = self.read(
            question, sorted(candidates, key=lambda c: c.score, reverse=True), as_of or date.today()
        )
        return any(reading.answerability >= self.min_answerability for reading in readings)

    def lead(self, readings: Sequence[Reading], most: Reading) -> Reading:
        """The reading the answer leads with: the one whose short answer the close readings agree on most.

        Every reading at least `lead_share` as answerable as the most answerable one votes for its
        short answer with its answerability squared (two weak readings naming the goalkeeper do not
        outvote a strong one naming the scorer); answers that contain one another are the same answer
        ("Bird flu", "bird flu outbreak"). The best-ranked reading of the winning answer leads; with
        no short answers, the most answerable reading does.
        """
        close = [r for r in readings if r.answerability >= self.lead_share * most.answerability]
        votes: dict[str, float] = {}
        keys: dict[int, str] = {}
        for index, reading in enumerate(close):
            short = reading.judgement.short_answer
            if short is None:
                continue
            key = " ".join(short.text.lower().split())
            same = next((k for k in votes if key in k or k in key), key)
            votes[same] = votes.get(same, 0.0) + reading.answerability**2
            keys[index] = same
        if not votes:
            return most
        winner = max(votes, key=lambda k: votes[k])
        return next(close[i] for i, k in keys.items() if k == winner)

    def read(self, question: str, candidates: Sequence[Candidate], as_of: date) -> list[Reading]:
        """The best `read_top` candidates (by rank score) that could answer, judged by the reader, in rank
        order: a candidate with too little evidence, or too old to reach the threshold, is skipped."""
        if not candidates:
            return []
        analysis = analyse(question)
        encoding = self.embeddings.query_encoding(question)
        focus_vector = encoding.span_vector(*analysis.focus_at) if analysis.focus_at is not None else None
        # a question of one content word ("Who set it?") needs more evidence than one that says more
        floor = self.min_evidence if len(terms(question)) >= self.full_credit_terms else self.vague_evidence
        readings = []
        roles = []
        if analysis.role is not None:  # only a "who is the referee" question reads role sentences
            beyond = (c for c in candidates[self.read_top :] if gives_role(analysis, context(c)))
            roles = list(itertools.islice(beyond, self.role_reads))
        for candidate in [*candidates[: self.read_top], *roles]:
            meta = candidate.document.metadata
            freshness = self.freshness.factor(
                question, as_of, meta.get("published_at"), meta.get("news_date"), candidate.text
            )
            if (
                candidate.evidence < floor
                or candidate.evidence * freshness < self.lead_share * self.min_answerability
            ):
                continue  # it cannot answer, nor vote for the answer: not worth reading
            judgement = judge(analysis, context(candidate), focus_vector, self.embeddings.word_vector)
            readings.append(
                Reading(candidate, judgement, freshness, self.answerability(candidate, judgement, freshness))
            )
        return readings

    def answerability(self, candidate: Candidate, judgement: Judgement, freshness: float) -> float:
        """The candidate's evidence, scaled by how well the reader says it answers, and by freshness.

        A question asking for a kind of answer the sentence has no span of keeps `fit_floor` of it
        (`measure_fit_floor` for a count, money or a share, `nameless_floor` for a person, an
        organisation or a place; a partial fit, such as a count for "how much money", keeps part of
        the rest); a why-question whose sentence gives no cause keeps `reason_floor`; a year, date
        or ordinal of the question the article never states, or a rare acronym (`reader.judge`),
        keeps `anchor_penalty`, another number `number_penalty`; a number that counts something else
        (`reader.bound`) keeps `bound_floor`; the article's share of the question's names scales it
        from `name_floor` up.
        """
        value = candidate.evidence * freshness
        if judgement.expects is Kind.REASON:
            value *= self.reason_floor + (1 - self.reason_floor) * (judgement.typed or 0.0)
        elif judgement.typed is not None:
            if judgement.typed == 0 and judgement.expects in _NAMED:
                floor = self.nameless_floor
            elif judgement.expects is Kind.DATE:
                floor = self.date_fit_floor
            else:
                floor = self.measure_fit_floor if judgement.measured else self.fit_floor
            value *= floor + (1 - floor) * judgement.typed
        if judgement.missing_anchor:
            value *= self.anchor_penalty
        elif judgement.numbers < 1:
            value *= self.number_penalty
        value *= self.focus_floor + (1 - self.focus_floor) * judgement.focus
        value *= self.bound_floor + (1 - self.bound_floor) * judgement.bound
        return value * (self.name_floor + (1 - self.name_floor) * judgement.names)

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """Follow-ups use the simple rule of `standalone_question`."""
        return standalone_question(question, history)

    def rank(self, question: str, documents: Sequence[Document]) -> list[Candidate]:
        """Every distinct sentence of the documents, best first."""
        query = self.embeddings.query_vector(question)
        sentences: dict[tuple[str, str], tuple[str, Document, int, int, np.ndarray | None]] = {}
        for rank, document in enumerate(documents):
            spans = document.metadata.get("sentence_spans") or ((0, len(document.page_content)),)
            vectors = document.metadata.get("sentence_vectors")
            for index, (start, end) in enumerate(spans):
                text = document.page_content[start:end]
                key = (str(document.metadata["article_id"]), text)
                if key not in sentences:  # overlapping chunks repeat sentences; keep the best-ranked copy
                    vector = vectors[index] if vectors is not None and index < len(vectors) else None
                    sentences[key] = (text, document, rank, index, vector)
        question_terms = terms(question)
        sentence_terms = {key: terms(value[0]) for key, value in sentences.items()}
        idf = _idf(question_terms, list(sentence_terms.values()))
        total = sum(idf.values()) or 1.0
        w_semantic, w_lexical, w_retrieval = self.weights
        e_semantic, e_lexical = self.evidence_weights
        best_fused = max((float(d.metadata.get("fused", 0.0)) for d in documents), default=0.0)
        coverage = min(1.0, len(question_terms) / self.full_credit_terms)
        candidates = []
        for key, (text, document, rank, index, vector) in sentences.items():
            similarity = float(document.metadata.get("score", 0.0))
            # standing in retrieval: relative fused score when the retriever fused, else similarity
            fused = float(document.metadata.get("fused", 0.0))
            retrieval = fused / best_fused if best_fused > 0 else similarity
            semantic = float(vector @ query) if vector is not None else similarity
            lexical = sum(idf[t] for t in question_terms & sentence_terms[key]) / total
            score = (
                w_semantic * semantic + w_lexical * lexical + w_retrieval * retrieval - _brevity_penalty(text)
            )
            evidence = e_semantic * semantic + e_lexical * lexical * coverage
            candidates.append(
                Candidate(text, document, rank, index, vector, semantic, lexical, score, evidence)
            )
        candidates.sort(key=lambda c: c.score, reverse=True)
        return candidates

    def select(self, candidates: list[Candidate]) -> list[Candidate]:
        """The first sentence, plus close runners-up (by rank score, within `companion_margin` of its
        score either way) that add something: when the reader leads with a sentence below the best
        ranked ("Referee: Andrew Pryce."), the better-ranked sentences it passed over do not join it."""
        best = candidates[0]
        chosen = [best]
        for candidate in candidates[1:]:
            if len(chosen) >= self.max_sentences or candidate.score < best.score - self.companion_margin:
                break
            if candidate.score > best.score + self.companion_margin:
                continue
            if not any(_redundant(candidate, other) for other in chosen):
                chosen.append(candidate)
        return chosen


_NAMED = frozenset({Kind.PERSON, Kind.ORGANISATION, Kind.PLACE})
"""Kinds of answer only a name gives."""


def context(candidate: Candidate) -> Context:
    """Where a candidate sentence stands, for the reader: its chunk's sentences, its article's title,
    date and text, and the sentence vectors stored at ingest."""
    document = candidate.document
    meta = document.metadata
    spans = meta.get("sentence_spans") or ((0, len(document.page_content)),)
    return Context(
        sentences=[document.page_content[start:end] for start, end in spans],
        index=candidate.index,
        title=str(meta.get("title", "")),
        published=meta.get("published_at"),
        vectors=meta.get("sentence_vectors"),
        article=str(meta.get("article_text") or ""),
    )


def compose(chosen: list[Candidate], *, answerer: str, as_of: date | None) -> Answer:
    """Answer text with [n] markers; sources numbered by first use, one number per article."""
    numbers: dict[str, int] = {}
    for candidate in chosen:  # best first: the best source is [1]
        numbers.setdefault(candidate.article_id, len(numbers) + 1)
    ordered = sorted(chosen, key=lambda c: (numbers[c.article_id], c.order))
    text = " ".join(f"{c.text} [{numbers[c.article_id]}]" for c in ordered)
    citations = [
        citation(
            next(c.document for c in ordered if c.article_id == article_id),
            n,
            " ".join(c.text for c in ordered if c.article_id == article_id),
        )
        for article_id, n in numbers.items()
    ]
    return Answer(text, found=True, citations=citations, answerer=answerer, as_of=as_of)


def with_source_date(answer: Answer, question: str) -> Answer:
    """Prefix "As of <date of source [1]>:" when the question is about a time or the latest news."""
    first = answer.citations[0] if answer.citations else None
    if first is None or first.published_at is None:
        return answer
    if not is_time_bound(question, answer.as_of or first.published_at):
        return answer
    return replace(answer, text=f"As of {format_day(first.published_at)}: {answer.text}")


def _idf(question_terms: set[str], pool: list[set[str]]) -> dict[str, float]:
    count = len(pool)
    return {term: math.log(1 + count / (1 + sum(term in s for s in pool))) for term in question_terms}


def _brevity_penalty(text: str) -> float:
    """Datelines, bylines and headings carry context, not answers."""
    words = len(text.split())
    return 0.0 if words >= 8 else 0.03 * (8 - words)


def _redundant(a: Candidate, b: Candidate) -> bool:
    if a.vector is not None and b.vector is not None:
        return float(a.vector @ b.vector) > 0.9
    return a.text == b.text
