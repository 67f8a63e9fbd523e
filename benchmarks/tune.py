"""Sweep retrieval and answering settings on a question set, reusing one pass of searches.

Every number among the defaults of bot/answering/retriever.py and bot/answering/extractive.py
was chosen with this script on ../shared/eval (see docs/evaluation.md). It runs the dense and
lexical searches once per question (as of the question's date), then replays fusion, the
per-article cap and the extractive answerer for each setting, and prints the metrics of
`newsdesk eval` for each row.

    python benchmarks/tune.py --data-dir /tmp/devstore            # a store holding dev_corpus.jsonl
    python benchmarks/tune.py --data-dir /tmp/devstore --stage answer
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from common import SHARED_EVAL
from langchain_core.documents import Document

from bot.answering.extractive import ExtractiveAnswerer
from bot.answering.retriever import NewsRetriever
from bot.evaluation import EvalQuestion, answer_matches, load_questions, recall_at, reciprocal_rank
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


def gather(retriever: NewsRetriever, questions: list[EvalQuestion]) -> list[Cached]:
    """Run both searches once per question."""
    cached = []
    for question in questions:
        as_of = question.question_date or date.today()
        text = " ".join(question.question.split())
        dense, lexical = retriever.kb.search_hybrid(text, k=POOL, max_day=day_number(as_of))
        cached.append(Cached(question, as_of, dense, lexical))
    return cached


def documents(retriever: NewsRetriever, item: Cached, k: int) -> list[Document]:
    """What the retriever with these settings would return."""
    text = " ".join(item.question.question.split())
    fused = retriever.fuse(item.dense, item.lexical, text, item.as_of)
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
    """Accuracy, abstention and false abstention of the extractive answerer."""
    correct, false_abstain, abstain, factoid, null = 0, 0, 0, 0, 0
    for item in cached:
        answer = answerer.answer(item.question.question, documents(retriever, item, k), as_of=item.as_of)
        if item.question.question_type == "factoid":
            factoid += 1
            correct += answer_matches(item.question.answer, answer.text)
            false_abstain += not answer.found
        else:
            null += 1
            abstain += not answer.found
    return {
        "accuracy": correct / factoid,
        "abstain": abstain / max(1, null),
        "false_abst": false_abstain / factoid,
    }


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
    options = parser.parse_args()
    if not options.questions.exists():
        print(f"skipped: {options.questions} not found")
        return
    kb = open_knowledge_base(StoreSettings(data_dir=options.data_dir))
    base = NewsRetriever(kb=kb)
    started = time.perf_counter()
    cached = gather(base, load_questions(options.questions))
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
        for weights, margin in itertools.product(
            [(0.5, 0.3, 0.2), (0.4, 0.4, 0.2), (0.6, 0.3, 0.1), (0.3, 0.5, 0.2), (0.5, 0.5, 0.0)],
            [0.0, 0.03, 0.06],
        ):
            for threshold in (0.35, 0.40, 0.45, 0.50):
                tuned = replace(
                    answerer, weights=weights, companion_margin=margin, min_answerability=threshold
                )
                show(
                    f"weights={weights} margin={margin} min={threshold}",
                    answer_row(base, tuned, cached, base.k),
                )


if __name__ == "__main__":
    main()
