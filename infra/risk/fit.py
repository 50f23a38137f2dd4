"""Fit a challenger on a training set, or re-evaluate a registered one on it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from models.card import DataFigures, data_figures
from models.features import feature_types, prepare_features
from models.metrics import calibration_table, classification_metrics, feature_importance, segment_auc
from models.schema import DatasetSchema
from models.scoring import predict_proba
from models.split import Split, time_split
from models.training import TrainedModel, TrainParams, train_booster
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


def train_booster_dask(
    client: Any,
    train_X: pd.DataFrame,
    train_y: np.ndarray,
    valid_X: pd.DataFrame,
    valid_y: np.ndarray,
    *,
    feature_types: list[str],
    params: TrainParams,
) -> TrainedModel:
    """``models.training.train_booster``'s fit, run by ``xgboost.dask`` across the workers of ``client``'s cluster.

    The rows are cut into one partition per worker and sent to the workers;
    builds histograms of its share and XGBoost's collective sums them, so the
    trees match a one-process fit closely (the quantile sketch is merged across
    workers, so not bit for bit). Same parameters, same early stopping on the
    valid set.

    Args:
        client: a ``distributed.Client`` on the cluster (see ``infra.compute.training_client``).
        train_X, train_y, valid_X, valid_y: as for ``train_booster``.
        feature_types: "q"/"c" per column.
        params: hyper-parameters; ``nthread`` is left to each worker's own threads.
    """
    import dask.dataframe as dd
    import xgboost.dask as dxgb  # the submodule is not imported by ``import xgboost``

    workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))

    def matrix(X: pd.DataFrame, y: np.ndarray) -> Any:
        parts = max(1, min(workers, len(X)))
        frame = dd.from_pandas(X.reset_index(drop=True), npartitions=parts)
        labels = dd.from_pandas(pd.Series(np.asarray(y, dtype=np.float64)), npartitions=parts)
        frame, labels = client.persist([frame, labels])  # the shares now live on the workers
        return dxgb.DaskDMatrix(client, frame, labels, feature_types=feature_types, enable_categorical=True)

    dtrain, dvalid = matrix(train_X, train_y), matrix(valid_X, valid_y)
    xgb_params = {k: v for k, v in params.xgb_params().items() if k != "nthread"}
    output = dxgb.train(
        client, xgb_params, dtrain, num_boost_round=params.num_boost_round, evals=[(dvalid, "valid")],
        early_stopping_rounds=params.early_stopping_rounds if params.early_stopping_rounds > 0 else None,
    )
    booster, history = output["booster"], output["history"]
    if booster.attr("best_iteration") is None:
        last = booster.num_boosted_rounds() - 1
        booster.set_attr(best_iteration=str(last), best_score=repr(float(history["valid"]["auc"][last])))
    return TrainedModel(
        booster=booster, best_iteration=int(booster.attr("best_iteration")), best_score=float(booster.attr("best_score")),
        evals_result=history,
    )


def fit_model(training_set: TrainingSet, schema: DatasetSchema, params: TrainParams, *, dask_client: Any = None) -> FitResult:
    """Time split (train / valid / out-of-time test), XGBoost ``hist`` with early stopping, test metrics and importance.

    With ``dask_client`` (``training.engine=dask``) the booster is fitted across
    the cluster's workers (``train_booster_dask``); the split, test metrics and
    importance stay in this process, as they are for a local fit.
    """
    split = time_split(training_set.frame, time_column=schema.event_time_column)
    X, y = _matrices(split, schema)
    fit = train_booster if dask_client is None else partial(train_booster_dask, dask_client)
    trained = fit(X["train"], y["train"], X["valid"], y["valid"], feature_types=feature_types(schema), params=params)
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
