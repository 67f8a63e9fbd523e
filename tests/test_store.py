"""The knowledge base through ingest: counts, metadata, updates, forgetting, search, stats.

Every test here runs twice: on an embedded store under tmp_path and on a real `chroma run` server.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pytest

import ingest
import store
from ingest.loaders import LoadFailure, load_paths
from store.records import Article, Chunk, int8_vectors, packed_vectors, parse_chunk_id, vectors_from_bytes
from store.texts import CHROMA_KEYS, body_key

BACKENDS = ["embedded", pytest.param("server", marks=pytest.mark.server)]
SMALL_CORPUS = ["harbour-storm.html", "norland-rate-cut.md"]
STORM_ID = "u-10c1ea6e0af438bd"
NORLAND_ID = "u-6aa5442e76aa09cb"
PIER_V1 = "Pier 9 reopened on Monday after repairs. Crews replaced two hundred planks."
PIER_V2 = "Pier 9 stays closed until June. Divers found rot in the oak piles."
WriteArticle = Callable[..., Path]


@pytest.fixture(params=BACKENDS)
def any_kb(request: pytest.FixtureRequest) -> store.KnowledgeBase:
    """An empty knowledge base, embedded or on the server."""
    return request.getfixturevalue("kb" if request.param == "embedded" else "server_kb")


@pytest.fixture(params=BACKENDS)
def any_sample_kb(request: pytest.FixtureRequest) -> store.KnowledgeBase:
    """The read-only store of bundled samples, embedded or on the server."""
    return request.getfixturevalue("sample_kb" if request.param == "embedded" else "server_sample_kb")


@pytest.fixture
def full_corpus(tmp_path: Path, shared_dir: Path) -> Path:
    """A folder with copies of the 8 bundled samples and the seed article."""
    folder = tmp_path / "corpus"
    shutil.copytree(ingest.samples_dir(), folder)
    for seed in (shared_dir / "seed").glob("*.txt"):
        shutil.copy(seed, folder / seed.name)
    return folder


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """A folder with copies of two samples (one .html, one .md), free to edit."""
    folder = tmp_path / "small"
    folder.mkdir()
    for name in SMALL_CORPUS:
        shutil.copy(ingest.samples_dir() / name, folder / name)
    return folder


def ingest_folder(kb: store.KnowledgeBase, folder: Path) -> ingest.IngestReport:
    """Ingest a folder with default settings; every source must load."""
    report = ingest.Ingestor(kb, ingest.IngestSettings()).ingest([folder])
    assert report.ok, report.failed
    return report


def loaded_articles(folder: Path) -> dict[str, Article]:
    """The articles of a folder as the loaders see them, by id."""
    items = list(load_paths([folder], max_bytes=50_000_000))
    assert not [item for item in items if isinstance(item, LoadFailure)]
    return {item.id: item for item in items if isinstance(item, Article)}


def all_chunks(kb: store.KnowledgeBase) -> dict[str, Chunk]:
    """Every stored chunk, by id."""
    return {chunk.id: chunk for chunk in kb.stored_chunks()}


def assert_consistent(kb: store.KnowledgeBase) -> None:
    """Each article has exactly its current version's chunks (0..chunk_count-1), in Chroma and lexically."""
    records = {record.id: record for record in kb.all_articles()}
    by_article: dict[str, set[tuple[str, int]]] = {}
    for chunk_id, chunk in all_chunks(kb).items():
        article_id, short_hash, position = parse_chunk_id(chunk_id)
        assert (article_id, short_hash, position) == (
            chunk.article_id,
            chunk.content_hash[:16],
            chunk.position,
        )
        by_article.setdefault(article_id, set()).add((chunk.content_hash, position))
    assert set(by_article) == set(records)
    for article_id, record in records.items():
        expected = {(record.content_hash, position) for position in range(record.chunk_count)}
        assert by_article[article_id] == expected, article_id
    # the lexical index holds the same versions, one row per chunk
    assert kb.lexical.versions() == {article_id: {r.content_hash} for article_id, r in records.items()}
    assert kb.lexical.count() == kb.chunks.count()
    # sentence vectors: embedded, one side-table row per chunk and none in Chroma metadata; on a
    # server, in every chunk's metadata
    metas = kb.chunks.get(include=["metadatas"])["metadatas"] or []
    if kb.sentences is not None:
        assert kb.sentences.all_keys() == set(all_chunks(kb))
        assert not [meta for meta in metas if "sentence_vectors" in meta]
    else:
        assert all(meta.get("sentence_vectors") for meta in metas)
    # texts: embedded, one side-table row per chunk and per article body, and no Chroma documents;
    # on a server, Chroma documents
    documents = [
        *(kb.chunks.get(include=["documents"])["documents"] or []),
        *(kb.articles.get(include=["documents"])["documents"] or []),
    ]
    if kb.texts is not None:
        bodies = {body_key(r.id, r.content_hash) for r in records.values()}
        assert kb.texts.all_keys() == set(all_chunks(kb)) | bodies
        assert documents == [None] * len(documents)
        assert all(set(meta) <= CHROMA_KEYS for meta in metas)  # the rest is in the side table
    else:
        assert all(isinstance(document, str) for document in documents)
    assert all(chunk.text for chunk in all_chunks(kb).values())


# ----------------------------------------------------------------------------- writing


def test_ingest_counts_and_metadata(any_kb: store.KnowledgeBase, full_corpus: Path) -> None:
    """Samples plus seed give 9 articles whose records and chunks carry their title, outlet, date and URL."""
    report = ingest_folder(any_kb, full_corpus)
    expected = loaded_articles(full_corpus)
    assert len(expected) == 9
    assert sorted(report.added) == sorted(expected)
    assert (report.updated, report.unchanged, report.superseded) == ([], [], [])

    records = {record.id: record for record in any_kb.all_articles()}
    assert set(records) == set(expected)
    stats = any_kb.stats()
    assert stats.articles == 9
    assert stats.chunks == sum(r.chunk_count for r in records.values()) == report.chunks_written
    assert all(record.chunk_count >= 1 for record in records.values())
    assert_consistent(any_kb)

    chunks = all_chunks(any_kb)
    for article_id, article in expected.items():
        record = records[article_id]
        assert (record.title, record.url, record.source, record.published_at) == (
            article.title,
            article.url,
            article.source,
            article.published_at,
        )
        assert (record.body, record.content_hash, record.origin) == (
            article.body,
            article.content_hash,
            article.origin,
        )
        for chunk in (c for c in chunks.values() if c.article_id == article_id):
            assert (chunk.title, chunk.url, chunk.source, chunk.published_at) == (
                article.title,
                article.url,
                article.source,
                article.published_at,
            )
            assert chunk.text in article.body or all(s in article.body for s in chunk.sentences)
    seed = next(r for r in records.values() if r.title == "Xiaomi rushes towards a trillion")
    assert (seed.source, seed.published_at, seed.url) == ("Wallstreetcn", date(2025, 1, 3), None)


def test_reingest_is_a_noop(any_kb: store.KnowledgeBase, small_corpus: Path) -> None:
    """Ingesting the same files again embeds and writes nothing, and leaves the chunk ids as they were."""
    first = ingest_folder(any_kb, small_corpus)
    chunk_ids = sorted(all_chunks(any_kb))
    records = any_kb.all_articles()

    again = ingest_folder(any_kb, small_corpus)
    assert (again.added, again.updated, again.failed) == ([], [], [])
    assert sorted(again.unchanged) == sorted(first.added)
    assert (again.chunks_written, again.repaired_chunks) == (0, 0)
    assert sorted(all_chunks(any_kb)) == chunk_ids
    assert any_kb.all_articles() == records  # not rewritten: same ingested_at


def test_edited_article_replaces_its_old_version(any_kb: store.KnowledgeBase, small_corpus: Path) -> None:
    """Changing a sentence updates one article: old chunks gone, new text searchable, count unchanged."""
    ingest_folder(any_kb, small_corpus)
    old = any_kb.get_article(NORLAND_ID)
    assert old is not None
    path = small_corpus / "norland-rate-cut.md"
    original = path.read_text(encoding="utf-8")
    sentence = "The two dissenting members had argued for holding rates steady until early next year."
    assert sentence in original
    new_sentence = "Two dissenting members wanted the bank to buy a fleet of lighthouse ferries instead."
    path.write_text(original.replace(sentence, new_sentence), encoding="utf-8")

    report = ingest_folder(any_kb, small_corpus)
    assert report.updated == [NORLAND_ID]
    assert report.added == []
    assert sorted(report.unchanged) == sorted(set(loaded_articles(small_corpus)) - {NORLAND_ID})
    new = any_kb.get_article(NORLAND_ID)
    assert new is not None and new.content_hash != old.content_hash
    assert new_sentence in new.body
    assert any_kb.stats().articles == len(SMALL_CORPUS)
    assert not any_kb.chunks.get(where={"content_hash": old.content_hash})["ids"]
    assert not [i for i in all_chunks(any_kb) if parse_chunk_id(i)[1] == old.content_hash[:16]]
    assert_consistent(any_kb)

    hits = [hit for hit in any_kb.search(new_sentence, k=5) if new_sentence in hit.chunk.text]
    assert hits, "the new sentence is not found"
    assert all((h.chunk.article_id, h.chunk.content_hash) == (NORLAND_ID, new.content_hash) for h in hits)
    # the body of the version a hit came from; a version no longer stored reads as the current one
    for versions in ({NORLAND_ID: new.content_hash}, {NORLAND_ID: old.content_hash}, None):
        assert any_kb.article_texts([NORLAND_ID, STORM_ID], versions)[NORLAND_ID] == new.body


def test_forget_removes_the_article_and_its_chunks(any_kb: store.KnowledgeBase, small_corpus: Path) -> None:
    """`forget` drops the record and every chunk; forgetting an unknown id returns False."""
    ingest_folder(any_kb, small_corpus)
    before = any_kb.stats()
    record = any_kb.get_article(STORM_ID)
    assert record is not None

    assert any_kb.forget(STORM_ID) is True
    assert any_kb.get_article(STORM_ID) is None
    assert not any_kb.chunks.get(where={"article_id": STORM_ID})["ids"]
    after = any_kb.stats()
    assert (after.articles, after.chunks) == (before.articles - 1, before.chunks - record.chunk_count)
    assert all(
        hit.chunk.article_id != STORM_ID for hit in any_kb.search("Storm Idris gusts power cuts", k=20)
    )
    assert any_kb.forget(STORM_ID) is False
    assert any_kb.forget("nope") is False


def test_uncommitted_version_is_invisible_and_repaired(
    any_kb: store.KnowledgeBase,
    write_article: WriteArticle,
    write_uncommitted: Callable[[store.KnowledgeBase, Article], list[Chunk]],
) -> None:
    """Chunks written without their record (a crash before the commit) are never found; repair drops them."""
    ingest_folder(any_kb, write_article("pier", PIER_V1).parent)
    (old,) = any_kb.all_articles()
    draft = Article(id=old.id, title=old.title, body=PIER_V2, url=old.url, source=old.source)
    chunks = write_uncommitted(any_kb, draft)  # the crash comes before the record

    assert any_kb.chunks.count() == old.chunk_count + len(chunks)
    for hits in (any_kb.search(PIER_V2, k=10), any_kb.search_lexical(PIER_V2, k=10)):
        assert hits and {hit.chunk.content_hash for hit in hits} == {old.content_hash}
    assert any_kb.all_articles() == [old]
    assert any_kb.repair() == len(chunks)
    assert any_kb.repair() == 0
    assert_consistent(any_kb)


def test_superseded_version_is_invisible_and_repaired(
    any_kb: store.KnowledgeBase, write_article: WriteArticle
) -> None:
    """Old chunks left after the commit (a crash before their delete) are never found; repair drops them."""
    folder = write_article("pier", PIER_V1).parent
    ingest_folder(any_kb, folder)
    old_chunks = any_kb.chunks.get(include=["documents", "metadatas", "embeddings"])
    write_article("pier", PIER_V2)
    assert len(ingest_folder(any_kb, folder).updated) == 1
    (new,) = any_kb.all_articles()
    any_kb.chunks.upsert(  # put the old version back, as if step 3 of the update never ran
        ids=old_chunks["ids"],
        documents=old_chunks["documents"],
        metadatas=old_chunks["metadatas"],
        embeddings=old_chunks["embeddings"],
    )

    for hits in (any_kb.search(PIER_V1, k=10), any_kb.search_lexical(PIER_V1, k=10)):
        assert hits and {hit.chunk.content_hash for hit in hits} == {new.content_hash}
    assert any_kb.repair() == len(old_chunks["ids"])
    assert_consistent(any_kb)


def test_sentence_vectors_are_kept_in_six_bits_and_older_int8_rows_still_read(
    kb: store.KnowledgeBase, small_corpus: Path
) -> None:
    """A side-table row holds 292 bytes per sentence, within cosine 0.99 of the vectors the model gave;
    a row written in int8 (before six bits) reads as it was written."""
    ingest_folder(kb, small_corpus)
    assert kb.sentences is not None
    (hit, *_) = kb.search("How strong were the gusts of Storm Idris?", k=1)
    _, fresh = kb.embeddings.encode_passages([hit.chunk.embedding_text], [hit.chunk.embedding_spans])
    stored = kb.sentences.get([hit.chunk.id], kb.embeddings.dimension)[hit.chunk.id]
    assert stored.shape == fresh[0].shape
    assert float(np.min(np.sum(stored * fresh[0], axis=1))) >= 0.99
    (row,) = kb.sentences._get([hit.chunk.id]).values()
    assert len(row) == 1 + len(stored) * (4 + kb.embeddings.dimension * 6 // 8)

    kb.sentences._put([(hit.chunk.id, int8_vectors(fresh[0]))])
    again = kb.sentences.get([hit.chunk.id], kb.embeddings.dimension)[hit.chunk.id]
    assert np.allclose(again, fresh[0], atol=0.01)

    # rows of both widths read together are what each reads alone
    ids = [other.chunk.id for other in kb.search("storm harbour tram router", k=8)] + [hit.chunk.id]
    together = kb.sentences.get(ids, kb.embeddings.dimension)
    assert set(together) == set(ids)
    for chunk_id in ids:
        assert np.array_equal(
            together[chunk_id], kb.sentences.get([chunk_id], kb.embeddings.dimension)[chunk_id]
        )


def test_vectors_decoded_and_encoded_again_are_the_same_bytes() -> None:
    """An export writes the decoded vectors in int8 and an import stores them in six bits again: both
    round trips give back what they started from (the same bytes; the same levels, whose scale
    decoding drops), so a restored store reads the vectors it had."""
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(5, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    int8 = int8_vectors(vectors)
    assert int8_vectors(vectors_from_bytes([int8], 384)[0]) == int8
    six = packed_vectors(vectors)
    through_int8 = int8_vectors(vectors_from_bytes([six], 384)[0])
    again = packed_vectors(vectors_from_bytes([through_int8], 384)[0])
    assert np.allclose(vectors_from_bytes([again], 384)[0], vectors_from_bytes([six], 384)[0], atol=1e-6)


def test_sentence_vectors_and_texts_of_an_embedded_store_live_beside_chroma(
    kb: store.KnowledgeBase, small_corpus: Path, store_settings: store.StoreSettings
) -> None:
    """Rows a crash left before their chunks are removed by repair (and a superseded version's with
    it), and a store whose sentence vectors and texts are in Chroma (written before the side tables)
    is read as it is."""
    ingest_folder(kb, small_corpus)
    assert kb.sentences is not None and kb.texts is not None
    (record, *_) = kb.all_articles()
    gone = ["u-gone#0123456789abcdef#0", f"{record.id}#0123456789abcdef#0"]  # a new article, a new version
    kb.sentences.put([(key, np.ones((2, 384), dtype=np.float32) / np.sqrt(384)) for key in gone])
    kb.texts.put([(key, "never written", {}) for key in gone])
    kb.texts.put([(body_key(record.id, "0123456789abcdef"), "a version never committed", {})])
    assert kb.repair() == 0
    assert not set(gone) & (kb.sentences.all_keys() | kb.texts.all_keys())
    assert_consistent(kb)
    assert kb.get_article(record.id) == record

    old_style = store.KnowledgeBase(kb.client, kb.embeddings, name="oldstyle")  # no side tables
    ingest_folder(old_style, small_corpus)
    metas = old_style.chunks.get(include=["metadatas", "documents"])
    assert metas["metadatas"] and all(meta.get("sentence_vectors") for meta in metas["metadatas"])
    assert all(metas["documents"] or [None])
    reopened = store.KnowledgeBase(
        kb.client,
        kb.embeddings,
        name="oldstyle",
        sentences=kb.sentences,
        texts=kb.texts,
        lexical=old_style.lexical,
    )
    question = "How strong were the gusts of Storm Idris?"
    (hit, *_) = reopened.search(question, k=3)
    assert hit.sentence_vectors is not None and len(hit.sentence_vectors) == len(hit.chunk.sentences)
    assert [h.chunk for h in reopened.search(question, k=3)] == [h.chunk for h in kb.search(question, k=3)]
    assert [r.body for r in reopened.all_articles()] == [r.body for r in old_style.all_articles()]
    assert [r.body for r in reopened.all_articles()] == [r.body for r in kb.all_articles()]


def test_same_article_twice_in_one_run(any_kb: store.KnowledgeBase, tmp_path: Path) -> None:
    """Two files with the same URL are one article: the later copy is used, the earlier is superseded."""
    folder = tmp_path / "dupes"
    folder.mkdir()
    for name, body in (("a.md", "First draft of the story."), ("b.md", "Final text of the story.")):
        (folder / name).write_text(f"---\ntitle: Story\nurl: https://news.test/story\n---\n{body}\n")
    report = ingest_folder(any_kb, folder)
    (article_id,) = report.added
    assert [notice.origin for notice in report.superseded] == [str(folder / "a.md")]
    record = any_kb.get_article(article_id)
    assert record is not None and record.body == "Final text of the story."


def test_search_on_an_empty_store_raises(any_kb: store.KnowledgeBase) -> None:
    """Asking an empty store is a domain error whose message says how to fill it."""
    assert any_kb.is_empty()
    with pytest.raises(store.EmptyStoreError, match="newsdesk ingest"):
        any_kb.search("anything")
    assert any_kb.stats() == store.StoreStats(0, 0, 0, None, None, any_kb.location)


# ----------------------------------------------------------------------------- reading


def test_search_returns_scored_current_chunks(any_sample_kb: store.KnowledgeBase) -> None:
    """Search ranks chunks by cosine similarity, all of current versions, with their sentence vectors."""
    hits = any_sample_kb.search("How strong were the gusts when Storm Idris hit the coast?", k=5)
    assert len(hits) == 5
    assert hits[0].chunk.article_id == STORM_ID
    assert hits[0].chunk.source == "The Harbour Herald"
    assert hits[0].chunk.published_at == date(2024, 10, 17)
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 < score <= 1.0 for score in scores)
    current = any_sample_kb.stored_hashes(hit.chunk.article_id for hit in hits)
    for hit in hits:
        assert hit.chunk.content_hash == current[hit.chunk.article_id]
        assert hit.sentence_vectors is not None
        assert hit.sentence_vectors.shape == (
            len(hit.chunk.sentence_spans),
            any_sample_kb.embeddings.dimension,
        )
        assert np.allclose(np.linalg.norm(hit.sentence_vectors, axis=1), 1.0, atol=1e-3)


def test_search_with_large_k_and_a_date_filter(any_sample_kb: store.KnowledgeBase) -> None:
    """k beyond the store size returns every chunk; max_day keeps only chunks published by that day."""
    total = any_sample_kb.stats().chunks
    assert len(any_sample_kb.search("news", k=total + 50)) == total
    everything = any_sample_kb.search("Xiaomi shares", k=total)
    hits = any_sample_kb.search("Xiaomi shares", k=total, max_day=20241231)
    assert hits
    assert all(hit.chunk.published_at is None or hit.chunk.published_at.year <= 2024 for hit in hits)
    assert [hit.chunk.id for hit in hits] == [
        hit.chunk.id
        for hit in everything
        if hit.chunk.published_at is None or hit.chunk.published_at.year <= 2024
    ]


def test_lexical_search_matches_names_and_numbers(any_sample_kb: store.KnowledgeBase) -> None:
    """BM25 search finds exact names and numbers, scores hits by cosine, and keeps current versions only."""
    hits = any_sample_kb.search_lexical("What is KX-2291b?", k=5)
    assert hits and hits[0].chunk.article_id == "u-e8e2a16209bd6076"
    assert all("2291" in hit.chunk.embedding_text for hit in hits)  # title or text
    current = any_sample_kb.stored_hashes(hit.chunk.article_id for hit in hits)
    assert all(hit.chunk.content_hash == current[hit.chunk.article_id] for hit in hits)
    assert all(-1.0 <= hit.score <= 1.0 for hit in hits)
    assert any_sample_kb.search_lexical("the of and", k=5) == []  # stopwords only: no query


def test_stats_count_the_samples(any_sample_kb: store.KnowledgeBase) -> None:
    """stats() counts articles, chunks, outlets and the span of dates."""
    stats = any_sample_kb.stats()
    records = any_sample_kb.all_articles()
    assert stats.articles == len(records) == 8
    assert stats.chunks == sum(record.chunk_count for record in records)
    assert stats.sources == 7  # the tram story names no outlet
    assert (stats.oldest, stats.newest) == (date(2024, 10, 17), date(2025, 3, 11))
    assert stats.location


def test_recent_articles_newest_first(any_sample_kb: store.KnowledgeBase) -> None:
    """recent_articles lists the newest first; undated articles come last in all_articles."""
    everything = any_sample_kb.all_articles()
    dated = [record.published_at for record in everything if record.published_at]
    assert dated == sorted(dated, reverse=True)
    assert everything[-1].published_at is None
    recent = any_sample_kb.recent_articles(3)
    assert [record.id for record in recent] == [record.id for record in everything[:3]]
    assert recent[0].published_at == date(2025, 3, 11)


def test_close_stops_worker_threads_and_closes_the_index(
    store_settings: store.StoreSettings, embeddings: store.SentenceTransformerEmbeddings, small_corpus: Path
) -> None:
    """A knowledge base used as a context manager stops its threads and closes its files on exit."""

    def store_threads() -> int:
        return sum(thread.name.startswith("newsdesk-store") for thread in threading.enumerate())

    before = store_threads()
    with store.open_knowledge_base(store_settings, embeddings) as kb:
        assert ingest.Ingestor(kb, ingest.IngestSettings()).ingest([small_corpus]).ok
        assert kb.search_hybrid("storm", k=2)[0]  # hybrid search ranks keywords on a worker thread
        assert store_threads() > before
    assert store_threads() == before
    with pytest.raises(sqlite3.ProgrammingError):
        kb.lexical.count()
    with store.open_knowledge_base(store_settings, embeddings) as again:
        assert again.stats().articles == len(SMALL_CORPUS)
