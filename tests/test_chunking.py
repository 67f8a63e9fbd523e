"""Sentence splitting and sentence-aware chunking, measured with the real model's tokenizer."""

from __future__ import annotations

import json
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest

import store
from ingest.chunking import Chunker
from ingest.loaders import article_from_record
from store.records import Article, Chunk, parse_chunk_id
from store.text import split_sentences

TOPICS = ["ferry fares", "bus fares", "harbour fees", "tram tickets", "parking permits", "water bills"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July"]


def make_body(paragraphs: int = 5, per_paragraph: int = 5) -> str:
    """A made-up report of short, distinct sentences (each well under 24 word pieces)."""
    out = []
    for p in range(paragraphs):
        sentences = []
        for s in range(per_paragraph):
            n = p * per_paragraph + s + 1
            topic, month = TOPICS[n % len(TOPICS)], MONTHS[n % len(MONTHS)]
            if n % 3 == 0:
                sentences.append(f'"Item {n} is settled," said Dr. Okafor of the U.S. office in {month}.')
            elif n % 3 == 1:
                sentences.append(f"In item {n}, {topic} rose by {n}.25 percent in {month}.")
            else:
                sentences.append(f"Did item {n} change the {topic} outlook for {month}?")
        out.append(" ".join(sentences))
    return "\n\n".join(out)


def make_article(
    body: str,
    *,
    article_id: str = "report-1",
    url: str | None = "https://news.test/fares",
    source: str | None = "Test Wire",
    published_at: date | None = date(2025, 1, 15),
    title: str = "Fares report",
) -> Article:
    """An article titled "Fares report" around a body, with full metadata unless told otherwise."""
    return Article(id=article_id, title=title, body=body, url=url, source=source, published_at=published_at)


def sentence_run(chunk_text: str, sentences: list[str]) -> tuple[int, int]:
    """Indexes (first, last) of the consecutive sentences the chunk is made of; fails if there are none."""
    for first, sentence in enumerate(sentences):
        if not chunk_text.startswith(sentence):
            continue
        rest, last = chunk_text[len(sentence) :], first
        while rest and last + 1 < len(sentences):
            separator = rest[: len(rest) - len(rest.lstrip())]
            if separator not in (" ", "\n\n") or not rest.lstrip().startswith(sentences[last + 1]):
                break
            last += 1
            rest = rest.lstrip()[len(sentences[last]) :]
        if not rest:
            return first, last
    raise AssertionError(f"chunk is not a run of whole sentences: {chunk_text[:80]!r}")


@pytest.fixture
def chunker(embeddings: store.SentenceTransformerEmbeddings) -> Chunker:
    """A small-window chunker with the real token counter, so a short article makes many chunks."""
    return Chunker(count_tokens=embeddings.count_tokens, max_tokens=64, overlap_tokens=24)


BUDGETS = [(64, 24), (120, 40), (200, 40), (64, 0)]


@pytest.mark.parametrize(("max_tokens", "overlap"), BUDGETS)
def test_chunks_fit_the_token_budget(
    embeddings: store.SentenceTransformerEmbeddings, max_tokens: int, overlap: int
) -> None:
    """Every chunk has at most max_tokens word pieces, as the model's tokenizer counts them."""
    chunker = Chunker(embeddings.count_tokens, max_tokens=max_tokens, overlap_tokens=overlap)
    chunks = chunker.split(make_article(make_body(8, 6)))
    assert len(chunks) > 1
    assert max(embeddings.count_tokens([chunk.text for chunk in chunks])) <= max_tokens


@pytest.mark.parametrize(("max_tokens", "overlap"), BUDGETS)
def test_chunks_are_runs_of_whole_sentences(
    embeddings: store.SentenceTransformerEmbeddings, max_tokens: int, overlap: int
) -> None:
    """Each chunk is consecutive whole sentences, and together the chunks cover every sentence in order."""
    article = make_article(make_body(8, 6))
    sentences = [s.text for s in split_sentences(article.body)]
    chunks = Chunker(embeddings.count_tokens, max_tokens=max_tokens, overlap_tokens=overlap).split(article)
    runs = [sentence_run(chunk.text, sentences) for chunk in chunks]
    for chunk, (first, last) in zip(chunks, runs, strict=True):
        assert chunk.sentences == sentences[first : last + 1]  # the spans name the same sentences
    assert runs[0][0] == 0
    assert runs[-1][1] == len(sentences) - 1
    for (first, last), (next_first, next_last) in pairwise(runs):
        assert first < next_first <= last + 1  # progress, and no sentence skipped
        assert next_last > last
    for sentence in sentences:
        assert any(sentence in chunk.text for chunk in chunks)


def test_consecutive_chunks_overlap_by_whole_sentences(
    chunker: Chunker, embeddings: store.SentenceTransformerEmbeddings
) -> None:
    """The next chunk starts with trailing whole sentences of the previous one, within the overlap budget."""
    article = make_article(make_body())
    sentences = [s.text for s in split_sentences(article.body)]
    assert max(embeddings.count_tokens(sentences)) <= chunker.overlap_tokens  # so an overlap always fits
    runs = [sentence_run(chunk.text, sentences) for chunk in chunker.split(article)]
    assert len(runs) >= 4
    for (_, last), (next_first, _) in pairwise(runs):
        shared = sentences[next_first : last + 1]
        assert shared, "consecutive chunks share no sentence"
        assert sum(embeddings.count_tokens(shared)) <= chunker.overlap_tokens


def test_no_overlap_when_the_budget_is_zero(embeddings: store.SentenceTransformerEmbeddings) -> None:
    """With overlap_tokens=0 consecutive chunks abut exactly."""
    article = make_article(make_body())
    sentences = [s.text for s in split_sentences(article.body)]
    chunks = Chunker(embeddings.count_tokens, max_tokens=64, overlap_tokens=0).split(article)
    runs = [sentence_run(chunk.text, sentences) for chunk in chunks]
    assert all(next_first == last + 1 for (_, last), (next_first, _) in pairwise(runs))


def test_paragraphs_are_kept_apart_inside_a_chunk(embeddings: store.SentenceTransformerEmbeddings) -> None:
    """Sentences of one paragraph are joined by a space, paragraphs by a blank line."""
    body = "First paragraph opens. It closes.\n\nSecond paragraph stands alone."
    (chunk,) = Chunker(embeddings.count_tokens).split(make_article(body))
    assert chunk.text == body


def test_chunks_carry_the_article_fields(chunker: Chunker) -> None:
    """Each chunk carries title, date, url, source, its article's id and hash, and its position."""
    article = make_article(make_body())
    chunks = chunker.split(article)
    assert [chunk.position for chunk in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert (chunk.article_id, chunk.content_hash) == (article.id, article.content_hash)
        assert (chunk.title, chunk.url, chunk.source, chunk.published_at) == (
            "Fares report",
            "https://news.test/fares",
            "Test Wire",
            date(2025, 1, 15),
        )
        assert chunk.embedding_text == f"Fares report\n{chunk.text}"
        meta = chunk.metadata()
        assert meta["published_at"] == "2025-01-15"
        assert meta["published_day"] == 20250115
        assert Chunk.from_metadata(chunk.text, meta) == chunk
        assert parse_chunk_id(chunk.id) == (article.id, article.content_hash[:16], chunk.position)


def test_chunk_ids_survive_a_separator_in_the_article_id(chunker: Chunker) -> None:
    """An article id containing '#' still parses back from its chunk ids."""
    article = make_article(
        "One short sentence.", article_id="feed#42", url=None, source=None, published_at=None
    )
    (chunk,) = chunker.split(article)
    assert parse_chunk_id(chunk.id) == ("feed#42", article.content_hash[:16], 0)
    meta = chunk.metadata()
    assert not {"url", "source", "published_at"} & set(meta)
    assert meta["published_day"] == 0


def test_sentence_over_max_but_within_the_window_is_not_cut(
    embeddings: store.SentenceTransformerEmbeddings,
) -> None:
    """A single sentence longer than max_tokens but within the hard limit stays whole, in its own chunk."""
    long_sentence = "The report lists " + ", ".join(f"station {n}" for n in range(1, 80)) + "."
    tokens = embeddings.count_tokens([long_sentence])[0]
    chunker = Chunker(embeddings.count_tokens, max_tokens=200, overlap_tokens=40, hard_limit=250)
    assert 200 < tokens <= 250
    chunks = chunker.split(make_article(f"Short opener here. {long_sentence} Short closer here."))
    assert [chunk.text for chunk in chunks] == ["Short opener here.", long_sentence, "Short closer here."]


def test_run_longer_than_the_window_is_cut_between_words(
    embeddings: store.SentenceTransformerEmbeddings,
) -> None:
    """A run of words past the hard limit is cut between words into pieces the model can read whole."""
    words = [f"row{n}" for n in range(400)]
    chunker = Chunker(embeddings.count_tokens, max_tokens=200, overlap_tokens=40, hard_limit=250)
    chunks = chunker.split(make_article(" ".join(words)))
    assert len(chunks) > 1
    assert max(embeddings.count_tokens([chunk.text for chunk in chunks])) <= chunker.hard_limit
    assert " ".join(chunk.text for chunk in chunks).split() == words


def test_run_without_spaces_longer_than_the_window_is_cut(
    embeddings: store.SentenceTransformerEmbeddings,
) -> None:
    """A CJK run with no spaces and no full stop is still cut to fit the model's window."""
    run = "小米集团的股价在开盘后迅速上涨" * 30
    chunker = Chunker(embeddings.count_tokens, max_tokens=200, overlap_tokens=40, hard_limit=250)
    chunks = chunker.split(make_article(run))
    assert max(embeddings.count_tokens([chunk.text for chunk in chunks])) <= chunker.hard_limit
    assert "".join(chunk.text for chunk in chunks) == run


def test_dev_corpus_articles_chunk_within_budget(
    shared_dir: Path, embeddings: store.SentenceTransformerEmbeddings
) -> None:
    """Real news prose from the evaluation corpus keeps every chunk within budget and every sentence whole."""
    with (shared_dir / "eval" / "dev_corpus.jsonl").open(encoding="utf-8") as lines:
        records = [json.loads(next(lines)) for _ in range(6)]
    chunker = Chunker(embeddings.count_tokens, max_tokens=200, overlap_tokens=40, hard_limit=250)
    for record in records:
        article = article_from_record(record, "dev_corpus")
        chunks = chunker.split(article)
        sentences = [s.text for s in split_sentences(article.body)]
        sizes = dict(zip(sentences, embeddings.count_tokens(sentences), strict=True))
        over_max = [sentence for sentence, size in sizes.items() if size > chunker.max_tokens]
        for chunk, size in zip(chunks, embeddings.count_tokens([c.text for c in chunks]), strict=True):
            # only (a piece of) a single over-long sentence may exceed the budget
            assert size <= chunker.max_tokens or any(chunk.text in sentence for sentence in over_max)
            assert size <= chunker.hard_limit
        for sentence, size in sizes.items():
            assert size > chunker.hard_limit or any(sentence in chunk.text for chunk in chunks)


# ----------------------------------------------------------------------------- sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mr. Smith went to Washington. He met Dr. Jones there.",
            ["Mr. Smith went to Washington.", "He met Dr. Jones there."],
        ),
        (
            "The U.S. Senate voted on Tuesday. The bill passed.",
            ["The U.S. Senate voted on Tuesday.", "The bill passed."],
        ),
        (
            "Shares closed at HKD 36.25 on Friday. They had risen 6.62% by noon.",
            ["Shares closed at HKD 36.25 on Friday.", "They had risen 6.62% by noon."],
        ),
        (
            "The book by J. R. Tolkien sold well. Fans queued.",
            ["The book by J. R. Tolkien sold well.", "Fans queued."],
        ),
        (
            '"We will win," he said. "Nobody doubts it." The crowd cheered.',
            ['"We will win," he said.', '"Nobody doubts it."', "The crowd cheered."],
        ),
        ("He said “Stop.” She stopped.", ["He said “Stop.”", "She stopped."]),
        ("What a day! Who knew? Nobody did.", ["What a day!", "Who knew?", "Nobody did."]),
        (
            "小米股价创新高。市场反应积极！投资者满意吗？是的。",
            ["小米股价创新高。", "市场反应积极！", "投资者满意吗？", "是的。"],
        ),
        ("Prices rose in Jan. 2024 as expected.", ["Prices rose in Jan. 2024 as expected."]),
        ("The firm, Acme Inc., grew fast. It hired.", ["The firm, Acme Inc., grew fast.", "It hired."]),
        ("The score was 3-1. 41,387 fans watched.", ["The score was 3-1.", "41,387 fans watched."]),
        ("Wait... what happened? Nothing", ["Wait... what happened?", "Nothing"]),
    ],
)
def test_sentence_splitter(text: str, expected: list[str]) -> None:
    """Abbreviations, initials, decimals and quotes do not end a sentence; real ends do, CJK included."""
    assert [s.text for s in split_sentences(text)] == expected


def test_sentences_know_their_paragraph() -> None:
    """Sentences carry the index of their paragraph; soft-wrapped lines are joined."""
    text = (
        "A long first line of a paragraph that wraps in the middle of its\n"
        "sentence and ends here.\n\nSecond paragraph. Its second sentence."
    )
    sentences = split_sentences(text)
    assert [(s.text, s.paragraph) for s in sentences] == [
        ("A long first line of a paragraph that wraps in the middle of its sentence and ends here.", 0),
        ("Second paragraph.", 1),
        ("Its second sentence.", 1),
    ]


def test_a_run_without_spaces_the_tokenizer_counts_as_one_word_is_cut(
    embeddings: store.SentenceTransformerEmbeddings,
) -> None:
    """A long run with no spaces is one unknown word to the tokenizer; it is cut by characters."""
    run = "x" * 50_000
    chunker = Chunker(embeddings.count_tokens, max_tokens=200, overlap_tokens=40, max_chars=2_000)
    chunks = chunker.split(make_article(run))
    assert max(len(chunk.text) for chunk in chunks) <= 2_000
    assert "".join(chunk.text for chunk in chunks) == run


def test_a_long_title_shrinks_its_chunks_so_the_text_stays_in_the_window(
    embeddings: store.SentenceTransformerEmbeddings,
) -> None:
    """The title is embedded with every chunk: a title of many word pieces leaves less room, and no
    chunk's text falls outside the model's window."""
    title = "Q3 2024: ΔΣ-7/β 0.0937 ≈ 41.5% @ ₿ " * 6  # about 200 characters, far more word pieces
    body = " ".join(f"Sentence number {n} says the ferry sailed on time to the island." for n in range(60))
    chunker = Chunker(embeddings.count_tokens, max_tokens=200, overlap_tokens=40)
    article = make_article(body, title=title)
    chunks = chunker.split(article)
    assert embeddings.count_tokens([title])[0] > 100
    assert max(embeddings.count_tokens([chunk.embedding_text for chunk in chunks])) <= 254
    assert " ".join(c.text for c in chunks).count("Sentence number 59") >= 1
