"""Running an evaluation: ask a question set through `Newsdesk.ask` and score it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.answering import Newsdesk
from bot.evaluation.corpus import CorpusStore
from bot.evaluation.metrics import EvalMetrics, QuestionResult, RetrievalScores, compute_metrics
from bot.evaluation.questions import EvalQuestion

RETRIEVAL_K = 30
"""Chunks fetched for the retrieval metrics: more than ten distinct articles, as an answer's k may not be."""

Progress = Callable[[int, int], None]
"""Called as `on_progress(done, total)` after each question."""


@dataclass(frozen=True)
class EvalReport:
    """A whole evaluation run: its settings, metrics and per-question results."""

    metrics: EvalMetrics
    results: list[QuestionResult]
    k: int
    retrieval_k: int
    answerer: str
    seconds: float
    corpus: CorpusStore | None = None

    def rows(self) -> list[tuple[str, str, str]]:
        """(metric, value, what it is computed over) rows, for a table."""
        m = self.metrics
        rows = []
        for label, scores in (("strict", m.strict), ("lenient", m.lenient)):
            over = f"{scores.questions} factoid questions with {label} evidence"
            rows += [
                (f"recall@1 ({label})", _fraction(scores.recall_1), over),
                (f"recall@5 ({label})", _fraction(scores.recall_5), over),
                (f"recall@10 ({label})", _fraction(scores.recall_10), over),
                (f"MRR@10 ({label})", _fraction(scores.mrr_10), over),
            ]
        return [
            *rows,
            ("answer accuracy", _fraction(m.answer_accuracy), f"{m.factoid} factoid questions"),
            (
                "citation precision",
                _fraction(m.citation_precision),
                f"{m.found_factoid} found factoid answers",
            ),
            ("abstention", _fraction(m.abstention), f"{m.null} null questions"),
            ("false abstention", _fraction(m.false_abstention), f"{m.factoid} factoid questions"),
            ("latency p50", _millis(m.latency_p50_ms), f"{m.questions} asks"),
            ("latency p95", _millis(m.latency_p95_ms), f"{m.questions} asks"),
        ]

    def as_dict(self) -> dict[str, Any]:
        """The run's settings and metrics as JSON-ready values (`--out` has the per-question rows)."""
        m = self.metrics

        def scores(s: RetrievalScores) -> dict[str, Any]:
            return {
                "questions": s.questions,
                "recall@1": s.recall_1,
                "recall@5": s.recall_5,
                "recall@10": s.recall_10,
                "mrr@10": s.mrr_10,
            }

        return {
            "questions": m.questions,
            "factoid": m.factoid,
            "null": m.null,
            "k": self.k,
            "retrieval_k": self.retrieval_k,
            "answerer": self.answerer,
            "retrieval": {"strict": scores(m.strict), "lenient": scores(m.lenient)},
            "answer_accuracy": m.answer_accuracy,
            "citation_precision": m.citation_precision,
            "found_factoid": m.found_factoid,
            "abstention": m.abstention,
            "false_abstention": m.false_abstention,
            "latency_ms": {"p50": m.latency_p50_ms, "p95": m.latency_p95_ms},
            "seconds": round(self.seconds, 2),
            "corpus": self.corpus.as_dict() if self.corpus else None,
        }


def ask_question(
    newsdesk: Newsdesk,
    question: EvalQuestion,
    *,
    k: int | None = None,
    retrieval_k: int = RETRIEVAL_K,
    timer: Callable[[], float] = time.perf_counter,
) -> QuestionResult:
    """Ask one question as of its date (timed), then rank articles for it in a separate, untimed call."""
    as_of = question.question_date or newsdesk.clock()
    started = timer()
    answer = newsdesk.ask(question.question, as_of=as_of, k=k)
    latency_ms = (timer() - started) * 1000
    # Ranked with more chunks than an answer reads, so that recall@10 sees ten articles; asked
    # after `ask`, so the question's vector comes from the cache and the answer is unaffected.
    documents = newsdesk.retriever.invoke(" ".join(question.question.split()), as_of=as_of, k=retrieval_k)
    return QuestionResult(
        question=question,
        retrieved=tuple(dict.fromkeys(str(d.metadata["article_id"]) for d in documents)),
        answer_text=answer.text,
        found=answer.found,
        cited=tuple(dict.fromkeys(c.article_id for c in answer.citations)),
        latency_ms=latency_ms,
        read=answer.retrieved,
    )


def evaluate(
    newsdesk: Newsdesk,
    questions: Sequence[EvalQuestion],
    *,
    k: int | None = None,
    retrieval_k: int = RETRIEVAL_K,
    corpus: CorpusStore | None = None,
    timer: Callable[[], float] = time.perf_counter,
    on_progress: Progress | None = None,
) -> EvalReport:
    """Ask every question through `newsdesk` and score the answers; the store must hold the corpus."""
    started = timer()
    newsdesk.warm_up()  # loading the model is not the first question's latency
    results = []
    for done, question in enumerate(questions, start=1):
        results.append(ask_question(newsdesk, question, k=k, retrieval_k=retrieval_k, timer=timer))
        if on_progress:
            on_progress(done, len(questions))
    return EvalReport(
        metrics=compute_metrics(results),
        results=results,
        k=k or newsdesk.settings.top_k,
        retrieval_k=retrieval_k,
        answerer=newsdesk.answerer.name,
        seconds=timer() - started,
        corpus=corpus,
    )


def write_results(results: Iterable[QuestionResult], path: Path) -> None:
    """One JSON line per question: what was asked, retrieved, answered and cited, and its scores."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for result in results:
            out.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")


def _fraction(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _millis(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"
