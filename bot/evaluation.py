"""Evaluation: ask a question set through `Newsdesk.ask` and score retrieval, answers and abstention.

Questions are JSON lines `{id, question, answer, question_type, evidence, meta}`: `question_type` is
`factoid` (the answer is a short span of some article) or `null` (no article holds it, so the right
reply is "not found"); `evidence` lists `{doc_id, kind}` of the articles that hold the answer;
`meta.question_date` is the day the question was asked, and the bot answers as of that day.

The metrics are small pure functions over plain values; docs/evaluation.md defines each one.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bot.chain import Newsdesk
from ingest import IngestSettings, ingest_paths
from store import KnowledgeBase, StoreSettings, open_knowledge_base
from store.embeddings import SentenceTransformerEmbeddings, bundled_model_path

FACTOID = "factoid"
NULL = "null"
QUESTION_TYPES = (FACTOID, NULL)
STRICT_KINDS = frozenset({"gold_passage", "gold_article"})
"""Evidence kinds strict retrieval metrics count; lenient ones count every kind."""
RECALL_DEPTHS = (1, 5, 10)
MRR_DEPTH = 10
RETRIEVAL_K = 30
"""Chunks fetched for the retrieval metrics: more than ten distinct articles, as an answer's k may not be."""

Progress = Callable[[int, int], None]
"""Called as `on_progress(done, total)` after each question."""


class EvalDataError(ValueError):
    """A question file or corpus that cannot be evaluated; the message names the file and line."""


# ----------------------------------------------------------------------------- questions


@dataclass(frozen=True)
class Evidence:
    """An article that holds a question's answer, and how it was found (`gold_passage`, ...)."""

    doc_id: str
    kind: str


@dataclass(frozen=True)
class EvalQuestion:
    """One question with its gold answer, its evidence and the day it was asked."""

    id: str
    question: str
    answer: str
    question_type: str
    evidence: tuple[Evidence, ...] = ()
    question_date: date | None = None

    @property
    def answerable(self) -> bool:
        """Whether some article holds the answer (a `factoid` question)."""
        return self.question_type == FACTOID

    def evidence_ids(self, *, strict: bool) -> frozenset[str]:
        """Ids of the evidence articles: gold ones only when strict, all kinds otherwise."""
        return frozenset(e.doc_id for e in self.evidence if not strict or e.kind in STRICT_KINDS)


def load_questions(path: Path, *, limit: int | None = None) -> list[EvalQuestion]:
    """The questions of a JSONL file (the first `limit` of them), or an error naming the bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise EvalDataError(f"cannot read {path}: {error}") from error
    questions: list[EvalQuestion] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if limit is not None and len(questions) >= limit:
            break
        try:
            question = parse_question(json.loads(line))
        except json.JSONDecodeError as error:
            raise EvalDataError(
                f"{path}:{number}: malformed JSON ({error.msg} at column {error.colno})"
            ) from error
        except EvalDataError as error:
            raise EvalDataError(f"{path}:{number}: {error}") from error
        if question.id in seen:
            raise EvalDataError(
                f"{path}:{number}: question id {question.id!r} repeats line {seen[question.id]}"
            )
        seen[question.id] = number
        questions.append(question)
    if not questions:
        raise EvalDataError(f"{path}: no questions in the file")
    return questions


def parse_question(record: Any) -> EvalQuestion:
    """A question from one decoded JSON record."""
    if not isinstance(record, dict):
        raise EvalDataError(f"expected a JSON object, got {type(record).__name__}")
    question_id = record.get("id")
    if not isinstance(question_id, str | int) or isinstance(question_id, bool) or str(question_id) == "":
        raise EvalDataError("`id` must be a non-empty string or a number")
    for name in ("question", "answer"):
        if not isinstance(record.get(name), str) or not record[name].strip():
            raise EvalDataError(f"`{name}` must be a non-empty string")
    question_type = record.get("question_type")
    if question_type not in QUESTION_TYPES:
        raise EvalDataError(
            f"`question_type` must be one of {', '.join(QUESTION_TYPES)}, not {question_type!r}"
        )
    meta = record.get("meta") or {}
    if not isinstance(meta, dict):
        raise EvalDataError("`meta` must be an object")
    return EvalQuestion(
        id=str(question_id),
        question=record["question"],
        answer=record["answer"],
        question_type=question_type,
        evidence=_evidence(record.get("evidence") or []),
        question_date=_question_date(meta.get("question_date")),
    )


def _evidence(items: Any) -> tuple[Evidence, ...]:
    if not isinstance(items, list):
        raise EvalDataError("`evidence` must be a list")
    evidence = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("doc_id"), str) or not item["doc_id"]:
            raise EvalDataError("every `evidence` item needs a `doc_id` string")
        evidence.append(Evidence(item["doc_id"], str(item.get("kind") or "")))
    return tuple(evidence)


def _question_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise EvalDataError(f"`meta.question_date` must be YYYY-MM-DD, not {value!r}") from error


# ----------------------------------------------------------------------------- metrics

_CITATION_MARKER = re.compile(r"\[\d+\]")
_THOUSANDS = re.compile(r"(?<=\d)[,\u202f\u2009](?=\d{3}(?!\d))")
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
    text = _THOUSANDS.sub("", text)
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


# ----------------------------------------------------------------------------- results


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

    def rank(self, *, strict: bool) -> int | None:
        """Rank of the first evidence article among the retrieved ones, or None."""
        return first_relevant_rank(self.retrieved, self.question.evidence_ids(strict=strict))

    @property
    def correct(self) -> bool:
        """A factoid is answered with the gold answer in the text; a null question is declined."""
        if self.question.answerable:
            return self.found and answer_matches(self.question.answer, self.answer_text)
        return not self.found

    @property
    def cites_evidence(self) -> bool | None:
        """For a factoid answered found: whether a cited article is evidence of any kind."""
        if not (self.question.answerable and self.found):
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
            "found": self.found,
            "cited": list(self.cited),
            "correct": self.correct,
            "cites_evidence": self.cites_evidence,
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


def compute_metrics(results: Sequence[QuestionResult]) -> EvalMetrics:
    """The run's metrics from its per-question results."""
    factoid = [r for r in results if r.question.answerable]
    null = [r for r in results if not r.question.answerable]
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
    )


# ----------------------------------------------------------------------------- corpus store


@dataclass(frozen=True)
class CorpusStore:
    """The store an evaluation corpus was ingested into, and what preparing it cost in this run."""

    corpus: Path
    key: str
    location: str
    articles: int
    """Articles the store holds."""
    duplicates: int
    """Articles of the corpus not stored because a near-identical story is (see `ingest.dedupe`)."""
    reused: bool
    """Whether an earlier run had built the store, so this one loaded and embedded nothing."""
    chunks_written: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line: the corpus, its size, and whether the store was reused."""
        state = "store reused, nothing embedded" if self.reused else f"{self.chunks_written} chunks embedded"
        dropped = f", {self.duplicates} near-duplicates left out" if self.duplicates else ""
        return f"corpus {self.corpus}: {self.articles} articles{dropped} ({state}) in {self.location}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "corpus": str(self.corpus),
            "key": self.key,
            "location": self.location,
            "articles": self.articles,
            "duplicates": self.duplicates,
            "reused": self.reused,
            "chunks_written": self.chunks_written,
            "seconds": round(self.seconds, 2),
        }


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def corpus_key(corpus: Path, ingest_settings: IngestSettings, model: str) -> str:
    """A key naming what a corpus store holds: the file's content, the chunking and the model.

    The content, not the path or modification time: a copy or a fresh checkout of the same corpus
    reuses its store instead of embedding it all again.
    """
    parts = (
        file_digest(corpus),
        f"chunk_tokens={ingest_settings.chunk_tokens}",
        f"chunk_overlap={ingest_settings.chunk_overlap}",
        model,
    )
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


def corpus_store_settings(
    corpus: Path, store_settings: StoreSettings, ingest_settings: IngestSettings
) -> tuple[StoreSettings, str]:
    """Settings of the corpus's own store, `<data_dir>/eval/<key>` (or keyed collections on a server)."""
    model = str(store_settings.embedding_model or bundled_model_path())
    key = corpus_key(corpus, ingest_settings, model)
    update: dict[str, Any] = {"data_dir": store_settings.data_dir / "eval" / key}
    if store_settings.chroma_url:
        update["collection"] = f"{store_settings.collection}-eval-{key}"
    return store_settings.model_copy(update=update), key


def open_corpus_store(
    corpus: Path,
    store_settings: StoreSettings,
    ingest_settings: IngestSettings,
    *,
    embeddings: SentenceTransformerEmbeddings | None = None,
    on_progress: Progress | None = None,
) -> tuple[KnowledgeBase, CorpusStore]:
    """The corpus's own store: built by the first run, then reused as it is, loading and embedding nothing.

    A completed build leaves `complete.json` beside the store. Without it (first run, or a build
    that was interrupted) the corpus is ingested, which skips the articles already stored.
    """
    settings, key = corpus_store_settings(corpus, store_settings, ingest_settings)
    kb = open_knowledge_base(settings, embeddings)
    location = settings.chroma_url or str(settings.chroma_path)
    marker = settings.data_dir / "complete.json"
    if marker.is_file():
        built = json.loads(marker.read_text(encoding="utf-8"))
        return kb, CorpusStore(corpus, key, location, built["articles"], built["duplicates"], reused=True)
    report = ingest_paths([corpus], kb, ingest_settings, on_progress=on_progress)
    if report.failed:
        first = report.failed[0]
        raise EvalDataError(
            f"{len(report.failed)} corpus records could not be loaded (first: {first.origin}: {first.reason})"
        )
    store = CorpusStore(
        corpus=corpus,
        key=key,
        location=location,
        articles=len(report.added) + len(report.updated) + len(report.unchanged),
        duplicates=len(report.duplicates),
        reused=False,
        chunks_written=report.chunks_written,
        seconds=report.seconds,
    )
    built = {"corpus": str(corpus.resolve()), "articles": store.articles, "duplicates": store.duplicates}
    marker.write_text(json.dumps(built) + "\n", encoding="utf-8")
    return kb, store


# ----------------------------------------------------------------------------- running


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
