"""The champion/challenger gate.

A challenger must clear absolute floors (AUC, Brier) and, when a champion
exists, be non-inferior to it on the same out-of-time test set: the lower bound
of the paired-bootstrap confidence interval of ``AUC(challenger) - AUC(champion)``
must not fall below ``-tolerance``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from models.metrics import classification_metrics

Decision = Literal["PROMOTE", "HOLD", "REJECT"]

# Bootstrap resamples are processed in blocks of about this many cells
# (resamples x rows) to bound memory on large test sets.
_BLOCK_CELLS = 4_000_000


@dataclass(frozen=True)
class GatePolicy:
    """Thresholds of the promotion gate.

    Attributes:
        min_auc: Absolute minimum AUC for the challenger.
        max_brier: Absolute maximum Brier score for the challenger.
        tolerance: How much AUC the challenger may lose against the champion.
        n_bootstrap: Paired bootstrap resamples.
        confidence: Two-sided confidence level of the AUC-delta interval.
        seed: Bootstrap seed.
    """

    min_auc: float = 0.70
    max_brier: float = 0.25
    tolerance: float = 0.005
    n_bootstrap: int = 300
    confidence: float = 0.95
    seed: int = 7


@dataclass(frozen=True)
class Check:
    """One gate check.

    Attributes:
        name: "min_auc", "max_brier" or "non_inferiority".
        passed: Whether it passed.
        value: The measured value (for non_inferiority: the CI lower bound).
        threshold: The limit it was compared with.
        detail: One human sentence.
    """

    name: str
    passed: bool
    value: float | None
    threshold: float | None
    detail: str


@dataclass(frozen=True)
class Verdict:
    """The gate's decision.

    Attributes:
        decision: "PROMOTE", "HOLD" (champion stays) or "REJECT" (challenger
            below the absolute floors).
        checks: Every check evaluated, in order.
        reason: One human sentence with the figures.
    """

    decision: Decision
    checks: tuple[Check, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-friendly dict: decision, reason and the checks as dicts."""
        return {
            "decision": self.decision,
            "reason": self.reason,
            "checks": [
                {
                    "name": c.name,
                    "passed": bool(c.passed),
                    "value": None if c.value is None else float(c.value),
                    "threshold": None if c.threshold is None else float(c.threshold),
                    "detail": c.detail,
                }
                for c in self.checks
            ],
        }


def _labels(y_true: Any) -> np.ndarray:
    y = np.asarray(pd.Series(y_true).to_numpy(dtype="float64", na_value=np.nan)).ravel()
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must all be 0 or 1 (no nulls)")
    return y.astype(np.int64)


@dataclass(frozen=True)
class _AucLayout:
    """What every resample's AUC of one model needs, computed once per model.

    Attributes:
        neg_rows: Negative rows, sorted by score.
        pos_rows: Positive rows.
        below: For each positive, how many negatives score strictly lower.
        not_above: For each positive, how many negatives score lower or equal.
    """

    neg_rows: np.ndarray
    pos_rows: np.ndarray
    below: np.ndarray
    not_above: np.ndarray


def _auc_layout(y: np.ndarray, scores: np.ndarray) -> _AucLayout:
    neg_rows = np.flatnonzero(y == 0)
    neg_rows = neg_rows[np.argsort(scores[neg_rows], kind="stable")]
    neg_sorted = scores[neg_rows]
    pos_rows = np.flatnonzero(y == 1)
    return _AucLayout(
        neg_rows=neg_rows,
        pos_rows=pos_rows,
        below=np.searchsorted(neg_sorted, scores[pos_rows], side="left"),
        not_above=np.searchsorted(neg_sorted, scores[pos_rows], side="right"),
    )


def _weighted_auc(counts: np.ndarray, layout: _AucLayout) -> np.ndarray:
    """AUC of every bootstrap resample, given how often each row was drawn.

    Equivalent to ``roc_auc_score(y[idx], s[idx])`` for the drawn indices: a
    (positive, negative) pair counts 1 when the positive scores higher, 0.5 on
    a tie, weighted by how often each of the two was drawn. One cumulative sum
    of the negatives' counts in score order gives, for every positive, the
    drawn negatives below it and tied with it: a few passes over the counts
    (300 resamples of 200,000 rows: about 2.5 s for two models, down from 9 s
    with per-tie-group sums).

    Args:
        counts: (resamples, rows) draw counts, int32.
        layout: The model's :func:`_auc_layout`.

    Returns:
        One AUC per resample; NaN where a resample holds a single class.
    """
    # int32 halves the memory traffic: counts and their sums stay below the row count.
    neg = np.take(counts, layout.neg_rows, axis=1)
    cum = np.zeros((counts.shape[0], neg.shape[1] + 1), dtype=np.int32)
    np.cumsum(neg, axis=1, dtype=np.int32, out=cum[:, 1:])
    pos = np.take(counts, layout.pos_rows, axis=1).astype(np.float64)
    # Twice the wins: below + not_above counts the tied negatives once, i.e. half each side.
    twice = (np.take(cum, layout.below, axis=1) + np.take(cum, layout.not_above, axis=1)).astype(np.float64)
    wins = 0.5 * np.einsum("ij,ij->i", pos, twice)
    n_pos = pos.sum(axis=1)
    n_neg = cum[:, -1].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = wins / (n_pos * n_neg)
    auc[(n_pos == 0) | (n_neg == 0)] = np.nan
    return auc


def paired_bootstrap_auc_delta(
    y_true: Any,
    challenger_scores: Any,
    champion_scores: Any,
    *,
    n_bootstrap: int,
    confidence: float,
    seed: int,
) -> tuple[float, float, float]:
    """Paired bootstrap of the AUC difference between two models.

    Both models are evaluated on the SAME resampled rows in every resample, so
    the interval reflects the difference, not each model's own noise.

    Args:
        y_true: 0/1 labels of the shared test set.
        challenger_scores: Challenger scores, one per row.
        champion_scores: Champion scores, same rows.
        n_bootstrap: Number of resamples (>= 1).
        confidence: Two-sided confidence level in (0, 1).
        seed: Resampling seed (deterministic).

    Returns:
        (observed delta AUC(challenger) - AUC(champion) on the full set,
        percentile CI low, CI high). Resamples with a single class are skipped.

    Raises:
        ValueError: Bad arguments, length mismatch, a single class in the test
            set, or every resample skipped.
    """
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be >= 1, got {n_bootstrap}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    y = _labels(y_true)
    chal = np.asarray(challenger_scores, dtype=np.float64).ravel()
    champ = np.asarray(champion_scores, dtype=np.float64).ravel()
    if not y.size == chal.size == champ.size:
        raise ValueError(f"lengths differ: {y.size} labels, {chal.size} challenger, {champ.size} champion scores")
    if np.unique(y).size < 2:
        raise ValueError("labels hold a single class: AUC is undefined")
    observed = float(roc_auc_score(y, chal) - roc_auc_score(y, champ))

    n = y.size
    rng = np.random.default_rng(seed)
    chal_layout = _auc_layout(y, chal)
    champ_layout = _auc_layout(y, champ)
    block = max(1, _BLOCK_CELLS // n)
    deltas = []
    for done in range(0, n_bootstrap, block):
        b = min(block, n_bootstrap - done)
        draws = rng.integers(0, n, size=(b, n))
        # Row counts per resample: one bincount over offset indices, no Python loop.
        counts = np.bincount((draws + (np.arange(b) * n)[:, None]).ravel(), minlength=b * n)
        counts = counts.astype(np.int32).reshape(b, n)
        deltas.append(_weighted_auc(counts, chal_layout) - _weighted_auc(counts, champ_layout))
    delta = np.concatenate(deltas)
    delta = delta[~np.isnan(delta)]
    if delta.size == 0:
        raise ValueError("every bootstrap resample held a single class")
    alpha = 1.0 - confidence
    low, high = np.quantile(delta, [alpha / 2.0, 1.0 - alpha / 2.0])
    return observed, float(low), float(high)


def decide(
    y_true: Any,
    challenger_scores: Any,
    champion_scores: Any = None,
    *,
    policy: GatePolicy = GatePolicy(),
) -> Verdict:
    """Decides whether the challenger replaces the champion.

    Rules, in order: a challenger below ``min_auc`` or above ``max_brier`` is
    REJECTED; with no champion it is PROMOTED (first version); otherwise it is
    PROMOTED when the lower bound of the paired-bootstrap CI of the AUC delta is
    at least ``-tolerance`` (non-inferior), else HELD.

    Args:
        y_true: 0/1 labels of the out-of-time test set.
        challenger_scores: Challenger scores on that set.
        champion_scores: Champion scores on the same rows, or None if there is
            no champion yet.
        policy: Gate thresholds.

    Returns:
        The verdict, with every check and a one-sentence reason.

    Raises:
        ValueError: Invalid labels or scores (see :func:`classification_metrics`).
    """
    chal = classification_metrics(y_true, challenger_scores)
    auc, brier, n = chal["auc"], chal["brier"], int(chal["n"])
    checks = [
        Check(
            "min_auc",
            auc >= policy.min_auc,
            auc,
            policy.min_auc,
            f"challenger AUC {auc:.4f} {'>=' if auc >= policy.min_auc else '<'} minimum {policy.min_auc:.4f}",
        ),
        Check(
            "max_brier",
            brier <= policy.max_brier,
            brier,
            policy.max_brier,
            f"challenger Brier {brier:.4f} {'<=' if brier <= policy.max_brier else '>'} maximum {policy.max_brier:.4f}",
        ),
    ]
    failed = [c for c in checks if not c.passed]
    if failed:
        why = " and ".join(c.detail for c in failed)
        return Verdict(
            "REJECT",
            tuple(checks),
            f"Rejected: {why} on {n} out-of-time test rows, so the challenger cannot be promoted.",
        )
    if champion_scores is None:
        return Verdict(
            "PROMOTE",
            tuple(checks),
            f"Promoted as the first version: there is no champion, and the challenger's AUC {auc:.4f} "
            f"(minimum {policy.min_auc:.4f}) and Brier {brier:.4f} (maximum {policy.max_brier:.4f}) "
            f"pass the absolute checks on {n} out-of-time test rows.",
        )

    champ_auc = classification_metrics(y_true, champion_scores)["auc"]
    delta, low, high = paired_bootstrap_auc_delta(
        y_true,
        challenger_scores,
        champion_scores,
        n_bootstrap=policy.n_bootstrap,
        confidence=policy.confidence,
        seed=policy.seed,
    )
    non_inferior = low >= -policy.tolerance
    level = f"{policy.confidence:.0%}"
    figures = (
        f"challenger AUC {auc:.4f} vs champion AUC {champ_auc:.4f} on the same {n} out-of-time test rows, "
        f"delta {delta:+.4f} ({level} CI {low:+.4f} to {high:+.4f})"
    )
    checks.append(
        Check(
            "non_inferiority",
            non_inferior,
            low,
            -policy.tolerance,
            f"{figures}; CI lower bound {low:+.4f} {'>=' if non_inferior else '<'} -{policy.tolerance:.4f}",
        )
    )
    if non_inferior:
        reason = (
            f"Promoted: {figures}; the lower bound {low:+.4f} is at or above the -{policy.tolerance:.4f} "
            f"tolerance, so the challenger is non-inferior."
        )
        return Verdict("PROMOTE", tuple(checks), reason)
    reason = (
        f"Held: {figures}; the lower bound {low:+.4f} is below the -{policy.tolerance:.4f} tolerance, "
        f"so the champion stays."
    )
    return Verdict("HOLD", tuple(checks), reason)
