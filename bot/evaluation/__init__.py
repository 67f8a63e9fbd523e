"""Evaluation: ask a question set through `Newsdesk.ask` and score retrieval, answers and abstention.

`questions` reads question files, `corpus` builds (once) the store a corpus is ingested into,
`metrics` holds the pure scoring functions and `run` asks the questions. docs/evaluation.md
defines every metric.
"""

from bot.evaluation.corpus import CorpusStore, corpus_key, file_digest, open_corpus_store
from bot.evaluation.metrics import (
    EvalMetrics,
    QuestionResult,
    answer_matches,
    compute_metrics,
    normalize_answer,
    percentile,
    recall_at,
    reciprocal_rank,
    retrieval_scores,
)
from bot.evaluation.questions import EvalDataError, EvalQuestion, Evidence, load_questions, parse_question
from bot.evaluation.run import RETRIEVAL_K, EvalReport, ask_question, evaluate, hidden_articles, write_results

__all__ = [
    "RETRIEVAL_K",
    "CorpusStore",
    "EvalDataError",
    "EvalMetrics",
    "EvalQuestion",
    "EvalReport",
    "Evidence",
    "QuestionResult",
    "answer_matches",
    "ask_question",
    "compute_metrics",
    "corpus_key",
    "evaluate",
    "file_digest",
    "hidden_articles",
    "load_questions",
    "normalize_answer",
    "open_corpus_store",
    "parse_question",
    "percentile",
    "recall_at",
    "reciprocal_rank",
    "retrieval_scores",
    "write_results",
]
