"""The knowledge base: Chroma collections of articles and their embedded chunks."""

from store.config import StoreSettings
from store.embeddings import SentenceTransformerEmbeddings
from store.errors import EmptyStoreError, StoreError, StoreUnavailableError
from store.knowledge_base import (
    EmbeddedArticle,
    KnowledgeBase,
    ScoredChunk,
    StoredDuplicate,
    StoreStats,
    open_knowledge_base,
)
from store.records import Article, ArticleRecord, Chunk

__all__ = [
    "Article",
    "ArticleRecord",
    "Chunk",
    "EmbeddedArticle",
    "EmptyStoreError",
    "KnowledgeBase",
    "ScoredChunk",
    "SentenceTransformerEmbeddings",
    "StoreError",
    "StoreSettings",
    "StoreStats",
    "StoreUnavailableError",
    "StoredDuplicate",
    "open_knowledge_base",
]
