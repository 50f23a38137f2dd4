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
from collections import Counter
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


def reciprocal_rank(retrieved: Sequence[str], relevant: Collection[str], k: int | None = None) -> float:
    """One over the rank of the first relevant document (distinct ranks), within the first ``k``.

    Args:
        retrieved: Document ids in rank order (duplicates allowed).
        relevant: Ids of the relevant documents.
        k: Cut-off in distinct documents (MRR@k); None looks at the whole list.

    Returns:
        ``1 / rank`` of the first relevant document, 0.0 if none was retrieved
        (within ``k``).

    Raises:
        ValueError: If ``k`` is given and < 1.
    """
    if k is not None:
        _check_k(k)
    wanted = set(relevant)
    docs = _distinct(retrieved)
    for rank, doc in enumerate(docs if k is None else docs[:k], start=1):
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


# --- Answer correctness against a reference -----------------------------------

_TOKEN = re.compile(r"\w+", re.UNICODE)


def strip_citations(text: str) -> str:
    """The answer as a reader would compare it: citation markers removed, spaces collapsed."""
    def drop(m: re.Match) -> str:
        tokens = [t.strip() for t in re.split(r"[,;]", m.group(1))]
        return "" if tokens and all(_is_doc_id(t) for t in tokens) else m.group(0)

    out = _BRACKET.sub(drop, text)
    out = re.sub(r"\s+([.,;:!?])", r"\1", out)
    return re.sub(r"\s+", " ", out).strip()


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def _overlap(answer: str, reference: str) -> tuple[int, int, int]:
    """Words the answer shares with the reference (multiset), and each side's word count."""
    a, r = _tokens(answer), _tokens(reference)
    return sum((Counter(a) & Counter(r)).values()), len(a), len(r)


def token_f1(answer: str, reference: str) -> float:
    """Token-level F1 of answer against reference (SQuAD style: lower-cased words, multiset overlap).

    Args:
        answer: The answer, citations already stripped (``strip_citations``).
        reference: The reference answer.

    Returns:
        F1 in [0, 1]; 0.0 when either side has no words.
    """
    common, n_answer, n_reference = _overlap(answer, reference)
    if common == 0:
        return 0.0
    precision, recall = common / n_answer, common / n_reference
    return 2 * precision * recall / (precision + recall)


def token_precision(answer: str, reference: str) -> float:
    """Share of the answer's words that the reference has (multiset overlap over the answer's length).

    Recall barely moves when an answer is padded with sentences that do not
    answer the question (the answer is still in there); precision falls with
    every padding word, so it is what sees padding.

    Args:
        answer: The answer, citations already stripped (``strip_citations``).
        reference: The reference answer.

    Returns:
        Precision in [0, 1]; 0.0 when either side has no words.
    """
    common, n_answer, _ = _overlap(answer, reference)
    return common / n_answer if common else 0.0


def rouge_l(answer: str, reference: str) -> float:
    """ROUGE-L F-measure: longest common subsequence of lower-cased words.

    Args:
        answer: The answer, citations already stripped.
        reference: The reference answer.

    Returns:
        F1 of LCS precision and recall in [0, 1]; 0.0 when either side has no words.
    """
    a, r = _tokens(answer), _tokens(reference)
    if not a or not r:
        return 0.0
    prev = [0] * (len(r) + 1)
    for x in a:  # O(len(a) * len(r)) with one row: answers and references are a few sentences
        cur = [0]
        for j, y in enumerate(r, start=1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class ClaimCheck:
    """One answer sentence checked against the documents it cites.

    Attributes:
        sentence: The answer sentence as written (with its citation).
        claim: The sentence without citations.
        cited: Document ids it cites.
        status: ``whole`` (exists, whole, in a cited document), ``partial``
            (found in a cited document but cut out of a longer sentence),
            ``absent`` (not verbatim in any cited document: paraphrased or
            invented) or ``uncited``.
        whole_sentence: Whether the piece is a whole sentence: ``whole``
            claims are; ``partial`` ones are not; for the others a text-only
            check decides (``indexes.sentences.looks_whole``).
    """

    sentence: str
    claim: str
    cited: tuple[str, ...]
    status: str
    whole_sentence: bool


_AFTER_CITATION = re.compile(r"(?<=\][.!?])\s+")


def answer_sentences(answer: str) -> list[str]:
    """An answer's sentences: a citation followed by a full stop always ends one, Punkt splits the rest.

    A citation-only piece is attached to the sentence before it, as in
    ``split_sentences``; list bullets and numbering are dropped.
    """
    from indexes.sentences import split_prose

    out: list[str] = []
    for line in answer.splitlines():
        line = _BULLET.sub("", line.strip()).strip()
        for piece in _AFTER_CITATION.split(line):
            for sentence in split_prose(piece) if piece.strip() else []:
                if _ENUMERATOR.match(sentence) or not any(ch.isalnum() for ch in sentence):
                    continue
                if _ONLY_MARKERS.match(sentence):
                    if out:
                        out[-1] = f"{out[-1]} {sentence}"
                    continue
                out.append(sentence)
    return out


def check_claims(answer: str, documents: dict[str, str]) -> list[ClaimCheck]:
    """Split an answer into sentences and check each against the full text of the documents it cites.

    Args:
        answer: The answer with ``[doc id]`` citations.
        documents: ``doc id -> full text`` (at least the cited ones; a cited id
            missing here counts as not found).

    Returns:
        One check per answer sentence, in order.
    """
    from indexes.sentences import claim_status, looks_whole

    checks = []
    for sentence in answer_sentences(answer):
        cited = tuple(extract_citations(sentence))
        claim = strip_citations(sentence)
        if not cited:
            status = "uncited"
        else:
            found = [claim_status(claim, documents[d]) for d in cited if d in documents]
            status = "whole" if "whole" in found else "partial" if "partial" in found else "absent"
        whole = status == "whole" or (status != "partial" and looks_whole(claim))
        checks.append(ClaimCheck(sentence, claim, cited, status, whole))
    return checks


def sentence_completeness(checks: Sequence[ClaimCheck]) -> float:
    """Share of answer pieces that are whole sentences (a quoted fragment is not).

    Returns:
        The share in [0, 1]; 0.0 for an answer with no sentences.
    """
    return sum(c.whole_sentence for c in checks) / len(checks) if checks else 0.0


def claim_faithfulness(checks: Sequence[ClaimCheck], paraphrase_supported: Sequence[bool] | None = None) -> float:
    """Share of answer sentences supported by the document they cite.

    A quoted sentence must exist, whole, in a cited document; one cut out of a
    longer sentence is not supported (it may say the opposite of its source).
    A sentence that is not verbatim in its documents (an endpoint's
    paraphrase) counts when ``paraphrase_supported`` says the cited documents
    support it (by embedding similarity, computed by the caller); an uncited
    sentence never counts.

    Args:
        checks: From ``check_claims``.
        paraphrase_supported: One flag per check, read only for ``absent`` ones.

    Returns:
        The share in [0, 1]; 0.0 for an answer with no sentences.
    """
    if not checks:
        return 0.0
    flags = list(paraphrase_supported) if paraphrase_supported is not None else [False] * len(checks)
    if len(flags) != len(checks):
        raise ValueError(f"paraphrase_supported has {len(flags)} flags for {len(checks)} claims")
    ok = sum(c.status == "whole" or (c.status == "absent" and bool(f)) for c, f in zip(checks, flags))
    return ok / len(checks)


# --- Aggregation ---------------------------------------------------------------


@dataclass(frozen=True)
class QuestionScores:
    """Metrics of one evaluation question; None where a metric was not measured.

    Attributes:
        hit: Hit at k (documents in the context).
        rr: Reciprocal rank within the first ``mrr_k`` distinct documents.
        ndcg: nDCG at k.
        precision: Context precision.
        recall: Context recall.
        faithfulness: Claim faithfulness (``claim_faithfulness``), if answers were scored.
        relevance: Answer relevance, if answers were scored.
        citation_coverage: Citation coverage, if answers were scored.
        completeness: Sentence completeness, if answers were scored.
        similarity: Embedding similarity to the reference answer (needs a reference).
        f1: Token F1 against the reference (needs a reference).
        rouge: ROUGE-L against the reference (needs a reference).
    """

    hit: float
    rr: float
    ndcg: float
    precision: float
    recall: float
    faithfulness: float | None = None
    relevance: float | None = None
    citation_coverage: float | None = None
    completeness: float | None = None
    similarity: float | None = None
    f1: float | None = None
    rouge: float | None = None


# Report key for each QuestionScores field; "{k}" and "{mrr_k}" are filled by ``aggregate``.
_AGGREGATE_KEYS = {
    "hit": "hit_at_{k}",
    "rr": "mrr_at_{mrr_k}",
    "ndcg": "ndcg_at_{k}",
    "precision": "context_precision",
    "recall": "context_recall",
    "faithfulness": "faithfulness",
    "relevance": "answer_relevance",
    "citation_coverage": "citation_coverage",
    "completeness": "sentence_completeness",
    "similarity": "answer_similarity",
    "f1": "token_f1",
    "rouge": "rouge_l",
}
# Names from before k was part of the key, still written for dashboards and
# readers that know them: the same figures as hit_at_<k>, mrr_at_<k>, ndcg_at_<k>.
LEGACY_KEYS = {"hit": "hit_at_k", "rr": "mrr", "ndcg": "ndcg_at_k"}


def metric_name(field_name: str, *, k: int, mrr_k: int) -> str:
    """The report key of a QuestionScores field, k included (``hit_at_4``, ``mrr_at_10``).

    MLflow metric names allow no ``@``, so ``hit@4`` is spelled ``hit_at_4``.
    """
    return _AGGREGATE_KEYS[field_name].format(k=k, mrr_k=mrr_k)


def aggregate(scores: Sequence[QuestionScores], *, k: int | None = None, mrr_k: int | None = None) -> dict[str, float]:
    """Mean of each metric over the questions, skipping missing (None) values.

    Args:
        scores: Per-question scores.
        k: The depth hit and nDCG were measured at; names the keys
            (``hit_at_4``). None writes only the legacy keys.
        mrr_k: The depth MRR was measured at (``mrr_at_10``); defaults to ``k``.

    Returns:
        One key per metric (``hit_at_<k>``, ``mrr_at_<mrr_k>``, ``ndcg_at_<k>``,
        ``context_precision``, ``context_recall``, ``faithfulness``,
        ``answer_relevance``, ``citation_coverage``, ``sentence_completeness``,
        ``answer_similarity``, ``token_f1``, ``rouge_l``), the legacy
        ``hit_at_k``, ``mrr`` and ``ndcg_at_k``, ``n_questions``, and
        ``n_with_reference`` (questions the reference metrics were measured
        on). A metric no question has (answer metrics when only retrieval was
        scored, reference metrics without references, everything when
        ``scores`` is empty) is NaN, so a missing metric never reads as 0.
    """
    result: dict[str, float] = {}
    for f in fields(QuestionScores):
        values = [float(v) for v in (getattr(s, f.name) for s in scores) if v is not None]
        mean = float(np.mean(values)) if values else math.nan
        if f.name in LEGACY_KEYS:
            result[LEGACY_KEYS[f.name]] = mean
            if k is not None:
                result[metric_name(f.name, k=k, mrr_k=mrr_k or k)] = mean
        else:
            result[_AGGREGATE_KEYS[f.name]] = mean
    result["n_questions"] = float(len(scores))
    result["n_with_reference"] = float(sum(s.similarity is not None for s in scores))
    return result
