"""Evaluation: the metric functions on hand-made cases, and `newsdesk eval` end to end on the samples."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import ingest
import store
from bot.answering.chain import Newsdesk
from bot.config import BotSettings
from bot.evaluation import (
    EvalQuestion,
    Evidence,
    QuestionResult,
    answer_matches,
    compute_metrics,
    corpus_key,
    evaluate,
    hidden_articles,
    load_questions,
    normalize_answer,
    percentile,
    recall_at,
    reciprocal_rank,
    retrieval_scores,
)
from bot.frontends.cli import cli
from store import Article

QUESTIONS = Path(__file__).parent / "data" / "eval_questions.jsonl"
DELIVERY_ARTICLE = "u-b641e623bcbbc84d"

RunEval = Callable[..., Result]


# ----------------------------------------------------------------------------- metric functions


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("300,000", "300000"),
        ("300000", "300000"),
        ("1,234,567 units", "1234567 units"),
        ("The Eiffel Tower", "eiffel tower"),
        ("an apple a day", "apple day"),
        ("U.S. Navy", "us navy"),
        ("Adam's gel", "adam gel"),
        ("3.75%", "3.75"),
        ("Pelé!", "pele"),
        ("  Quoted   text [1] [12] ", "quoted text"),
        ("HMS-Defender, 2021", "hms defender 2021"),
    ],
)
def test_normalize_answer(text: str, normalized: str) -> None:
    assert normalize_answer(text) == normalized


@pytest.mark.parametrize(
    ("gold", "text", "matches"),
    [
        ("300,000", "Xiaomi aims to deliver 300000 cars. [1]", True),
        ("300000", "a target of 300,000 vehicles [1]", True),
        ("the Eiffel Tower", "He climbed Eiffel Tower on Monday.", True),
        ("Adam", "Contraline said Adam's gel works [1]", True),
        ("3.75%", "cut the rate to 3.75 percent", True),
        ("10", "In 2010 the law passed.", False),
        ("Adam", "Adamson said so.", False),
        ("3.75%", "cut by 375 basis points", False),
        ("The", "The answer", False),
        ("Daniel Okafor", "Okafor, Daniel", False),
    ],
)
def test_answer_matches_whole_words_after_normalising(gold: str, text: str, matches: bool) -> None:
    assert answer_matches(gold, text) is matches


@pytest.mark.parametrize(
    ("ranked", "relevant", "recalls", "rr"),
    [
        (["a", "b", "c"], {"a"}, (1.0, 1.0, 1.0), 1.0),
        (["a", "b", "c"], {"c", "z"}, (0.0, 1.0, 1.0), 1 / 3),
        (["a", "b", "c", "d", "e", "f"], {"f"}, (0.0, 0.0, 1.0), 1 / 6),
        ([str(n) for n in range(12)], {"10"}, (0.0, 0.0, 0.0), 0.0),
        (["a", "b"], {"z"}, (0.0, 0.0, 0.0), 0.0),
        ([], {"a"}, (0.0, 0.0, 0.0), 0.0),
    ],
)
def test_recall_and_reciprocal_rank(
    ranked: list[str], relevant: set[str], recalls: tuple[float, float, float], rr: float
) -> None:
    assert tuple(recall_at(ranked, relevant, k) for k in (1, 5, 10)) == recalls
    assert reciprocal_rank(ranked, relevant, 10) == pytest.approx(rr)


def test_retrieval_scores_average_over_questions_with_evidence_only() -> None:
    scores = retrieval_scores([(["a", "b"], {"a"}), (["x", "b"], {"b"}), (["a"], set()), (["q"], {"z"})])
    assert scores.questions == 3
    assert scores.recall_1 == pytest.approx(1 / 3)
    assert scores.recall_5 == pytest.approx(2 / 3)
    assert scores.mrr_10 == pytest.approx((1 + 0.5 + 0) / 3)
    assert retrieval_scores([]).recall_5 is None


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([10.0, 20.0, 30.0, 40.0], 50, 25.0),
        ([float(n) for n in range(101)], 95, 95.0),
        ([5.0, 1.0, 3.0], 50, 3.0),
        ([7.0], 95, 7.0),
        ([1.0, 2.0], 95, 1.95),
        ([], 50, None),
    ],
)
def test_percentile(values: list[float], q: float, expected: float | None) -> None:
    result = percentile(values, q)
    assert result == (pytest.approx(expected) if expected is not None else None)


def _question(
    qid: str, kind: str = "factoid", answer: str = "42", evidence: tuple[str, ...] = ()
) -> EvalQuestion:
    return EvalQuestion(
        id=qid,
        question=f"question {qid}?",
        answer=answer if kind == "factoid" else "Insufficient information.",
        question_type=kind,
        evidence=tuple(
            Evidence(doc, "gold_passage" if i == 0 else "answer_match_article")
            for i, doc in enumerate(evidence)
        ),
    )


def _result(
    question: EvalQuestion, text: str, *, found: bool = True, cited: tuple[str, ...] = (), ms: float = 10.0
) -> QuestionResult:
    return QuestionResult(question, ("a", "b", "c"), text, found, cited, ms)


def test_metrics_count_accuracy_citations_and_abstention() -> None:
    results = [
        _result(_question("1", evidence=("a",)), "It was 42. [1]", cited=("a",), ms=10),
        _result(_question("2", evidence=("b", "m")), "It was 41. [1]", cited=("m",), ms=20),
        _result(_question("3", evidence=("z",)), "It was 42. [1]", cited=("c",), ms=30),
        _result(_question("4", evidence=("a",)), "I could not find that.", found=False, ms=40),
        _result(_question("n1", "null"), "I could not find that.", found=False, ms=50),
        _result(_question("n2", "null"), "Something. [1]", cited=("a",), ms=60),
        _result(_question("n3", "null"), "I could not find that.", found=False, ms=70),
    ]
    metrics = compute_metrics(results)
    assert (metrics.questions, metrics.factoid, metrics.null) == (7, 4, 3)
    assert metrics.answer_accuracy == pytest.approx(2 / 4)  # found and containing "42": questions 1 and 3
    assert metrics.found_factoid == 3
    assert metrics.citation_precision == pytest.approx(2 / 3)  # 1 cites gold, 2 cites a lenient match
    assert metrics.abstention == pytest.approx(2 / 3)
    assert metrics.false_abstention == pytest.approx(1 / 4)
    assert metrics.strict.recall_1 == pytest.approx(2 / 4)  # rank 1 (q1, q4), rank 2 (q2), missing (q3)
    assert metrics.strict.mrr_10 == pytest.approx((1 + 0.5 + 0 + 1) / 4)
    assert metrics.latency_p50_ms == pytest.approx(40)
    assert [r.correct for r in results] == [True, False, True, False, True, False, True]


def test_corpus_key_names_content_and_chunking(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"title": "t", "body": "b"}\n', encoding="utf-8")
    settings = ingest.IngestSettings()
    key = corpus_key(corpus, settings, "model")
    assert corpus_key(corpus, settings, "model") == key
    copy = tmp_path / "elsewhere" / "copy.jsonl"  # a copy (new path, new mtime) reuses the store
    copy.parent.mkdir()
    copy.write_bytes(corpus.read_bytes())
    assert corpus_key(copy, settings, "model") == key
    assert corpus_key(corpus, ingest.IngestSettings(chunk_tokens=128), "model") != key
    assert corpus_key(corpus, settings, "other-model") != key
    corpus.write_text('{"title": "t", "body": "b, longer"}\n', encoding="utf-8")
    assert corpus_key(corpus, settings, "model") != key


def test_load_questions_reads_the_bundled_file() -> None:
    questions = load_questions(QUESTIONS)
    assert len(questions) == 9
    assert questions[0].question_date == date(2025, 1, 6)
    assert questions[0].evidence_ids(strict=True) == {DELIVERY_ARTICLE}
    assert [q.answerable for q in questions].count(False) == 1
    assert len(load_questions(QUESTIONS, limit=3)) == 3


# ----------------------------------------------------------------------------- the core on a store


def test_evaluate_times_only_the_ask(sample_kb: store.KnowledgeBase) -> None:
    ticks = itertools.count()
    newsdesk = Newsdesk(sample_kb, BotSettings())
    report = evaluate(newsdesk, load_questions(QUESTIONS, limit=2), timer=lambda: float(next(ticks)))
    # One tick between the two readings around each ask: the retrieval call is not counted.
    assert [r.latency_ms for r in report.results] == [1000.0, 1000.0]
    assert report.k == 8 and report.retrieval_k == 30 and report.answerer == "extractive"


# ----------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def sample_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled samples written as one JSONL corpus, the format `--corpus` takes."""
    path = tmp_path_factory.mktemp("corpus") / "samples.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for item in ingest.load_paths([ingest.samples_dir()], max_bytes=10_000_000):
            assert isinstance(item, Article), item
            record = {
                "id": item.id,
                "title": item.title,
                "url": item.url,
                "source": item.source,
                "published_at": item.published_at.isoformat() if item.published_at else None,
                "body": item.body,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def run_eval(tmp_path_factory: pytest.TempPathFactory, sample_corpus: Path) -> RunEval:
    """Run `newsdesk --data-dir <module dir> eval ... --corpus <samples>`; the corpus store is shared."""
    data_dir = tmp_path_factory.mktemp("eval") / "data"

    def run(*args: str) -> Result:
        """Invoke `newsdesk eval` with these arguments after QUESTIONS.jsonl."""
        command = ["--data-dir", str(data_dir), "eval", *args, "--corpus", str(sample_corpus)]
        return CliRunner().invoke(cli, command, catch_exceptions=False)

    return run


def test_eval_json_and_out_report_every_metric(run_eval: RunEval, tmp_path: Path) -> None:
    out = tmp_path / "results" / "run.jsonl"
    result = run_eval(str(QUESTIONS), "--json", "--out", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["questions"], report["factoid"], report["null"]) == (9, 8, 1)
    assert report["k"] == 8 and report["retrieval_k"] == 30
    strict = report["retrieval"]["strict"]
    assert strict["questions"] == 8
    assert strict["recall@5"] == 1.0  # eight questions about eight different articles
    assert 0.5 <= strict["mrr@10"] <= 1.0
    assert report["abstention"] == 1.0
    assert report["corpus"]["articles"] == 8
    assert report["latency_ms"]["p50"] > 0 and report["latency_ms"]["p95"] >= report["latency_ms"]["p50"]

    rows = {row["id"]: row for row in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert len(rows) == 9
    delivery = rows["sample-delivery-target"]
    assert delivery["correct"] is True and delivery["found"] is True
    assert delivery["cites_evidence"] is True and DELIVERY_ARTICLE in delivery["cited"]
    assert delivery["retrieved"][0] == DELIVERY_ARTICLE and delivery["strict_rank"] == 1
    assert DELIVERY_ARTICLE in delivery["read"]
    assert delivery["gold_answer"] == "300,000" and delivery["question_date"] == "2025-01-06"
    null = rows["sample-null-festival"]
    assert null["found"] is False and null["correct"] is True and null["cites_evidence"] is None
    assert set(rows["sample-tram-budget"]) >= {"question", "evidence_ids", "answer", "latency_ms"}


def test_eval_prints_a_table_and_reuses_the_corpus_store(run_eval: RunEval) -> None:
    run_eval(str(QUESTIONS), "--limit", "1", "--json")  # builds the store unless an earlier test did
    result = run_eval(str(QUESTIONS), "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "8 articles (store reused, nothing embedded)" in result.output
    assert "2 questions, k=8" in result.output
    for metric in ("recall@5 (strict)", "MRR@10 (lenient)", "answer accuracy", "abstention", "latency p95"):
        assert metric in result.output


def test_eval_asks_as_of_the_question_date(run_eval: RunEval, tmp_path: Path) -> None:
    record = json.loads(QUESTIONS.read_text(encoding="utf-8").splitlines()[0])
    record["meta"]["question_date"] = "2024-12-01"  # a month before the article was published
    early = tmp_path / "early.jsonl"
    early.write_text(json.dumps(record) + "\n", encoding="utf-8")
    result = run_eval(str(early), "--json", "--out", str(tmp_path / "early-out.jsonl"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["retrieval"]["strict"]["recall@10"] == 0.0
    row = json.loads((tmp_path / "early-out.jsonl").read_text(encoding="utf-8"))
    assert DELIVERY_ARTICLE not in row["retrieved"] and row["correct"] is False


def test_eval_without_corpus_uses_the_main_store(run_cli: Callable[..., Result]) -> None:
    empty = run_cli("eval", str(QUESTIONS))
    assert empty.exit_code == 1 and "the store is empty" in empty.output
    assert run_cli("ingest", "--samples").exit_code == 0
    result = run_cli("eval", str(QUESTIONS), "--limit", "1", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["corpus"] is None and report["answer_accuracy"] == 1.0


GOOD = {"id": "a", "question": "q?", "answer": "x", "question_type": "null"}


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([json.dumps(GOOD), "{not json"], ":2: malformed JSON"),
        (["[1, 2]"], ":1: expected a JSON object"),
        ([json.dumps(GOOD | {"question": " "})], ":1: `question` must be a non-empty string"),
        ([json.dumps(GOOD | {"id": True})], ":1: `id` must be a non-empty string or a number"),
        ([json.dumps(GOOD | {"question_type": "opinion"})], ":1: `question_type` must be one of"),
        ([json.dumps(GOOD | {"evidence": [{"kind": "x"}]})], ":1: every `evidence` item needs a `doc_id`"),
        ([json.dumps(GOOD | {"meta": {"question_date": "May"}})], ":1: `meta.question_date` must be"),
        ([json.dumps(GOOD)] * 2, ":2: question id 'a' repeats line 1"),
        (["", "  "], ": no questions in the file"),
    ],
)
def test_eval_rejects_malformed_questions_with_the_line(
    run_cli: Callable[..., Result], tmp_path: Path, lines: list[str], message: str
) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("eval", str(path))
    assert result.exit_code == 1
    assert f"Error: {path}{message}" in result.output


def test_eval_needs_an_existing_questions_file(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    result = run_cli("eval", str(tmp_path / "missing.jsonl"))
    assert result.exit_code == 2 and "does not exist" in result.output


# ----------------------------------------------------------------------------- counterfactual runs


def test_hidden_articles_are_the_evidence_and_every_article_holding_the_answer(
    sample_kb: store.KnowledgeBase,
) -> None:
    xiaomi = _question("xiaomi", answer="Xiaomi", evidence=(DELIVERY_ARTICLE,))
    null = _question("festival", kind="null")
    holding = {a.id for a in sample_kb.all_articles() if "Xiaomi" in a.title + a.body}
    assert len(holding) >= 2 and DELIVERY_ARTICLE in holding  # more than the evidence names the answer

    hidden = hidden_articles(sample_kb, [xiaomi, null])

    assert hidden == {"xiaomi": frozenset(holding)}  # and nothing for a null question


def test_eval_hide_evidence_reports_counterfactual_abstention(run_eval: RunEval, tmp_path: Path) -> None:
    out = tmp_path / "hidden.jsonl"
    result = run_eval(str(QUESTIONS), "--hide-evidence", "--json", "--out", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["counterfactual"], report["factoid"], report["null"]) == (8, 0, 1)
    assert report["counterfactual_abstention"] >= 0.75
    assert report["answer_accuracy"] is None and report["short_answer_accuracy"] is None

    rows = {row["id"]: row for row in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    delivery = rows["sample-delivery-target"]
    assert delivery["hidden"] == 1 and DELIVERY_ARTICLE not in delivery["read"] + delivery["cited"]
    assert delivery["retrieved"] == []  # nothing is ranked in a counterfactual run
    assert rows["sample-null-festival"]["hidden"] is None


def test_eval_reports_short_answer_accuracy(run_eval: RunEval, tmp_path: Path) -> None:
    out = tmp_path / "short.jsonl"
    result = run_eval(str(QUESTIONS), "--json", "--out", str(out))
    report = json.loads(result.output)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    right = [
        r
        for r in rows
        if r["short_answer"] and r["found"] and answer_matches(r["gold_answer"], r["short_answer"])
    ]
    assert report["short_answer_accuracy"] == len(right) / report["factoid"] > 0
