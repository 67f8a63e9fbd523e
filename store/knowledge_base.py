"""The knowledge base: two Chroma collections, written in an order that survives a crash.

`<name>-chunks` holds the embedded passages; `<name>-articles` holds one record per article
(body, fields, content hash, chunk count) whose vector is the mean of its chunks' vectors, so
it costs no extra embedding and can serve article-level similarity.

Chroma has no transactions across calls, so consistency comes from the order of writes and
from versioned chunk ids (`article#hash#position`):

1. the new version's chunks are upserted (their ids differ from the old version's);
2. the article record is upserted: this is the commit point that makes the new version current;
3. the chunks of every other version of that article are deleted.

A crash before 2 leaves orphan chunks of a version no record names; a crash before 3 leaves
chunks of the superseded version. Readers never see either, because `search` keeps only chunks
whose content hash is their article's current one, and `repair` (run at the start of every
ingest) deletes them. So an article never has zero chunks or two versions visible.

The lexical index (`store.lexical`) follows the same steps: its rows for the new version are
written with the chunks (1), its old rows dropped with theirs (3), and the same version check
applies to lexical hits; `sync_lexical` (on open, and after `repair`) re-indexes any article
whose indexed version differs from its record.

An embedded store keeps its chunks' sentence vectors (`store.sentences`) and its texts, chunk texts
and article bodies (`store.texts`), in side tables rather than in Chroma's metadata and documents:
written before step 1 (an article body keyed by its version, like the chunks), deleted with their
version in 3 (and by `forget`), and rows of versions no record names are deleted by `repair`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar, cast
from urllib.parse import urlparse

import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.collection_configuration import CreateCollectionConfiguration
from chromadb.api.models.Collection import Collection
from chromadb.api.types import GetResult, Where
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError, InternalError

from store.config import StoreSettings
from store.embeddings import SentenceTransformerEmbeddings
from store.errors import EmptyStoreError, StoreUnavailableError
from store.lexical import OVERFETCH, LexicalIndex
from store.records import (
    Article,
    ArticleRecord,
    Chunk,
    article_metadata,
    day_from_number,
    day_number,
    pack_vectors,
    parse_chunk_id,
    unpack_vectors,
)
from store.sentences import SentenceVectors
from store.texts import ARTICLE_KEYS, CHROMA_KEYS, Texts, body_key, version_of

logger = logging.getLogger(__name__)

T = TypeVar("T")

_COLLECTION_CONFIG: CreateCollectionConfiguration = {"hnsw": {"space": "cosine"}}
WIDEN = 8
"""How much wider the second unfiltered page of a date-limited search is, before the filtered query."""


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk returned by a search, with its cosine similarity to the query (higher is closer)."""

    chunk: Chunk
    score: float
    sentence_vectors: np.ndarray | None = None
    """One unit vector per sentence of the chunk (see `SentenceTransformerEmbeddings.encode_passages`)."""
    vector: np.ndarray | None = None
    """The chunk's own unit vector, when it was read."""


@dataclass(frozen=True)
class EmbeddedArticle:
    """An article version ready to store: its chunks, their vectors and their sentences' vectors."""

    article: Article
    chunks: Sequence[Chunk]
    vectors: np.ndarray
    sentence_vectors: Sequence[np.ndarray]


@dataclass(frozen=True)
class StoredDuplicate:
    """An article left out as a near-duplicate of a stored one, as the store remembers it."""

    id: str
    content_hash: str
    duplicate_of: str
    origin: str = ""
    vector: np.ndarray | None = None
    """Its mean chunk vector; None (a restore without vectors): the original's is used."""


@dataclass(frozen=True)
class StoreStats:
    """Counts of what the store holds."""

    articles: int
    chunks: int
    sources: int
    oldest: date | None
    newest: date | None
    location: str
    lexical_chunks: int = 0


def make_chroma_client(settings: StoreSettings) -> ClientAPI:
    """An HttpClient when a server URL is configured, else an embedded PersistentClient."""
    import chromadb

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        if settings.chroma_ca_bundle is not None:
            if not settings.chroma_ca_bundle.is_file():
                raise StoreUnavailableError(
                    f"NEWSDESK_CHROMA_CA_BUNDLE {settings.chroma_ca_bundle} is not a file"
                )
            chroma_settings.chroma_server_ssl_verify = str(settings.chroma_ca_bundle)
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StoreUnavailableError(
                f"NEWSDESK_CHROMA_URL must look like http://host:port, not {settings.chroma_url!r}"
            )
        token = settings.chroma_token.get_secret_value() if settings.chroma_token else None
        try:
            client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",  # certificates checked against the system's CAs or the bundle
                headers={"Authorization": f"Bearer {token}"} if token else None,
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as error:  # chromadb raises plain ValueError/httpx errors when unreachable
            raise _server_error(settings, error, token) from error
        return client
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def _server_error(settings: StoreSettings, error: BaseException, token: str | None) -> StoreUnavailableError:
    """What went wrong talking to the server, in words an operator can act on.

    chromadb wraps the cause ("Could not connect to a Chroma server"), so the chain is searched for a
    refusal (401/403 from the server or its proxy) or an untrusted certificate.
    """
    chain = [error]
    while (cause := chain[-1].__cause__ or chain[-1].__context__) is not None and len(chain) < 10:
        chain.append(cause)
    where = f"the Chroma server at {settings.chroma_url}"
    for link in chain:
        status = getattr(getattr(link, "response", None), "status_code", None)
        text = str(link).lower()
        if status in (401, 403) or any(word in text for word in ("unauthorized", "forbidden", "401", "403")):
            hint = "check NEWSDESK_CHROMA_TOKEN" if token else "set NEWSDESK_CHROMA_TOKEN"
            return StoreUnavailableError(f"{where} refused newsdesk's credentials: {hint}")
        if isinstance(link, ssl.SSLCertVerificationError):
            hint = "check" if settings.chroma_ca_bundle else "set"
            return StoreUnavailableError(
                f"{where} has a certificate newsdesk does not trust ({link.verify_message}): "
                f"{hint} NEWSDESK_CHROMA_CA_BUNDLE to the PEM file of its certificate authority"
            )
    return StoreUnavailableError(f"cannot reach {where}: {chain[-1]}")


def open_knowledge_base(
    settings: StoreSettings, embeddings: SentenceTransformerEmbeddings | None = None
) -> KnowledgeBase:
    """The knowledge base the settings describe, with the bundled model unless one is given."""
    if embeddings is None:
        embeddings = SentenceTransformerEmbeddings(
            settings.embedding_model,
            batch_size=settings.embedding_batch_size,
            precision=settings.embedding_precision,
        )
    location = settings.chroma_url or str(settings.chroma_path)
    # Embedded, the index sits beside the Chroma folder it mirrors; for a server, one index per
    # server and collection, so pointing the same data dir at another server starts a fresh one.
    name = settings.collection
    if settings.chroma_url:
        name += "-" + hashlib.sha1(f"{settings.chroma_url.rstrip('/')}|{name}".encode()).hexdigest()[:12]
    client = make_chroma_client(settings)
    lexical = LexicalIndex(settings.data_dir / "lexical" / f"{name}.sqlite3")
    # embedded, sentence vectors and texts live beside Chroma; a server keeps them where every
    # client sees them
    side = None if settings.chroma_url else settings.data_dir
    sentences = SentenceVectors(side / "sentences" / f"{name}.sqlite3") if side else None
    texts = Texts(side / "texts" / f"{name}.sqlite3") if side else None
    kb = KnowledgeBase(
        client,
        embeddings,
        name=settings.collection,
        location=location,
        lexical=lexical,
        lexical_sync_seconds=settings.lexical_sync_seconds if settings.chroma_url else 0.0,
        owns_client=True,
        sentences=sentences,
        texts=texts,
    )
    try:
        kb.sync_lexical()  # a lost, copied or outdated keyword index catches up before the first search
    except BaseException:
        kb.close()
        raise
    return kb


P = ParamSpec("P")
R = TypeVar("R")


def _one_writer(
    method: Callable[Concatenate[KnowledgeBase, P], R],
) -> Callable[Concatenate[KnowledgeBase, P], R]:
    """Run a method that changes the store while holding the store's write lock.

    Writes, repairs and lexical syncs of one process take turns: a background sync that ran
    between an ingest's lexical rows and its article record would index the old version.
    """

    @functools.wraps(method)
    def locked(self: KnowledgeBase, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._writing:
            return method(self, *args, **kwargs)

    return locked


_OPTIMIZE_AFTER = 100
"""Articles re-indexed at once after which the keyword index is optimized (its segments merged)."""


def _batched(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class KnowledgeBase:
    """Articles and their embedded chunks in Chroma, embedded or served, behind one interface.

    Open one with `open_knowledge_base`, and close it when done (`close()`, or use it as a context
    manager): that stops its worker threads and closes the keyword index and the Chroma client.
    """

    def __init__(
        self,
        client: ClientAPI,
        embeddings: SentenceTransformerEmbeddings,
        *,
        name: str = "newsdesk",
        location: str = "",
        lexical: LexicalIndex | None = None,
        lexical_sync_seconds: float = 0.0,
        owns_client: bool = False,
        sentences: SentenceVectors | None = None,
        texts: Texts | None = None,
    ) -> None:
        """`lexical_sync_seconds` > 0: searches start a background `sync_lexical` when the last one
        is older than that, so a client of a Chroma server picks up other writers' articles in its
        keyword index without a restart (0: only on open, enough when this process is the only writer).
        With `owns_client`, `close()` closes the Chroma client too. With `sentences`, chunks' sentence
        vectors are kept there (see `store.sentences`) instead of in Chroma metadata; with `texts`,
        chunk texts and article bodies (see `store.texts`) instead of Chroma documents.
        """
        self.client = client
        self._owns_client = owns_client
        self.embeddings = embeddings
        self.location = location
        self.lexical = lexical if lexical is not None else LexicalIndex()
        self.sentences = sentences
        self.texts = texts
        # No Chroma embedding function: every vector comes from `embeddings`, never from Chroma's
        # default model, which would try to download weights at run time.
        try:
            self.chunks: Collection = client.get_or_create_collection(
                f"{name}-chunks", embedding_function=None, configuration=_COLLECTION_CONFIG
            )
            self.articles: Collection = client.get_or_create_collection(
                f"{name}-articles", embedding_function=None, configuration=_COLLECTION_CONFIG
            )
            # Articles left out as near-duplicates of a stored one: remembered (id, content hash,
            # which article they repeat), so that ingesting them again embeds nothing.
            self.duplicates: Collection = client.get_or_create_collection(
                f"{name}-duplicates", embedding_function=None, configuration=_COLLECTION_CONFIG
            )
        except ChromaError as error:
            raise StoreUnavailableError(f"cannot open the Chroma collections: {error}") from error
        self._max_batch = client.get_max_batch_size()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._sync_every = lexical_sync_seconds
        self._sync_lock = threading.Lock()
        self._writing = threading.RLock()
        self._sync_job: Future[None] | None = None
        self._synced_at = time.monotonic()

    def close(self) -> None:
        """Stop the worker threads and close the keyword index (and the Chroma client, if owned)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        with self._writing:
            self.lexical.close()
            for side in self._side_tables:
                side.close()
        if self._owns_client:
            # chromadb's clients have close() (reference-counted per path); its ClientAPI type omits it
            getattr(self.client, "close", lambda: None)()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def _worker(self) -> ThreadPoolExecutor:
        """Threads for keyword ranking and background syncs, started on first use."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="newsdesk-store")
            return self._pool

    # ----------------------------------------------------------------------------- reading

    def is_empty(self) -> bool:
        """Whether no article is stored."""
        return self.articles.count() == 0

    def stored_hashes(self, article_ids: Iterable[str]) -> dict[str, str]:
        """Current content hash of each of these articles that is stored."""
        found = self._metadatas(self.articles, article_ids)
        return {article_id: str(meta["content_hash"]) for article_id, meta in found.items()}

    def known_duplicates(self, article_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """(content hash, id of the article it repeats) of each of these that was left out as a duplicate."""
        found = self._metadatas(self.duplicates, article_ids)
        return {
            article_id: (str(meta["content_hash"]), str(meta["duplicate_of"]))
            for article_id, meta in found.items()
        }

    def _metadatas(self, collection: Collection, ids: Iterable[str]) -> dict[str, Mapping[str, Any]]:
        """The metadata of each of these ids that the collection holds, in batches Chroma accepts."""
        found: dict[str, Mapping[str, Any]] = {}
        for batch in _batched(list(dict.fromkeys(ids)), self._max_batch):
            result = collection.get(ids=list(batch), include=["metadatas"])
            found.update(zip(result["ids"], result["metadatas"] or [], strict=True))
        return found

    def newest_date(self, on_or_before: date | None = None) -> date | None:
        """The publication date of the newest dated article published on or before a date: how far the
        news reaches as of then."""
        day = self.lexical.newest_day(day_number(on_or_before) if on_or_before else None)
        return day_from_number(day) if day else None

    def article_versions(self) -> dict[str, str]:
        """Every stored article's id and content hash: metadata only, cheap enough to poll for changes."""
        ids, metas = self._get_all(self.articles, include=["metadatas"])
        return {article_id: str(meta["content_hash"]) for article_id, meta in zip(ids, metas, strict=True)}

    def article_chunks(self, article_id: str, vector: np.ndarray) -> list[ScoredChunk]:
        """The current chunks of one article, in reading order, scored against a query vector."""
        found = self.chunks.get(where=cast(Where, {"article_id": article_id}), include=[])
        hits = self._read(found["ids"], np.asarray(vector, dtype=np.float32), None)
        return sorted(hits.values(), key=lambda hit: hit.chunk.position)

    def article_texts(
        self, article_ids: Iterable[str], versions: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The full text of each of these stored articles.

        `versions` (article id -> content hash, as search hits' chunks carry it) lets an embedded
        store read those versions' bodies straight from its side table, without asking Chroma for
        the current version first; the articles it does not find there are read as without.
        """
        ids = list(dict.fromkeys(article_ids))
        found: dict[str, str] = {}
        if versions and self.texts is not None:
            keys = {
                body_key(article_id, versions[article_id]): article_id
                for article_id in ids
                if article_id in versions
            }
            found = {keys[key]: text for key, (text, _) in self.texts.get(list(keys)).items()}
        ids = [article_id for article_id in ids if article_id not in found]
        if not ids:
            return found
        result = self.articles.get(ids=ids, include=["documents", "metadatas"])
        return found | dict(
            zip(
                result["ids"],
                self._bodies(result["ids"], result["documents"], result["metadatas"]),
                strict=True,
            )
        )

    def get_article(self, article_id: str) -> ArticleRecord | None:
        """The stored record of one article, if any."""
        result = self.articles.get(ids=[article_id], include=["metadatas", "documents"])
        if not result["ids"]:
            return None
        return self._records(result["ids"], result["documents"], result["metadatas"])[0]

    def similar_articles(self, vector: np.ndarray, k: int = 3) -> list[tuple[ArticleRecord, float]]:
        """Stored articles whose mean chunk vector is closest to `vector`, with cosine similarity."""
        if self.is_empty():
            return []
        result = self.articles.query(
            query_embeddings=np.asarray(vector, dtype=np.float32),
            n_results=k,
            include=["documents", "metadatas", "distances"],
        )
        records = self._records(
            result["ids"][0], (result["documents"] or [[]])[0], (result["metadatas"] or [[]])[0]
        )
        distances = (result["distances"] or [[]])[0]
        return [(record, 1.0 - float(distance)) for record, distance in zip(records, distances, strict=True)]

    def all_articles(self) -> list[ArticleRecord]:
        """Every stored article record, newest first (undated last)."""
        result = self.articles.get(include=["metadatas", "documents"])
        records = self._records(result["ids"], result["documents"], result["metadatas"])
        records.sort(key=lambda r: (r.published_at or date.min, r.title), reverse=True)
        return records

    def recent_articles(self, limit: int = 10) -> list[ArticleRecord]:
        """The most recently published articles."""
        return self.all_articles()[:limit]

    def iter_articles(
        self, *, with_chunks: bool = False, page: int = 100
    ) -> Iterator[tuple[ArticleRecord, EmbeddedArticle | None]]:
        """Every stored article, `page` at a time (memory stays flat whatever the store's size), with
        its current chunks, their vectors and their sentences' vectors when `with_chunks`."""
        for result in self._pages(self.articles, ["metadatas", "documents"], page):
            records = self._records(result["ids"], result["documents"], result["metadatas"])
            embedded = self._embedded(records) if with_chunks else {}
            for record in records:
                yield record, embedded.get(record.id)

    def _embedded(self, records: Sequence[ArticleRecord]) -> dict[str, EmbeddedArticle]:
        """The current version of these articles as `write_many` takes it, read back from Chroma."""
        current = {record.id: record.content_hash for record in records}
        where = cast(Where, {"article_id": {"$in": list(current)}})
        result = self.chunks.get(where=where, include=["documents", "metadatas", "embeddings"])
        rows: dict[str, list[tuple[Chunk, np.ndarray, np.ndarray]]] = {}
        texts, metas, _ = self._chunk_texts(result)
        side = self._sentence_vectors(result["ids"], metas)
        for chunk_id, text, meta, vector in zip(result["ids"], texts, metas, _vectors(result), strict=True):
            if text is None:
                continue  # deleted while this was read
            chunk = Chunk.from_metadata(text, meta)
            if current[chunk.article_id] != chunk.content_hash:
                continue  # a version a crash left behind
            sentences = side.get(chunk_id)
            if sentences is None:
                sentences = np.zeros((0, self.embeddings.dimension), dtype=np.float32)
            rows.setdefault(chunk.article_id, []).append((chunk, np.asarray(vector, np.float32), sentences))
        embedded = {}
        for record in records:
            if not (parts := sorted(rows.get(record.id, []), key=lambda row: row[0].position)):
                continue
            embedded[record.id] = EmbeddedArticle(
                record.article(),
                [chunk for chunk, _, _ in parts],
                np.stack([vector for _, vector, _ in parts]),
                [sentences for _, _, sentences in parts],
            )
        return embedded

    def iter_duplicates(self, *, page: int = 1000) -> Iterator[StoredDuplicate]:
        """Every article remembered as a near-duplicate, with its vector."""
        for result in self._pages(self.duplicates, ["metadatas", "embeddings"], page):
            for duplicate_id, meta, vector in zip(
                result["ids"], result["metadatas"] or [], _vectors(result), strict=True
            ):
                yield StoredDuplicate(
                    id=duplicate_id,
                    content_hash=str(meta["content_hash"]),
                    duplicate_of=str(meta["duplicate_of"]),
                    origin=str(meta.get("origin") or ""),
                    vector=np.asarray(vector, dtype=np.float32),
                )

    def stats(self) -> StoreStats:
        """Counts of articles, chunks and outlets, and the span of publication dates."""
        result = self.articles.get(include=["metadatas"])
        metas = result["metadatas"] or []
        days = sorted(day for m in metas if (day := int(str(m.get("published_day") or 0))))
        return StoreStats(
            articles=len(metas),
            chunks=self.chunks.count(),
            sources=len({m["source"] for m in metas if m.get("source")}),
            oldest=day_from_number(days[0]) if days else None,
            newest=day_from_number(days[-1]) if days else None,
            location=self.location,
            lexical_chunks=self.lexical.count(),
        )

    def search(
        self, query: str | Sequence[float], k: int = 8, max_day: int | None = None
    ) -> list[ScoredChunk]:
        """The k chunks closest to a question (text or vector), current versions only.

        With `max_day` (a YYYYMMDD day number), only chunks published on or before that day count;
        undated chunks (day 0) always do.
        """
        vector = self.embeddings.query_vector(query) if isinstance(query, str) else np.asarray(query)
        dense, _ = self._gather(vector, k, max_day)
        if not dense and self.is_empty():
            raise EmptyStoreError()
        return dense

    def search_lexical(self, question: str, k: int = 20, max_day: int | None = None) -> list[ScoredChunk]:
        """The k chunks that best match a question's words (BM25 order), current versions only.

        Their `score` is still the cosine similarity to the question, as for `search`, so that
        answerers can compare hits whichever search found them.
        """
        self._sync_lexical_if_due()
        ranked = [chunk_id for chunk_id, _ in self.lexical.search(question, k=k, max_day=max_day)]
        read = self._read(ranked, self.embeddings.query_vector(question), max_day)
        if not read and self.is_empty():
            raise EmptyStoreError()
        return [read[chunk_id] for chunk_id in ranked if chunk_id in read]

    def search_hybrid(
        self, question: str, k: int = 20, max_day: int | None = None, exclude: Iterable[str] = ()
    ) -> tuple[list[ScoredChunk], list[ScoredChunk]]:
        """`search` and `search_lexical` of one question at once: (dense hits, lexical hits).

        The question is embedded first, with both cores to the model (the BM25 ranking beside it
        slowed it from 4 to 9-14 ms on two cores); the BM25 ranking then runs in SQLite on a worker
        thread while Chroma finds the nearest chunks (both release the GIL), and the chunks of both
        lists are read in one call.
        Chunks of the articles in `exclude` are left out of both (a counterfactual evaluation hides
        the articles that hold an answer this way, without touching the store).
        """
        self._sync_lexical_if_due()
        exclude = frozenset(exclude)
        vector = self.embeddings.query_vector(question)
        bm25 = self._worker.submit(self.lexical.search, question, k, max_day, exclude)
        dense, lexical = self._gather(vector, k, max_day, bm25, exclude)
        if not dense and not lexical and self.is_empty():
            raise EmptyStoreError()
        return dense, lexical

    def _gather(
        self,
        vector: np.ndarray,
        k: int,
        max_day: int | None,
        bm25: Future[list[tuple[str, float]]] | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> tuple[list[ScoredChunk], list[ScoredChunk]]:
        """The k nearest chunks published by `max_day` and not of an `exclude`d article, and the chunks
        `bm25` ranks, read in one call.

        Chroma applies a metadata filter by first collecting every chunk that passes it: on the
        16,652-chunk dev store a filtered query took 65 ms against 3 ms for the nearest 400 ids
        unfiltered. So the nearest `k * OVERFETCH` ids come unfiltered, their days from the
        lexical index's row table, and the first k old enough ones are read. Every read chunk's
        day is checked again on its own metadata, because the lexical index can lag behind
        another writer of a Chroma server. Only when fewer than k pass out of a full page (more
        chunks lie beyond it) is a page `WIDEN` times wider tried, and only when that too falls
        short does the filtered query run.
        """
        vector = vector.astype(np.float32)
        filtered = max_day is not None or bool(exclude)
        page = k * OVERFETCH if filtered else k

        def passing(ids: list[str]) -> list[str]:
            chosen = [chunk_id for chunk_id in ids if parse_chunk_id(chunk_id)[0] not in exclude]
            if max_day is not None:
                days = self.lexical.days(chosen)
                chosen = [chunk_id for chunk_id in chosen if days.get(chunk_id, 0) <= max_day]
            return chosen[:k]

        nearest = self._nearest(vector, page)
        chosen = passing(nearest)
        ranked = [chunk_id for chunk_id, _ in bm25.result()] if bm25 is not None else []
        read = self._read([*chosen, *ranked], vector, max_day)
        dense = [read[chunk_id] for chunk_id in chosen if chunk_id in read]
        if filtered and len(dense) < k and len(nearest) == page:
            # a wider unfiltered page first: on a large store it costs tens of milliseconds where
            # the filtered query costs seconds (391k chunks: up to 2.2 s, benchmarks/README.md)
            nearest = self._nearest(vector, page * WIDEN)
            chosen = passing(nearest)
            read |= self._read([chunk_id for chunk_id in chosen if chunk_id not in read], vector, max_day)
            dense = [read[chunk_id] for chunk_id in chosen if chunk_id in read]
        if filtered and len(dense) < k and len(nearest) == page * WIDEN:
            conditions: list[dict[str, Any]] = []
            if max_day is not None:
                conditions.append({"published_day": {"$lte": max_day}})
            if exclude:
                conditions.append({"article_id": {"$nin": sorted(exclude)}})
            where = conditions[0] if len(conditions) == 1 else {"$and": conditions}
            chosen = self._nearest(vector, k, cast(Where, where))
            read |= self._read([chunk_id for chunk_id in chosen if chunk_id not in read], vector, max_day)
            dense = [read[chunk_id] for chunk_id in chosen if chunk_id in read]
        return dense, [read[chunk_id] for chunk_id in ranked if chunk_id in read]

    def _nearest(self, vector: np.ndarray, n: int, where: Where | None = None) -> list[str]:
        """Ids of the n chunks nearest a vector (among those passing `where`), nearest first."""
        result = self.chunks.query(query_embeddings=vector, n_results=n, where=where, include=[])
        return result["ids"][0]

    def _read(self, ids: Sequence[str], vector: np.ndarray, max_day: int | None) -> dict[str, ScoredChunk]:
        """These chunks by id, scored against a query vector: current versions, by `max_day`, only."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        try:
            result = self.chunks.get(ids=ids, include=["documents", "metadatas", "embeddings"])
        except InternalError:
            # Another process (`newsdesk ingest` beside the bot) stored chunks after this one loaded
            # Chroma's vector index, which an embedded client does not reload: their ids are known,
            # their vectors not. Read them without, scored by their stored sentence vectors.
            logger.warning("the vector index is older than the store (written by another process)")
            result = self.chunks.get(ids=ids, include=["documents", "metadatas"])
        texts, metas, articles = self._chunk_texts(result)
        sentences = self._sentence_vectors(result["ids"], metas)
        if result["embeddings"] is None:
            # the unit mean of a chunk's sentence vectors is close to its own (both pool its pieces)
            result["embeddings"] = [
                centroid(found)
                if (found := sentences.get(chunk_id)) is not None and len(found)
                else np.zeros(len(vector), dtype=np.float32)
                for chunk_id in result["ids"]
            ]
        hits = {
            chunk_id: ScoredChunk(
                Chunk.from_metadata(text, meta),
                float(np.asarray(embedding) @ vector),
                sentences.get(chunk_id),
                np.asarray(embedding, dtype=np.float32),
            )
            for chunk_id, text, meta, embedding in zip(
                result["ids"],
                texts,
                metas,
                result["embeddings"] if result["embeddings"] is not None else [],
                strict=True,
            )
            if text is not None
            and (max_day is None or int(cast(int, meta.get("published_day", 0))) <= max_day)
        }
        return {
            chunk_id: hit
            for chunk_id, hit in hits.items()
            if (article := articles.get(hit.chunk.article_id)) is not None
            and article["content_hash"] == hit.chunk.content_hash
        }

    def _sentence_vectors(
        self, ids: Sequence[str], metas: Sequence[Mapping[str, Any]]
    ) -> dict[str, np.ndarray]:
        """The sentence vectors of these chunks: from their metadata (a Chroma server, or a store
        written before `store.sentences`), else from the side table."""
        dimension = self.embeddings.dimension
        found = {
            chunk_id: unpack_vectors(str(meta["sentence_vectors"]), dimension)
            for chunk_id, meta in zip(ids, metas, strict=True)
            if meta.get("sentence_vectors")
        }
        missing = [chunk_id for chunk_id in ids if chunk_id not in found]
        if missing and self.sentences is not None:
            found |= self.sentences.get(missing, dimension)
        return found

    def _texts(
        self,
        keys: Sequence[str],
        documents: Sequence[str | None] | None,
        metas: Sequence[Mapping[str, Any]] | None,
        articles: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> tuple[list[str | None], list[Mapping[str, Any]]]:
        """Texts and whole metadata of records: their Chroma documents and metadata (a Chroma server,
        or a store written before `store.texts`), else the side table's rows under these keys, their
        metadata joined to what Chroma keeps of it and, for chunks, to the citation in their
        article's record metadata (`articles`, by article id). None for a text neither has: a record
        another process deleted between the two reads (readers skip it)."""
        documents = list(documents) if documents is not None else [None] * len(keys)
        metas = list(metas) if metas is not None else [{}] * len(keys)
        missing = [key for key, document in zip(keys, documents, strict=True) if document is None]
        found = self.texts.get(missing) if missing and self.texts is not None else {}
        texts: list[str | None] = []
        whole: list[Mapping[str, Any]] = []
        for key, document, meta in zip(keys, documents, metas, strict=True):
            text, kept = (document, {}) if document is not None else found.get(key, (None, {}))
            if kept and articles is not None:
                article = articles.get(str(meta.get("article_id")), {})
                kept |= {name: value for name, value in article.items() if name in ARTICLE_KEYS}
            texts.append(text)
            whole.append({**kept, **meta} if kept else meta)
        return texts, whole

    def _chunk_texts(
        self, result: GetResult
    ) -> tuple[list[str | None], list[Mapping[str, Any]], dict[str, Mapping[str, Any]]]:
        """`_texts` of the chunks of a Chroma `get`, with the record metadata of their articles (the
        citation, and the current version)."""
        articles = self._metadatas(
            self.articles, (str(meta["article_id"]) for meta in result["metadatas"] or [])
        )
        texts, metas = self._texts(result["ids"], result["documents"], result["metadatas"], articles)
        return texts, metas, articles

    def _bodies(
        self,
        ids: Sequence[str],
        documents: Sequence[str | None] | None,
        metas: Sequence[Mapping[str, Any]] | None,
    ) -> list[str]:
        keys = [
            body_key(article_id, str(meta["content_hash"]))
            for article_id, meta in zip(ids, metas or [], strict=True)
        ]
        return [text or "" for text in self._texts(keys, documents, metas)[0]]

    def _records(
        self,
        ids: Sequence[str],
        documents: Sequence[str | None] | None,
        metas: Sequence[Mapping[str, Any]] | None,
    ) -> list[ArticleRecord]:
        """Article records from what Chroma returns (bodies from the side table when it has them)."""
        bodies = self._bodies(ids, documents, metas)
        return [
            ArticleRecord.from_metadata(article_id, body, meta)
            for article_id, body, meta in zip(ids, bodies, metas or [], strict=True)
        ]

    def stored_chunks(self, where: Where | None = None) -> list[Chunk]:
        """The stored chunks (of every version: crash leftovers too) passing `where`, with their texts."""
        result = self.chunks.get(where=where, include=["documents", "metadatas"])
        texts, metas, _ = self._chunk_texts(result)
        return [
            Chunk.from_metadata(text, meta)
            for text, meta in zip(texts, metas, strict=True)
            if text is not None
        ]

    def _chunk_metadata(self, chunk: Chunk, sentences: np.ndarray) -> dict[str, Any]:
        """What Chroma keeps of a chunk's metadata: what filters use when the side tables keep the
        rest, else all of it, with its sentence vectors unless they have their own side table."""
        meta = chunk.metadata()
        if self.texts is not None:
            return {key: value for key, value in meta.items() if key in CHROMA_KEYS}
        return meta if self.sentences is not None else meta | {"sentence_vectors": pack_vectors(sentences)}

    @property
    def _side_tables(self) -> list[SentenceVectors | Texts]:
        return [side for side in (self.sentences, self.texts) if side is not None]

    def _forget_versions(self, keys: Iterable[str]) -> None:
        """Delete the side rows of these chunks and the bodies of their article versions."""
        chunk_ids = list(keys)
        if self.sentences is not None:
            self.sentences.delete(chunk_ids)
        if self.texts is not None:
            bodies = {body_key(*version_of(chunk_id)) for chunk_id in chunk_ids}
            self.texts.delete([*chunk_ids, *bodies])

    # ----------------------------------------------------------------------------- writing

    @_one_writer
    def write_many(self, items: Sequence[EmbeddedArticle]) -> None:
        """Store article versions: new chunks, then the records (the commit), then drop old chunks.

        As few Chroma calls as that order allows.
        """
        if not items:
            return
        rows = [
            (chunk, vector, sentences)
            for item in items
            for chunk, vector, sentences in zip(item.chunks, item.vectors, item.sentence_vectors, strict=True)
        ]
        self.lexical.add([chunk for chunk, _, _ in rows])
        # side rows before the chunks: a crash leaves only rows of versions no record names
        if self.sentences is not None:
            self.sentences.put((chunk.id, sentences) for chunk, _, sentences in rows)
        if self.texts is not None:
            self.texts.put(
                [
                    (
                        chunk.id,
                        chunk.text,
                        {k: v for k, v in chunk.metadata().items() if k not in CHROMA_KEYS | ARTICLE_KEYS},
                    )
                    for chunk, _, _ in rows
                ]
                + [
                    (body_key(item.article.id, item.article.content_hash), item.article.body, {})
                    for item in items
                ]
            )
        for batch in _batched(rows, self._max_batch):
            self.chunks.upsert(
                ids=[chunk.id for chunk, _, _ in batch],
                documents=None if self.texts is not None else [chunk.text for chunk, _, _ in batch],
                metadatas=[self._chunk_metadata(chunk, sentences) for chunk, _, sentences in batch],
                embeddings=np.stack([vector for _, vector, _ in batch]),
            )
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for batch_items in _batched(items, self._max_batch):
            self.articles.upsert(
                ids=[item.article.id for item in batch_items],
                documents=None if self.texts is not None else [item.article.body for item in batch_items],
                metadatas=[article_metadata(item.article, len(item.chunks), now) for item in batch_items],
                embeddings=np.stack([centroid(item.vectors) for item in batch_items]),
            )
        current = {item.article.id: item.article.content_hash for item in items}
        self._delete_other_versions(current)
        self.lexical.keep_versions(current)
        self._rebuild_lexical_if_due()

    def remember_duplicates(self, items: Sequence[tuple[Article, np.ndarray, str]]) -> None:
        """Record articles left out as near-duplicates: (article, mean chunk vector, id it repeats)."""
        self.restore_duplicates(
            [
                StoredDuplicate(article.id, article.content_hash, original, article.origin, vector)
                for article, vector, original in items
            ]
        )

    @_one_writer
    def restore_duplicates(self, items: Sequence[StoredDuplicate]) -> int:
        """Remember these near-duplicates (see `iter_duplicates`); return how many were kept.

        One without a vector takes its original's; one whose original is not stored is dropped (the
        next ingest of it stores it instead).
        """
        originals = list({item.duplicate_of for item in items if item.vector is None})
        centroids: dict[str, np.ndarray] = {}
        for names in _batched(originals, self._max_batch):
            found = self.articles.get(ids=list(names), include=["embeddings"])
            vectors = found["embeddings"] if found["embeddings"] is not None else []
            centroids.update(zip(found["ids"], (np.asarray(v, np.float32) for v in vectors), strict=True))
        kept = [
            (item, item.vector if item.vector is not None else centroids[item.duplicate_of])
            for item in items
            if item.vector is not None or item.duplicate_of in centroids
        ]
        for batch in _batched(kept, self._max_batch):
            self.duplicates.upsert(
                ids=[item.id for item, _ in batch],
                embeddings=np.stack([vector for _, vector in batch]).astype(np.float32),
                metadatas=[
                    {
                        "content_hash": item.content_hash,
                        "duplicate_of": item.duplicate_of,
                        "origin": item.origin,
                    }
                    for item, _ in batch
                ],
            )
        return len(kept)

    @_one_writer
    def forget(self, article_id: str) -> bool:
        """Remove an article and its chunks; False when it was not stored.

        The copies left out as its duplicates are forgotten too, so the next ingest of one of them
        stores it in its place.
        """
        self.duplicates.delete(where={"duplicate_of": article_id})
        record = self.articles.get(ids=[article_id], include=["metadatas"])
        if not record["ids"]:
            return False
        self.articles.delete(ids=[article_id])  # the commit point: its chunks are now invisible
        self.lexical.remove([article_id])
        chunk_ids = self.chunks.get(where=cast(Where, {"article_id": article_id}), include=[])["ids"]
        self.chunks.delete(where={"article_id": article_id})
        self._forget_versions(chunk_ids)
        if self.texts is not None:  # the body, had the article no chunks
            self.texts.delete([body_key(article_id, str((record["metadatas"] or [{}])[0]["content_hash"]))])
        self._rebuild_lexical_if_due()
        return True

    @_one_writer
    def repair(self) -> int:
        """Delete chunks of versions no article record names (left by a crash); return how many."""
        current = {
            article_id: str(meta["content_hash"])[:16]
            for article_id, meta in zip(*self._get_all(self.articles, include=["metadatas"]), strict=True)
        }
        stale = []
        chunk_ids = self._get_all(self.chunks, include=[])[0]
        for chunk_id in chunk_ids:
            article_id, short_hash, _ = parse_chunk_id(chunk_id)
            if current.get(article_id) != short_hash:
                stale.append(chunk_id)
        for batch in _batched(stale, self._max_batch):
            self.chunks.delete(ids=list(batch))
        for side in self._side_tables:  # rows of deleted versions, and of versions a crash never wrote
            side.delete(
                key for key in side.all_keys() if current.get((version := version_of(key))[0]) != version[1]
            )
        if stale:
            logger.warning("repair: removed %d chunks left by an interrupted write", len(stale))
        self.sync_lexical()
        return len(stale)

    @_one_writer
    def sync_lexical(self) -> int:
        """Bring the lexical index into agreement with the article records; return articles re-indexed."""
        current = {
            article_id: str(meta["content_hash"])
            for article_id, meta in zip(*self._get_all(self.articles, include=["metadatas"]), strict=True)
        }
        indexed = self.lexical.versions()
        self.lexical.remove(article_id for article_id in indexed if article_id not in current)
        stale = [article_id for article_id, digest in current.items() if indexed.get(article_id) != {digest}]
        for batch in _batched(stale, 100):
            where = cast(Where, {"article_id": {"$in": list(batch)}})
            chunks = [
                chunk
                for chunk in self.stored_chunks(where)
                if chunk.content_hash == current[chunk.article_id]
            ]
            self.lexical.remove(batch)
            self.lexical.add(chunks)
        if stale:
            logger.info("lexical index: re-indexed %d articles", len(stale))
        if len(stale) >= _OPTIMIZE_AFTER:
            self.lexical.optimize()
        self._rebuild_lexical_if_due()
        return len(stale)

    def _rebuild_lexical_if_due(self) -> None:
        """Rebuild the keyword index once the rows of dropped chunks it keeps (see `store.lexical`)
        have grown past its `REBUILD_SHARE`."""
        if self.lexical.needs_rebuild():
            logger.info("lexical index: rebuilding (%d rows of dropped chunks)", self.lexical.dead_rows())
            self.reindex()

    def _sync_lexical_if_due(self) -> None:
        """Start a background `sync_lexical` when one is due (see `lexical_sync_seconds`)."""
        if self._sync_every <= 0:
            return
        with self._sync_lock:
            running = self._sync_job is not None and not self._sync_job.done()
            if running or time.monotonic() - self._synced_at < self._sync_every:
                return
            self._synced_at = time.monotonic()
            self._sync_job = self._worker.submit(self._sync_lexical_quietly)

    def _sync_lexical_quietly(self) -> None:
        try:
            self.sync_lexical()
        except Exception:  # a background refresh must never break the searches that started it
            logger.warning("lexical index: background sync failed; retrying later", exc_info=True)

    @_one_writer
    def reindex(self) -> int:
        """Rebuild the lexical index from Chroma; return the number of chunks indexed."""
        self.lexical.clear()
        self.sync_lexical()
        return self.lexical.count()

    def _delete_other_versions(self, current_hashes: dict[str, str]) -> None:
        ids = list(current_hashes)
        for batch in _batched(ids, 100):
            where = cast(Where, {"article_id": {"$in": list(batch)}})
            found = self.chunks.get(where=where, include=[])["ids"]
            stale = [
                chunk_id
                for chunk_id in found
                if (parts := parse_chunk_id(chunk_id))[1] != current_hashes[parts[0]][:16]
            ]
            if stale:
                self.chunks.delete(ids=stale)
                self._forget_versions(stale)

    def _get_all(self, collection: Collection, include: list[Any]) -> tuple[list[str], list[Any]]:
        """Ids (and metadatas when included) of a whole collection, paged."""
        ids: list[str] = []
        metas: list[Any] = []
        for result in self._pages(collection, include, self._max_batch):
            ids.extend(result["ids"])
            metas.extend(result["metadatas"] or [])
        return ids, metas

    @staticmethod
    def _pages(collection: Collection, include: list[Any], size: int) -> Iterator[GetResult]:
        """A whole collection, `size` records per `get`, until a page comes back short."""
        offset = 0
        while True:
            result = collection.get(include=include, limit=size, offset=offset)
            yield result
            if len(result["ids"]) < size:
                return
            offset += size


def _vectors(result: GetResult) -> Any:
    """The embeddings of a `get` (an array, or None when not included)."""
    vectors = result["embeddings"]
    return vectors if vectors is not None else []


def centroid(vectors: np.ndarray) -> np.ndarray:
    """The unit-length mean of some vectors: an article's from its chunks' (its vector in the articles
    collection), or a chunk's from its sentences' when its own cannot be read."""
    mean = vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm else mean
