"""Backfill tasks: plan from the ledger, summarise as a Prefect table artifact."""

from __future__ import annotations

from datetime import date
from typing import Literal

from prefect import task
from prefect.artifacts import create_table_artifact

from models.dates import BACKFILL_MODES, check_range
from infra.factory import build_partition_ledger, build_source
from infra.settings import get_settings
from tasks.common import today_utc

Mode = Literal["missing", "failed", "all"]
MODES = tuple(BACKFILL_MODES)


@task(name="plan-backfill")
def plan_backfill(start: date, end: date, mode: Mode = "missing") -> list[dict]:
    """One row per day: its ledger status and whether this backfill will ingest it.

    ``missing`` takes days never ingested, ``failed`` days whose last attempt
    failed and that were never committed, ``all`` every day (a full rerun).

    Raises:
        ImpossibleRange: ``end`` before ``start``, or a day after today without
            the schema's ``allow_future``; refused before any day is planned
            (a ValueError: never retried).
    """
    if mode not in MODES:
        raise ValueError(f"backfill mode {mode!r} is not one of {', '.join(MODES)}")
    settings = get_settings()
    schema = build_source(settings).schema
    days = check_range(start, end, today=today_utc(), allow_future=schema.allow_future)
    dataset = schema.name
    statuses = build_partition_ledger(settings).statuses(dataset, days)
    wanted = BACKFILL_MODES[mode]
    return [{"ds": d, "ledger_status": statuses[d] or "missing", "run": statuses[d] in wanted} for d in days]


@task(name="publish-backfill-summary")
def publish_backfill_summary(rows: list[dict], start: date, end: date, mode: str, dry_run: bool) -> None:
    """The per-day table on-call sees in the Prefect UI.

    ``ledger`` is the day's status in the partition ledger after this run (read
    back, so a day that failed reads ``failed`` and a day done reads ``ok``);
    ``planned_from`` is what the plan saw before it.
    """
    counts = {k: sum(r["outcome"] == k for r in rows) for k in ("done", "skipped", "failed", "would run")}
    settings = get_settings()
    now = build_partition_ledger(settings).statuses(build_source(settings).schema.name, [r["ds"] for r in rows])
    create_table_artifact(
        [{"ds": r["ds"].isoformat(), "outcome": r["outcome"], "ledger": now.get(r["ds"]) or "missing",
          "planned_from": r["ledger_status"], "rows": r["rows"], "detail": r["detail"]} for r in rows],
        key="backfill-summary",
        description=(
            f"backfill {start}..{end} mode={mode}{' (dry run)' if dry_run else ''}: "
            + ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        ),
    )


class BackfillIncomplete(RuntimeError):
    """Some days failed; the summary artifact lists them with their reasons."""


def run_bounded(task_fn, days: list[date], limit: int, **kwargs) -> dict:
    """Submit ``task_fn(ds, **kwargs)`` per day, at most ``limit`` in flight.

    Returns the futures by day. A failed day does not stop the others.
    """
    from prefect.futures import as_completed, wait

    futures, in_flight = {}, []
    for ds in days:
        if len(in_flight) >= limit:
            finished = next(as_completed(in_flight))
            in_flight.remove(finished)
        futures[ds] = task_fn.submit(ds, **kwargs)
        in_flight.append(futures[ds])
    wait(in_flight)
    return futures


def collect_outcomes(plan: list[dict], futures: dict, *, dry_run: bool) -> list[dict]:
    """Per-day outcome rows: done / skipped / failed (with reason) / would run."""
    rows = []
    for item in plan:
        ds = item["ds"]
        row = {"ds": ds, "ledger_status": item["ledger_status"], "outcome": "skipped", "rows": None, "detail": ""}
        if not item["run"]:
            row["detail"] = f"already {item['ledger_status']}"
        elif dry_run:
            row.update(outcome="would run", detail=f"ledger says {item['ledger_status']}")
        else:
            # result() waits for the task's final state; reading .state alone can
            # still show Running just after the thread finished.
            try:
                result = futures[ds].result()
            except Exception as exc:  # the task's own error is the reason on-call needs
                row.update(outcome="failed", detail=f"{type(exc).__name__}: {exc}")
            else:
                row.update(outcome="done", rows=result["rows"], detail=f"{result['quarantined']} quarantined")
        rows.append(row)
    return rows


def finish_backfill(rows: list[dict]) -> list[dict]:
    """Return the rows, or fail the run (after the summary is published) if a day failed."""
    failed = [r for r in rows if r["outcome"] == "failed"]
    if failed:
        listing = "; ".join(f"{r['ds']}: {r['detail']}" for r in failed[:5])
        raise BackfillIncomplete(f"{len(failed)} of {len(rows)} day(s) failed: {listing}")
    return rows
