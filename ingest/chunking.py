"""Sentence-aware chunking: about `max_tokens` word pieces per chunk, overlapping by whole sentences."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from store.records import Article, Chunk
from store.text import Sentence, split_sentences

TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True)
class Chunker:
    """Cuts articles into chunks that never split a sentence.

    Sentences are packed greedily up to `max_tokens`; the next chunk starts with the trailing
    sentences of the previous one that fit in `overlap_tokens`, so a fact that straddles a
    boundary is whole in at least one chunk. The one exception to "never split a sentence" is
    a single run of text longer than the model's window (a table, a list without stops) or than
    `max_chars` (a run without spaces, which the tokenizer counts as one unknown word): it is cut
    between words, or between characters when it has none, because the model would otherwise
    ignore its tail.
    """

    count_tokens: TokenCounter
    max_tokens: int = 200
    overlap_tokens: int = 40
    hard_limit: int = 250
    max_chars: int = 2_000
    """Characters of a chunk: news prose reaches 200 word pieces in about 1,200."""
    window: int = 254
    """Word pieces the model reads of a chunk with its title (256, less its two special tokens): a
    long title shrinks its article's chunks, so no chunk's text falls outside the window."""
    min_tokens: int = 32
    """The least a chunk is given, whatever its title."""

    def split(self, article: Article) -> list[Chunk]:
        """The chunks of one article."""
        return self.split_many([article])[0]

    def split_many(self, articles: Sequence[Article]) -> list[list[Chunk]]:
        """The chunks of several articles, counting all their tokens in one tokenizer call."""
        sentences = [split_sentences(article.body) for article in articles]
        flat = [s.text for group in sentences for s in group]
        counts = iter(self.count_tokens([*flat, *(article.title for article in articles)]))
        texts = [[(s, next(counts)) for s in group] for group in sentences]
        return [
            self._pack(article, group, title_tokens=next(counts))
            for article, group in zip(articles, texts, strict=True)
        ]

    def _pack(
        self, article: Article, sentences: list[tuple[Sentence, int]], *, title_tokens: int
    ) -> list[Chunk]:
        room = max(self.min_tokens, self.window - title_tokens)
        budget, hard_limit = min(self.max_tokens, room), min(self.hard_limit, room)
        pieces = [piece for sentence in sentences for piece in self._fit(*sentence, budget, hard_limit)]
        groups: list[list[tuple[Sentence, int]]] = []
        current: list[tuple[Sentence, int]] = []
        size = 0
        for sentence, tokens in pieces:
            chars = sum(len(s.text) for s, _ in current)
            if current and (size + tokens > budget or chars + len(sentence.text) > self.max_chars):
                groups.append(current)
                current = self._overlap(current, tokens, len(sentence.text), budget)
                size = sum(t for _, t in current)
            current.append((sentence, tokens))
            size += tokens
        if current:
            groups.append(current)
        chunks = []
        for position, group in enumerate(groups):
            text, spans = _join([sentence for sentence, _ in group])
            chunks.append(
                Chunk(
                    article_id=article.id,
                    content_hash=article.content_hash,
                    position=position,
                    text=text,
                    title=article.title,
                    url=article.url,
                    source=article.source,
                    published_at=article.published_at,
                    sentence_spans=spans,
                )
            )
        return chunks

    def _overlap(
        self, previous: list[tuple[Sentence, int]], incoming: int, incoming_chars: int, max_tokens: int
    ) -> list[tuple[Sentence, int]]:
        """Trailing sentences of the previous chunk that fit the overlap and leave room to grow."""
        kept: list[tuple[Sentence, int]] = []
        budget = min(self.overlap_tokens, max_tokens - incoming)
        chars = self.max_chars - incoming_chars
        for sentence, tokens in reversed(previous):
            if tokens > budget or len(sentence.text) > chars:
                break
            kept.insert(0, (sentence, tokens))
            budget -= tokens
            chars -= len(sentence.text)
        return kept

    def _fit(
        self, sentence: Sentence, tokens: int, max_tokens: int, hard_limit: int
    ) -> list[tuple[Sentence, int]]:
        """The sentence itself, or pieces of it when it exceeds the hard limit.

        Pieces break between words; text without spaces (Chinese, Japanese) breaks between
        characters.
        """
        if tokens <= hard_limit and len(sentence.text) <= self.max_chars:
            return [(sentence, tokens)]
        parts = max(math.ceil(tokens / max_tokens), math.ceil(len(sentence.text) / self.max_chars))
        words = sentence.text.split()
        if len(words) >= parts:
            step = math.ceil(len(words) / parts)
            texts = [" ".join(words[i : i + step]) for i in range(0, len(words), step)]
        else:
            step = math.ceil(len(sentence.text) / parts)
            texts = [sentence.text[i : i + step] for i in range(0, len(sentence.text), step)]
        pieces = [
            (Sentence(text, sentence.paragraph), count)
            for text, count in zip(texts, self.count_tokens(texts), strict=True)
        ]
        return [fitted for piece in pieces for fitted in self._fit(*piece, max_tokens, hard_limit)]


def _join(sentences: list[Sentence]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Sentences of one paragraph joined by a space, paragraphs by a blank line; and their spans."""
    out = sentences[0].text
    spans = [(0, len(out))]
    for previous, sentence in pairwise(sentences):
        out += " " if sentence.paragraph == previous.paragraph else "\n\n"
        spans.append((len(out), len(out) + len(sentence.text)))
        out += sentence.text
    return out, tuple(spans)
