"""The metrics of an evaluation: small pure functions over plain values (docs/evaluation.md defines each)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.evaluation.questions import EvalQuestion
from store.text import strip_thousands

RECALL_DEPTHS = (1, 5, 10)
MRR_DEPTH = 10

_CITATION_MARKER = re.compile(r"\[\d+\]")
_APOSTROPHE = re.compile(r"['\u2019](?:s\b)?")
_ABBREVIATION_DOT = re.compile(r"(?<=[^\W\d_])\.(?=[^\W\d_])")
_TOKEN = re.compile(r"\d+(?:\.\d+)+|[^\W_]+")
_ARTICLES = frozenset({"a", "an", "the"})


def normalize_answer(text: str) -> str:
    """Text reduced to comparable words: lowercase, no accents, punctuation, articles or digit grouping.

    "The U.S. sent 300,000 doses [1]" becomes "us sent 300000 doses"; decimals ("3.75") stay whole.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    text = _CITATION_MARKER.sub(" ", text)
    text = strip_thousands(text)
    text = _APOSTROPHE.sub("", text)  # "Adam's" -> "adam", "don't" -> "dont"
    text = _ABBREVIATION_DOT.sub("", text)  # "u.s." -> "us."
    return " ".join(token for token in _TOKEN.findall(text) if token not in _ARTICLES)


def answer_matches(gold: str, text: str) -> bool:
    """Whether the normalised gold answer stands, as whole words, in the normalised answer text."""
    wanted = normalize_answer(gold)
    return bool(wanted) and f" {wanted} " in f" {normalize_answer(text)} "


def first_relevant_rank(ranked: Sequence[str], relevant: Collection[str]) -> int | None:
    """1-based rank of the first relevant id in a best-first list, or None."""
    return next((rank for rank, item in enumerate(ranked, start=1) if item in relevant), None)


def recall_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 when any relevant id is among the first k, else 0.0 (averaged over questions: recall@k)."""
    rank = first_relevant_rank(ranked, relevant)
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: Collection[str], k: int = MRR_DEPTH) -> float:
    """1/rank of the first relevant id within the first k, else 0.0 (averaged: MRR@k)."""
    rank = first_relevant_rank(ranked, relevant)
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def mean(values: Iterable[float]) -> float | None:
    """The arithmetic mean, or None for no values."""
    items = list(values)
    return sum(items) / len(items) if items else None


def share(flags: Iterable[bool]) -> float | None:
    """The share of true flags, or None for no flags."""
    return mean(1.0 if flag else 0.0 for flag in flags)


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0-100), linearly interpolated between the closest ranks; None for no values."""
    items = sorted(values)
    if not items:
        return None
    position = (len(items) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return items[low] + (items[high] - items[low]) * (position - low)


@dataclass(frozen=True)
class QuestionResult:
    """What the bot did with one question, and how it scores."""

    question: EvalQuestion
    retrieved: tuple[str, ...]
    """Distinct article ids of the retrieval step (RETRIEVAL_K chunks), best first."""
    answer_text: str
    found: bool
    cited: tuple[str, ...]
    latency_ms: float
    """Wall-clock time of `Newsdesk.ask` alone."""
    read: tuple[str, ...] = ()
    """Distinct article ids of the chunks the answer was written from (`Answer.retrieved`)."""
    short_answer: str | None = None
    hidden: int | None = None
    """In a counterfactual run (`--hide-evidence`): how many articles were hidden from retrieval
    (the evidence and every article containing the gold answer). None in a normal run."""

    @property
    def counterfactual(self) -> bool:
        """Whether the question was asked with its evidence hidden, so "not found" is the right reply."""
        return self.hidden is not None

    def rank(self, *, strict: bool) -> int | None:
        """Rank of the first evidence article among the retrieved ones, or None."""
        return first_relevant_rank(self.retrieved, self.question.evidence_ids(strict=strict))

    @property
    def correct(self) -> bool:
        """A factoid is answered with the gold answer in the text; a null question, or any question
        asked with its evidence hidden, is declined."""
        if self.question.answerable and not self.counterfactual:
            return self.found and answer_matches(self.question.answer, self.answer_text)
        return not self.found

    @property
    def short_answer_correct(self) -> bool:
        """A factoid answered found whose short answer contains the gold answer."""
        return (
            self.question.answerable
            and self.found
            and self.short_answer is not None
            and answer_matches(self.question.answer, self.short_answer)
        )

    @property
    def cites_evidence(self) -> bool | None:
        """For a factoid answered found: whether a cited article is evidence of any kind."""
        if not (self.question.answerable and self.found) or self.counterfactual:
            return None
        return bool(set(self.cited) & self.question.evidence_ids(strict=False))

    def as_dict(self) -> dict[str, Any]:
        """One JSON line of `newsdesk eval --out`."""
        question = self.question
        return {
            "id": question.id,
            "question": question.question,
            "gold_answer": question.answer,
            "question_type": question.question_type,
            "question_date": question.question_date.isoformat() if question.question_date else None,
            "evidence_ids": [e.doc_id for e in question.evidence],
            "strict_evidence_ids": sorted(question.evidence_ids(strict=True)),
            "retrieved": list(self.retrieved),
            "read": list(self.read),
            "strict_rank": self.rank(strict=True),
            "lenient_rank": self.rank(strict=False),
            "answer": self.answer_text,
            "short_answer": self.short_answer,
            "found": self.found,
            "cited": list(self.cited),
            "correct": self.correct,
            "cites_evidence": self.cites_evidence,
            "hidden": self.hidden,
            "latency_ms": round(self.latency_ms, 1),
        }


@dataclass(frozen=True)
class RetrievalScores:
    """Recall@1/5/10 and MRR@10 over the questions that have evidence of the counted kinds."""

    questions: int
    recall_1: float | None
    recall_5: float | None
    recall_10: float | None
    mrr_10: float | None


def retrieval_scores(pairs: Sequence[tuple[Sequence[str], Collection[str]]]) -> RetrievalScores:
    """Scores of (ranked ids, relevant ids) pairs; pairs with no relevant id are left out."""
    scored = [(ranked, relevant) for ranked, relevant in pairs if relevant]
    recalls = [mean(recall_at(ranked, relevant, k) for ranked, relevant in scored) for k in RECALL_DEPTHS]
    return RetrievalScores(
        questions=len(scored),
        recall_1=recalls[0],
        recall_5=recalls[1],
        recall_10=recalls[2],
        mrr_10=mean(reciprocal_rank(ranked, relevant) for ranked, relevant in scored),
    )


@dataclass(frozen=True)
class EvalMetrics:
    """Every metric of a run (None where no question qualifies); see docs/evaluation.md."""

    questions: int
    factoid: int
    null: int
    strict: RetrievalScores
    lenient: RetrievalScores
    answer_accuracy: float | None
    citation_precision: float | None
    found_factoid: int
    abstention: float | None
    false_abstention: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    short_answer_accuracy: float | None = None
    counterfactual: int = 0
    """Factoid questions asked with their evidence hidden (`--hide-evidence`)."""
    counterfactual_abstention: float | None = None


def compute_metrics(results: Sequence[QuestionResult]) -> EvalMetrics:
    """The run's metrics from its per-question results."""
    factoid = [r for r in results if r.question.answerable and not r.counterfactual]
    null = [r for r in results if not r.question.answerable]
    hidden = [r for r in results if r.question.answerable and r.counterfactual]
    cited = [r.cites_evidence for r in factoid if r.cites_evidence is not None]
    latencies = [r.latency_ms for r in results]
    return EvalMetrics(
        questions=len(results),
        factoid=len(factoid),
        null=len(null),
        strict=retrieval_scores([(r.retrieved, r.question.evidence_ids(strict=True)) for r in factoid]),
        lenient=retrieval_scores([(r.retrieved, r.question.evidence_ids(strict=False)) for r in factoid]),
        answer_accuracy=share(r.correct for r in factoid),
        citation_precision=share(cited),
        found_factoid=len(cited),
        abstention=share(not r.found for r in null),
        false_abstention=share(not r.found for r in factoid),
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        short_answer_accuracy=share(r.short_answer_correct for r in factoid),
        counterfactual=len(hidden),
        counterfactual_abstention=share(not r.found for r in hidden),
    )
