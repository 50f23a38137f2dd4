"""XGBoost training with early stopping on a validation window."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb


@dataclass(frozen=True)
class TrainParams:
    """Booster hyper-parameters.

    Attributes:
        max_depth: Maximum tree depth.
        learning_rate: Shrinkage (XGBoost ``eta``).
        num_boost_round: Maximum number of boosting rounds.
        early_stopping_rounds: Stop after this many rounds without a better
            validation AUC; 0 disables early stopping.
        min_child_weight: Minimum hessian sum in a leaf.
        subsample: Row subsampling per tree.
        colsample_bytree: Column subsampling per tree.
        reg_lambda: L2 regularisation on leaf weights.
        seed: Random seed (subsampling).
        nthread: Threads; 0 lets XGBoost use every core.
    """

    max_depth: int = 5
    learning_rate: float = 0.08
    num_boost_round: int = 400
    early_stopping_rounds: int = 30
    min_child_weight: float = 5.0
    subsample: float = 0.9
    colsample_bytree: float = 0.9
    reg_lambda: float = 1.0
    seed: int = 42
    nthread: int = 0

    def xgb_params(self) -> dict[str, Any]:
        """Returns the parameter dict for ``xgb.train``.

        The last eval metric ("auc") drives early stopping.
        """
        params: dict[str, Any] = {
            "objective": "binary:logistic",
            "eval_metric": ["logloss", "auc"],
            "tree_method": "hist",
            "max_cat_to_onehot": 1,
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "lambda": self.reg_lambda,
            "seed": self.seed,
            "verbosity": 0,
            "validate_parameters": True,
        }
        if self.nthread > 0:
            params["nthread"] = self.nthread
        return params

    def to_dict(self) -> dict[str, Any]:
        """Returns the parameters as a flat JSON-friendly dict (for logging)."""
        return asdict(self)


@dataclass
class TrainedModel:
    """A trained booster and its early-stopping record.

    Attributes:
        booster: The booster; it holds every round trained, and the
            "best_iteration" / "best_score" attributes (saved with the model)
            tell :func:`models.scoring.predict_proba` where to stop.
        best_iteration: 0-based index of the best round.
        best_score: Validation AUC at the best round.
        evals_result: ``{"train": {"logloss": [...], "auc": [...]}, "valid": {...}}``.
    """

    booster: xgb.Booster
    best_iteration: int
    best_score: float
    evals_result: dict


def _labels(y: Any, n_rows: int, name: str) -> np.ndarray:
    labels = np.asarray(pd.Series(y).to_numpy(dtype="float64", na_value=np.nan), dtype=np.float64).ravel()
    if labels.shape[0] != n_rows:
        raise ValueError(f"{name}: {labels.shape[0]} labels for {n_rows} rows")
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError(f"{name}: labels must all be 0 or 1 (no nulls)")
    if np.unique(labels).size < 2:
        raise ValueError(f"{name}: labels hold a single class")
    return labels


def train_booster(
    train_X: pd.DataFrame,
    train_y: Any,
    valid_X: pd.DataFrame,
    valid_y: Any,
    *,
    feature_types: list[str],
    params: TrainParams = TrainParams(),
) -> TrainedModel:
    """Trains a binary XGBoost classifier with early stopping on the valid set.

    Args:
        train_X: Training matrix (e.g. from :func:`models.features.prepare_features`).
        train_y: Training labels, 0/1.
        valid_X: Validation matrix with the same columns.
        valid_y: Validation labels, 0/1.
        feature_types: "q"/"c" per column (see :func:`models.features.feature_types`).
        params: Hyper-parameters.

    Returns:
        The trained model. Without early stopping, the best iteration is the last.

    Raises:
        ValueError: Column or length mismatches, labels that are not 0/1, or a
            single class in either set.
    """
    if list(train_X.columns) != list(valid_X.columns):
        raise ValueError("train_booster: train_X and valid_X columns differ")
    if len(feature_types) != train_X.shape[1]:
        raise ValueError(
            f"train_booster: {len(feature_types)} feature types for {train_X.shape[1]} columns"
        )
    ytr = _labels(train_y, len(train_X), "train_y")
    yva = _labels(valid_y, len(valid_X), "valid_y")
    dtrain = xgb.DMatrix(train_X, label=ytr, feature_types=feature_types, enable_categorical=True)
    dvalid = xgb.DMatrix(valid_X, label=yva, feature_types=feature_types, enable_categorical=True)
    evals_result: dict = {}
    booster = xgb.train(
        params.xgb_params(),
        dtrain,
        num_boost_round=params.num_boost_round,
        # Only the validation set: scoring the (large) training set every round
        # doubled the fit time and early stopping never reads it.
        evals=[(dvalid, "valid")],
        early_stopping_rounds=params.early_stopping_rounds if params.early_stopping_rounds > 0 else None,
        evals_result=evals_result,
        verbose_eval=False,
    )
    if booster.attr("best_iteration") is None:
        # Without early stopping XGBoost records no best round: the last one is it.
        last = booster.num_boosted_rounds() - 1
        booster.set_attr(best_iteration=str(last), best_score=repr(float(evals_result["valid"]["auc"][last])))
    best_iteration = int(booster.attr("best_iteration"))
    best_score = float(booster.attr("best_score"))
    return TrainedModel(
        booster=booster, best_iteration=best_iteration, best_score=best_score, evals_result=evals_result
    )
