"""Statistics for the RAG assistant's nightly checks: plain arguments in, figures out.

No thresholds live here: each function returns the raw figure a check reports
(``models.monitoring.Measurement``), and the policy grades it. The composition
(``infra.monitoring.rag``) reads the request events and stores and calls these.

Query drift uses a domain classifier: a logistic regression learns to tell the
night's question embeddings from the reference window's, and its
cross-validated ROC AUC is the figure (0.5: indistinguishable, 1.0: disjoint).
Evidently's embedding drift offers the same method (its default ``model``
method is a domain classifier) but reports a drift verdict at a fixed AUC
threshold from one train/test split; the nightly loop needs the raw figure,
stable from night to night, to calibrate its own levels on the reference
period (mean ± k·σ). Cross-validation over all rows gives that stability, and
a linear model on normalized sentence embeddings is robust with a few hundred
questions a night, where distance-based tests (MMD, per-component KS over 384
dimensions) are noisier and need their own multiple-testing care.

Pure: numpy, scipy and scikit-learn only.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from indexes.plan import IndexPlan, plan_index


# -- query drift ----------------------------------------------------------------
@dataclass(frozen=True)
class DomainClassifierResult:
    """Cross-validated ROC AUC of night vs reference (None: too few questions on a side)."""

    auc: float | None
    n_current: int
    n_reference: int
    folds: int


def domain_classifier_auc(
    current: np.ndarray,
    reference: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 0,
    max_reference: int | None = 1500,
    min_rows: int = 20,
    C: float = 1.0,
) -> DomainClassifierResult:
    """How well a linear classifier tells ``current`` rows from ``reference`` rows.

    Args:
        current: The night's embeddings (rows).
        reference: The reference window's embeddings (rows).
        folds: Stratified cross-validation folds; every row is scored out of fold.
        seed: Decides the folds and the reference subsample (deterministic).
        max_reference: Subsample the reference to at most this many rows (cost grows with it).
        min_rows: Fewer rows than this on either side -> ``auc`` None.
        C: Inverse L2 regularization of the logistic regression.

    Returns:
        The AUC (0.5 = no drift) and the sample sizes.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    current = np.asarray(current, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if max_reference is not None and len(reference) > max_reference:
        reference = reference[np.sort(rng.choice(len(reference), size=max_reference, replace=False))]
    n_cur, n_ref = len(current), len(reference)
    if n_cur < max(min_rows, folds) or n_ref < max(min_rows, folds):
        return DomainClassifierResult(None, n_cur, n_ref, folds)
    x = np.vstack([current, reference])
    y = np.r_[np.ones(n_cur), np.zeros(n_ref)]
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=500)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # One BLAS thread: on problems this small, thread start-up and contention
    # cost 10-80x the work itself (measured on 2 shared cores: 35 ms vs 2.8 s).
    with threadpool_limits(limits=1):
        scores = cross_val_predict(model, x, y, cv=cv, method="decision_function")
    return DomainClassifierResult(float(roc_auc_score(y, scores)), n_cur, n_ref, folds)


# -- unanswerable questions -----------------------------------------------------
def best_score(chunks_used: Sequence[Mapping[str, Any]] | None) -> float | None:
    """The best retrieval score among a request's chunks; None when it retrieved nothing."""
    scores = [float(c["score"]) for c in (chunks_used or []) if c.get("score") is not None]
    return max(scores) if scores else None


def unanswerable_mask(best_scores: Sequence[float | None], level: float) -> np.ndarray:
    """True for questions whose best retrieval score is below ``level`` (nothing retrieved counts as below)."""
    return np.array([s is None or s < level for s in best_scores], dtype=bool)


def cluster_questions(
    embeddings: np.ndarray,
    texts: Sequence[str],
    *,
    distance_threshold: float = 0.5,
    top: int = 3,
    examples: int = 3,
) -> list[dict[str, Any]]:
    """Group similar questions and return the largest groups with a few example texts.

    Agglomerative clustering (average linkage, cosine distance) with a distance
    threshold rather than a fixed count: a night with one new topic gives one
    big cluster, a night of scattered noise many small ones.

    Args:
        embeddings: One row per question.
        texts: The questions (already redacted), in the same order.
        distance_threshold: Cosine distance at which clusters stop merging.
        top: How many clusters to return (largest first).
        examples: Distinct example questions per cluster, nearest to its centre first.

    Returns:
        ``[{"size", "share", "examples"}]``, largest first.
    """
    n = len(texts)
    if n == 0:
        return []
    if n == 1:
        return [{"size": 1, "share": 1.0, "examples": [texts[0]]}]
    from sklearn.cluster import AgglomerativeClustering

    x = np.asarray(embeddings, dtype=np.float64)
    x = x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)
    labels = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance_threshold, metric="cosine", linkage="average"
    ).fit_predict(x)
    out = []
    for label, size in Counter(labels.tolist()).most_common(top):
        idx = np.flatnonzero(labels == label)
        centre = x[idx].mean(axis=0)
        order = idx[np.argsort(-(x[idx] @ centre), kind="stable")]
        picked: list[str] = []
        for i in order:
            if texts[i] not in picked:
                picked.append(texts[i])
            if len(picked) == examples:
                break
        out.append({"size": int(size), "share": round(size / n, 4), "examples": picked})
    return out


# -- staleness ------------------------------------------------------------------
def corpus_changes(current: Mapping[str, str], indexed: Mapping[str, str]) -> IndexPlan:
    """Documents added, changed or removed in the corpus since the live index was built.

    Args:
        current: ``doc_id -> content hash`` of the corpus folder now.
        indexed: ``doc_id -> content hash`` the live collection holds.
    """
    return plan_index(current, indexed)


# -- cost -----------------------------------------------------------------------
@dataclass(frozen=True)
class CostRatio:
    """A tenant's night against its trailing baseline (median of previous nights)."""

    ratio: float | None
    tonight: float
    baseline: float | None
    baseline_nights: int


def cost_ratio(tonight: float, history: Sequence[float], *, min_nights: int = 7) -> CostRatio:
    """``tonight`` over the median of ``history`` (previous nights, zeros included).

    The median, not the mean: one earlier spike must not lift the baseline and
    hide the next. Fewer than ``min_nights`` nights, or a zero median -> ratio None.
    """
    hist = [float(h) for h in history]
    if len(hist) < min_nights:
        return CostRatio(None, float(tonight), None, len(hist))
    base = float(statistics.median(hist))
    return CostRatio(float(tonight) / base if base > 0 else None, float(tonight), base, len(hist))


# -- rates ----------------------------------------------------------------------
def percentile(values: Iterable[float | None], q: float = 95.0) -> float | None:
    """The ``q``-th percentile of the non-null values (linear interpolation), None when there are none."""
    v = np.array([x for x in values if x is not None], dtype=float)
    return float(np.percentile(v, q)) if v.size else None


def share(flags: Iterable[bool]) -> tuple[float | None, int]:
    """(share of True, count); share None for no items."""
    f = list(flags)
    return (sum(bool(x) for x in f) / len(f) if f else None), len(f)


# -- provider model -------------------------------------------------------------
@dataclass(frozen=True)
class ModelCheck:
    """Whether the endpoint reports another model than the one the prompt was gated with."""

    changed: float | None  # 1.0 / 0.0; None: no endpoint answers, or no gated model
    reported: dict[str, int] = field(default_factory=dict)
    other_share: float | None = None


def model_change(reported: Sequence[str | None], gated_model: str | None) -> ModelCheck:
    """1.0 when any endpoint answer of the night reports a model other than ``gated_model``."""
    counts = Counter(m for m in reported if m)
    total = sum(counts.values())
    if not total or not gated_model:
        return ModelCheck(None, dict(counts))
    other = total - counts.get(gated_model, 0)
    return ModelCheck(1.0 if other else 0.0, dict(counts), other / total)


# -- golden-set quality ---------------------------------------------------------
def metric_drop(current: Mapping[str, float], gated: Mapping[str, float], names: Sequence[str]) -> tuple[float | None, dict[str, float]]:
    """The largest drop of ``names`` from the gated figures to the current ones (positive = worse).

    Metrics missing on either side are skipped; None when none is comparable.
    """
    drops = {n: round(float(gated[n]) - float(current[n]), 6) for n in names if n in gated and n in current
             and gated[n] is not None and current[n] is not None}
    return (max(drops.values()) if drops else None), drops
