"""The embedding model's precision: bf16 where the CPU computes it natively, vectors that stay
comparable with fp32 ones (so one store can hold both), and the sentence vectors from the same pass."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import numpy as np
import pytest

import ingest
import store
from store import embeddings as store_embeddings
from store.embeddings import resolve_precision, span_means


@pytest.mark.parametrize(
    ("asked", "flags", "device", "chosen"),
    [
        ("auto", {"avx512f", "amx_bf16", "amx_tile"}, "cpu", "bf16"),
        ("auto", {"avx512f", "avx512_bf16"}, "cpu", "bf16"),
        ("auto", {"avx2", "fma"}, "cpu", "fp32"),
        ("auto", set(), "cpu", "fp32"),  # not Linux, or flags unknown
        ("auto", {"amx_bf16"}, "cuda", "fp32"),
        ("fp32", {"amx_bf16"}, "cpu", "fp32"),
        ("bf16", {"avx2"}, "cpu", "bf16"),
    ],
)
def test_auto_precision_follows_the_cpu_and_an_explicit_one_wins(
    asked: str, flags: set[str], device: str, chosen: str
) -> None:
    assert resolve_precision(asked, device, frozenset(flags)) == chosen  # type: ignore[arg-type]


def test_the_setting_reaches_the_model() -> None:
    settings = store.StoreSettings(embedding_precision="fp32")
    assert store.SentenceTransformerEmbeddings(precision=settings.embedding_precision).precision == "fp32"
    with pytest.raises(ValueError, match="embedding_precision"):
        store.StoreSettings(embedding_precision="int4")  # type: ignore[arg-type]


def test_bf16_vectors_match_fp32_ones_and_keep_the_neighbours() -> None:
    """Passages of the samples, their sentences and questions, embedded both ways: the same
    vectors up to bf16 rounding (cosine >= 0.996), unit length in float32, and every question's
    nearest passages in the same order."""
    fp32 = store.SentenceTransformerEmbeddings(precision="fp32")
    bf16 = store.SentenceTransformerEmbeddings(precision="bf16")
    chunker = ingest.Chunker(fp32.count_tokens, max_tokens=200, overlap_tokens=40)
    articles = [
        item
        for item in ingest.load_paths([ingest.samples_dir()], 50_000_000)
        if isinstance(item, store.Article)
    ]
    # two passages per article: every story, at a third of the encoding (bf16 is slow without AMX)
    chunks = [chunk for article in articles for chunk in chunker.split(article)[:2]]
    texts = [chunk.embedding_text for chunk in chunks]
    spans = [chunk.embedding_spans for chunk in chunks]
    (a, a_sentences), (b, b_sentences) = (
        fp32.encode_passages(texts, spans),
        bf16.encode_passages(texts, spans),
    )
    assert a.dtype == b.dtype == np.float32 and np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(a * b, axis=1))) >= 0.996
    assert (
        min(float(np.min(np.sum(x * y, axis=1))) for x, y in zip(a_sentences, b_sentences, strict=True))
        >= 0.99
    )
    questions = [
        "What is the 2025 delivery target?",
        "How much will the tram line cost?",
        "Who scored twice in the derby?",
        "Which routers have the security flaw?",
        "How strong were the gusts during the storm?",
    ]
    for question in questions:
        q32, q16 = fp32.query_vector(question), bf16.query_vector(question)
        assert float(q32 @ q16) >= 0.996
        assert list(np.argsort(-(a @ q32))[:3]) == list(np.argsort(-(b @ q16))[:3])


def test_word_vectors_are_static_unit_vectors_alike_for_alike_words(
    embeddings: store.SentenceTransformerEmbeddings,
) -> None:
    """`word_vector` reads the model's input embeddings (no forward pass): unit length, the same every
    time, and nearer for words alike in meaning; a word of several pieces is their mean."""
    cost, price, compensation = (embeddings.word_vector(w) for w in ("cost", "price", "compensation"))
    assert np.linalg.norm(cost) == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(cost, embeddings.word_vector("cost"))
    assert float(cost @ price) > float(cost @ compensation) + 0.2
    assert np.linalg.norm(embeddings.word_vector("Linkwave")) == pytest.approx(1.0, abs=1e-5)


def test_span_means_pool_the_pieces_starting_inside_each_span() -> None:
    """Special tokens and padding ((0, 0) offsets) belong to no span; a span with no piece is
    reported as such, with a zero row."""
    rng = np.random.default_rng(7)
    tokens = rng.standard_normal((8, 4)).astype(np.float32)
    # [CLS], "Rates" "rose" ".", "They" "fell", [SEP], padding
    offsets = np.array([[0, 0], [0, 5], [6, 10], [10, 11], [12, 16], [17, 21], [0, 0], [0, 0]])
    pooled, found = span_means(tokens, offsets, [(0, 11), (12, 21), (30, 40)])
    expected = [tokens[1:4].mean(axis=0), tokens[4:6].mean(axis=0)]
    for row, mean in enumerate(expected):
        assert np.allclose(pooled[row], mean / np.linalg.norm(mean), atol=1e-6)
    assert found.tolist() == [True, True, False] and not pooled[2].any()


def test_passage_vectors_are_the_models_own_and_a_cut_off_sentence_falls_back() -> None:
    """`encode_passages` batches, pads and pools by itself (to keep the offsets): its passage
    vectors are `SentenceTransformer.encode`'s, whatever the batch mixes; a sentence past the
    model's 256-token window gets its passage's vector."""
    model = store.SentenceTransformerEmbeddings(precision="fp32", batch_size=2)
    long = "Shares rose. " + "The council met again on Tuesday to discuss the budget. " * 40 + "Rain fell."
    texts = ["Rates rose by a quarter point.", long, "The derby ended 2-1.", "Storm Idris closed ports."]
    spans = [[(0, 30)], [(0, 12), (len(long) - 10, len(long))], [(0, 20)], [(0, 25)]]
    vectors, sentences = model.encode_passages(texts, spans)
    own = model.model.encode(texts, batch_size=16, normalize_embeddings=True)  # sentence-transformers' path
    assert float(np.min(np.sum(vectors * own, axis=1))) >= 0.9999
    assert [len(s) for s in sentences] == [1, 2, 1, 1]
    assert np.allclose(sentences[1][1], vectors[1])  # "Rain fell." is past the window
    assert float(sentences[1][0] @ vectors[1]) < 0.99
    # a one-sentence passage: its sentence is the whole text but [CLS] and [SEP]
    assert float(sentences[0][0] @ vectors[0]) > 0.95


def test_every_forward_pass_runs_on_the_one_model_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Callers on any thread (LangChain starts one per question) share one thread for the model,
    so PyTorch keeps one OpenMP team; what they get back is the same."""
    model = store.SentenceTransformerEmbeddings(precision="fp32")
    expected = model.encode(["Rates rose.", "The derby ended 2-1."])
    threads: list[str] = []
    forward = store_embeddings._forward

    def recording(*args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return forward(*args)

    monkeypatch.setattr(store_embeddings, "_forward", recording)
    results: list[np.ndarray] = []
    callers = [
        threading.Thread(target=lambda: results.append(model.encode(["Rates rose.", "The derby ended 2-1."])))
        for _ in range(3)
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    model._query_cache.clear()
    model.query_vector("Who scored?")
    assert len(threads) == 4 and {name.split("_")[0] for name in threads} == {"newsdesk-model"}
    assert all(np.allclose(result, expected, atol=1e-6) for result in results)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_its_own_model_thread() -> None:
    """The parent's model thread does not exist in a forked child: it must not wait on it forever."""
    model = store.SentenceTransformerEmbeddings(precision="fp32")
    parent = model.encode(["Rates rose."])
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only with the parent's vector
        os._exit(0 if np.allclose(model.encode(["Rates rose."]), parent, atol=1e-5) else 3)
    for _ in range(600):  # up to 60 s
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung on the parent's model thread")
    assert os.waitstatus_to_exitcode(status) == 0
