"""Baseline benchmark: newsdesk beside the stock LangChain RAG recipe, same corpus, questions and model.

The recipe: RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200) over each article body,
HuggingFaceEmbeddings of the same all-MiniLM-L6-v2, a langchain_chroma.Chroma store, and
`similarity_search(question, k=10)` whose top chunk stands as the answer.

Run from the repo root: `.venv/bin/python benchmarks/baseline.py [--questions PATH] [--corpus PATH]
[--limit N] [--ingest-articles N] [--data-dir DIR] [--json]` (needs `pip install -e '.[bench]'`).
Both full-corpus stores are cached under `<data_dir>/eval/`; ingest throughput is measured in every
run on the first N articles, into fresh temporary stores for both. See docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from common import Run, parser, positive, report, skipped, this_run
from langchain_core.documents import Document

from bot.answering.chain import Newsdesk
from bot.config import BotSettings
from bot.evaluation import (
    RETRIEVAL_K,
    EvalMetrics,
    EvalQuestion,
    QuestionResult,
    ask_question,
    compute_metrics,
    file_digest,
    load_questions,
    open_corpus_store,
)
from ingest import Ingestor, IngestSettings
from store import StoreSettings, open_knowledge_base
from store.embeddings import bundled_model_path, on_model_thread

if TYPE_CHECKING:  # the LangChain partner packages are imported where they are used
    from langchain_chroma import Chroma
    from langchain_huggingface import HuggingFaceEmbeddings

T = TypeVar("T")

CHUNK_SIZE, CHUNK_OVERLAP, TOP_K = 1000, 200, 10
COLLECTION = "baseline"
INGEST_ROUND = 20  # articles per turn of the ingest timing


@dataclass(frozen=True)
class Side:
    """One system's numbers."""

    strict_recall_5: float | None
    strict_mrr_10: float | None
    answer_accuracy: float | None
    citation_precision: float | None
    abstention: float | None
    query_p50_ms: float | None
    query_p95_ms: float | None
    ingest_articles_per_s: float
    ingest_chunks_per_s: float
    ingest_chunks: int


@dataclass(frozen=True)
class Result(Run):
    """The numbers of one benchmark run."""

    questions: int
    ingest_articles: int
    newsdesk: Side
    baseline: Side
    ingest_ratio: float
    """newsdesk articles/s over baseline articles/s (the same articles, fresh stores)."""
    query_p95_ratio: float | None
    """newsdesk `ask` p95 over baseline `similarity_search(k=10)` p95."""


def timed(work: Callable[..., T], *args: Any) -> tuple[T, float]:
    """The result of `work(*args)` and the wall-clock seconds it took."""
    started = time.perf_counter()
    result = work(*args)
    return result, time.perf_counter() - started


def read_records(corpus: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The corpus's JSON records (the first `limit` of them)."""
    records: list[dict[str, Any]] = []
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            if limit is not None and len(records) >= limit:
                break
            if line.strip():
                records.append(json.loads(line))
    return records


def split(records: list[dict[str, Any]]) -> list[Document]:
    """The recipe's chunks: each body split by RecursiveCharacterTextSplitter(1000, 200)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    documents = [Document(page_content=r["body"], metadata={"article_id": str(r["id"])}) for r in records]
    return splitter.split_documents(documents)


def embeddings() -> HuggingFaceEmbeddings:
    """The bundled all-MiniLM-L6-v2, loaded the stock LangChain way, offline.

    It is loaded and run on newsdesk's model thread (`store.embeddings.on_model_thread`): PyTorch
    keeps an OpenMP team per thread that runs it, and with two teams in one process libgomp stops
    spinning and both models slow down (newsdesk's ingest 133 -> 107 chunks/s, the recipe's 50 ->
    45), which neither system meets when it runs alone.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from langchain_huggingface import HuggingFaceEmbeddings
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    class OnModelThread(HuggingFaceEmbeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return on_model_thread(partial(super().embed_documents, texts))

        def embed_query(self, text: str) -> list[float]:
            return on_model_thread(partial(super().embed_query, text))

    return on_model_thread(partial(OnModelThread, model_name=str(bundled_model_path())))


def build_baseline(records: list[dict[str, Any]], embedder: HuggingFaceEmbeddings, folder: Path) -> Chroma:
    """The recipe's store: split, embed, write (Chroma.from_documents batches to the client's limit)."""
    from langchain_chroma import Chroma

    return Chroma.from_documents(
        split(records), embedder, collection_name=COLLECTION, persist_directory=str(folder)
    )


def cached_baseline(corpus: Path, embedder: HuggingFaceEmbeddings, data_dir: Path) -> Chroma:
    """The recipe's store of the whole corpus under `<data_dir>/eval/baseline-<key>`, built when missing."""
    from langchain_chroma import Chroma

    parts = (file_digest(corpus), str(bundled_model_path()), f"{CHUNK_SIZE}/{CHUNK_OVERLAP}")
    key = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]
    folder = data_dir / "eval" / f"baseline-{key}"
    complete = folder / "complete"
    if complete.exists():
        return Chroma(collection_name=COLLECTION, embedding_function=embedder, persist_directory=str(folder))
    shutil.rmtree(folder, ignore_errors=True)  # a build that was interrupted
    print(f"building the baseline store in {folder} (once)…", file=sys.stderr)
    store = build_baseline(read_records(corpus), embedder, folder)
    complete.write_text("built\n", encoding="utf-8")
    return store


def ingest_throughput(
    corpus: Path, articles: int, embedder: HuggingFaceEmbeddings, scratch: Path
) -> tuple[int, tuple[float, int], tuple[float, int]]:
    """Articles, and (seconds, chunks) of newsdesk's ingest and of the recipe's on them, fresh stores.

    Both ingest the articles in rounds of INGEST_ROUND, taking turns (and turns at going first), so
    that a change in the machine's load during the measurement hits both alike.
    """
    from langchain_chroma import Chroma

    records = read_records(corpus, articles)
    kb = open_knowledge_base(StoreSettings(data_dir=scratch / "newsdesk", chroma_url=None))
    recipe = Chroma(
        collection_name=COLLECTION, embedding_function=embedder, persist_directory=str(scratch / "baseline")
    )
    kb.embeddings.encode(["warm up"] * 8)  # neither timing pays for loading its model
    embedder.embed_documents(["warm up"] * 8)
    seconds = {"newsdesk": 0.0, "baseline": 0.0}
    newsdesk_chunks = 0
    for number, start in enumerate(range(0, len(records), INGEST_ROUND)):
        batch = records[start : start + INGEST_ROUND]
        path = scratch / f"round-{number}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in batch), encoding="utf-8")
        for name in ("newsdesk", "baseline") if number % 2 == 0 else ("baseline", "newsdesk"):
            if name == "newsdesk":
                report, took = timed(Ingestor(kb, IngestSettings()).ingest, [path])
                newsdesk_chunks += report.chunks_written
            else:
                _, took = timed(lambda records: recipe.add_documents(split(records)), batch)
            seconds[name] += took
    baseline_chunks = recipe._collection.count()
    return len(records), (seconds["newsdesk"], newsdesk_chunks), (seconds["baseline"], baseline_chunks)


def ask_baseline(store: Chroma, question: EvalQuestion) -> QuestionResult:
    """The recipe's answer (its top chunk, timed) and its article ranking at newsdesk's retrieval depth.

    The search runs as a stock LCEL chain runs it, `{"context": retriever, "question": passthrough}`,
    so in a fresh worker thread, exactly like newsdesk's retrieval step.
    """
    from langchain_core.runnables import RunnableParallel, RunnablePassthrough

    text = " ".join(question.question.split())
    recipe = RunnableParallel(
        context=store.as_retriever(search_kwargs={"k": TOP_K}), question=RunnablePassthrough()
    )
    ranker = RunnableParallel(context=store.as_retriever(search_kwargs={"k": RETRIEVAL_K}))
    result, seconds = timed(lambda: recipe.invoke(text))
    documents: list[Document] = result["context"]
    ranking: list[Document] = ranker.invoke(text)["context"]
    top = documents[0] if documents else None
    return QuestionResult(
        question=question,
        retrieved=tuple(dict.fromkeys(str(d.metadata["article_id"]) for d in ranking)),
        answer_text=top.page_content if top else "",
        found=top is not None,
        cited=(str(top.metadata["article_id"]),) if top else (),
        latency_ms=seconds * 1000,
    )


def side(metrics: EvalMetrics, ingest_s: float, ingest_articles: int, chunks: int) -> Side:
    """The numbers of one system."""
    return Side(
        strict_recall_5=metrics.strict.recall_5,
        strict_mrr_10=metrics.strict.mrr_10,
        answer_accuracy=metrics.answer_accuracy,
        citation_precision=metrics.citation_precision,
        abstention=metrics.abstention,
        query_p50_ms=metrics.latency_p50_ms,
        query_p95_ms=metrics.latency_p95_ms,
        ingest_articles_per_s=ingest_articles / ingest_s,
        ingest_chunks_per_s=chunks / ingest_s,
        ingest_chunks=chunks,
    )


def run(args: argparse.Namespace) -> Result:
    """Both systems on the same questions (interleaved), and both ingests on the same articles."""
    settings = StoreSettings()
    if args.data_dir:
        settings = settings.model_copy(update={"data_dir": args.data_dir})
    embedder = embeddings()
    # Ingest first: model calls on the main thread slow down once short-lived threads (as LCEL
    # starts for every question) have run the model, and both ingests run on the main thread.
    with tempfile.TemporaryDirectory(prefix="newsdesk-baseline-", ignore_cleanup_errors=True) as scratch:
        articles, (ours_s, ours_chunks), (theirs_s, theirs_chunks) = ingest_throughput(
            args.corpus, args.ingest_articles, embedder, Path(scratch)
        )
    kb, _ = open_corpus_store(args.corpus, settings, IngestSettings())
    newsdesk = Newsdesk(kb, BotSettings())
    baseline = cached_baseline(args.corpus, embedder, settings.data_dir)
    questions = load_questions(args.questions, limit=args.limit)
    newsdesk.warm_up()
    baseline.similarity_search("warm up", k=TOP_K)
    ours: list[QuestionResult] = []
    theirs: list[QuestionResult] = []
    for question in questions:  # interleaved, so noise on this machine hits both alike
        ours.append(ask_question(newsdesk, question))
        theirs.append(ask_baseline(baseline, question))
    mine = side(compute_metrics(ours), ours_s, articles, ours_chunks)
    stock = side(compute_metrics(theirs), theirs_s, articles, theirs_chunks)
    p95s = (mine.query_p95_ms, stock.query_p95_ms)
    return Result(
        **this_run(args.corpus),
        questions=len(questions),
        ingest_articles=articles,
        newsdesk=mine,
        baseline=stock,
        ingest_ratio=mine.ingest_articles_per_s / stock.ingest_articles_per_s,
        query_p95_ratio=p95s[0] / p95s[1] if p95s[0] and p95s[1] else None,
    )


def table(r: Result) -> str:
    """The two systems side by side, as a compact plain-text table."""

    def num(value: float | None, form: str = ".3f") -> str:
        return "-" if value is None else format(value, form)

    def ratio(a: float | None, b: float | None) -> str:
        return f"{a / b:.2f}x" if a is not None and b else "-"

    ours, stock = r.newsdesk, r.baseline
    rows = [
        ("recall@5 (strict)", num(ours.strict_recall_5), num(stock.strict_recall_5), ""),
        ("MRR@10 (strict)", num(ours.strict_mrr_10), num(stock.strict_mrr_10), ""),
        ("answer accuracy", num(ours.answer_accuracy), num(stock.answer_accuracy), ""),
        ("citation precision", num(ours.citation_precision), num(stock.citation_precision), ""),
        ("abstention (null qs)", num(ours.abstention), num(stock.abstention), ""),
        (
            "ingest articles/s",
            num(ours.ingest_articles_per_s, ".2f"),
            num(stock.ingest_articles_per_s, ".2f"),
            f"{r.ingest_ratio:.2f}x",
        ),
        (
            "ingest chunks/s",
            num(ours.ingest_chunks_per_s, ".1f"),
            num(stock.ingest_chunks_per_s, ".1f"),
            f"({ours.ingest_chunks} vs {stock.ingest_chunks} chunks)",
        ),
        ("query p50 ms", num(ours.query_p50_ms, ".1f"), num(stock.query_p50_ms, ".1f"), ""),
        (
            "query p95 ms",
            num(ours.query_p95_ms, ".1f"),
            num(stock.query_p95_ms, ".1f"),
            ratio(ours.query_p95_ms, stock.query_p95_ms),
        ),
    ]
    lines = [
        f"command: {r.command}",
        f"date: {r.date}  cpus: {r.cpus}  precision: {r.precision}  corpus: {r.corpus}",
        f"questions: {r.questions}; ingest measured on the first {r.ingest_articles} articles, fresh stores",
        f"{'':<22}{'newsdesk':>10}{'baseline':>10}   newsdesk / baseline",
    ]
    lines += [f"{name:<22}{a:>10}{b:>10}   {note}".rstrip() for name, a, b, note in rows]
    return "\n".join(lines)


def main() -> int:
    """Run the benchmark once and print its numbers."""
    options = parser(__doc__)
    options.add_argument("--limit", type=positive, metavar="N", help="Only the first N questions.")
    options.add_argument(
        "--ingest-articles",
        type=positive,
        default=100,
        metavar="N",
        help="Articles for the ingest timing (100).",
    )
    args = options.parse_args()
    if not skipped([args.corpus, args.questions], args.json):
        report(run(args), table, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
