"""The score flow: batch-score partitions with the champion model."""

from __future__ import annotations

from datetime import date, timedelta

from prefect import flow, unmapped
from prefect.states import Completed

from infra.compute import partition_runner
from infra.flow_runs import RISK, name_by_day, run_day, run_hooks, score_message
from tasks.common import shared_api_client
from tasks.scoring import score_partition


# Async for the same reason as ``backfill`` (see flows/backfill.py): a sync run
# ends only when Prefect's heartbeat thread wakes from its 1 s sleep.
# The days of a range are scored at once: up to 4 in threads of this process, or
# on a Dask cluster's workers when TANDEM_DASK_ADDRESS is set (infra.compute).
@flow(name="score", task_runner=partition_runner(max_workers=4), flow_run_name=name_by_day("score"), **run_hooks(RISK, by_day=True))
async def score(ds: date | None = None, end: date | None = None, force: bool = False) -> list[dict]:
    """Score ``applications/ds`` (through ``end``, inclusive, if given) with ``models:/risk-scorer@champion``.

    Steps, per day: resolve the champion alias, read the partition, predict in
    place (no row loop), write ``predictions/ds`` atomically and record it in
    the ledger with the model version and input hash. A day already scored
    from the same input by the same champion is skipped; ``force`` rescores.
    One flow run covers the whole range, so a week costs one run's overhead.
    The final state's message counts the days scored and skipped.

    Args:
        ds: the (first) day to score (default: yesterday in the deployment's timezone).
        end: the last day to score (inclusive); default: ``ds`` alone.
        force: rescore days already scored from the same input by the same champion.
    """
    ds = run_day(ds)
    days = [ds + timedelta(days=i) for i in range(((end or ds) - ds).days + 1)]
    with shared_api_client():
        futures = score_partition.map(days, force=unmapped(force))
        scored = [future.result() for future in futures]  # in day order; the first failed day fails the run
    return Completed(message=score_message(scored), data=scored)
