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
from bot.evaluation.metrics import (
    EvalMetrics,
    QuestionResult,
    RetrievalScores,
    compute_metrics,
    normalize_answer,
)
from bot.evaluation.questions import EvalQuestion
from store import KnowledgeBase

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
        if m.counterfactual:
            rows.append(
                (
                    "counterfactual abstention",
                    _fraction(m.counterfactual_abstention),
                    f"{m.counterfactual} factoid questions, evidence hidden",
                )
            )
        for label, scores in (("strict", m.strict), ("lenient", m.lenient)):
            if not scores.questions:
                continue
            over = f"{scores.questions} factoid questions with {label} evidence"
            rows += [
                (f"recall@1 ({label})", _fraction(scores.recall_1), over),
                (f"recall@5 ({label})", _fraction(scores.recall_5), over),
                (f"recall@10 ({label})", _fraction(scores.recall_10), over),
                (f"MRR@10 ({label})", _fraction(scores.mrr_10), over),
            ]
        if m.factoid:
            rows += [
                ("answer accuracy", _fraction(m.answer_accuracy), f"{m.factoid} factoid questions"),
                (
                    "short-answer accuracy",
                    _fraction(m.short_answer_accuracy),
                    f"{m.factoid} factoid questions",
                ),
                (
                    "citation precision",
                    _fraction(m.citation_precision),
                    f"{m.found_factoid} found factoid answers",
                ),
            ]
        rows.append(("abstention", _fraction(m.abstention), f"{m.null} null questions"))
        if m.factoid:
            rows.append(("false abstention", _fraction(m.false_abstention), f"{m.factoid} factoid questions"))
        return [
            *rows,
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
            "short_answer_accuracy": m.short_answer_accuracy,
            "counterfactual": m.counterfactual,
            "counterfactual_abstention": m.counterfactual_abstention,
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
    hidden: frozenset[str] | None = None,
) -> QuestionResult:
    """Ask one question as of its date (timed), then rank articles for it in a separate, untimed call.

    With `hidden` (a counterfactual run), those articles are left out of retrieval and nothing is
    ranked: the right reply is "not found".
    """
    as_of = question.question_date or newsdesk.clock()
    started = timer()
    answer = newsdesk.ask(question.question, as_of=as_of, k=k, exclude=hidden or ())
    latency_ms = (timer() - started) * 1000
    documents = []
    if hidden is None:
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
        short_answer=answer.short_answer,
        hidden=None if hidden is None else len(hidden),
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
    hide_evidence: bool = False,
) -> EvalReport:
    """Ask every question through `newsdesk` and score the answers; the store must hold the corpus.

    With `hide_evidence`, every answerable question is asked with its evidence articles, and every
    stored article whose text contains its gold answer, hidden from retrieval (see
    `hidden_articles`): a counterfactual run, where only "not found" is right.
    """
    started = timer()
    newsdesk.warm_up()  # loading the model is not the first question's latency
    hidden = hidden_articles(newsdesk.kb, questions) if hide_evidence else {}
    results = []
    for done, question in enumerate(questions, start=1):
        results.append(
            ask_question(
                newsdesk, question, k=k, retrieval_k=retrieval_k, timer=timer, hidden=hidden.get(question.id)
            )
        )
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


def hidden_articles(kb: KnowledgeBase, questions: Sequence[EvalQuestion]) -> dict[str, frozenset[str]]:
    """For each answerable question, the stored articles that hold its answer.

    Those are its evidence articles (every kind) and every article whose title or text contains the
    normalised gold answer as whole words (`answer_matches`): with all of them hidden, no article
    left can support the answer.
    """
    texts = {
        record.id: f" {normalize_answer(record.title + ' ' + record.body)} " for record in kb.all_articles()
    }
    hidden = {}
    for question in questions:
        if not question.answerable:
            continue
        gold = f" {normalize_answer(question.answer)} "
        holding = {article_id for article_id, text in texts.items() if gold.strip() and gold in text}
        hidden[question.id] = frozenset(holding | question.evidence_ids(strict=False))
    return hidden


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
