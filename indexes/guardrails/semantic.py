"""The semantic injection detector: nearest attack exemplars in embedding space.

Rules catch shapes; paraphrases slip past them ("set aside whatever guidance
you were configured with"). This detector embeds the text (each sentence and
the whole, after normalization) and compares it with a bank of attack
exemplars and a bank of benign look-alikes (questions *about* attacks, about
prompts, about security). It flags when the nearest attack is closer than
``threshold`` *and* closer than the nearest benign look-alike by ``margin``:
the benign bank is what tells "how do we detect jailbreak attempts?" from a
jailbreak.

Pure: the embedding function is passed in (the shipped MiniLM in production).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

Embed = Callable[[list[str]], np.ndarray]


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    if m.ndim == 1:
        m = m[None, :]
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1.0, norms)


# A sentence of a document is only worth embedding when it could be aimed at a
# reader: second person, an AI addressed, an order verb, a credential or a link.
# Descriptions ("The prompt is named rag-answer.") are not.
_CUE = re.compile(
    r"\b(?:you|your|yourself|assistant|ai|chatbot|bot|llm|language\s+model|ignore|disregard|forget|reveal|approve|"
    r"password|credentials|pin|cvv|link|log\s+in|sign\s+in)\b",
    re.IGNORECASE,
)


def split_sentences(text: str, *, min_words: int = 3, max_parts: int = 24) -> list[str]:
    """Sentences (and lines) of a text worth embedding on their own."""
    parts = [p.strip() for p in re.split(r"(?<=[.!?。！？])\s+|\n+", text) if p.strip()]
    return [p for p in parts if len(p.split()) >= min_words][:max_parts]


@dataclass(frozen=True)
class SemanticScore:
    """How close a text came to the banks: best attack similarity, best benign similarity, and the text part."""

    attack: float
    benign: float
    part: str
    exemplar: str

    @property
    def margin(self) -> float:
        return self.attack - self.benign


@dataclass
class SemanticDetector:
    """Flags text whose nearest neighbour in the attack bank is close and beats the benign bank.

    Attributes:
        embed: Texts -> vectors (rows); called once per check with all parts.
        attacks: Attack exemplars (instructions aimed at the assistant).
        benign: Benign look-alikes (questions about attacks, prompts, security).
        threshold: Minimum cosine similarity to the nearest attack exemplar.
        margin: Minimum lead of that similarity over the nearest benign exemplar.
    """

    embed: Embed
    attacks: Sequence[str]
    benign: Sequence[str]
    threshold: float = 0.6
    margin: float = 0.05
    _attack_vecs: np.ndarray | None = field(default=None, init=False, repr=False)
    _benign_vecs: np.ndarray | None = field(default=None, init=False, repr=False)

    def _banks(self) -> tuple[np.ndarray, np.ndarray]:
        if self._attack_vecs is None:
            self._attack_vecs = _unit(self.embed(list(self.attacks)))
            self._benign_vecs = _unit(self.embed(list(self.benign))) if self.benign else np.zeros((0, self._attack_vecs.shape[1]), np.float32)
        return self._attack_vecs, self._benign_vecs  # type: ignore[return-value]

    def score(self, texts: Sequence[str]) -> SemanticScore:
        """The part (whole text or one sentence, of any variant) with the largest margin.

        Args:
            texts: The text's normalized variants (see ``normalize.variants``).
        """
        parts: list[str] = []
        for text in texts:
            long = len(text.split()) > 60
            # A long text (a retrieved chunk) is judged by its sentences, and only by
            # those that could address a reader: embedding every sentence of every
            # chunk would cost more than the answer.
            candidates = split_sentences(text) if long else [text, *split_sentences(text)]
            for p in candidates:
                p = p.strip()[:1000]
                if p and p not in parts and (not long or _CUE.search(p)):
                    parts.append(p)
        if not parts:
            return SemanticScore(0.0, 0.0, "", "")
        attacks, benign = self._banks()
        vecs = _unit(self.embed(parts))
        sim_a = vecs @ attacks.T
        best_a = sim_a.max(axis=1)
        best_b = (vecs @ benign.T).max(axis=1) if benign.shape[0] else np.zeros(len(parts), np.float32)
        # The part that is most attack-like *relative to* the benign bank.
        key = np.where(best_a >= self.threshold, best_a - best_b, -1.0 + best_a)
        i = int(np.argmax(key))
        return SemanticScore(
            attack=round(float(best_a[i]), 6),
            benign=round(float(best_b[i]), 6),
            part=parts[i],
            exemplar=self.attacks[int(np.argmax(sim_a[i]))],
        )

    def flags(self, s: SemanticScore) -> bool:
        """Whether a score is an attack: close enough to the attack bank and ahead of the benign bank."""
        return s.attack >= self.threshold and s.margin >= self.margin


def choose_threshold(attack_scores: Sequence[SemanticScore], benign_scores: Sequence[SemanticScore], *, margin: float,
                     max_false_positive: float = 0.02, grid: Sequence[float] | None = None) -> tuple[float, float, float]:
    """The lowest threshold whose benign flag rate stays at or under ``max_false_positive``.

    Lower thresholds catch more attacks, so the lowest acceptable one is taken.
    Run on the development split only.

    Returns:
        (threshold, detection rate on attacks, false-positive rate on benign texts).
    """
    grid = grid or [round(x, 3) for x in np.arange(0.30, 0.951, 0.01)]
    best = (grid[-1], 0.0, 0.0)
    for t in grid:
        fp = sum(s.attack >= t and s.margin >= margin for s in benign_scores) / max(1, len(benign_scores))
        if fp <= max_false_positive:
            det = sum(s.attack >= t and s.margin >= margin for s in attack_scores) / max(1, len(attack_scores))
            return t, det, fp
    return best
