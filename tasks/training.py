"""Training tasks: thin wrappers around ``infra.risk`` (adapters built here, retries on I/O, logs, artifacts)."""

from __future__ import annotations

import uuid
from datetime import date
from functools import partial

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from models.promotion import Verdict
from infra.compute import training_client
from infra.factory import build_lake, build_partition_ledger, build_registry, build_source
from infra.pointers import move_champion
from infra.risk import card as risk_card
from infra.risk import fit as risk_fit
from infra.risk import gate as risk_gate
from infra.risk import reference as risk_reference
from infra.risk import training_set as risk_data
from infra.risk.fit import FitResult, train_params
from infra.risk.gate import TrainedVersion, gate_policy
from infra.risk.training_set import TrainingSet
from infra.settings import get_settings
from infra.stores.model_cards import ModelCardStore, model_cards_url
from tasks.common import current_flow_run_id, link_mlflow_run, retry_unless_bad_input
from tasks.ingest import LABELS

IO_RETRIES = dict(retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=retry_unless_bad_input)


def _actor(settings) -> str:
    run_name = flow_run.get_name()
    return settings.actor or (f"gate (flow run {run_name})" if run_name else "gate")


@task(name="resolve-training-window", **IO_RETRIES)
def resolve_window(window_days: int | None = None, end: date | None = None) -> tuple[date, date]:
    """The newest window of application days whose labels have matured."""
    settings = get_settings()
    source = build_source(settings)
    return risk_data.resolve_window(
        build_partition_ledger(settings), dataset=source.schema.name, labels_dataset=LABELS,
        label_delay_days=source.label_delay_days, window_days=window_days or settings.training.window_days, end=end,
    )


@task(name="load-training-set", cache_policy=NO_CACHE, **IO_RETRIES)
def load_training_set(start: date, end: date) -> TrainingSet:
    """Join application partitions in the window with their matured labels."""
    settings = get_settings()
    source = build_source(settings)
    training_set = risk_data.load_training_set(
        build_partition_ledger(settings), build_lake(settings), source.schema, labels_dataset=LABELS,
        label_delay_days=source.label_delay_days, start=start, end=end,
    )
    get_run_logger().info(
        "training set %s..%s: %d labelled rows of %d applications from %d partitions (%d unlabelled dropped)",
        start, end, len(training_set.frame), training_set.applications, len(training_set.partitions), training_set.unlabeled_rows,
    )
    return training_set


@task(name="find-trained-version", cache_policy=NO_CACHE, **IO_RETRIES)
def find_trained_version(training_set: TrainingSet) -> TrainedVersion | None:
    """A version already trained on exactly these partitions and parameters, and whether it still needs the gate."""
    settings = get_settings()
    fingerprint = risk_data.training_fingerprint(training_set, train_params(settings))
    found = risk_gate.find_trained_version(build_registry(settings), fingerprint, gate_policy(settings))
    if found and found.needs_gate:
        get_run_logger().warning("v%s was %s: gating it now instead of training again", found.version, found.why)
    return found


@task(name="report-trained-version", cache_policy=NO_CACHE, **IO_RETRIES)
def report_trained(found: TrainedVersion, training_set: TrainingSet) -> dict:
    """Nothing to train: say what was decided on these partitions, why, and what to change."""
    settings = get_settings()
    champion = build_registry(settings).alias_version(settings.champion_alias)
    message = risk_gate.trained_message(found, training_set.start, training_set.end, champion=champion)
    logger = get_run_logger()
    (logger.warning if found.decision != "PROMOTE" else logger.info)(message)
    return {
        "version": found.version, "skipped": True, "window": [training_set.start, training_set.end],
        "decision": found.decision, "code": found.code, "champion": champion, "message": message,
    }


@task(name="fit-model", cache_policy=NO_CACHE)
def fit_model(training_set: TrainingSet) -> FitResult:
    """Time split (train / valid / out-of-time test), XGBoost ``hist`` with early stopping, test metrics and importance."""
    settings = get_settings()
    with training_client(settings) as client:  # None unless training.engine is dask: then xgboost.dask on the cluster
        return risk_fit.fit_model(training_set, build_source(settings).schema, train_params(settings), dask_client=client)


@task(name="evaluate-registered-version", cache_policy=NO_CACHE, **IO_RETRIES)
def evaluate_registered(training_set: TrainingSet, found: TrainedVersion) -> FitResult:
    """Load a registered but ungated version and measure it on its own test set (no refit, no new version)."""
    settings = get_settings()
    booster = build_registry(settings).load_booster(found.version)
    return risk_fit.evaluate_booster(booster, training_set, build_source(settings).schema, train_params(settings))


@task(name="register-model", cache_policy=NO_CACHE, **IO_RETRIES)
def register_model(training_set: TrainingSet, fit: FitResult) -> dict:
    """Log the run and register the version; a retry in the same flow run reuses the version it made."""
    settings = get_settings()
    fingerprint = risk_data.training_fingerprint(training_set, train_params(settings))
    run_id = current_flow_run_id()
    registered = risk_gate.register_challenger(
        build_registry(settings), training_set, fit, schema=build_source(settings).schema, fingerprint=fingerprint,
        key=risk_gate.registration_key(fingerprint, run_id or uuid.uuid4().hex), flow_run_id=run_id,
    )
    get_run_logger().info("registered %s version %s (run %s)", settings.model_name, registered.version, registered.run_id)
    # The nightly checks' reference (sample, test scores, calibration) goes with the version's run.
    registry = build_registry(settings)
    risk_reference.log_reference(registry, registered.run_id, risk_reference.build_reference(fit, training_set, build_source(settings).schema))
    return {"run_id": registered.run_id, "version": registered.version, "model_uri": registered.model_uri}


@task(name="gate-challenger", cache_policy=NO_CACHE, **IO_RETRIES)
def gate_challenger(fit: FitResult) -> tuple[Verdict, str | None]:
    """Champion/challenger on the challenger's out-of-time test set; every figure with its interval."""
    settings = get_settings()
    verdict, champion = risk_gate.run_gate(
        build_registry(settings), fit, policy=gate_policy(settings), champion_alias=settings.champion_alias
    )
    get_run_logger().info("gate verdict vs champion %s: %s — %s", champion, verdict.decision, verdict.reason)
    return verdict, champion


@task(name="apply-verdict", cache_policy=NO_CACHE, **IO_RETRIES)
def apply_verdict(registered: dict, verdict: Verdict, champion: str | None) -> dict:
    """Store the verdict on the version; on PROMOTE move ``champion`` through the pointer ledger (unless pinned)."""
    settings = get_settings()
    applied = risk_gate.apply_verdict(
        build_registry(settings), partial(move_champion, settings), version=registered["version"],
        run_id=registered["run_id"], verdict=verdict, champion=champion, policy=gate_policy(settings), actor=_actor(settings),
    )
    get_run_logger().info("v%s: %s", registered["version"], applied.message)
    return applied.to_dict()


@task(name="publish-model-card", cache_policy=NO_CACHE, **IO_RETRIES)
def publish_model_card(training_set: TrainingSet, fit: FitResult, registered: dict, verdict: Verdict) -> str:
    """Render the model card; store it in MLflow, under the data dir and as a Prefect artifact."""
    settings = get_settings()
    card, path = risk_card.publish_card(
        build_registry(settings), ModelCardStore(model_cards_url(settings)), training_set=training_set, fit=fit,
        version=registered["version"], run_id=registered["run_id"], verdict=verdict,
        schema_version=build_source(settings).schema.version,
    )
    create_markdown_artifact(card, key="model-card", description=f"{settings.model_name} v{registered['version']}")
    intervals = verdict.figures
    create_table_artifact(
        [
            {"metric": k, "value": round(float(v), 4),
             "interval": f"[{intervals[k].low:.4f}, {intervals[k].high:.4f}]" if k in intervals else ""}
            for k, v in fit.metrics.items() if v is not None
        ],
        key="training-metrics",
        description=f"{settings.model_name} v{registered['version']} out-of-time test metrics",
    )
    link_mlflow_run(registered["run_id"], key="mlflow-model-run", text=f"{settings.model_name} v{registered['version']} training run")
    return path
