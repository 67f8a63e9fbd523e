"""Question sets: JSON lines `{id, question, answer, question_type, evidence, meta}`.

`question_type` is `factoid` (the answer is a short span of some article) or `null` (no article
holds it, so the right reply is "not found"); `review` lines (readers' 👎 from `newsdesk feedback
export`) wait for a person to write their gold answer and are skipped. `evidence` lists
`{doc_id, kind}` of the articles that hold the answer; `meta.question_date` is the day the question
was asked, and the bot answers as of that day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

FACTOID = "factoid"
NULL = "null"
REVIEW = "review"
QUESTION_TYPES = (FACTOID, NULL)
STRICT_KINDS = frozenset({"gold_passage", "gold_article"})
"""Evidence kinds strict retrieval metrics count; lenient ones count every kind."""


class EvalDataError(ValueError):
    """A question file or corpus that cannot be evaluated; the message names the file and line."""


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
    review = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if limit is not None and len(questions) >= limit:
            break
        try:
            record = json.loads(line)
            if isinstance(record, dict) and record.get("question_type") == REVIEW:
                review += 1  # a reader's 👎 that nobody has written the right answer for yet
                continue
            question = parse_question(record)
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
        waiting = f" ({review} marked for review)" if review else ""
        raise EvalDataError(f"{path}: no questions in the file{waiting}")
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
