"""A FAKE embedding for unit tests: word counts over a tiny vocabulary, standing in for MiniLM."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np


def bag_of_words_embed(vocab: Sequence[str]) -> Callable[[list[str]], np.ndarray]:
    """A deterministic embed function: each text's counts of ``vocab``'s words (plus a constant)."""
    words_of = list(vocab)

    def embed(texts):
        rows = []
        for t in texts:
            words = re.findall(r"[a-z]+", t.lower())
            rows.append([words.count(w) for w in words_of] + [0.1])
        return np.asarray(rows, dtype=np.float32)

    return embed
