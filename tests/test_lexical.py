"""The BM25 lexical index beside Chroma: it follows every write, survives crashes and loss, matches exactly.

Consistency rule checked throughout: the index holds, for every stored article, rows of exactly its
current content hash, one row per chunk in Chroma, and nothing for articles Chroma does not hold.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from click.testing import Result

import ingest
import store
from store import lexical
from store.lexical import FORMAT_VERSION as LEXICAL_FORMAT
from store.lexical import LexicalIndex
from store.records import Article, Chunk, parse_chunk_id

WriteArticle = Callable[..., Path]
RunCli = Callable[..., Result]
WriteUncommitted = Callable[[store.KnowledgeBase, Article], list[Chunk]]

LIGHTHOUSE = (
    "The keeper of the Skerrow lighthouse counted 412 nesting gannets on the north cliff this spring. "
    "Volunteers ringed the chicks and logged the colony in the island survey."
)
PROBE = (
    "Engineers confirmed that the probe KX-2291b reached orbit after a 19-day cruise. "
    "Mission control said every instrument on board was healthy."
)
PROBE_DECOY = (
    "Engineers confirmed that the probe reached orbit after a long cruise. "
    "Mission control said the instruments on board were healthy."
)
STORM = "The storm left 63,500 homes without power along the coast overnight, the grid operator said."
STORM_DECOY = "The storm left 63 homes and 500 businesses without power in the valley, the council said."
CROWD = "A crowd of 41387 watched the derby at the riverside stadium on Saturday afternoon."


def ingest_folder(kb: store.KnowledgeBase, folder: Path = Path("articles")) -> dict[str, str]:
    """Ingest the written articles; return article id by name (the last part of its URL)."""
    report = ingest.Ingestor(kb, ingest.IngestSettings()).ingest([folder])
    assert report.ok, report.failed
    return {str(record.url).rsplit("/", 1)[-1]: record.id for record in kb.all_articles()}


def assert_lexical_agrees(kb: store.KnowledgeBase) -> None:
    """The lexical index holds each stored article's current version only, one row per Chroma chunk."""
    assert kb.lexical.versions() == {record.id: {record.content_hash} for record in kb.all_articles()}
    assert kb.lexical.count() == kb.chunks.count()


def indexed_articles(kb: store.KnowledgeBase, question: str) -> set[str]:
    """Articles with rows matching the question in the raw index (no version check, no date filter)."""
    return {parse_chunk_id(chunk_id)[0] for chunk_id, _ in kb.lexical.search(question, k=50)}


def stored_chunks(kb: store.KnowledgeBase, article_id: str) -> list[Chunk]:
    """The chunks Chroma holds for one article."""
    return kb.stored_chunks({"article_id": article_id})


# ----------------------------------------------------------------------------- writes


def test_index_follows_add_update_and_forget(kb: store.KnowledgeBase, write_article: WriteArticle) -> None:
    """An edited article keeps rows of its new hash only; a forgotten one keeps none."""
    write_article("lighthouse", LIGHTHOUSE)
    write_article("probe", PROBE)
    ids = ingest_folder(kb)
    assert_lexical_agrees(kb)
    lighthouse = ids["lighthouse"]
    assert indexed_articles(kb, "gannets") == {lighthouse}

    write_article("lighthouse", LIGHTHOUSE.replace("gannets", "puffins"))
    report = ingest.Ingestor(kb, ingest.IngestSettings()).ingest([Path("articles")])
    assert report.updated == [lighthouse]
    record = kb.get_article(lighthouse)
    assert record is not None
    assert kb.lexical.versions()[lighthouse] == {record.content_hash}
    assert indexed_articles(kb, "gannets") == set()  # the old rows are gone, not merely filtered out
    (hit, *_) = kb.search_lexical("puffins")
    assert (hit.chunk.article_id, hit.chunk.content_hash) == (lighthouse, record.content_hash)
    assert_lexical_agrees(kb)

    assert kb.forget(lighthouse)
    assert lighthouse not in kb.lexical.versions()
    assert indexed_articles(kb, "puffins lighthouse Skerrow") == set()
    assert_lexical_agrees(kb)


def test_dropped_chunks_stay_dead_until_the_store_rebuilds_the_index(
    kb: store.KnowledgeBase, write_article: WriteArticle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index keeps no copy of the text; a dropped chunk's FTS row stays, is never found, and the
    store rebuilds the index once such rows pass `REBUILD_SHARE` of the live ones."""
    write_article("lighthouse", LIGHTHOUSE)
    write_article("probe", PROBE)
    ids = ingest_folder(kb)
    tables = sqlite3.connect(kb.lexical.path).execute("SELECT name FROM sqlite_master").fetchall()
    assert ("chunks_content",) not in tables  # contentless: no third copy of the text
    live = kb.lexical.count()

    write_article("lighthouse", LIGHTHOUSE.replace("gannets", "puffins"))
    assert ingest_folder(kb)["lighthouse"] == ids["lighthouse"]
    dead = kb.lexical.dead_rows()
    assert dead == len(stored_chunks(kb, ids["lighthouse"])) and not kb.lexical.needs_rebuild()
    assert indexed_articles(kb, "gannets") == set()  # dead rows match, but are never returned
    assert_lexical_agrees(kb)

    monkeypatch.setattr(lexical, "_REBUILD_MIN", 1)
    assert kb.lexical.needs_rebuild() == (dead > lexical.REBUILD_SHARE * live)
    write_article("lighthouse", LIGHTHOUSE.replace("gannets", "terns"))
    ingest_folder(kb)
    assert kb.lexical.dead_rows() == 0  # rebuilt after the write
    assert indexed_articles(kb, "terns") == {ids["lighthouse"]} and indexed_articles(kb, "puffins") == set()
    assert_lexical_agrees(kb)


def test_killed_ingest_is_repaired(
    kb: store.KnowledgeBase, write_article: WriteArticle, write_uncommitted: WriteUncommitted
) -> None:
    """Rows of a version whose record was never written are hidden from search, and `repair` drops them."""
    write_article("lighthouse", LIGHTHOUSE, published_at="2025-01-15")
    write_article("probe", PROBE)
    ids = ingest_folder(kb)
    old = kb.get_article(ids["lighthouse"])
    assert old is not None
    draft = Article(
        id=old.id,
        title=old.title,
        body="The Skerrow lighthouse was struck by a zeppelin of hailstones.",
        url=old.url,
        source=old.source,
        published_at=old.published_at,
    )
    chunks = write_uncommitted(kb, draft)  # the process dies before the record is written

    assert kb.lexical.versions()[old.id] == {old.content_hash, draft.content_hash}
    assert indexed_articles(kb, "zeppelin hailstones") == {old.id}
    hits = kb.search_lexical("zeppelin lighthouse")
    assert hits  # the stored version still answers "lighthouse"
    assert {hit.chunk.content_hash for hit in hits} == {old.content_hash}
    assert kb.get_article(old.id) == old

    assert kb.repair() == len(chunks)
    assert_lexical_agrees(kb)
    assert kb.lexical.versions()[old.id] == {old.content_hash}
    assert indexed_articles(kb, "zeppelin hailstones") == set()


def test_opening_drops_rows_of_a_superseded_version(
    kb: store.KnowledgeBase,
    store_settings: store.StoreSettings,
    embeddings: store.SentenceTransformerEmbeddings,
    write_article: WriteArticle,
) -> None:
    """Old-version rows left by a crash after the commit are hidden, then dropped when the store opens."""
    write_article("lighthouse", LIGHTHOUSE)
    ids = ingest_folder(kb)
    old_chunks = stored_chunks(kb, ids["lighthouse"])
    write_article("lighthouse", LIGHTHOUSE.replace("gannets", "puffins"))
    ingest_folder(kb)
    kb.lexical.add(old_chunks)  # as if step 3 (dropping the old version) never ran for the index
    assert indexed_articles(kb, "gannets") == {ids["lighthouse"]}
    assert kb.search_lexical("gannets") == []

    reopened = store.open_knowledge_base(store_settings, embeddings)
    assert_lexical_agrees(reopened)
    assert indexed_articles(reopened, "gannets") == set()


# ----------------------------------------------------------------------------- rebuilding


def test_reindex_rebuilds_a_cleared_index(
    kb: store.KnowledgeBase, write_article: WriteArticle, run_cli: RunCli
) -> None:
    """`reindex` (method and CLI verb) refills the index from Chroma, one row per chunk."""
    write_article("lighthouse", LIGHTHOUSE)
    write_article("probe", PROBE)
    write_article("storm", STORM)
    ids = ingest_folder(kb)
    chunks = kb.chunks.count()

    kb.lexical.clear()
    assert kb.lexical.count() == 0
    assert indexed_articles(kb, "gannets") == set()
    assert kb.reindex() == chunks
    assert_lexical_agrees(kb)
    assert indexed_articles(kb, "gannets") == {ids["lighthouse"]}

    kb.lexical.clear()
    result = run_cli("reindex")  # the same data dir as `kb`, so the same index file
    assert result.exit_code == 0, result.output
    assert f"lexical index rebuilt: {chunks} chunks" in result.output
    assert_lexical_agrees(kb)


def test_deleted_index_is_rebuilt_on_open(
    kb: store.KnowledgeBase,
    store_settings: store.StoreSettings,
    embeddings: store.SentenceTransformerEmbeddings,
    write_article: WriteArticle,
) -> None:
    """Opening a store whose lexical folder was deleted rebuilds the index from Chroma."""
    write_article("lighthouse", LIGHTHOUSE)
    write_article("probe", PROBE)
    ids = ingest_folder(kb)
    expected = kb.lexical.versions()
    kb.lexical.close()
    shutil.rmtree(store_settings.data_dir / "lexical")

    reopened = store.open_knowledge_base(store_settings, embeddings)
    assert reopened.lexical.versions() == expected
    assert_lexical_agrees(reopened)
    (hit, *_) = reopened.search_lexical("KX-2291b")
    assert hit.chunk.article_id == ids["probe"]


# ----------------------------------------------------------------------------- matching


def test_exact_tokens_and_numbers_match(kb: store.KnowledgeBase, write_article: WriteArticle) -> None:
    """A rare identifier matches exactly, and numbers match with or without thousands separators."""
    for name, body in [
        ("probe", PROBE),
        ("probe-decoy", PROBE_DECOY),
        ("storm", STORM),
        ("storm-decoy", STORM_DECOY),
        ("crowd", CROWD),
    ]:
        write_article(name, body)
    ids = ingest_folder(kb)

    hits = kb.search_lexical("What is KX-2291b?", k=5)
    assert [hit.chunk.article_id for hit in hits] == [ids["probe"]]  # the near-identical decoy has no match

    cases = {
        "63500": "storm",  # written "63,500"
        "63,500": "storm",
        "63\u202f500": "storm",  # narrow no-break space, as typeset in some outlets
        "41387": "crowd",
        "41,387": "crowd",  # written "41387"
    }
    for question, expected in cases.items():
        assert indexed_articles(kb, question) == {ids[expected]}, question


def test_numbers_in_titles_match_without_separators() -> None:
    """A number with separators in a headline matches like one in the text (titles are searched too)."""
    index = LexicalIndex()
    headline = Chunk(
        "derby", "0" * 64, 0, "A record crowd watched the derby.", "Crowd of 41,387 sees Rovers win"
    )
    index.add([headline])
    assert [chunk_id for chunk_id, _ in index.search("Rovers")] == [headline.id]  # titles are indexed
    assert [chunk_id for chunk_id, _ in index.search("41,387")] == [headline.id]


def test_a_word_in_too_many_rows_is_left_out_once_the_index_is_large(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `TERM_ROWS` rows, a word matching more rows than that is not searched for (ranking them
    all is what makes BM25 slow at scale): the rare words of a question still find their chunk, a
    question of common words alone finds none. A smaller index searches every word."""
    chunks = [
        Chunk(
            f"a{n}",
            "0" * 64,
            0,
            "The harbour council met." + (" Gannets nest." if n == 3 else ""),
            "",
        )
        for n in range(6)
    ]
    index = LexicalIndex()
    index.add(chunks)
    monkeypatch.setattr(lexical, "TERM_ROWS", 6)
    assert len(index.search("harbour council")) == 6  # 6 rows: not past the limit

    monkeypatch.setattr(lexical, "TERM_ROWS", 4)
    assert [chunk_id for chunk_id, _ in index.search("harbour council gannets")] == [chunks[3].id]
    assert index.search("harbour council") == []
    assert len(index.search("harbour council", max_day=20991231)) == 0


# ----------------------------------------------------------------------------- server mode


def another_client(
    server_kb: store.KnowledgeBase,
    chroma_server: str,
    embeddings: store.SentenceTransformerEmbeddings,
    data_dir: Path,
    lexical_sync_seconds: float = 60.0,
) -> store.KnowledgeBase:
    """A second client of the same server and collections, with a data dir (and keyword index) of its own."""
    return store.open_knowledge_base(
        store.StoreSettings(
            chroma_url=chroma_server,
            collection=server_kb.chunks.name.removesuffix("-chunks"),
            data_dir=data_dir,
            lexical_sync_seconds=lexical_sync_seconds,
        ),
        embeddings,
    )


@pytest.mark.server
def test_server_mode_keeps_a_consistent_local_index(
    server_kb: store.KnowledgeBase,
    chroma_server: str,
    embeddings: store.SentenceTransformerEmbeddings,
    write_article: WriteArticle,
    tmp_path: Path,
) -> None:
    """With a Chroma server the index still finds, forgets and stays in step with other clients."""
    # How server mode stays consistent: the index is a SQLite file in this client's local data dir
    # (Chroma has no BM25 of its own), while Chroma on the server remains the source of truth.
    # Every row carries its article's content hash, search keeps only hits whose hash is the one in
    # the article record on the server, and `sync_lexical` (run on open, after `repair`, and in the
    # background every NEWSDESK_LEXICAL_SYNC_SECONDS while a server client searches)
    # re-indexes from the server's chunks any article whose indexed version differs from its record,
    # and drops articles the server no longer holds, e.g. after another client wrote or forgot them.
    write_article("probe", PROBE)
    write_article("storm", STORM)
    write_article("crowd", CROWD)
    ids = ingest_folder(server_kb)
    assert Path(server_kb.lexical.path).resolve().is_relative_to(tmp_path.resolve())
    assert_lexical_agrees(server_kb)
    (hit, *_) = server_kb.search_lexical("KX-2291b")
    assert hit.chunk.article_id == ids["probe"]

    assert server_kb.forget(ids["probe"])
    assert ids["probe"] not in server_kb.lexical.versions()
    assert server_kb.search_lexical("KX-2291b") == []
    assert_lexical_agrees(server_kb)

    # Another client, with an empty data dir of its own, builds its index from the server on open.
    other = another_client(server_kb, chroma_server, embeddings, tmp_path / "elsewhere")
    assert other.lexical.path != server_kb.lexical.path
    assert other.lexical.versions() == server_kb.lexical.versions()

    # It forgets an article: this client's rows for it are now stale, hidden, and dropped by sync.
    assert other.forget(ids["crowd"])
    assert indexed_articles(server_kb, "41387") == {ids["crowd"]}
    assert server_kb.search_lexical("41387") == []
    server_kb.sync_lexical()
    assert_lexical_agrees(server_kb)
    assert indexed_articles(server_kb, "41387") == set()


@pytest.mark.server
def test_server_clients_catch_up_with_other_writers_without_a_restart(
    server_kb: store.KnowledgeBase,
    chroma_server: str,
    embeddings: store.SentenceTransformerEmbeddings,
    write_article: WriteArticle,
    tmp_path: Path,
) -> None:
    """A long-running client (the bot) finds by keyword what another client wrote after it opened."""
    write_article("storm", STORM)
    ingest_folder(server_kb)
    reader = another_client(
        server_kb, chroma_server, embeddings, tmp_path / "reader", lexical_sync_seconds=0.05
    )
    assert reader.search_lexical("KX-2291b") == []

    write_article("probe", PROBE)
    ids = ingest_folder(server_kb)  # another writer of the same server
    deadline = time.monotonic() + 30
    while not (hits := reader.search_lexical("KX-2291b")) and time.monotonic() < deadline:
        time.sleep(0.1)  # each search starts a sync when the last is older than 0.05 s
    assert hits and hits[0].chunk.article_id == ids["probe"]
    assert_lexical_agrees(reader)


@pytest.mark.parametrize("version", [0, 1, 2])
def test_an_index_of_another_format_is_rebuilt_from_chroma(
    tmp_path: Path,
    embeddings: store.SentenceTransformerEmbeddings,
    write_article: WriteArticle,
    version: int,
) -> None:
    """An index file from before the current normalisation (or before versions) is emptied on open and
    refilled from Chroma, so its rows and the questions are normalised by the same rule."""
    write_article("storm", STORM)
    settings = store.StoreSettings(data_dir=tmp_path / "data")
    with store.open_knowledge_base(settings, embeddings) as kb:
        ids = ingest_folder(kb)
        path = Path(kb.lexical.path)
    old = sqlite3.connect(path)
    old.executescript(  # the tables of format 2: an FTS5 table with its own copy of the text
        """
        DROP TABLE chunks;
        CREATE VIRTUAL TABLE chunks USING fts5(text, title, chunk_id UNINDEXED, article_id UNINDEXED,
            content_hash UNINDEXED, published_day UNINDEXED);
        INSERT INTO chunks(rowid, text, title, chunk_id, article_id, content_hash, published_day)
            VALUES (1000000, 'ghost', 'Ghost', 'g#h#0', 'g', 'h', 0);
        INSERT INTO chunk_rows VALUES ('g#h#0', 1000000, 'g', 'h', 0);
        """
    )
    old.execute(f"PRAGMA user_version = {version}")
    old.commit()
    old.close()

    with store.open_knowledge_base(settings, embeddings) as kb:
        assert_lexical_agrees(kb)
        assert indexed_articles(kb, "ghost") == set()
        assert [hit.chunk.article_id for hit in kb.search_lexical("63500 homes")] == [ids["storm"]]
        assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == LEXICAL_FORMAT


def test_days_and_dated_search(tmp_path: Path) -> None:
    """`days` reads chunk days by id; a dated search keeps only old enough rows, also past its first page."""
    index = LexicalIndex(tmp_path / "index.sqlite3")
    late = [
        Chunk(f"late{n}", "h", 0, f"{STORM} Update {n}.", f"Late story {n}", published_at=date(2025, 3, 1))
        for n in range(30)
    ]
    early = Chunk("early", "h", 0, STORM_DECOY, "Early story", published_at=date(2025, 1, 1))
    index.add([*late, early])
    assert index.days([late[0].id, early.id]) == {late[0].id: 20250301, early.id: 20250101}
    assert [chunk_id for chunk_id, _ in index.search("storm homes power", k=1, max_day=20250201)] == [
        early.id
    ]
    assert len(index.search("storm homes power", k=40, max_day=20250301)) == 31


def test_embedded_index_does_not_depend_on_how_the_data_dir_is_spelled(
    tmp_path: Path, embeddings: store.SentenceTransformerEmbeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--data-dir data` and `--data-dir /abs/data` open the same index, so neither rebuilds it."""
    monkeypatch.chdir(tmp_path)
    relative = store.open_knowledge_base(store.StoreSettings(data_dir=Path("data")), embeddings)
    absolute = store.open_knowledge_base(store.StoreSettings(data_dir=tmp_path / "data"), embeddings)
    assert Path(relative.lexical.path).resolve() == Path(absolute.lexical.path).resolve()
    assert {path.name for path in (tmp_path / "data" / "lexical").glob("*.sqlite3")} == {"newsdesk.sqlite3"}
