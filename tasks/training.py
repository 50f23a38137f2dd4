"""Training tasks: training set from matured partitions, fit, register, gate, model card."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import xgboost as xgb
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from models.card import render_model_card
from models.features import feature_types, prepare_features
from models.labels import attach_labels
from models.metrics import calibration_table, classification_metrics, feature_importance, segment_auc
from models.promotion import GatePolicy, Verdict, decide
from models.schema import DatasetSchema
from models.scoring import predict_proba
from models.split import time_split
from models.training import TrainParams, train_booster
from infra.factory import build_lake, build_partition_ledger, build_registry, build_source
from infra.pointers import move_champion
from infra.settings import TandemSettings, get_settings
from infra.stores.model_cards import write_model_card
from tasks.common import current_flow_run_id, retry_unless_bad_input
from tasks.ingest import LABELS

# TreeSHAP costs about 0.5 ms per row for 200 trees. On 1,000 sampled test rows
# the mean |SHAP| ranking keeps a Spearman correlation >= 0.97 with a 20,000-row
# reference, as 2,000 rows do, for half the time.
SHAP_ROWS = 1000

IO_RETRIES = dict(retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=retry_unless_bad_input)


class NotEnoughData(ValueError):
    """The ledger does not hold enough matured partitions to train."""


@dataclass
class TrainingSet:
    frame: pd.DataFrame
    start: date
    end: date
    partitions: list[dict]
    unlabeled_rows: int
    fingerprint: str


@dataclass
class FitResult:
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
    example: pd.DataFrame = field(repr=False)


def train_params(settings: TandemSettings) -> TrainParams:
    t = settings.training
    return TrainParams(
        max_depth=t.max_depth, learning_rate=t.learning_rate, num_boost_round=t.num_boost_round,
        early_stopping_rounds=t.early_stopping_rounds, seed=t.seed,
    )


def gate_policy(settings: TandemSettings) -> GatePolicy:
    g = settings.gate
    return GatePolicy(
        min_auc=g.min_auc, max_brier=g.max_brier, tolerance=g.tolerance,
        n_bootstrap=g.n_bootstrap, confidence=g.confidence, seed=g.seed,
    )


@task(name="resolve-training-window", **IO_RETRIES)
def resolve_window(window_days: int | None = None, end: date | None = None) -> tuple[date, date]:
    """The newest window of application days whose labels have matured.

    A day's labels are matured once the labels partition ``label_delay_days``
    later is in the ledger; ``end`` defaults to the newest such day.
    """
    settings = get_settings()
    source = build_source(settings)
    ledger = build_partition_ledger(settings)
    window_days = window_days or settings.training.window_days
    labels = ledger.list(LABELS, status="ok")
    apps = ledger.list(source.schema.name, status="ok")
    if not labels or not apps:
        raise NotEnoughData(
            "no matured partitions to train on: the ledger has "
            f"{len(apps)} application and {len(labels)} label partition(s); run a backfill first"
        )
    newest_matured = labels[-1].ds - timedelta(days=source.label_delay_days)
    end = min(end or newest_matured, newest_matured, apps[-1].ds)
    start = max(end - timedelta(days=window_days - 1), apps[0].ds)
    if (end - start).days + 1 < 3:
        raise NotEnoughData(f"window {start}..{end} has fewer than 3 matured days; ingest more history")
    return start, end


@task(name="load-training-set", cache_policy=NO_CACHE, **IO_RETRIES)
def load_training_set(start: date, end: date) -> TrainingSet:
    """Join application partitions in the window with their matured labels."""
    logger = get_run_logger()
    settings = get_settings()
    schema = build_source(settings).schema
    ledger, lake = build_partition_ledger(settings), build_lake(settings)
    apps = ledger.list(schema.name, start=start, end=end, status="ok")
    labels = ledger.list(LABELS, start=start, status="ok")
    if not apps or not labels:
        raise NotEnoughData(f"no labelled rows in {start}..{end}: {len(apps)} application and {len(labels)} label partition(s)")
    features = lake.read_table(schema.name, [p.ds for p in apps])
    outcomes = lake.read_table(LABELS, [p.ds for p in labels], columns=[schema.id_column, schema.target_column])
    frame = attach_labels(features, outcomes, id_column=schema.id_column, target_column=schema.target_column)
    used = [
        {"dataset": p.dataset, "ds": p.ds.isoformat(), "rows": p.row_count, "content_hash": p.content_hash}
        for p in [*apps, *labels]
    ]
    if frame.empty:
        raise NotEnoughData(f"no labelled rows in {start}..{end}")
    fingerprint = hashlib.sha256(
        json.dumps({"partitions": used, "schema": schema.to_dict()}, sort_keys=True).encode()
    ).hexdigest()
    unlabeled = features.num_rows - len(frame)
    logger.info(
        "training set %s..%s: %d labelled rows from %d application and %d label partitions (%d unlabelled dropped)",
        start, end, len(frame), len(apps), len(labels), unlabeled,
    )
    return TrainingSet(frame, start, end, used, unlabeled, fingerprint)


def _fingerprint(training_set: TrainingSet, params: TrainParams) -> str:
    payload = {"data": training_set.fingerprint, "params": asdict(params)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@task(name="find-existing-version", cache_policy=NO_CACHE, **IO_RETRIES)
def find_existing_version(training_set: TrainingSet) -> str | None:
    """A registered version trained on exactly these partitions and parameters, if any."""
    settings = get_settings()
    fingerprint = _fingerprint(training_set, train_params(settings))
    return build_registry(settings).find_version_by_tag("data_fingerprint", fingerprint)


@task(name="fit-model", cache_policy=NO_CACHE)
def fit_model(training_set: TrainingSet) -> FitResult:
    """Time split, XGBoost ``hist`` with early stopping, test-set metrics and importance."""
    settings = get_settings()
    schema: DatasetSchema = build_source(settings).schema
    params = train_params(settings)
    split = time_split(training_set.frame, time_column=schema.event_time_column)
    ftypes = feature_types(schema)
    X = {name: prepare_features(part, schema) for name, part in (("train", split.train), ("valid", split.valid), ("test", split.test))}
    y = {name: part[schema.target_column].to_numpy(dtype=np.int8) for name, part in (("train", split.train), ("valid", split.valid), ("test", split.test))}
    trained = train_booster(X["train"], y["train"], X["valid"], y["valid"], feature_types=ftypes, params=params)
    booster = trained.booster
    test_scores = predict_proba(booster, X["test"])
    segments = split.test[schema.segment_column].astype("string").fillna("<null>").to_numpy() if schema.segment_column else None

    def days(part: pd.DataFrame) -> list[str]:
        stamps = pd.to_datetime(part[schema.event_time_column])
        return [stamps.min().date().isoformat(), stamps.max().date().isoformat()]

    return FitResult(
        booster=booster,
        params={**asdict(params), "window_start": training_set.start.isoformat(), "window_end": training_set.end.isoformat()},
        split_days={"train": days(split.train), "valid": days(split.valid), "test": days(split.test)},
        rows={"train": len(split.train), "valid": len(split.valid), "test": len(split.test)},
        test_X=X["test"],
        test_y=y["test"],
        test_scores=test_scores,
        metrics=classification_metrics(y["test"], test_scores),
        valid_auc=trained.best_score,  # early stopping's own validation AUC at the best round
        calibration=calibration_table(y["test"], test_scores),
        segment_auc=segment_auc(y["test"], test_scores, segments) if segments is not None else {},
        importance=feature_importance(booster, X["test"], feature_types=ftypes, max_rows=SHAP_ROWS),
        best_iteration=trained.best_iteration,
        example=X["train"].head(5),
    )


@task(name="register-model", cache_policy=NO_CACHE, **IO_RETRIES)
def register_model(training_set: TrainingSet, fit: FitResult) -> dict:
    """Log the run (params, metrics, partitions with hashes, schema) and register a new version."""
    settings = get_settings()
    schema = build_source(settings).schema
    registry = build_registry(settings)
    metrics = {f"test_{k}": float(v) for k, v in fit.metrics.items() if v is not None}
    metrics["valid_auc"] = float(fit.valid_auc)
    metrics |= {f"rows_{k}": float(v) for k, v in fit.rows.items()}
    metrics["best_iteration"] = float(fit.best_iteration)
    registered = registry.log_training_run(
        booster=fit.booster,
        example=fit.example,
        params=fit.params,
        metrics=metrics,
        dicts={
            "partitions.json": training_set.partitions,
            "schema.json": schema.to_dict(),
            "split.json": {"days": fit.split_days, "rows": fit.rows},
            "segment_auc.json": fit.segment_auc,
            "importance.json": fit.importance.to_dict(orient="records"),
            "calibration.json": fit.calibration.to_dict(orient="records"),
        },
        texts={},
        tags={
            "data_fingerprint": _fingerprint(training_set, train_params(settings)),
            "window_start": training_set.start.isoformat(),
            "window_end": training_set.end.isoformat(),
            "schema_version": schema.version,
            "prefect_flow_run_id": current_flow_run_id() or "",
        },
        run_name=f"train {training_set.start}..{training_set.end}",
    )
    get_run_logger().info("registered %s version %s (run %s)", settings.model_name, registered.version, registered.run_id)
    return asdict(registered)


@task(name="gate-challenger", cache_policy=NO_CACHE, **IO_RETRIES)
def gate_challenger(fit: FitResult) -> tuple[Verdict, str | None]:
    """Champion/challenger on the challenger's out-of-time test set (paired bootstrap)."""
    settings = get_settings()
    registry = build_registry(settings)
    champion = registry.alias_version(settings.champion_alias)
    champion_scores = None
    if champion is not None:
        champion_scores = predict_proba(registry.load_booster(champion), fit.test_X)
    verdict = decide(fit.test_y, fit.test_scores, champion_scores, policy=gate_policy(settings))
    get_run_logger().info("gate verdict vs champion %s: %s — %s", champion, verdict.decision, verdict.reason)
    return verdict, champion


@task(name="apply-verdict", cache_policy=NO_CACHE, **IO_RETRIES)
def apply_verdict(version: str, run_id: str, verdict: Verdict, champion: str | None) -> str | None:
    """Store the verdict on the version; on PROMOTE move ``champion`` through the pointer ledger."""
    settings = get_settings()
    registry = build_registry(settings)
    evidence = {"version": version, "run_id": run_id, "compared_with": champion, "verdict": verdict.to_dict()}
    registry.set_version_tags(
        version,
        {
            "gate.decision": verdict.decision,
            "gate.reason": verdict.reason,
            "gate.compared_with": champion or "",
            "gate.checks": json.dumps(evidence["verdict"]["checks"], default=str),
        },
    )
    registry.log_dict(run_id, evidence, "gate_verdict.json")
    if verdict.decision != "PROMOTE":
        return champion
    run_name = flow_run.get_name()
    move_champion(
        settings,
        version,
        reason=f"gate PROMOTE: {verdict.reason}",
        evidence=evidence,
        actor=settings.actor or (f"gate (flow run {run_name})" if run_name else "gate"),
    )
    return version


@task(name="publish-model-card", cache_policy=NO_CACHE, **IO_RETRIES)
def publish_model_card(training_set: TrainingSet, fit: FitResult, registered: dict, verdict: Verdict) -> str:
    """Render the model card; store it in MLflow, under the data dir and as a Prefect artifact."""
    settings = get_settings()
    schema = build_source(settings).schema
    card = render_model_card(
        model_name=settings.model_name,
        version=registered["version"],
        run_id=registered["run_id"],
        window=(training_set.start, training_set.end),
        partitions=training_set.partitions,
        metrics=fit.metrics,
        calibration=fit.calibration,
        segment_auc=fit.segment_auc,
        importance=fit.importance,
        verdict=verdict,
        params=fit.params,
        schema_version=schema.version,
        trained_at=datetime.now(timezone.utc),
    )
    build_registry(settings).log_text(registered["run_id"], card, "model_card.md")
    path = write_model_card(settings, settings.model_name, registered["version"], card)
    create_markdown_artifact(card, key="model-card", description=f"{settings.model_name} v{registered['version']}")
    create_table_artifact(
        [{"metric": k, "value": round(float(v), 4)} for k, v in fit.metrics.items() if v is not None],
        key="training-metrics",
        description=f"{settings.model_name} v{registered['version']} out-of-time test metrics",
    )
    return path
