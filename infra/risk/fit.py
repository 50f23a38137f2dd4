"""Fit a challenger on a training set, or re-evaluate a registered one on it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import xgboost as xgb

from models.card import DataFigures, data_figures
from models.features import feature_types, prepare_features
from models.metrics import calibration_table, classification_metrics, feature_importance, segment_auc
from models.schema import DatasetSchema
from models.scoring import predict_proba
from models.split import Split, time_split
from models.training import TrainParams, train_booster
from infra.risk.training_set import TrainingSet
from infra.settings import TandemSettings

# TreeSHAP costs about 0.5 ms per row for 200 trees. On 1,000 sampled test rows
# the mean |SHAP| ranking keeps a Spearman correlation >= 0.97 with a 20,000-row
# reference, as 2,000 rows do, for half the time.
SHAP_ROWS = 1000

_PARTS = ("train", "valid", "test")


@dataclass
class FitResult:
    """A booster and everything measured on the training set's out-of-time test part."""

    booster: xgb.Booster
    params: dict
    split_days: dict
    rows: dict
    test_X: pd.DataFrame
    test_y: np.ndarray
    test_scores: np.ndarray
    metrics: dict
    valid_auc: float
    calibration: pd.DataFrame
    segment_auc: dict
    importance: pd.DataFrame
    best_iteration: int
    data: DataFigures
    example: pd.DataFrame = field(repr=False)


def train_params(settings: TandemSettings) -> TrainParams:
    """The booster's hyper-parameters from settings."""
    t = settings.training
    return TrainParams(
        max_depth=t.max_depth, learning_rate=t.learning_rate, num_boost_round=t.num_boost_round,
        early_stopping_rounds=t.early_stopping_rounds, seed=t.seed,
    )


def _matrices(split: Split, schema: DatasetSchema) -> tuple[dict, dict]:
    X = {name: prepare_features(getattr(split, name), schema) for name in _PARTS}
    y = {name: getattr(split, name)[schema.target_column].to_numpy(dtype=np.int8) for name in _PARTS}
    return X, y


def _evaluate(
    booster: xgb.Booster,
    training_set: TrainingSet,
    schema: DatasetSchema,
    split: Split,
    X: dict,
    y: dict,
    *,
    params: TrainParams,
    valid_auc: float,
    best_iteration: int,
) -> FitResult:
    ftypes = feature_types(schema)
    test_scores = predict_proba(booster, X["test"])
    segments = split.test[schema.segment_column].astype("string").fillna("<null>").to_numpy() if schema.segment_column else None

    def days(part: pd.DataFrame) -> list[str]:
        stamps = pd.to_datetime(part[schema.event_time_column])
        return [stamps.min().date().isoformat(), stamps.max().date().isoformat()]

    return FitResult(
        booster=booster,
        params={**asdict(params), "window_start": training_set.start.isoformat(), "window_end": training_set.end.isoformat()},
        split_days={name: days(getattr(split, name)) for name in _PARTS},
        rows={name: len(getattr(split, name)) for name in _PARTS},
        test_X=X["test"],
        test_y=y["test"],
        test_scores=test_scores,
        metrics=classification_metrics(y["test"], test_scores),
        valid_auc=valid_auc,
        calibration=calibration_table(y["test"], test_scores),
        segment_auc=segment_auc(y["test"], test_scores, segments) if segments is not None else {},
        importance=feature_importance(booster, X["test"], feature_types=ftypes, max_rows=SHAP_ROWS),
        best_iteration=best_iteration,
        data=data_figures(
            training_set.frame, split, applications=training_set.applications, window=(training_set.start, training_set.end),
            time_column=schema.event_time_column, target_column=schema.target_column,
        ),
        example=X["train"].head(5),
    )


def fit_model(training_set: TrainingSet, schema: DatasetSchema, params: TrainParams) -> FitResult:
    """Time split (train / valid / out-of-time test), XGBoost ``hist`` with early stopping, test metrics and importance."""
    split = time_split(training_set.frame, time_column=schema.event_time_column)
    X, y = _matrices(split, schema)
    trained = train_booster(X["train"], y["train"], X["valid"], y["valid"], feature_types=feature_types(schema), params=params)
    return _evaluate(
        trained.booster, training_set, schema, split, X, y, params=params,
        valid_auc=trained.best_score,  # early stopping's own validation AUC at the best round
        best_iteration=trained.best_iteration,
    )


def evaluate_booster(booster: xgb.Booster, training_set: TrainingSet, schema: DatasetSchema, params: TrainParams) -> FitResult:
    """Measure an already trained booster (a registered version) on the training set's test part, without refitting.

    The split is deterministic, so a version registered by a run that died
    before its gate is evaluated on exactly the rows that run held out.
    """
    split = time_split(training_set.frame, time_column=schema.event_time_column)
    X, y = _matrices(split, schema)
    best_score = booster.attr("best_score")
    best_iteration = booster.attr("best_iteration")
    return _evaluate(
        booster, training_set, schema, split, X, y, params=params,
        valid_auc=float(best_score) if best_score is not None else float("nan"),
        best_iteration=int(best_iteration) if best_iteration is not None else booster.num_boosted_rounds() - 1,
    )
