"""The nightly evaluation flow: drift and quality scorecards for both systems, and the tickets they open."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import Completed

from infra.flow_runs import RAG, RISK, name_by_day, nightly_message, run_hooks
from tasks.common import shared_api_client
from tasks.monitoring import (
    evaluate_golden,
    grade_and_file,
    measure_rag,
    measure_risk,
    night_done,
    publish_scorecard,
    resolve_night,
)


# Async for the same reason as ``score`` (see flows/backfill.py).
@flow(name="nightly-eval", flow_run_name=name_by_day("nightly-eval"), **run_hooks(RISK, RAG, by_day=True))
async def nightly_eval(ds: date | None = None, force: bool = False, drift_report: bool = True) -> dict:
    """Evaluate the night ``ds`` (default: yesterday in the deployment's timezone) for the risk scorer and the RAG assistant.

    Steps:
    1. a night already evaluated is skipped unless ``force`` (a rerun re-grades it, no duplicates);
    2. risk scorer: freshness, quarantine share, data drift (Evidently) against the champion's
       reference sample, prediction drift, null-rate jumps, unseen categories, out-of-range
       shares, segment drift, and AUC / KS / Brier on the labels matured since the last night;
    3. RAG assistant: the golden set on docs-live with the production prompt (reused while
       neither changed), query drift, unanswerable share, staleness, cost per tenant, latency,
       errors, fallbacks, budget refusals, guardrail hits, provider model, bad feedback;
    4. grade every figure against the policy's calibrated levels; record the night; open or
       update tickets (debounce, cool-down, one per kind and asset) and resolve those whose
       remedy promoted; each change is a Prefect event (and a webhook message);
    5. publish the scorecard: MLflow runs, the Prefect markdown artifact, the assistant's copy.

    The final state's message is the night's status and ticket changes (``2026-03-14 red: 2 ticket change(s)``).

    Args:
        ds: the night to evaluate (default: yesterday in the deployment's timezone).
        force: evaluate a night again that was already evaluated (re-grades it; no duplicate tickets).
        drift_report: keep Evidently's HTML data drift report with the scorecard (the figures are the
            same without it; the main job's replay keeps it for its newest night only).
    """
    with shared_api_client():
        night = resolve_night(ds)
        if not force and night_done(night):
            done = {"night": night.isoformat(), "skipped": True}
            return Completed(message=nightly_message(done), data=done)
        risk = measure_risk(night, html=drift_report)
        golden = evaluate_golden(night)
        rag = measure_rag(night, golden)
        outcome = grade_and_file(night, risk.measurements + rag, risk.calibration, champion=risk.champion)
        scorecard = publish_scorecard(outcome, risk, golden)
        result = {"night": night.isoformat(), "skipped": False, **scorecard, "tickets": outcome.changes, "held": outcome.held}
        return Completed(message=nightly_message(result), data=result)


if __name__ == "__main__":
    import asyncio

    print(asyncio.run(nightly_eval()))
