"""Query benchmark: `Newsdesk.ask` latency beside the bare retrieval step it is built on, in one run.

Run from the repo root: `.venv/bin/python benchmarks/query.py [--questions PATH] [--corpus PATH]
[--limit N] [--k K] [--data-dir DIR] [--json]`. The store is the cached evaluation store of the corpus
(`<data_dir>/eval/<key>`, as `newsdesk eval --corpus` builds it), built first when missing.
See docs/evaluation.md for what each number means.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import TypeVar, cast

from chromadb.api.types import Where
from common import Run, parser, positive, report, skipped, this_run

from bot.answering.chain import Newsdesk
from bot.config import BotSettings
from bot.evaluation import EvalQuestion, load_questions, open_corpus_store, percentile
from ingest import IngestSettings
from store import KnowledgeBase, StoreSettings
from store.records import day_number

T = TypeVar("T")

RATIO_TARGET = 3.0  # ask p95 over bare retrieval p95: at most this
WARM_UP = ("How are markets doing this week?", "Who won the election?", "What did the report say?")


@dataclass(frozen=True)
class Result(Run):
    """The numbers of one benchmark run."""

    store: str
    store_reused: bool
    questions: int
    k: int
    ask_p50_ms: float
    ask_p95_ms: float
    bare_p50_ms: float
    bare_p95_ms: float
    filtered_p50_ms: float
    filtered_p95_ms: float
    """The bare step with the as-of date filter `ask` applies: for reading, not part of the ratio."""
    ratio: float
    ratio_pass: bool


def timed_ms(work: Callable[[], object]) -> float:
    """Wall-clock milliseconds `work()` took."""
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def in_fresh_thread(work: Callable[[], T]) -> T:
    """`work()` run in a new single-use thread, where `ask` runs its retrieval step.

    LangChain's RunnableParallel starts a new executor per call. Both sides must run the model from
    the same kind of thread: on a loaded machine, model calls on the main thread interleaved with
    calls from short-lived threads measured 10-100x slower than either alone.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def measure(
    newsdesk: Newsdesk, kb: KnowledgeBase, questions: list[EvalQuestion], k: int
) -> dict[str, list[float]]:
    """Per question, the latency of `ask`, of the bare step and of the bare step with the as-of filter.

    The three are interleaved, in an order that rotates from one question to the next, so that noise
    on the machine hits all of them alike and none always runs first.
    """

    def ask(question: EvalQuestion) -> float:
        # `ask` caches question vectors: clear the cache so every ask pays its query embedding.
        kb.embeddings._query_cache.clear()
        return timed_ms(lambda: newsdesk.ask(question.question, as_of=question.question_date, k=k))

    def bare(question: EvalQuestion, where: Where | None = None) -> float:
        text = " ".join(question.question.split())
        return timed_ms(
            lambda: in_fresh_thread(
                lambda: kb.chunks.query(
                    query_embeddings=kb.embeddings.encode([text]), n_results=k, where=where
                )
            )
        )

    def filtered(question: EvalQuestion) -> float:
        day = day_number(question.question_date or date.today())
        return bare(question, cast(Where, {"published_day": {"$lte": day}}))

    steps: dict[str, Callable[[EvalQuestion], float]] = {"ask": ask, "bare": bare, "filtered": filtered}
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for index, question in enumerate(questions):
        for name in names[index % 3 :] + names[: index % 3]:
            times[name].append(steps[name](question))
    return times


def run(args: argparse.Namespace) -> Result:
    """Open (or build) the corpus store, warm up, then time every question each way."""
    settings = StoreSettings()
    if args.data_dir:
        settings = settings.model_copy(update={"data_dir": args.data_dir})
    kb, store = open_corpus_store(args.corpus, settings, IngestSettings())
    newsdesk = Newsdesk(kb, BotSettings())
    k = args.k or newsdesk.settings.top_k
    questions = load_questions(args.questions, limit=args.limit)
    newsdesk.warm_up()
    for text in WARM_UP:
        warm = EvalQuestion("warm-up", text, "-", "null", question_date=date.today())
        measure(newsdesk, kb, [warm, warm, warm], k)
    times = measure(newsdesk, kb, questions, k)
    p50 = {name: percentile(values, 50) or 0.0 for name, values in times.items()}
    p95 = {name: percentile(values, 95) or 0.0 for name, values in times.items()}
    ratio = p95["ask"] / p95["bare"]
    return Result(
        **this_run(args.corpus),
        store=store.location,
        store_reused=store.reused,
        questions=len(questions),
        k=k,
        ask_p50_ms=p50["ask"],
        ask_p95_ms=p95["ask"],
        bare_p50_ms=p50["bare"],
        bare_p95_ms=p95["bare"],
        filtered_p50_ms=p50["filtered"],
        filtered_p95_ms=p95["filtered"],
        ratio=ratio,
        ratio_pass=ratio <= RATIO_TARGET,
    )


def table(r: Result) -> str:
    """The result as a compact plain-text table."""
    verdict = "PASS" if r.ratio_pass else "MISS"
    store = "reused" if r.store_reused else "built in this run"
    return "\n".join(
        [
            f"command: {r.command}",
            f"date: {r.date}  cpus: {r.cpus}  precision: {r.precision}  corpus: {r.corpus}",
            f"store: {r.store} ({store})",
            f"{r.questions} questions, k={r.k} chunks, each as of its question date",
            f"{'':<34}{'p50':>10}{'p95':>10}",
            f"{'Newsdesk.ask':<34}{r.ask_p50_ms:>7.1f} ms{r.ask_p95_ms:>7.1f} ms",
            f"{'bare (encode + chunks.query)':<34}{r.bare_p50_ms:>7.1f} ms{r.bare_p95_ms:>7.1f} ms",
            f"{'  the same, as-of filter':<34}{r.filtered_p50_ms:>7.1f} ms{r.filtered_p95_ms:>7.1f} ms",
            f"{'ask p95 / bare p95':<34}{'':>10}{r.ratio:>9.2f}x   target <= {RATIO_TARGET:.0f}x  {verdict}",
        ]
    )


def main() -> int:
    """Run the benchmark once and print its numbers."""
    options = parser(__doc__)
    options.add_argument("--limit", type=positive, default=100, metavar="N", help="Questions to time (100).")
    options.add_argument("--k", type=positive, metavar="K", help="Chunks per question [NEWSDESK_TOP_K].")
    args = options.parse_args()
    if not skipped([args.corpus, args.questions], args.json):
        report(run(args), table, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
