"""How the store scales: write throughput, disk and memory, and `ask` latency at growing sizes.

Run from the repo root: `.venv/bin/python benchmarks/scale.py [--sizes 20000,200000,1000000]
[--questions 50] [--data-dir DIR] [--server-size N] [--json]`.

This measures the store, not the model: the text is synthetic (articles of ~14 chunks of ~150 words
drawn from English word frequencies, with names and numbers, dated over five years) and so are the
vectors (clustered: each article near one of 300 topic centres, its chunks and sentences near the
article), written through `KnowledgeBase.write_many`, the pipeline's own write path (Chroma, keyword
index, sentence vectors). For each size it prints the write throughput (chunks/s, model excluded),
disk bytes per chunk, and from a fresh process that opens the store and answers questions (made from
stored chunks' words, each as of a date), its resident memory and `ask` p50/p95, the model's query
encoding and the date logic included. With `--server-size N` the same runs for N chunks on a
`chroma run` server on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from common import folder_bytes

from store import Article, Chunk, EmbeddedArticle, StoreSettings, open_knowledge_base

CHUNKS_PER_ARTICLE = 14
WORDS_PER_CHUNK = 150
SENTENCES_PER_CHUNK = 7
TOPICS = 300
DIMENSION = 384
WRITE_BATCH = 64  # articles per write_many, as the pipeline's NEWSDESK_INGEST_BATCH
FIRST_DAY = date(2021, 1, 1)


@dataclass
class SizeResult:
    """The numbers of one store size."""

    chunks: int
    articles: int
    mode: str
    write_s: float
    write_chunks_per_s: float
    disk_bytes: int
    bytes_per_chunk: float
    ask_p50_ms: float
    ask_p95_ms: float
    rss_mib: float
    questions: int


def vocabulary(size: int = 20_000) -> tuple[list[str], list[float]]:
    """The most frequent English words with their frequencies (wordfreq), as sampling weights."""
    from wordfreq import top_n_list, word_frequency

    words = [w for w in top_n_list("en", size) if w.isalpha()]
    return words, [word_frequency(w, "en") for w in words]


class Corpus:
    """Synthetic articles with clustered vectors, the same for a given seed."""

    def __init__(self, seed: int = 7) -> None:
        self.random = random.Random(seed)
        self.numbers = np.random.default_rng(seed)
        self.words, weights = vocabulary()
        self.cumulative = list(itertools.accumulate(weights))  # `choices` would sum them on every call
        self.names = [w.capitalize() for w in self.words[2000:6000]]
        centres = self.numbers.normal(size=(TOPICS, DIMENSION)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)

    def _unit(self, around: np.ndarray, spread: float, count: int) -> np.ndarray:
        noise = self.numbers.normal(size=(count, DIMENSION)).astype(np.float32) * spread / np.sqrt(DIMENSION)
        vectors = around + noise
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def sentence(self, words: int) -> str:
        picked = self.random.choices(self.words, cum_weights=self.cumulative, k=words)
        picked[self.random.randrange(words)] = self.random.choice(self.names)
        if self.random.random() < 0.5:
            picked[self.random.randrange(words)] = f"{self.random.randint(2, 99_999):,}"
        return " ".join(picked).capitalize() + "."

    def article(self, number: int) -> EmbeddedArticle:
        """Article `number`: its chunks, their vectors and their sentences' vectors."""
        topic = self.centres[number % TOPICS]
        centre = self._unit(topic, 0.6, 1)[0]
        published = FIRST_DAY + timedelta(days=self.random.randrange(5 * 365))
        texts = []
        for _ in range(CHUNKS_PER_ARTICLE):
            sentences = [
                self.sentence(WORDS_PER_CHUNK // SENTENCES_PER_CHUNK) for _ in range(SENTENCES_PER_CHUNK)
            ]
            texts.append(sentences)
        body = "\n\n".join(" ".join(sentences) for sentences in texts)
        article = Article(
            id=f"scale-{number:07d}",
            title=self.sentence(8)[:-1],
            body=body,
            url=f"https://news.example/{number}",
            source=self.random.choice(["Harbour Courier", "Pacific Wire", "Norland Times", "Circuit Ledger"]),
            published_at=published,
        )
        chunks = []
        for position, sentences in enumerate(texts):
            text, spans, at = "", [], 0
            for sentence in sentences:
                spans.append((at, at + len(sentence)))
                text += sentence + " "
                at += len(sentence) + 1
            chunks.append(
                Chunk(
                    article.id,
                    article.content_hash,
                    position,
                    text.rstrip(),
                    article.title,
                    article.url,
                    article.source,
                    published,
                    tuple(spans),
                )
            )
        vectors = self._unit(centre, 0.5, CHUNKS_PER_ARTICLE)
        sentence_vectors = [self._unit(vector, 0.4, SENTENCES_PER_CHUNK) for vector in vectors]
        return EmbeddedArticle(article, chunks, vectors, sentence_vectors)


def build(settings: StoreSettings, corpus: Corpus, start: int, stop: int) -> float:
    """Write articles [start, stop) into the store; the seconds spent in `write_many` alone."""
    seconds = 0.0
    with open_knowledge_base(settings) as kb:
        for index, first in enumerate(range(start, stop, WRITE_BATCH), start=1):
            batch = [corpus.article(n) for n in range(first, min(stop, first + WRITE_BATCH))]
            began = time.perf_counter()
            kb.write_many(batch)
            seconds += time.perf_counter() - began
            if index % 100 == 0:
                done = min(stop, first + WRITE_BATCH) * CHUNKS_PER_ARTICLE
                print(f"  {done:,} chunks written", file=sys.stderr, flush=True)
    return seconds


def ask_in_fresh_process(settings: StoreSettings, questions: int) -> tuple[list[float], float]:
    """`ask` latencies (ms) and peak RSS (MiB) of a new process that opens the store and answers."""
    env = {
        **os.environ,
        "NEWSDESK_DATA_DIR": str(settings.data_dir),
        "NEWSDESK_COLLECTION": settings.collection,
    }
    if settings.chroma_url:
        env["NEWSDESK_CHROMA_URL"] = settings.chroma_url
    result = subprocess.run(
        [sys.executable, __file__, "--answer", str(questions)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return data["latencies_ms"], data["rss_mib"]


def answer(questions: int) -> None:
    """In the fresh process: open the store, warm up, ask `questions` questions made from stored
    chunks' words (each as of a date), print the latencies and the peak RSS as one JSON line."""
    from bot.answering import Newsdesk
    from bot.config import BotSettings

    kb = open_knowledge_base(StoreSettings())
    newsdesk = Newsdesk(kb, BotSettings())
    newsdesk.warm_up()
    pick = random.Random(11)
    count = kb.articles.count()
    latencies = []
    for n in range(questions + 3):
        number = pick.randrange(count)
        record = kb.get_article(f"scale-{number:07d}")
        assert record is not None and record.published_at is not None
        words = [w.strip(".,") for w in record.body.split()]
        at = pick.randrange(max(1, len(words) - 8))
        question = "What did " + " ".join(words[at : at + 6]) + " say?"
        as_of = record.published_at + timedelta(days=pick.randrange(0, 400))
        began = time.perf_counter()
        newsdesk.ask(question, as_of=as_of)
        if n >= 3:  # the first questions warm caches
            latencies.append((time.perf_counter() - began) * 1000)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"latencies_ms": latencies, "rss_mib": rss}))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(
    settings: StoreSettings,
    corpus: Corpus,
    sizes: list[int],
    questions: int,
    mode: str,
    server_folder: Path | None = None,
) -> list[SizeResult]:
    """Grow one store through `sizes` (in chunks), measuring at each (its disk: the data dir, and the
    server's folder when there is one)."""
    results = []
    written_articles, write_s = 0, 0.0
    for size in sizes:
        articles = size // CHUNKS_PER_ARTICLE
        print(f"{mode}: growing to {articles * CHUNKS_PER_ARTICLE:,} chunks", file=sys.stderr, flush=True)
        step = build(settings, corpus, written_articles, articles)
        chunks_added = (articles - written_articles) * CHUNKS_PER_ARTICLE
        written_articles, write_s = articles, write_s + step
        disk = folder_bytes(settings.data_dir) + (folder_bytes(server_folder) if server_folder else 0)
        latencies, rss = ask_in_fresh_process(settings, questions)
        results.append(
            SizeResult(
                chunks=articles * CHUNKS_PER_ARTICLE,
                articles=articles,
                mode=mode,
                write_s=step,
                write_chunks_per_s=chunks_added / step,
                disk_bytes=disk,
                bytes_per_chunk=disk / (articles * CHUNKS_PER_ARTICLE),
                ask_p50_ms=statistics.median(latencies),
                ask_p95_ms=percentile(latencies, 0.95),
                rss_mib=rss,
                questions=len(latencies),
            )
        )
        print(row(results[-1]), flush=True)
    return results


def row(r: SizeResult) -> str:
    disk = f"{r.disk_bytes / 1e9:.2f} GB"
    return (
        f"{r.mode:<9}{r.chunks:>10,}  write {r.write_chunks_per_s:8,.0f} chunks/s  disk {disk:>9}"
        f" ({r.bytes_per_chunk:,.0f} B/chunk)  RSS {r.rss_mib:6,.0f} MiB  ask p50 {r.ask_p50_ms:6.1f} ms"
        f"  p95 {r.ask_p95_ms:6.1f} ms"
    )


def chroma_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A `chroma run` on a free loopback port, and its URL."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    chroma = Path(sys.executable).parent / "chroma"
    process = subprocess.Popen(
        [str(chroma), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(5)
    return process, f"http://127.0.0.1:{port}"


def main() -> int:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--sizes", default="20000,200000,1000000", help="store sizes in chunks, growing")
    options.add_argument("--questions", type=int, default=50, help="questions asked at each size")
    options.add_argument("--data-dir", type=Path, help="folder for the stores [a temporary one, removed]")
    options.add_argument("--server-size", type=int, default=0, help="also measure a chroma run server store")
    options.add_argument("--json", action="store_true", help="print the results as JSON")
    options.add_argument("--answer", type=int, help=argparse.SUPPRESS)  # the fresh answering process
    args = options.parse_args()
    if args.answer is not None:
        answer(args.answer)
        return 0
    sizes = sorted(int(size) for size in args.sizes.split(","))
    scratch = args.data_dir or Path(tempfile.mkdtemp(prefix="newsdesk-scale-"))
    print(f"date: {date.today()}  cpus: {os.cpu_count()}  sizes: {sizes}  store: {scratch}", flush=True)
    results: list[SizeResult] = []
    try:
        embedded = StoreSettings(data_dir=scratch / "embedded", chroma_url=None, collection="scale")
        results += measure(embedded, Corpus(), sizes, args.questions, "embedded")
        if args.server_size:
            process, url = chroma_server(scratch / "server-db")
            try:
                served = StoreSettings(data_dir=scratch / "server-client", chroma_url=url, collection="scale")
                results += measure(
                    served, Corpus(), [args.server_size], args.questions, "server", scratch / "server-db"
                )
            finally:
                process.terminate()
                process.wait(timeout=30)
    finally:
        if args.data_dir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    smallest = next((r for r in results if r.mode == "embedded"), None)
    largest = max((r for r in results if r.mode == "embedded"), key=lambda r: r.chunks, default=None)
    if smallest and largest and largest is not smallest:
        print(
            f"ask p95 at {largest.chunks:,} / at {smallest.chunks:,}: "
            f"{largest.ask_p95_ms / smallest.ask_p95_ms:.2f}x (target <= 2x); "
            f"RSS at {largest.chunks:,}: {largest.rss_mib / 1024:.2f} GiB (target <= 4)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
