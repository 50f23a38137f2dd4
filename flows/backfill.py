"""The backfill flow: ingest a range of days, asking the ledger what is left to do."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import Completed

from infra.compute import partition_runner
from infra.flow_runs import RISK, backfill_message, name_by_range, run_hooks
from infra.settings import Scenario
from tasks.backfill import Mode, collect_outcomes, finish_backfill, plan_backfill, publish_backfill_summary, run_bounded
from tasks.common import shared_api_client
from tasks.ingest import ingest_partition


# An async flow although nothing in it awaits: Prefect 3.8's sync engine waits at
# the end of every run for its heartbeat thread, which sleeps in 1 s steps, so a
# sync run's wall time is rounded up to the next whole second (about 0.5 s a run,
# 10-20% of a 1M-row backfill); the async engine lets that thread stop on its own.
# The tasks stay sync and run in the task runner's threads as before.
# Call it with ``asyncio.run(backfill(...))``, or ``await`` it in a notebook.
# The days run in threads of this process, or on a Dask cluster's workers when
# TANDEM_DASK_ADDRESS is set (infra.compute picks the runner at each run's start).
@flow(name="backfill", task_runner=partition_runner(max_workers=8), flow_run_name=name_by_range("backfill"), **run_hooks(RISK))
async def backfill(
    start: date,
    end: date,
    mode: Mode = "missing",
    dry_run: bool = False,
    concurrency: int = 4,
    scenario: Scenario | None = None,
    scenario_start: date | None = None,
) -> list[dict]:
    """Ingest every day from ``start`` to ``end`` (inclusive) that ``mode`` selects.

    Steps:
    1. refuse an impossible range (``end`` before ``start``, a day after today
       unless the schema sets ``allow_future``) with one line, before any work;
       then plan from the partition ledger: ``missing`` (default), ``failed`` or ``all``;
    2. unless ``dry_run``, ingest the planned days, at most ``concurrency`` at
       once, carrying on past a failed day;
    3. publish the per-day summary (done / skipped / failed with reason) as
       the ``backfill-summary`` table artifact;
    4. fail the run if any day failed, so on-call sees it red.

    Re-running a finished backfill plans nothing and does no work. The final
    state's message counts the days (``12 done, 3 skipped, 0 failed``).

    Args:
        start: the first day to ingest.
        end: the last day to ingest (inclusive).
        mode: which days the ledger selects: ``missing`` (never ingested), ``failed``, or ``all`` (redo every day).
        dry_run: only plan and publish the summary; ingest nothing.
        concurrency: days ingested at once (at most 8).
        scenario: synthetic source only: override the drift scenario for these days.
        scenario_start: synthetic source only: the day the scenario begins.
    """
    with shared_api_client():
        plan = plan_backfill(start, end, mode)
        todo = [] if dry_run else [row["ds"] for row in plan if row["run"]]
        futures = run_bounded(ingest_partition, todo, min(concurrency, 8), scenario=scenario, scenario_start=scenario_start)
        rows = collect_outcomes(plan, futures, dry_run=dry_run)
        publish_backfill_summary(rows, start, end, mode, dry_run)
        return Completed(message=backfill_message(rows), data=finish_backfill(rows))
