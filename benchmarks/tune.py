"""Sweep retrieval and answering settings on a question set, reusing one pass of searches.

Every number among the defaults of bot/answering/retriever.py and bot/answering/extractive.py
was chosen with this script on ../shared/eval (see docs/evaluation.md). It runs the dense and
lexical searches once per question (as of the question's date), and once more for each answerable
question with the articles holding its answer hidden (as `newsdesk eval --hide-evidence` does), then
replays fusion, the per-article cap and the extractive answerer for each setting, and prints the
metrics of `newsdesk eval` for each row.

    python benchmarks/tune.py --data-dir data/eval/<key>          # the store `make eval` builds
    python benchmarks/tune.py --data-dir data/eval/<key> --stage answer
    python benchmarks/tune.py --data-dir NEAR_MISS_STORE --questions tests/data/near_miss.jsonl --stage answer
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from common import SHARED_EVAL
from langchain_core.documents import Document

from bot.answering.extractive import ExtractiveAnswerer
from bot.answering.retriever import NewsRetriever
from bot.answering.timeframe import Freshness
from bot.evaluation import (
    EvalQuestion,
    answer_matches,
    hidden_articles,
    load_questions,
    recall_at,
    reciprocal_rank,
)
from store import ScoredChunk, StoreSettings, open_knowledge_base
from store.records import day_number

POOL = 60


@dataclass
class Cached:
    """One question with its candidates from both searches."""

    question: EvalQuestion
    as_of: date
    dense: list[ScoredChunk]
    lexical: list[ScoredChunk]
    hidden: tuple[list[ScoredChunk], list[ScoredChunk]] | None = None
    """Both searches without the articles holding the answer (answerable questions only)."""


def gather(retriever: NewsRetriever, questions: list[EvalQuestion], *, counterfactual: bool) -> list[Cached]:
    """Run both searches once per question, and with `counterfactual` once more with its answer hidden."""
    hidden = hidden_articles(retriever.kb, questions) if counterfactual else {}
    cached = []
    for question in questions:
        as_of = question.question_date or date.today()
        text = " ".join(question.question.split())
        dense, lexical = retriever.kb.search_hybrid(text, k=POOL, max_day=day_number(as_of))
        without = None
        if question.id in hidden:
            without = retriever.kb.search_hybrid(
                text, k=POOL, max_day=day_number(as_of), exclude=hidden[question.id]
            )
        cached.append(Cached(question, as_of, dense, lexical, without))
    return cached


def documents(retriever: NewsRetriever, item: Cached, k: int, *, hidden: bool = False) -> list[Document]:
    """What the retriever with these settings would return (with the answer hidden, if asked)."""
    text = " ".join(item.question.question.split())
    dense, lexical = item.hidden if hidden and item.hidden is not None else (item.dense, item.lexical)
    fused = retriever.fuse(dense, lexical, text, item.as_of)
    return retriever.documents(retriever.cap(fused, k), item.as_of)


def retrieval_row(retriever: NewsRetriever, cached: list[Cached]) -> dict[str, float]:
    """Strict recall@1/5/10 and MRR@10 over answerable questions."""
    recalls: dict[int, list[float]] = {1: [], 5: [], 10: []}
    ranks = []
    for item in cached:
        strict = {e.doc_id for e in item.question.evidence if e.kind in ("gold_passage", "gold_article")}
        if item.question.question_type != "factoid" or not strict:
            continue
        ranked = list(dict.fromkeys(d.metadata["article_id"] for d in documents(retriever, item, 30)))
        for k in recalls:
            recalls[k].append(recall_at(ranked, strict, k))
        ranks.append(reciprocal_rank(ranked, strict, 10))
    row = {f"R@{k}": sum(v) / len(v) for k, v in recalls.items()}
    row["MRR@10"] = sum(ranks) / len(ranks)
    return row


def answer_row(
    retriever: NewsRetriever, answerer: ExtractiveAnswerer, cached: list[Cached], k: int
) -> dict[str, float]:
    """Accuracy, short-answer accuracy, abstention, false and counterfactual abstention of the
    extractive answerer."""
    correct, short, false_abstain, abstain, declined, factoid, null, hidden = 0, 0, 0, 0, 0, 0, 0, 0
    for item in cached:
        question = item.question
        answer = answerer.answer(question.question, documents(retriever, item, k), as_of=item.as_of)
        if question.answerable:
            factoid += 1
            correct += answer.found and answer_matches(question.answer, answer.text)
            short += answer.found and answer_matches(question.answer, answer.short_answer or "")
            false_abstain += not answer.found
        else:
            null += 1
            abstain += not answer.found
        if item.hidden is not None:
            hidden += 1
            without = documents(retriever, item, k, hidden=True)
            declined += not answerer.answer(question.question, without, as_of=item.as_of).found
    row = {
        "accuracy": correct / max(1, factoid),
        "short": short / max(1, factoid),
        "false_abst": false_abstain / max(1, factoid),
        "abstain": abstain / max(1, null),
    }
    if hidden:
        row["cf_abstain"] = declined / hidden
    return row


def show(label: str, row: dict[str, float]) -> None:
    """One line of results."""
    print(f"{label:<60} " + "  ".join(f"{key} {value:.3f}" for key, value in row.items()), flush=True)


def main() -> None:
    """Parse options, gather candidates, sweep."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="store holding the corpus")
    parser.add_argument("--questions", type=Path, default=SHARED_EVAL / "dev.jsonl")
    parser.add_argument("--stage", choices=["retrieval", "answer", "both"], default="both")
    parser.add_argument(
        "--no-counterfactual", action="store_true", help="skip the runs with the answer hidden (faster)"
    )
    options = parser.parse_args()
    if not options.questions.exists():
        print(f"skipped: {options.questions} not found")
        return
    kb = open_knowledge_base(StoreSettings(data_dir=options.data_dir))
    base = NewsRetriever(kb=kb)
    started = time.perf_counter()
    counterfactual = options.stage != "retrieval" and not options.no_counterfactual
    cached = gather(base, load_questions(options.questions), counterfactual=counterfactual)
    print(f"# {len(cached)} questions, searches in {time.perf_counter() - started:.1f}s, {date.today()}")
    if options.stage in ("retrieval", "both"):
        show("defaults", retrieval_row(base, cached))
        grid: dict[str, list[float]] = {
            "rrf_k": [30, 60],
            "lexical_weight": [0.5, 1.0],
            "sentence_weight": [0.0, 1.0, 2.0],
            "window_boost": [1.0, 2.0],
            "prior_boost": [0.0, 0.3, 1.0],
        }
        for boost, days in itertools.product([0.5, 1.0, 2.0], [7, 14, 30, 60, 120]):
            update = {"prior_boost": boost, "prior_days": days}
            show(str(update), retrieval_row(base.model_copy(update=update), cached))
        for values in itertools.product(*grid.values()):
            settings = dict(zip(grid, values, strict=True))
            show(str(settings), retrieval_row(base.model_copy(update=settings), cached))
    if options.stage in ("answer", "both"):
        answerer = ExtractiveAnswerer(kb.embeddings)
        show("defaults", answer_row(base, answerer, cached, base.k))
        # the reader's knobs, one at a time around the defaults (a full grid takes hours on 2 cores)
        knobs: dict[str, list[Any]] = {
            "min_answerability": [0.20, 0.22, 0.26, 0.28, 0.30],
            "fit_floor": [0.3, 0.4, 0.6, 0.8],
            "measure_fit_floor": [0.3, 0.5],
            "anchor_penalty": [0.3, 0.7, 1.0],
            "number_penalty": [0.7, 1.0],
            "name_floor": [0.4, 0.6, 1.0],
            "focus_floor": [0.4, 0.8, 1.0],
            "read_top": [4, 8],
            "lead_share": [0.3, 0.7, 1.0],
            "freshness": [Freshness(60, 365, 0.5, 14, 30, 0.3), Freshness(60, 365, 1.0, 60, 365, 1.0)],
        }
        for knob, choices in knobs.items():
            for choice in choices:
                setting: dict[str, Any] = {knob: choice}
                show(f"{knob}={choice}", answer_row(base, replace(answerer, **setting), cached, base.k))


if __name__ == "__main__":
    main()
