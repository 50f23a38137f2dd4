"""The train flow: matured partitions -> MLflow version -> gate -> maybe champion."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import Completed

from infra.flow_runs import RISK, name_by, rename_run, run_hooks, train_message
from tasks.approval import approve_champion
from tasks.common import shared_api_client
from tasks.training import (
    apply_verdict,
    evaluate_registered,
    find_trained_version,
    fit_model,
    gate_challenger,
    load_training_set,
    publish_model_card,
    register_model,
    report_trained,
    resolve_window,
)


# Async for the same reason as ``backfill`` (see flows/backfill.py): a sync run
# ends only when Prefect's heartbeat thread wakes from its 1 s sleep.
@flow(name="train", flow_run_name=name_by("train ..{end}", end="latest"), **run_hooks(RISK))
async def train(window_days: int | None = None, end: date | None = None, force: bool = False) -> dict:
    """Train a challenger and let the gate decide whether it becomes champion.

    Steps:
    1. resolve the window: the newest ``window_days`` of applications whose labels matured;
    2. join those partitions with their labels (content hashes recorded);
    3. a version already trained on exactly these partitions and parameters (unless ``force``):
       judged already -> report its verdict and what to change, and stop;
       registered but never gated (a killed run) -> evaluate that version, no refit;
    4. otherwise time split, XGBoost ``hist`` with early stopping, and register the
       version (once per flow run, even if the task is retried);
    5. gate: every figure with its bootstrap interval; limits, then non-inferiority to the champion;
    6. store the verdict; on PROMOTE move ``champion`` through the pointer ledger (not while pinned);
    7. publish the model card (MLflow artifact, data dir, Prefect artifact);
    8. HOLD ``inconclusive``: pause for a person's approval in the Prefect UI (approve -> champion
       moves as a human decision; reject or no answer in ``approval.timeout_s`` -> recorded, nothing
       moves); a run that cannot pause (an in-process subflow) keeps the HOLD and says so.

    The run is named for its window (``train 2026-01-01..2026-03-31``); the final
    state's message is the outcome: ``PROMOTE v3 (AUC 0.82 [0.80, 0.84])``,
    ``HOLD v4 (...): inconclusive``, or ``skipped: same partitions as v2 (...)``.

    Args:
        window_days: days of matured applications to train on (default: the training settings' window).
        end: the last application day of the window (default: the newest day whose labels matured).
        force: train again even if a version was already trained on exactly these partitions.
    """
    with shared_api_client():
        start, end = resolve_window(window_days, end)
        rename_run(f"train {start}..{end}")
        training_set = load_training_set(start, end)
        previous = None if force else find_trained_version(training_set)
        if previous and not previous.needs_gate:
            skipped = report_trained(previous, training_set)
            return Completed(message=train_message(skipped), data=skipped)
        if previous:
            fit = evaluate_registered(training_set, previous)
            registered = previous.registered()
        else:
            fit = fit_model(training_set)
            registered = register_model(training_set, fit)
        verdict, compared_with = gate_challenger(fit)
        applied = apply_verdict(registered, verdict, compared_with)
        card = publish_model_card(training_set, fit, registered, verdict)
        if verdict.decision == "HOLD" and verdict.code == "inconclusive":  # a person may promote it anyway
            applied = approve_champion(registered, verdict.headline, applied)
        result = {
            "version": registered["version"], "skipped": False, "resumed": previous is not None, "window": [start, end],
            "decision": verdict.decision, "code": verdict.code, "reason": verdict.reason, "message": applied["message"],
            "champion": applied["champion"], "pinned": applied["pinned"], "auc": verdict.figures["auc"].to_dict(),
            "approval": applied.get("approval"),
            "verdict": verdict.to_dict(), "metrics": fit.metrics, "data": fit.data.to_dict(), "model_card": card,
        }
        return Completed(message=train_message(result), data=result)
