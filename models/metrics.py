"""Evaluation metrics for a binary risk score."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve

from models.scoring import iteration_range


def _binary(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray]:
    """Checks and returns (labels as int, scores as float64)."""
    y = np.asarray(pd.Series(y_true).to_numpy(dtype="float64", na_value=np.nan)).ravel()
    s = np.asarray(y_score, dtype=np.float64).ravel()
    if y.size == 0:
        raise ValueError("no rows to evaluate")
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels but {s.size} scores")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must all be 0 or 1 (no nulls)")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    if s.min() < 0.0 or s.max() > 1.0:
        raise ValueError("scores must be probabilities in [0, 1]")
    return y.astype(np.int64), s


def classification_metrics(y_true: Any, y_score: Any) -> dict[str, float]:
    """Computes the headline metrics of a score.

    Args:
        y_true: 0/1 labels.
        y_score: Predicted probabilities.

    Returns:
        auc (ROC AUC), ks (Kolmogorov-Smirnov: max of TPR - FPR), brier,
        pr_auc (average precision), positive_rate (share of 1 labels) and n
        (row count, as a float), all plain floats.

    Raises:
        ValueError: Empty input, length mismatch, labels not 0/1, scores
            outside [0, 1] or non-finite, or a single class (AUC is undefined).
    """
    y, s = _binary(y_true, y_score)
    if np.unique(y).size < 2:
        raise ValueError("labels hold a single class: AUC is undefined")
    fpr, tpr, _ = roc_curve(y, s)
    return {
        "auc": float(roc_auc_score(y, s)),
        "ks": float(np.max(tpr - fpr)),
        "brier": float(brier_score_loss(y, s)),
        "pr_auc": float(average_precision_score(y, s)),
        "positive_rate": float(y.mean()),
        "n": float(y.size),
    }


def calibration_table(y_true: Any, y_score: Any, *, bins: int = 10) -> pd.DataFrame:
    """Compares predicted and observed default rates by score quantile.

    Args:
        y_true: 0/1 labels.
        y_score: Predicted probabilities.
        bins: Number of equal-frequency bins; ties in the scores may merge
            bins, so fewer can come back.

    Returns:
        Columns bin (int, 1 = lowest scores), n (int), mean_score and
        observed_rate (float), one row per non-empty bin.

    Raises:
        ValueError: ``bins`` < 1, or the inputs fail the checks of
            :func:`classification_metrics` (a single class is fine here).
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    y, s = _binary(y_true, y_score)
    edges = np.unique(np.quantile(s, np.linspace(0.0, 1.0, bins + 1)))
    # Interior edges only: searchsorted puts each score in its quantile bin.
    bin_idx = np.searchsorted(edges[1:-1], s, side="right")
    frame = pd.DataFrame({"bin": bin_idx + 1, "y": y, "s": s})
    table = frame.groupby("bin", sort=True).agg(n=("y", "size"), mean_score=("s", "mean"), observed_rate=("y", "mean"))
    table = table.reset_index()
    table["bin"] = np.arange(1, len(table) + 1)
    return table.astype({"bin": "int64", "n": "int64", "mean_score": "float64", "observed_rate": "float64"})


def segment_auc(y_true: Any, y_score: Any, segments: Any) -> dict[str, float | None]:
    """Computes the AUC within each segment.

    Args:
        y_true: 0/1 labels.
        y_score: Predicted probabilities.
        segments: Segment value of every row (e.g. employment_type); null
            segments are grouped under "<null>".

    Returns:
        ``{segment: auc}`` sorted by segment name; None where a segment holds a
        single class.

    Raises:
        ValueError: Length mismatches or invalid labels/scores.
    """
    y, s = _binary(y_true, y_score)
    seg = pd.Series(segments, dtype=object).reset_index(drop=True)
    if len(seg) != y.size:
        raise ValueError(f"{y.size} labels but {len(seg)} segment values")
    keys = seg.where(seg.notna(), "<null>").astype(str).to_numpy()
    out: dict[str, float | None] = {}
    for key in sorted(set(keys)):
        mask = keys == key
        ys = y[mask]
        out[key] = float(roc_auc_score(ys, s[mask])) if np.unique(ys).size == 2 else None
    return out


def feature_importance(
    booster: xgb.Booster,
    X: pd.DataFrame,
    *,
    feature_types: list[str],
    max_rows: int = 5000,
    seed: int = 0,
) -> pd.DataFrame:
    """Ranks features by gain and by mean absolute SHAP contribution.

    Args:
        booster: Trained booster (its best iteration is honoured).
        X: Model matrix, e.g. the test set.
        feature_types: "q"/"c" per column.
        max_rows: SHAP values are computed on at most this many rows, sampled
            without replacement with ``seed`` (deterministic).
        seed: Sampling seed.

    Returns:
        Columns feature (str), gain (float; 0 for unused features) and
        mean_abs_shap (float; bias column excluded), sorted by mean_abs_shap
        descending (ties by feature name), index reset.

    Raises:
        ValueError: ``X`` is empty or ``feature_types`` does not match its columns.
    """
    if len(X) == 0:
        raise ValueError("feature_importance: X has no rows")
    if len(feature_types) != X.shape[1]:
        raise ValueError(f"feature_importance: {len(feature_types)} feature types for {X.shape[1]} columns")
    sample = X
    if len(X) > max_rows:
        rng = np.random.default_rng(seed)
        sample = X.iloc[np.sort(rng.choice(len(X), size=max_rows, replace=False))]
    dmatrix = xgb.DMatrix(sample, feature_types=feature_types, enable_categorical=True)
    contribs = booster.predict(dmatrix, pred_contribs=True, iteration_range=iteration_range(booster))
    mean_abs = np.abs(contribs[:, :-1]).mean(axis=0)
    start, stop = iteration_range(booster)
    # Gain of the rounds the model actually uses, not of the rounds past early stopping.
    used = booster[start:stop] if stop > 0 else booster
    gain = used.get_score(importance_type="gain")
    names = [str(c) for c in X.columns]
    table = pd.DataFrame(
        {
            "feature": names,
            "gain": [float(gain.get(name, 0.0)) for name in names],
            "mean_abs_shap": mean_abs.astype(np.float64),
        }
    )
    return table.sort_values(["mean_abs_shap", "feature"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )
