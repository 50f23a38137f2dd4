"""Scoring with a trained booster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xgboost as xgb


def iteration_range(booster: xgb.Booster) -> tuple[int, int]:
    """Returns the rounds to use: up to the recorded best iteration, else all.

    The "best_iteration" attribute is read with ``booster.attr`` because it is
    what survives saving and loading the model (e.g. through MLflow).

    Args:
        booster: A trained booster.

    Returns:
        ``(0, best_iteration + 1)``, or ``(0, 0)`` (every round) if none is recorded.
    """
    best = booster.attr("best_iteration")
    return (0, int(best) + 1) if best is not None else (0, 0)


def predict_proba(booster: xgb.Booster, X: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Returns the default probability of every row.

    Args:
        booster: A trained binary:logistic booster.
        X: Model matrix (from :func:`models.features.prepare_features`), or a 2-D
            array in the same column order.

    Returns:
        float64 array of shape (n_rows,).
    """
    if len(X) == 0:
        return np.empty(0, dtype=np.float64)
    preds = booster.inplace_predict(X, iteration_range=iteration_range(booster))
    return np.asarray(preds, dtype=np.float64).reshape(-1)
