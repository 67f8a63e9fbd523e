"""Retrieval over the knowledge base as a LangChain retriever, so other chains can reuse it."""

from __future__ import annotations

from datetime import date
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from store import KnowledgeBase
from store.records import day_number


class NewsRetriever(BaseRetriever):
    """The chunks closest to a question, published on or before its "as of" date.

    Each Document carries the chunk's article fields, its similarity `score`, its `chunk_id`,
    and its `sentence_spans` and `sentence_vectors` for answerers that rank sentences.
    Call as `retriever.invoke(question, as_of=date(2025, 1, 3), k=8)`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kb: KnowledgeBase
    k: int = 8

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        as_of: date | None = None,
        k: int | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        # Undated articles carry published_day 0, so they stay eligible under any "as of" date.
        where: Any = {"published_day": {"$lte": day_number(as_of)}} if as_of else None
        hits = self.kb.search(query, k=k or self.k, where=where)
        return [
            Document(
                page_content=hit.chunk.text,
                id=hit.chunk.id,
                metadata={
                    "chunk_id": hit.chunk.id,
                    "article_id": hit.chunk.article_id,
                    "title": hit.chunk.title,
                    "source": hit.chunk.source,
                    "url": hit.chunk.url,
                    "published_at": hit.chunk.published_at,
                    "position": hit.chunk.position,
                    "score": hit.score,
                    "sentence_spans": hit.chunk.sentence_spans,
                    "sentence_vectors": hit.sentence_vectors,
                },
            )
            for hit in hits
        ]
