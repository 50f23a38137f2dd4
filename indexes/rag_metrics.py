"""Deterministic retrieval and answer metrics for the RAG evaluation.

Retrieval metrics work on document ids. A retrieved list holds one entry per
chunk, so the same document may appear several times; it is deduplicated
keeping its first (best) rank, because finding a document twice does not make
the retrieval better. Answer metrics work on sentence embeddings computed by
the caller, so this module stays free of any model and gives the same number
for the same inputs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from typing import Collection, Sequence

import numpy as np


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")


def _distinct(retrieved: Sequence[str]) -> list[str]:
    # dict keeps insertion order: each id at the rank it first appeared.
    return list(dict.fromkeys(retrieved))


def hit_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Whether any relevant document is among the first ``k`` distinct retrieved ones.

    Args:
        retrieved: Document ids in rank order (duplicates allowed).
        relevant: Ids of the relevant documents.
        k: Cut-off, counted in distinct documents.

    Returns:
        1.0 on a hit, else 0.0 (also when ``relevant`` is empty).

    Raises:
        ValueError: If ``k`` < 1.
    """
    _check_k(k)
    wanted = set(relevant)
    return 1.0 if any(doc in wanted for doc in _distinct(retrieved)[:k]) else 0.0


def reciprocal_rank(retrieved: Sequence[str], relevant: Collection[str]) -> float:
    """One over the rank of the first relevant document (distinct ranks).

    Args:
        retrieved: Document ids in rank order (duplicates allowed).
        relevant: Ids of the relevant documents.

    Returns:
        ``1 / rank`` of the first relevant document, 0.0 if none was retrieved.
    """
    wanted = set(relevant)
    for rank, doc in enumerate(_distinct(retrieved), start=1):
        if doc in wanted:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Normalized discounted cumulative gain at ``k`` with binary relevance.

    A relevant document at (distinct) rank ``r`` gains ``1 / log2(r + 1)``; the
    ideal ranking puts ``min(k, len(relevant))`` relevant documents first.

    Args:
        retrieved: Document ids in rank order (duplicates allowed).
        relevant: Ids of the relevant documents.
        k: Cut-off, counted in distinct documents.

    Returns:
        nDCG in [0, 1]; 0.0 when ``relevant`` is empty (there is nothing to rank).

    Raises:
        ValueError: If ``k`` < 1.
    """
    _check_k(k)
    wanted = set(relevant)
    if not wanted:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, doc in enumerate(_distinct(retrieved)[:k], start=1) if doc in wanted)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, len(wanted)) + 1))
    return dcg / ideal


def context_precision(retrieved: Sequence[str], relevant: Collection[str]) -> float:
    """Share of the distinct retrieved documents that are relevant.

    Args:
        retrieved: Document ids (duplicates allowed).
        relevant: Ids of the relevant documents.

    Returns:
        The share in [0, 1]; 0.0 when nothing was retrieved.
    """
    docs = _distinct(retrieved)
    if not docs:
        return 0.0
    wanted = set(relevant)
    return sum(doc in wanted for doc in docs) / len(docs)


def context_recall(retrieved: Sequence[str], relevant: Collection[str]) -> float:
    """Share of the relevant documents that were retrieved.

    Args:
        retrieved: Document ids (duplicates allowed).
        relevant: Ids of the relevant documents.

    Returns:
        The share in [0, 1]; 1.0 when ``relevant`` is empty (nothing was missed).
    """
    wanted = set(relevant)
    if not wanted:
        return 1.0
    return len(wanted & set(retrieved)) / len(wanted)


# --- Sentences and citations -------------------------------------------------

# Any bracketed text on one line; which parts are doc ids is decided by _is_doc_id.
_BRACKET = re.compile(r"\[([^\[\]\n]+)\]")
_FILE_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,5}$")
# A piece made only of bracketed tokens and punctuation: "[a/b.md]", "[x.md]; [y.md]."
_ONLY_MARKERS = re.compile(r"^(?:\[[^\[\]\n]*\][\s.,;:!?]*)+$")
# Bare list numbering left over by the split: "1." or "2)".
_ENUMERATOR = re.compile(r"^\(?\d{1,3}[.)]$")
_BULLET = re.compile(r"^(?:[-*\u2022]\s+)+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    """Splits text into sentences with simple, predictable rules.

    Splits on newlines and after ``.``, ``!`` or ``?`` followed by whitespace,
    strips each piece and leading list bullets, and drops empty pieces and list
    numbers. A piece that is only citation markers (``[policy/x.md]``) is not a
    sentence of its own: it is appended to the sentence before it, so that
    "DTI must stay below 43%. [policy/03.md]" keeps its citation; with no
    sentence before it, it is dropped.

    Args:
        text: An answer or a context passage.

    Returns:
        The sentences, in order.
    """
    sentences: list[str] = []
    for line in text.splitlines():
        for piece in _SENTENCE_END.split(line):
            piece = _BULLET.sub("", piece.strip()).strip()
            if not piece or _ENUMERATOR.match(piece) or not any(ch.isalnum() for ch in piece):
                continue
            if _ONLY_MARKERS.match(piece):
                if sentences:
                    sentences[-1] = f"{sentences[-1]} {piece}"
                continue
            sentences.append(piece)
    return sentences


def _is_doc_id(token: str) -> bool:
    if not token or any(ch.isspace() for ch in token) or "://" in token:
        return False
    return "/" in token or bool(_FILE_EXTENSION.search(token))


def extract_citations(answer: str) -> list[str]:
    """Document ids cited in square brackets, e.g. ``[policy/03-debt-to-income.md]``.

    A bracketed token counts when it has no spaces and contains a ``/`` or ends
    in a file extension; ``[1]`` or ``[INST]`` do not count, nor do URLs. One
    bracket may hold several ids separated by commas or semicolons.

    Args:
        answer: Answer text.

    Returns:
        Unique ids in order of first appearance.
    """
    cited: dict[str, None] = {}
    for m in _BRACKET.finditer(answer):
        for token in re.split(r"[,;]", m.group(1)):
            token = token.strip()
            if _is_doc_id(token):
                cited.setdefault(token, None)
    return list(cited)


# --- Embedding-based answer metrics -------------------------------------------


def _as_matrix(vectors: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(vectors, dtype=float)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1) if arr.size else arr.reshape(0, 0)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (sentences x dimensions), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _normalize_rows(arr: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    # A zero vector has no direction: leave it zero so its similarity is 0.
    return np.divide(arr, norms, out=np.zeros_like(arr), where=norms > 0)


def faithfulness(answer_sentences_vecs: np.ndarray, context_sentence_vecs: np.ndarray, threshold: float = 0.75) -> float:
    """Share of answer sentences supported by some context sentence.

    A sentence is supported when its best cosine similarity to any context
    sentence reaches ``threshold``. Vectors need not be normalized.

    Args:
        answer_sentences_vecs: One embedding per answer sentence, shape (n, d).
        context_sentence_vecs: One embedding per context sentence, shape (m, d).
        threshold: Lowest cosine similarity that counts as support.

    Returns:
        The share in [0, 1]. 0.0 when the answer has no sentences (an empty
        answer asserts nothing, so it earns no credit) or there is no context.

    Raises:
        ValueError: If the dimensions differ, the arrays are not 2-D, or hold NaN/inf.
    """
    answer = _as_matrix(answer_sentences_vecs, "answer_sentences_vecs")
    context = _as_matrix(context_sentence_vecs, "context_sentence_vecs")
    if answer.shape[0] and context.shape[0] and answer.shape[1] != context.shape[1]:
        raise ValueError(
            f"dimension mismatch: answer vectors have {answer.shape[1]} dimensions, context vectors {context.shape[1]}"
        )
    if answer.shape[0] == 0 or context.shape[0] == 0:
        return 0.0
    similarity = _normalize_rows(answer) @ _normalize_rows(context).T
    return float(np.mean(similarity.max(axis=1) >= threshold))


def answer_relevance(question_vec: np.ndarray, answer_vec: np.ndarray) -> float:
    """Cosine similarity of question and answer embeddings, clipped to [0, 1].

    Args:
        question_vec: Question embedding, shape (d,).
        answer_vec: Answer embedding, shape (d,).

    Returns:
        The similarity; 0.0 if either vector is zero.

    Raises:
        ValueError: If the shapes differ or the vectors are not 1-D or hold NaN/inf.
    """
    q = np.asarray(question_vec, dtype=float)
    a = np.asarray(answer_vec, dtype=float)
    if q.ndim != 1 or a.ndim != 1:
        raise ValueError(f"question_vec and answer_vec must be 1-D, got shapes {q.shape} and {a.shape}")
    if q.shape != a.shape:
        raise ValueError(f"dimension mismatch: question vector has {q.shape[0]} dimensions, answer vector {a.shape[0]}")
    if not (np.all(np.isfinite(q)) and np.all(np.isfinite(a))):
        raise ValueError("question_vec or answer_vec contains NaN or infinite values")
    denom = float(np.linalg.norm(q) * np.linalg.norm(a))
    if denom == 0.0:
        return 0.0
    return float(np.clip(float(q @ a) / denom, 0.0, 1.0))


def citation_coverage(answer_sentences_cited: Sequence[bool]) -> float:
    """Share of answer sentences that carry a citation.

    Args:
        answer_sentences_cited: One flag per answer sentence.

    Returns:
        The share in [0, 1]; 0.0 for an answer with no sentences.
    """
    flags = list(answer_sentences_cited)
    if not flags:
        return 0.0
    return sum(bool(f) for f in flags) / len(flags)


# --- Aggregation ---------------------------------------------------------------


@dataclass(frozen=True)
class QuestionScores:
    """Metrics of one evaluation question.

    Attributes:
        hit: Hit at k.
        rr: Reciprocal rank.
        ndcg: nDCG at k.
        precision: Context precision.
        recall: Context recall.
        faithfulness: Faithfulness of the answer, if answers were scored.
        relevance: Answer relevance, if answers were scored.
        citation_coverage: Citation coverage, if answers were scored.
    """

    hit: float
    rr: float
    ndcg: float
    precision: float
    recall: float
    faithfulness: float | None = None
    relevance: float | None = None
    citation_coverage: float | None = None


# Report key for each QuestionScores field.
_AGGREGATE_KEYS = {
    "hit": "hit_at_k",
    "rr": "mrr",
    "ndcg": "ndcg_at_k",
    "precision": "context_precision",
    "recall": "context_recall",
    "faithfulness": "faithfulness",
    "relevance": "answer_relevance",
    "citation_coverage": "citation_coverage",
}


def aggregate(scores: Sequence[QuestionScores]) -> dict[str, float]:
    """Mean of each metric over the questions, skipping missing (None) values.

    Args:
        scores: Per-question scores.

    Returns:
        ``hit_at_k``, ``mrr``, ``ndcg_at_k``, ``context_precision``,
        ``context_recall``, ``faithfulness``, ``answer_relevance``,
        ``citation_coverage`` and ``n_questions``. A metric no question has
        (answer metrics when only retrieval was scored, or everything when
        ``scores`` is empty) is NaN, so a missing metric never reads as 0.
    """
    result: dict[str, float] = {}
    for f in fields(QuestionScores):
        values = [float(v) for v in (getattr(s, f.name) for s in scores) if v is not None]
        result[_AGGREGATE_KEYS[f.name]] = float(np.mean(values)) if values else math.nan
    result["n_questions"] = float(len(scores))
    return result
