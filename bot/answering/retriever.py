"""Hybrid, date-aware retrieval over the knowledge base, as a LangChain retriever.

Candidates come from two searches of the same store: dense (cosine over MiniLM vectors) and
lexical (BM25 over FTS5), both limited to articles published on or before the "as of" date.
A third ranking orders the union of both by its best single sentence (the sentence vectors
stored at ingest), which favours the chunk that states the asked fact over one that is merely
about the topic. The three are fused with reciprocal rank fusion, which needs no score
calibration between them. Then multiplicative lifts apply: a news question, unless it names
another time, is about the news around its "as of" date (a prior decaying over `prior_days`);
chunks published inside a window the question names ("this week", "in March 2024") are lifted
more; and a question asking for the latest news lifts recent chunks again. Finally at most
`per_article` chunks of one article are kept, so one long article cannot take every slot.
Defaults were chosen with benchmarks/tune.py (docs/evaluation.md).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import date
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from bot.answering.timeframe import time_window, wants_recent
from store import KnowledgeBase, ScoredChunk
from store.records import day_number


class NewsRetriever(BaseRetriever):
    """The chunks that best match a question, published on or before its "as of" date.

    Each Document carries the chunk's article fields, `score` (cosine similarity to the
    question), `fused` (the fused rank score), its `chunk_id`, its `sentence_spans` and
    `sentence_vectors` for answerers that rank sentences, its whole article's text
    (`article_text`), and `news_date`: the newest article's date as of the question, against which
    an answer's age is read.
    Call as `retriever.invoke(question, as_of=date(2025, 1, 3), k=8)`; `exclude=` names articles to
    leave out (what a counterfactual evaluation hides).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kb: KnowledgeBase
    k: int = 8
    candidates: int = 40
    rrf_k: int = 60
    lexical_weight: float = 1.0
    sentence_weight: float = 1.0
    prior_boost: float = 1.0
    prior_days: float = 30.0
    per_article: int = 2
    window_boost: float = 1.0
    soft_window_boost: float = 0.3
    recency_boost: float = 0.3
    recency_days: float = 30.0

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        as_of: date | None = None,
        k: int | None = None,
        exclude: Collection[str] = (),
        **kwargs: Any,
    ) -> list[Document]:
        as_of = as_of or date.today()
        limit = day_number(as_of)
        # Undated articles carry published_day 0, so they stay eligible under any "as of" date.
        dense, lexical = self.kb.search_hybrid(query, k=self.candidates, max_day=limit, exclude=exclude)
        fused = self.fuse(dense, lexical, query, as_of)
        return self.documents(self.cap(fused, k or self.k), as_of)

    def documents(self, ranked: list[tuple[ScoredChunk, float]], as_of: date) -> list[Document]:
        """LangChain Documents of ranked hits, with their articles' texts and the news date as of `as_of`."""
        versions = {hit.chunk.article_id: hit.chunk.content_hash for hit, _ in ranked}
        texts = self.kb.article_texts(versions, versions)
        news_date = self.kb.newest_date(as_of)
        return [
            _document(hit, score, texts.get(hit.chunk.article_id, ""), news_date) for hit, score in ranked
        ]

    def fuse(
        self, dense: list[ScoredChunk], lexical: list[ScoredChunk], question: str, as_of: date
    ) -> list[tuple[ScoredChunk, float]]:
        """Reciprocal rank fusion of both lists, with the time lifts, best first."""
        scores: dict[str, float] = {}
        hits: dict[str, ScoredChunk] = {}
        pool = {hit.chunk.id: hit for hit in [*lexical, *dense]}
        query = self.kb.embeddings.query_vector(question)
        by_sentence = sorted(pool.values(), key=lambda hit: _best_sentence(hit, query), reverse=True)
        lists = ((1.0, dense), (self.lexical_weight, lexical), (self.sentence_weight, by_sentence))
        for weight, ranked in lists:
            for rank, hit in enumerate(ranked):
                scores[hit.chunk.id] = scores.get(hit.chunk.id, 0.0) + weight / (self.rrf_k + rank + 1)
                if hit.chunk.id not in hits or ranked is dense:
                    hits[hit.chunk.id] = hit
        window = time_window(question, as_of)
        recent = wants_recent(question)
        for chunk_id, hit in hits.items():
            published = hit.chunk.published_at
            lift = 1.0
            if self.prior_boost and published is not None and window is None:  # a named time wins
                lift += self.prior_boost * math.exp(-(as_of - published).days / self.prior_days)
            if window is not None and published in window:
                lift += self.window_boost if window.strong else self.soft_window_boost
            if recent and published is not None:
                lift += self.recency_boost * math.exp(-(as_of - published).days / self.recency_days)
            scores[chunk_id] *= lift
        return sorted(((hits[c], s) for c, s in scores.items()), key=lambda pair: pair[1], reverse=True)

    def cap(self, ranked: list[tuple[ScoredChunk, float]], k: int) -> list[tuple[ScoredChunk, float]]:
        """The first k chunks, at most `per_article` from any one article."""
        taken: dict[str, int] = {}
        kept = []
        for hit, score in ranked:
            article = hit.chunk.article_id
            if taken.get(article, 0) < self.per_article:
                taken[article] = taken.get(article, 0) + 1
                kept.append((hit, score))
                if len(kept) == k:
                    break
        return kept


def _best_sentence(hit: ScoredChunk, query: np.ndarray) -> float:
    """The similarity of the chunk's sentence closest to the question (its own, without vectors)."""
    if hit.sentence_vectors is None or not len(hit.sentence_vectors):
        return hit.score
    return float(np.max(hit.sentence_vectors @ query))


def _document(hit: ScoredChunk, fused: float, article_text: str, news_date: date | None) -> Document:
    chunk = hit.chunk
    return Document(
        page_content=chunk.text,
        id=chunk.id,
        metadata={
            "chunk_id": chunk.id,
            "article_id": chunk.article_id,
            "title": chunk.title,
            "source": chunk.source,
            "url": chunk.url,
            "published_at": chunk.published_at,
            "position": chunk.position,
            "score": hit.score,
            "fused": fused,
            "sentence_spans": chunk.sentence_spans,
            "sentence_vectors": hit.sentence_vectors,
            "article_text": article_text,
            "news_date": news_date,
        },
    )
