"""The extractive answerer: quotes the sentences of the retrieved chunks that best answer a question."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
from langchain_core.documents import Document

from bot.answering.answer import NOT_FOUND, Answer, Turn
from bot.answering.base import citation, leads, standalone_question
from bot.answering.timeframe import is_time_bound
from bot.config import BotSettings
from store import SentenceTransformerEmbeddings
from store.text import QUESTION_FILLER, format_day, strip_thousands

_WORD = re.compile(r"\w+")


def terms(text: str) -> set[str]:
    """Content words of a text, lowercased, numbers without separators, crudely stemmed to 6 letters."""
    words = _WORD.findall(strip_thousands(text.lower()))
    return {word[:6] for word in words if word not in QUESTION_FILLER and (len(word) > 1 or word.isdigit())}


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved chunk, with how well it answers the question."""

    text: str
    document: Document
    rank: int
    index: int
    vector: np.ndarray | None
    semantic: float
    lexical: float
    score: float
    evidence: float

    @property
    def article_id(self) -> str:
        """Id of the article the sentence belongs to."""
        return str(self.document.metadata["article_id"])

    @property
    def order(self) -> tuple[int, int]:
        """Where the sentence stands in its article (chunk position, sentence index)."""
        return int(self.document.metadata.get("position", 0)), self.index


@dataclass
class ExtractiveAnswerer:
    """Quotes the one to three sentences of the retrieved chunks that best answer the question.

    Each sentence gets two scores. Its *rank score* mixes its similarity to the question (a
    vector computed at ingest from the sentence in context, see `encode_passages`), the
    IDF-weighted share of the question's content words it contains, and its chunk's standing in
    retrieval (fused score relative to the best chunk, which carries the date prior and the
    keyword match). Its *evidence* is 0.6 similarity + 0.4 word share: how strongly the text
    itself answers, whatever retrieval thought. A question of one content word ("Who set it?",
    "What time is it?") earns half the word share: one shared word is weak evidence that a
    sentence answers it, so such a question is answered only when the meaning matches too
    ("Xiaomi?", "storm"). When the strongest evidence is below
    `min_evidence` the answer is "not found" with the closest articles as leads. Runners-up
    within `companion_margin` of the best rank score join it, up to `max_sentences`. Weights,
    margin and threshold were measured on the dev set (benchmarks/tune.py, docs/evaluation.md).
    Every quoted sentence is text of the cited article, verbatim.
    """

    embeddings: SentenceTransformerEmbeddings
    min_evidence: float = 0.37
    max_sentences: int = 3
    companion_margin: float = 0.1
    weights: tuple[float, float, float] = (0.5, 0.2, 0.3)
    evidence_weights: tuple[float, float] = (0.6, 0.4)
    full_credit_terms: int = 2
    """Content words a question needs for the full word-share part of the evidence."""
    name: str = "extractive"

    @classmethod
    def from_settings(
        cls, settings: BotSettings, embeddings: SentenceTransformerEmbeddings
    ) -> ExtractiveAnswerer:
        """The answerer the settings describe."""
        return cls(embeddings, min_evidence=settings.min_evidence, max_sentences=settings.max_sentences)

    def answer(self, question: str, documents: Sequence[Document], *, as_of: date | None = None) -> Answer:
        """The best sentences with citations, or NOT_FOUND with leads."""
        candidates = self.rank(question, documents)
        if not candidates or max(c.evidence for c in candidates) < self.min_evidence:
            return Answer(NOT_FOUND, found=False, leads=leads(documents), answerer=self.name, as_of=as_of)
        answer = compose(self.select(candidates), answerer=self.name, as_of=as_of)
        return with_source_date(answer, question)

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """Follow-ups use the simple rule of `standalone_question`."""
        return standalone_question(question, history)

    def rank(self, question: str, documents: Sequence[Document]) -> list[Candidate]:
        """Every distinct sentence of the documents, best first."""
        query = self.embeddings.query_vector(question)
        sentences: dict[tuple[str, str], tuple[str, Document, int, int, np.ndarray | None]] = {}
        for rank, document in enumerate(documents):
            spans = document.metadata.get("sentence_spans") or ((0, len(document.page_content)),)
            vectors = document.metadata.get("sentence_vectors")
            for index, (start, end) in enumerate(spans):
                text = document.page_content[start:end]
                key = (str(document.metadata["article_id"]), text)
                if key not in sentences:  # overlapping chunks repeat sentences; keep the best-ranked copy
                    vector = vectors[index] if vectors is not None and index < len(vectors) else None
                    sentences[key] = (text, document, rank, index, vector)
        question_terms = terms(question)
        sentence_terms = {key: terms(value[0]) for key, value in sentences.items()}
        idf = _idf(question_terms, list(sentence_terms.values()))
        total = sum(idf.values()) or 1.0
        w_semantic, w_lexical, w_retrieval = self.weights
        e_semantic, e_lexical = self.evidence_weights
        best_fused = max((float(d.metadata.get("fused", 0.0)) for d in documents), default=0.0)
        coverage = min(1.0, len(question_terms) / self.full_credit_terms)
        candidates = []
        for key, (text, document, rank, index, vector) in sentences.items():
            similarity = float(document.metadata.get("score", 0.0))
            # standing in retrieval: relative fused score when the retriever fused, else similarity
            fused = float(document.metadata.get("fused", 0.0))
            retrieval = fused / best_fused if best_fused > 0 else similarity
            semantic = float(vector @ query) if vector is not None else similarity
            lexical = sum(idf[t] for t in question_terms & sentence_terms[key]) / total
            score = (
                w_semantic * semantic + w_lexical * lexical + w_retrieval * retrieval - _brevity_penalty(text)
            )
            evidence = e_semantic * semantic + e_lexical * lexical * coverage
            candidates.append(
                Candidate(text, document, rank, index, vector, semantic, lexical, score, evidence)
            )
        candidates.sort(key=lambda c: c.score, reverse=True)
        return candidates

    def select(self, candidates: list[Candidate]) -> list[Candidate]:
        """The best sentence, plus close runners-up that add something, in reading order."""
        best = candidates[0]
        chosen = [best]
        for candidate in candidates[1:]:
            if len(chosen) >= self.max_sentences or candidate.score < best.score - self.companion_margin:
                break
            if not any(_redundant(candidate, other) for other in chosen):
                chosen.append(candidate)
        return chosen


def compose(chosen: list[Candidate], *, answerer: str, as_of: date | None) -> Answer:
    """Answer text with [n] markers; sources numbered by first use, one number per article."""
    numbers: dict[str, int] = {}
    for candidate in chosen:  # best first: the best source is [1]
        numbers.setdefault(candidate.article_id, len(numbers) + 1)
    ordered = sorted(chosen, key=lambda c: (numbers[c.article_id], c.order))
    text = " ".join(f"{c.text} [{numbers[c.article_id]}]" for c in ordered)
    citations = [
        citation(
            next(c.document for c in ordered if c.article_id == article_id),
            n,
            " ".join(c.text for c in ordered if c.article_id == article_id),
        )
        for article_id, n in numbers.items()
    ]
    return Answer(text, found=True, citations=citations, answerer=answerer, as_of=as_of)


def with_source_date(answer: Answer, question: str) -> Answer:
    """Prefix "As of <date of source [1]>:" when the question is about a time or the latest news."""
    first = answer.citations[0] if answer.citations else None
    if first is None or first.published_at is None:
        return answer
    if not is_time_bound(question, answer.as_of or first.published_at):
        return answer
    return replace(answer, text=f"As of {format_day(first.published_at)}: {answer.text}")


def _idf(question_terms: set[str], pool: list[set[str]]) -> dict[str, float]:
    count = len(pool)
    return {term: math.log(1 + count / (1 + sum(term in s for s in pool))) for term in question_terms}


def _brevity_penalty(text: str) -> float:
    """Datelines, bylines and headings carry context, not answers."""
    words = len(text.split())
    return 0.0 if words >= 8 else 0.03 * (8 - words)


def _redundant(a: Candidate, b: Candidate) -> bool:
    if a.vector is not None and b.vector is not None:
        return float(a.vector @ b.vector) > 0.9
    return a.text == b.text
