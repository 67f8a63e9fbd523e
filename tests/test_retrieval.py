"""Hybrid, date-aware retrieval: the as-of filter, dense + BM25 fusion, time lifts and the per-article cap.

Everything runs on the bundled model and a real embedded Chroma; dates are fixed, never today's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda

import ingest
import store
from bot.answering.chain import Newsdesk
from bot.answering.retriever import NewsRetriever
from bot.config import BotSettings

WriteArticle = Callable[..., Path]

LATE = date(2025, 12, 31)  # after every sample: all of them are eligible
SAMPLE_IDS = {
    "router": "u-13e1700e17927df9",
    "exoplanet": "u-e8e2a16209bd6076",
    "record-high": "u-1222f9b7ba4b235c",
    "deliveries": "u-b641e623bcbbc84d",
    "derby": "u-08b42fcdd06f89b3",
    "norland": "u-6aa5442e76aa09cb",
    "storm": "u-10c1ea6e0af438bd",
    "tram": "t-758b54255cb42892",
}
FERRY = (
    "The Brindle Bay ferry operator raised single fares on the island route on Monday, citing fuel costs. "
    "Commuter groups criticised the increase and asked the harbour board to review the contract."
)


def ingest_articles(kb: store.KnowledgeBase, folder: Path = Path("articles")) -> dict[str, str]:
    """Ingest the written articles; return article id by name (the last part of its URL)."""
    report = ingest.Ingestor(kb, ingest.IngestSettings()).ingest([folder])
    assert report.ok, report.failed
    return {str(record.url).rsplit("/", 1)[-1]: record.id for record in kb.all_articles()}


def article_ids(documents: list[Document]) -> list[str]:
    """The article id of each retrieved chunk, in rank order."""
    return [str(document.metadata["article_id"]) for document in documents]


# ----------------------------------------------------------------------------- as of


def test_as_of_excludes_articles_published_later(
    kb: store.KnowledgeBase, write_article: WriteArticle
) -> None:
    """Retrieval as of a date never returns a later article; undated articles stay eligible."""
    write_article("fares-january", FERRY, published_at="2025-01-08")
    write_article("fares-february", FERRY.replace("single", "return"), published_at="2025-02-10")
    write_article("fares-undated", FERRY.replace("island", "northern"), published_at=None)
    ids = ingest_articles(kb)
    retriever = NewsRetriever(kb=kb, k=8)
    question = "Why did the Brindle Bay ferry raise its fares?"

    before_both = set(article_ids(retriever.invoke(question, as_of=date(2025, 1, 7))))
    assert before_both == {ids["fares-undated"]}
    between = set(article_ids(retriever.invoke(question, as_of=date(2025, 1, 20))))
    assert between == {ids["fares-january"], ids["fares-undated"]}
    on_the_day = set(article_ids(retriever.invoke(question, as_of=date(2025, 2, 10))))
    assert on_the_day == set(ids.values())

    # the lexical side is filtered too: a word only the later article has finds nothing before it
    assert ids["fares-february"] not in article_ids(retriever.invoke("return fares", as_of=date(2025, 1, 20)))
    assert ids["fares-february"] in article_ids(retriever.invoke("return fares", as_of=date(2025, 2, 10)))


def filtered_ids(kb: store.KnowledgeBase, question: str, k: int, max_day: int) -> list[str]:
    """Chunk ids of Chroma's own date-filtered query, the reference `search(max_day=...)` must match."""
    result = kb.chunks.query(
        query_embeddings=kb.embeddings.query_vector(question).astype("float32"),
        n_results=k,
        where={"published_day": {"$lte": max_day}},
        include=["distances"],
    )
    return result["ids"][0]


def test_dated_search_reaches_past_a_page_of_later_chunks(
    kb: store.KnowledgeBase, write_article: WriteArticle
) -> None:
    """When the nearest chunks are all too new, the search still finds the older one beyond them."""
    for day in range(1, 14):  # 13 chunks after the as-of date, more than a page (k * OVERFETCH) of k=1
        write_article(
            f"fares-{day}", FERRY.replace("Monday", f"day {day}"), published_at=f"2025-03-{day:02d}"
        )
    write_article(
        "tram-fares",
        "The city raised tram fares by ten cents, the transport board said.",
        published_at="2025-01-02",
    )
    ids = ingest_articles(kb)
    question = "Why did the Brindle Bay ferry raise its fares?"
    assert kb.chunks.count() > store.lexical.OVERFETCH, kb.chunks.count()

    (hit,) = kb.search(question, k=1, max_day=20250201)
    assert hit.chunk.article_id == ids["tram-fares"]
    assert [hit.chunk.id] == filtered_ids(kb, question, 1, 20250201)
    assert [h.chunk.id for h in kb.search(question, k=3, max_day=20250305)] == filtered_ids(
        kb, question, 3, 20250305
    )


def test_dated_search_checks_chunks_the_lexical_index_does_not_know(
    kb: store.KnowledgeBase, write_article: WriteArticle
) -> None:
    """A lagging lexical index (another writer of a Chroma server) cannot let a later chunk through."""
    write_article("fares-january", FERRY, published_at="2025-01-08")
    write_article("fares-february", FERRY.replace("single", "return"), published_at="2025-02-10")
    ids = ingest_articles(kb)
    kb.lexical.clear()  # the index knows no chunk's day now

    hits = kb.search("Why did the Brindle Bay ferry raise its fares?", k=8, max_day=20250120)
    assert {hit.chunk.article_id for hit in hits} == {ids["fares-january"]}


# ----------------------------------------------------------------------------- hybrid


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who is Priya Raman?", "router"),  # a person's name
        ("Ridgecrest Institute", "exoplanet"),  # an institution
        ("Kessby", "norland"),  # a place named once
        ("41,387", "derby"),  # a number, written with a separator
        ("63500", "storm"),  # a number written "63,500" in the article
    ],
)
def test_hybrid_finds_what_dense_search_misses(
    sample_kb: store.KnowledgeBase, question: str, expected: str
) -> None:
    """For a keyword-heavy question dense search puts another article first; hybrid finds the right one."""
    dense_top = sample_kb.search(question, k=1)[0].chunk.article_id
    assert dense_top != SAMPLE_IDS[expected]
    (hybrid_top,) = NewsRetriever(kb=sample_kb).invoke(question, as_of=LATE, k=1)
    assert hybrid_top.metadata["article_id"] == SAMPLE_IDS[expected]


# ----------------------------------------------------------------------------- per-article cap


def test_per_article_cap(kb: store.KnowledgeBase, write_article: WriteArticle) -> None:
    """A long article cannot take every slot: at most `per_article` chunks each, from two articles or more."""
    long_body = "\n\n".join(
        f"{FERRY} In week {week} of the dispute the Brindle Bay ferry fares stayed high, and the island "
        f"operator blamed diesel prices again while passengers queued at the harbour for the {week}th time."
        for week in range(1, 16)
    )
    write_article("fares-long", long_body, published_at="2025-01-08")
    write_article("fares-short", FERRY, published_at="2025-01-09")
    write_article("fares-brief", "Brindle Bay ferry fares rose again, the operator said.", published_at=None)
    ids = ingest_articles(kb)
    record = kb.get_article(ids["fares-long"])
    assert record is not None and record.chunk_count >= 6
    question = "Why did Brindle Bay ferry fares rise?"

    uncapped = NewsRetriever(kb=kb, per_article=100).invoke(question, as_of=LATE, k=6)
    assert Counter(article_ids(uncapped))[ids["fares-long"]] >= 4  # the cap has work to do

    for per_article in (1, 2, 3):
        documents = NewsRetriever(kb=kb, per_article=per_article).invoke(question, as_of=LATE, k=6)
        counts = Counter(article_ids(documents))
        assert max(counts.values()) <= per_article
        assert counts[ids["fares-long"]] == per_article
        assert len(counts) >= 2
        assert len(documents) == per_article + 2  # the two short articles have one chunk each


# ----------------------------------------------------------------------------- time lifts


def test_time_window_lifts_articles_inside_it(kb: store.KnowledgeBase, write_article: WriteArticle) -> None:
    """Of two near-identical articles a month apart, "this week" prefers the later, "in January" the other."""
    write_article("fares-january", FERRY, published_at="2025-01-08")
    write_article("fares-february", FERRY.replace("on Monday", "on Tuesday"), published_at="2025-02-11")
    ids = ingest_articles(kb)
    retriever = NewsRetriever(kb=kb, k=2)
    as_of = date(2025, 2, 12)

    this_week = retriever.invoke("Why did Brindle Bay ferry fares rise this week?", as_of=as_of)
    assert article_ids(this_week) == [ids["fares-february"], ids["fares-january"]]
    in_january = retriever.invoke("Why did Brindle Bay ferry fares rise in January?", as_of=as_of)
    assert article_ids(in_january) == [ids["fares-january"], ids["fares-february"]]


def test_latest_prefers_recent_articles(kb: store.KnowledgeBase, write_article: WriteArticle) -> None:
    """With "latest" the newest of three versions of a story ranks first, though an older one matches best."""
    write_article("fares-november", f"Brindle Bay ferry fares: {FERRY}", published_at="2024-11-04")
    write_article("fares-january", FERRY.replace("single", "return"), published_at="2025-01-08")
    write_article("fares-march", FERRY.replace("single", "weekly"), published_at="2025-03-17")
    ids = ingest_articles(kb)
    # without the general news prior, so that the lift "latest" adds is what is measured
    retriever = NewsRetriever(kb=kb, k=3, prior_boost=0.0)
    as_of = date(2025, 3, 20)

    plain = retriever.invoke("Brindle Bay ferry fares", as_of=as_of)
    assert article_ids(plain)[0] == ids["fares-november"]
    latest = retriever.invoke("What is the latest on Brindle Bay ferry fares?", as_of=as_of)
    assert article_ids(latest)[0] == ids["fares-march"]


# ----------------------------------------------------------------------------- answers and chains


@pytest.mark.parametrize(
    ("question", "as_of", "prefix"),
    [
        ("What is Xiaomi's share price now?", date(2025, 1, 5), "As of 3 Jan 2025: "),
        (
            "What did the central bank of Norland decide last month?",
            date(2024, 12, 10),
            "As of 14 Nov 2024: ",
        ),
        ("How many homes lost power during Storm Idris?", date(2025, 1, 5), None),
        ("What is Xiaomi's 2025 delivery target?", date(2025, 1, 5), None),
    ],
)
def test_time_bound_answers_name_their_source_date(
    sample_kb: store.KnowledgeBase, question: str, as_of: date, prefix: str | None
) -> None:
    """Answers to questions about a time start with "As of <date of source [1]>:"; others do not."""
    answer = Newsdesk(sample_kb, BotSettings()).ask(question, as_of=as_of)
    assert answer.found, answer.text
    if prefix is None:
        assert not answer.text.startswith("As of")
    else:
        assert answer.text.startswith(prefix), answer.text
        assert answer.citations[0].published_at is not None
        assert prefix == f"As of {answer.citations[0].published_at.strftime('%-d %b %Y')}: "


def test_retriever_composes_in_other_chains(sample_kb: store.KnowledgeBase) -> None:
    """The retriever is a LangChain BaseRetriever: it pipes into other runnables and batches."""
    retriever = NewsRetriever(kb=sample_kb, k=3)
    assert isinstance(retriever, BaseRetriever)

    def titles(documents: list[Document]) -> list[str]:
        """The titles of the retrieved chunks."""
        return [str(document.metadata["title"]) for document in documents]

    chain = retriever.bind(as_of=LATE, k=1) | RunnableLambda(titles)
    (title,) = chain.invoke("Who is Priya Raman?")
    assert "routers" in title

    batched = retriever.batch(["KX-2291b", "Storm Idris power cuts"], as_of=LATE)
    assert [article_ids(documents)[0] for documents in batched] == [
        SAMPLE_IDS["exoplanet"],
        SAMPLE_IDS["storm"],
    ]
    assert all(len(documents) == 3 for documents in batched)
    early = retriever.batch(["KX-2291b", "Storm Idris power cuts"], as_of=date(2024, 12, 1))
    assert all(doc.metadata["article_id"] != SAMPLE_IDS["exoplanet"] for docs in early for doc in docs)
