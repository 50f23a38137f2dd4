"""The backfill flow: ingest a range of days, asking the ledger what is left to do."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.backfill import Mode, collect_outcomes, finish_backfill, plan_backfill, publish_backfill_summary, run_bounded
from tasks.ingest import ingest_partition


@flow(name="backfill", task_runner=ThreadPoolTaskRunner(max_workers=8))
def backfill(
    start: date,
    end: date,
    mode: Mode = "missing",
    dry_run: bool = False,
    concurrency: int = 4,
    scenario: str | None = None,
    scenario_start: date | None = None,
) -> list[dict]:
    """Ingest every day from ``start`` to ``end`` (inclusive) that ``mode`` selects.

    Steps:
    1. plan from the partition ledger: ``missing`` (default), ``failed`` or ``all``;
    2. unless ``dry_run``, ingest the planned days, at most ``concurrency`` at
       once, carrying on past a failed day;
    3. publish the per-day summary (done / skipped / failed with reason) as
       the ``backfill-summary`` table artifact;
    4. fail the run if any day failed, so on-call sees it red.

    Re-running a finished backfill plans nothing and does no work.
    """
    plan = plan_backfill(start, end, mode)
    todo = [] if dry_run else [row["ds"] for row in plan if row["run"]]
    futures = run_bounded(ingest_partition, todo, min(concurrency, 8), scenario=scenario, scenario_start=scenario_start)
    rows = collect_outcomes(plan, futures, dry_run=dry_run)
    publish_backfill_summary(rows, start, end, mode, dry_run)
    return finish_backfill(rows)
