"""Query benchmark: `Newsdesk.ask` latency beside the bare retrieval step it is built on, in one run.

Run from the repo root: `.venv/bin/python benchmarks/query.py [--questions PATH] [--corpus PATH]
[--limit N] [--k K] [--data-dir DIR] [--json]`. The store is the cached evaluation store of the corpus
(`<data_dir>/eval/<key>`, as `newsdesk eval --corpus` builds it), built first when missing.
See docs/evaluation.md for what each number means.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar, cast

# benchmarks/ingest.py shares its name with the `ingest` package: drop this folder from the import
# path, or `import ingest` (here and inside newsdesk) would import that script instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

from chromadb.api.types import Where  # noqa: E402

from bot.chain import Newsdesk  # noqa: E402
from bot.config import BotSettings  # noqa: E402
from bot.evaluation import EvalQuestion, load_questions, open_corpus_store, percentile  # noqa: E402
from ingest import IngestSettings  # noqa: E402
from store import KnowledgeBase, StoreSettings  # noqa: E402
from store.records import day_number  # noqa: E402

T = TypeVar("T")

SHARED_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
RATIO_TARGET = 3.0  # ask p95 over bare retrieval p95: at most this
WARM_UP = ("How are markets doing this week?", "Who won the election?", "What did the report say?")


@dataclass(frozen=True)
class Result:
    """The numbers of one benchmark run."""

    command: str
    date: str
    cpus: int
    corpus: str
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
        command=shlex.join([sys.executable, *sys.argv]),
        date=datetime.now().astimezone().isoformat(timespec="seconds"),
        cpus=os.cpu_count() or 0,
        corpus=str(args.corpus),
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
            f"date: {r.date}  cpus: {r.cpus}  corpus: {r.corpus}",
            f"store: {r.store} ({store})",
            f"{r.questions} questions, k={r.k} chunks, each as of its question date",
            f"{'':<34}{'p50':>10}{'p95':>10}",
            f"{'Newsdesk.ask':<34}{r.ask_p50_ms:>7.1f} ms{r.ask_p95_ms:>7.1f} ms",
            f"{'bare (encode + chunks.query)':<34}{r.bare_p50_ms:>7.1f} ms{r.bare_p95_ms:>7.1f} ms",
            f"{'  the same, as-of filter':<34}{r.filtered_p50_ms:>7.1f} ms{r.filtered_p95_ms:>7.1f} ms",
            f"{'ask p95 / bare p95':<34}{'':>10}{r.ratio:>9.2f}x   target <= {RATIO_TARGET:.0f}x  {verdict}",
        ]
    )


def positive(text: str) -> int:
    """An integer of at least 1, for --limit and --k."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--questions", type=Path, default=SHARED_EVAL / "dev.jsonl", help="Questions (JSONL)."
    )
    parser.add_argument(
        "--corpus", type=Path, default=SHARED_EVAL / "dev_corpus.jsonl", help="Corpus (JSONL)."
    )
    parser.add_argument("--limit", type=positive, default=100, metavar="N", help="Questions to time (100).")
    parser.add_argument("--k", type=positive, metavar="K", help="Chunks per question [NEWSDESK_TOP_K].")
    parser.add_argument("--data-dir", type=Path, metavar="DIR", help="Data dir [NEWSDESK_DATA_DIR, ./data].")
    parser.add_argument("--json", action="store_true", help="Print the numbers as JSON.")
    return parser.parse_args()


def main() -> int:
    """Run the benchmark once and print its numbers."""
    args = parse_args()
    missing = [path for path in (args.corpus, args.questions) if not path.is_file()]
    if missing:
        message = f"skipped: {missing[0]} not found"
        print(json.dumps({"skipped": message}) if args.json else message)
        return 0
    result = run(args)
    print(json.dumps(asdict(result), indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
