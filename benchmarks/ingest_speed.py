"""Ingest benchmark: the full pipeline against the bare embedding model, re-ingest cost and peak memory.

Run from the repo root: `.venv/bin/python benchmarks/ingest_speed.py [--corpus PATH] [--limit N]
[--data-dir DIR] [--json]`. See benchmarks/README.md for what each number means.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from common import Run, parser, positive, report, skipped, this_run

from ingest import Ingestor, IngestSettings, load_paths, make_chunker
from store import Article, KnowledgeBase, StoreSettings, open_knowledge_base

T = TypeVar("T")
RATIO_A_TARGET = 0.85  # pipeline chunks/s over bare encode chunks/s: at least this
RATIO_B_TARGET = 0.03  # unchanged re-ingest time over first ingest time: at most this


@dataclass(frozen=True)
class Result(Run):
    """The numbers of one benchmark run."""

    load_at_start: float
    articles: int
    chunks: int
    pipeline_s: float
    pipeline_chunks_per_s: float
    pipeline_cpu_s: float
    encode_s: float
    encode_chunks_per_s: float
    encode_cpu_s: float
    ratio_a: float
    ratio_a_pass: bool
    ratio_a_cpu: float
    """Ratio A by CPU seconds instead of wall time: steadier when other work shares the machine."""
    duplicates: int
    """Near-duplicate articles the first ingest embedded but did not store."""
    reingest_s: float
    reingest_chunks: int
    ratio_b: float
    ratio_b_pass: bool
    peak_rss_mib: float


def timed(work: Callable[[], T]) -> tuple[T, float, float]:
    """The result of `work()`, the wall-clock seconds it took and the CPU seconds of all our threads."""
    wall, cpu = time.perf_counter(), time.process_time()
    return work(), time.perf_counter() - wall, time.process_time() - cpu


def rounds(corpus: Path, size: int, folder: Path, limit: int | None = None) -> list[Path]:
    """The corpus (its first `limit` non-blank lines) cut into JSONL files of `size` lines each, in order."""
    with corpus.open(encoding="utf-8") as source:
        lines = [line if line.endswith("\n") else line + "\n" for line in source if line.strip()][:limit]
    paths = []
    for number, start in enumerate(range(0, len(lines), size)):
        path = folder / f"round-{number}.jsonl"
        path.write_text("".join(lines[start : start + size]), encoding="utf-8")
        paths.append(path)
    return paths


def chunk_texts(corpus: Path, kb: KnowledgeBase, settings: IngestSettings) -> tuple[int, list[str]]:
    """Unique articles in the corpus and the texts the pipeline embeds for them, via its own chunker."""
    articles: dict[str, Article] = {}
    for item in load_paths([corpus], max_bytes=int(settings.max_file_mb * 1_000_000)):
        if isinstance(item, Article):
            articles[item.id] = item  # a later copy of an article replaces it, as in `ingest_articles`
    chunk_lists = make_chunker(kb, settings).split_many(list(articles.values()))
    return len(articles), [chunk.embedding_text for chunks in chunk_lists for chunk in chunks]


def run(corpus: Path, data_dir: Path, scratch: Path, limit: int | None = None) -> Result:
    """Bare encode and the first ingest into a fresh store, in turns, then an unchanged re-ingest.

    The corpus is taken in rounds of one ingest batch of articles; each round is encoded bare and
    ingested through the pipeline, taking turns at going first, so that a change in the machine's
    speed during the run (shared cores, turbo) hits both alike.
    """
    started = this_run(corpus)
    load_at_start = os.getloadavg()[0]  # other work on the machine skews every timing below
    settings = IngestSettings()
    kb = open_knowledge_base(StoreSettings(data_dir=data_dir, chroma_url=None))
    parts = rounds(corpus, settings.ingest_batch, scratch, limit)
    round_texts = [chunk_texts(path, kb, settings) for path in parts]
    texts = [text for _, part_texts in round_texts for text in part_texts]
    if not texts:
        raise SystemExit(f"no articles to ingest in {corpus}")
    kb.embeddings.encode(texts[: kb.embeddings.batch_size])  # warm-up: neither timing pays the first pass
    ingestor = Ingestor(kb, settings)
    encode_s = encode_cpu_s = pipeline_s = pipeline_cpu_s = 0.0
    embedded, duplicates = 0, 0
    for number, (path, (_, part)) in enumerate(zip(parts, round_texts, strict=True)):
        for turn in ("bare", "pipeline") if number % 2 == 0 else ("pipeline", "bare"):
            if turn == "bare":
                _, wall, cpu = timed(partial(kb.embeddings.encode, part))
                encode_s, encode_cpu_s = encode_s + wall, encode_cpu_s + cpu
            else:
                report, wall, cpu = timed(partial(ingestor.ingest, [path]))
                pipeline_s, pipeline_cpu_s = pipeline_s + wall, pipeline_cpu_s + cpu
                embedded, duplicates = embedded + report.chunks_written, duplicates + len(report.duplicates)
    second, reingest_s, _ = timed(lambda: ingestor.ingest(parts))
    if embedded != len(texts):
        raise SystemExit(
            f"the pipeline embedded {embedded} chunks but the chunker made {len(texts)}: "
            "the two timings would not cover the same work"
        )
    pipeline_rate, encode_rate = len(texts) / pipeline_s, len(texts) / encode_s
    ratio_a, ratio_b = pipeline_rate / encode_rate, reingest_s / pipeline_s
    return Result(
        **started,
        load_at_start=load_at_start,
        articles=sum(count for count, _ in round_texts),
        chunks=len(texts),
        pipeline_s=pipeline_s,
        pipeline_chunks_per_s=pipeline_rate,
        pipeline_cpu_s=pipeline_cpu_s,
        encode_s=encode_s,
        encode_chunks_per_s=encode_rate,
        encode_cpu_s=encode_cpu_s,
        ratio_a=ratio_a,
        ratio_a_pass=ratio_a >= RATIO_A_TARGET,
        ratio_a_cpu=encode_cpu_s / pipeline_cpu_s,
        duplicates=duplicates,
        reingest_s=reingest_s,
        reingest_chunks=second.chunks_written,
        ratio_b=ratio_b,
        ratio_b_pass=ratio_b <= RATIO_B_TARGET,
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
    )


def table(r: Result) -> str:
    """The result as a compact plain-text table."""
    ok = {True: "PASS", False: "MISS"}
    rows = [
        ("articles", f"{r.articles:,}", ""),
        ("chunks", f"{r.chunks:,}", f"{r.duplicates} near-duplicate articles not stored"),
        ("pipeline (first ingest)", f"{r.pipeline_s:.1f} s", f"{r.pipeline_chunks_per_s:.1f} chunks/s"),
        ("bare encode", f"{r.encode_s:.1f} s", f"{r.encode_chunks_per_s:.1f} chunks/s"),
        ("A = pipeline / bare", f"{r.ratio_a:.3f}", f"target >= {RATIO_A_TARGET}: {ok[r.ratio_a_pass]}"),
        ("A by CPU time", f"{r.ratio_a_cpu:.3f}", f"CPU s: {r.pipeline_cpu_s:.0f} / {r.encode_cpu_s:.0f}"),
        (
            "re-ingest (unchanged)",
            f"{r.reingest_s:.2f} s",
            f"{r.reingest_chunks} chunks embedded (expected 0)",
        ),
        ("B = re-ingest / first", f"{r.ratio_b:.4f}", f"target <= {RATIO_B_TARGET}: {ok[r.ratio_b_pass]}"),
        ("peak RSS", f"{r.peak_rss_mib:,.0f} MiB", "ru_maxrss, whole run"),
    ]
    lines = [
        f"command: {r.command}",
        f"date: {r.date}  cpus: {r.cpus}  precision: {r.precision}"
        f"  load (1 min) at start: {r.load_at_start:.2f}",
        f"corpus: {r.corpus}",
    ]
    lines += [f"{name:<26}{value:>12}   {note}".rstrip() for name, value, note in rows]
    return "\n".join(lines)


def main() -> int:
    """Run the benchmark once and print its numbers."""
    options = parser(__doc__, questions=False, data_dir="Empty folder for the store [a temporary one].")
    options.add_argument("--limit", type=positive, metavar="N", help="Use only the first N articles.")
    args = options.parse_args()
    if skipped([args.corpus], args.json):
        return 0
    if args.data_dir and args.data_dir.exists() and any(args.data_dir.iterdir()):
        print(f"error: {args.data_dir} is not empty: the first ingest needs a fresh store", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-", ignore_cleanup_errors=True) as scratch:
        result = run(args.corpus, args.data_dir or Path(scratch) / "data", Path(scratch), args.limit)
    report(result, table, args.json)
    return 0 if result.reingest_chunks == 0 else 1  # re-embedding an unchanged corpus is a bug


if __name__ == "__main__":
    sys.exit(main())
