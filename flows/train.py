"""The train flow: matured partitions -> MLflow version -> gate -> maybe champion."""

from __future__ import annotations

from datetime import date

from prefect import flow

from tasks.common import shared_api_client
from tasks.training import (
    apply_verdict,
    find_existing_version,
    fit_model,
    gate_challenger,
    load_training_set,
    publish_model_card,
    register_model,
    resolve_window,
)


# Async for the same reason as ``backfill`` (see flows/backfill.py): a sync run
# ends only when Prefect's heartbeat thread wakes from its 1 s sleep.
@flow(name="train")
async def train(window_days: int | None = None, end: date | None = None, force: bool = False) -> dict:
    """Train a challenger and let the gate decide whether it becomes champion.

    Steps:
    1. resolve the window: the newest ``window_days`` of applications whose labels matured;
    2. join those partitions with their labels (content hashes recorded);
    3. skip if a version was already trained on exactly these partitions (unless ``force``);
    4. time split (train / valid / out-of-time test), XGBoost ``hist`` with early stopping;
    5. log to MLflow and register a new ``risk-scorer`` version;
    6. gate: minimums, then paired bootstrap against the champion on the same test set;
    7. store the verdict; on PROMOTE move ``champion`` through the pointer ledger;
    8. publish the model card (MLflow artifact, data dir, Prefect artifact).
    """
    with shared_api_client():
        start, end = resolve_window(window_days, end)
        training_set = load_training_set(start, end)
        existing = None if force else find_existing_version(training_set)
        if existing:
            return {"version": existing, "skipped": True, "window": [start, end]}
        fit = fit_model(training_set)
        registered = register_model(training_set, fit)
        verdict, previous = gate_challenger(fit)
        champion = apply_verdict(registered["version"], registered["run_id"], verdict, previous)
        card = publish_model_card(training_set, fit, registered, verdict)
        return {
            "version": registered["version"], "skipped": False, "window": [start, end],
            "decision": verdict.decision, "reason": verdict.reason, "champion": champion,
            "metrics": fit.metrics, "model_card": card,
        }
