"""The trained injection classifier: logistic regression on an embedding and character n-grams.

Rules catch shapes and the nearest-exemplar detector catches close
paraphrases; both were written against the cases they were tuned on, and each
new blind set showed how little that generalizes. This detector is *learned*
from every labelled development text instead, on two views that carry across
wording, language and disguise:

* the MiniLM sentence embedding of the normalized text (the vector the
  semantic detector already computed for it: ``embed`` is the process's cached
  embedder, so no text is embedded twice);
* hashed character n-grams (``char_wb``, 2 to 5) of the normalized text: no
  vocabulary file, and robust to inflection, typos and the languages the
  embedding model reads poorly.

Logistic regression with balanced class weights; the threshold is chosen by
leave-one-set-out cross-validation over the development files
(``bench/guardrails.py --cv``). The fitted model is three arrays
(``ClassifierWeights``), so scoring is a sparse dot product (well under a
millisecond) and the model is saved and loaded by ``infra.clients.injection_model``.

Pure: the embedding function and the weights are passed in; fitting is
deterministic (``liblinear`` with a fixed seed).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

from indexes.guardrails.semantic import _unit  # the semantic detector's row normalisation

Embed = Callable[[list[str]], np.ndarray]

N_HASH_FEATURES = 2**18
NGRAM_RANGE = (2, 5)
# Texts longer than this (retrieved chunks) are not scored as a whole: the classifier was trained on
# questions and instructions, and a chunk's ordinary prose would only dilute an order hidden inside it.
# A chunk is scored by its sentences that could address a reader (the ones the semantic detector embeds).
MAX_WORDS = 60
# The embedding's share against the n-grams (both rows have unit length): 0.5 did best in
# leave-one-set-out cross-validation (0.25 .. 2 tried), i.e. the n-grams lead.
EMBED_WEIGHT = 0.5


@lru_cache(maxsize=1)
def _hasher():  # stateless, so one per process
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, n_features=N_HASH_FEATURES,
                             alternate_sign=False, norm="l2", lowercase=True, dtype=np.float32)


def feature_matrix(texts: Sequence[str], vecs: np.ndarray):
    """Rows of [hashed character n-grams (unit length) | unit embedding * ``EMBED_WEIGHT``], one per text (sparse)."""
    from scipy import sparse

    chars = _hasher().transform(list(texts))
    return sparse.hstack([chars, sparse.csr_matrix(_unit(vecs) * EMBED_WEIGHT)], format="csr")


@dataclass(frozen=True, eq=False)
class ClassifierWeights:
    """A fitted model: weights of the n-gram and embedding features, the intercept, and the training data's hash."""

    chars: np.ndarray
    embedding: np.ndarray
    intercept: float
    data_hash: str = ""

    def probabilities(self, texts: Sequence[str], vecs: np.ndarray) -> np.ndarray:
        """P(injection) for each text, given its embedding."""
        chars = _hasher().transform(list(texts))
        z = chars @ self.chars + _unit(vecs) @ self.embedding + self.intercept
        return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


def fit_classifier(texts: Sequence[str], vecs: np.ndarray, labels: Sequence[int], *, c: float = 16.0,
                   data_hash: str = "") -> ClassifierWeights:
    """Fits the logistic regression (balanced class weights, deterministic).

    Args:
        texts: Normalized training texts.
        vecs: Their embeddings (rows, same order).
        labels: 1 for an injection, 0 for anything else.
        c: Inverse regularization strength.
        data_hash: Recorded with the weights (which training data made them).

    Returns:
        The fitted weights.

    Raises:
        ValueError: Fewer than two classes among the labels.
    """
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(labels, dtype=int)
    if len(set(y.tolist())) < 2:
        raise ValueError("fit_classifier needs injections and non-injections")
    model = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", max_iter=2000, random_state=0)
    model.fit(feature_matrix(texts, vecs), y)
    coef = model.coef_[0].astype(np.float32)
    # The embedding's weight is folded into its coefficients, so scoring needs no constant.
    return ClassifierWeights(chars=coef[:N_HASH_FEATURES].copy(), embedding=coef[N_HASH_FEATURES:] * np.float32(EMBED_WEIGHT),
                             intercept=float(model.intercept_[0]), data_hash=data_hash)


@dataclass(frozen=True)
class ClassifierScore:
    """The classifier's highest probability over a text's readings, that reading, and whether it was a chunk's sentence."""

    probability: float
    part: str
    in_document: bool = False


@dataclass(eq=False)
class InjectionClassifier:
    """Flags text whose probability of being an injection reaches ``threshold``.

    Attributes:
        embed: Texts -> vectors; the semantic detector's (cached) embedder, so the
            readings it already embedded are not embedded again.
        weights: The fitted model.
        threshold: Minimum probability (chosen by leave-one-set-out cross-validation).
        document_threshold: Minimum probability for a sentence of a long text (a chunk);
            ``None`` leaves long texts unscored.
    """

    embed: Embed
    weights: ClassifierWeights
    threshold: float = 0.5
    document_threshold: float | None = None

    def score(self, forms: Sequence[str]) -> ClassifierScore:
        """The highest probability (relative to its threshold) over the text's normalized readings (``normalize.variants``).

        A long text (a retrieved chunk) is scored by its sentences that could address a
        reader, when ``document_threshold`` is set (see ``MAX_WORDS``).
        """
        from indexes.guardrails.semantic import _CUE, split_sentences

        parts: dict[str, bool] = {}
        for f in forms:
            if len(f.split()) <= MAX_WORDS:
                parts.setdefault(f.strip()[:1000], False)
            elif self.document_threshold is not None:
                for p in split_sentences(f):
                    if _CUE.search(p):
                        parts.setdefault(p.strip()[:1000], True)
        parts.pop("", None)
        if not parts:
            return ClassifierScore(0.0, "")
        texts = list(parts)
        p = self.weights.probabilities(texts, np.asarray(self.embed(texts)))
        lead = [pi - (self.document_threshold if parts[t] else self.threshold) for pi, t in zip(p, texts)]  # type: ignore[operator]
        i = int(np.argmax(lead))
        return ClassifierScore(round(float(p[i]), 6), texts[i], parts[texts[i]])

    def flags(self, s: ClassifierScore) -> bool:
        """Whether a score is an attack (a chunk's sentence against ``document_threshold``)."""
        if s.in_document:
            return self.document_threshold is not None and s.probability >= self.document_threshold
        return s.probability >= self.threshold
