"""The score flow: batch-score partitions with the champion model."""

from __future__ import annotations

from datetime import date, timedelta

from prefect import flow

from tasks.common import shared_api_client
from tasks.scoring import score_partition


# Async for the same reason as ``backfill`` (see flows/backfill.py): a sync run
# ends only when Prefect's heartbeat thread wakes from its 1 s sleep.
@flow(name="score")
async def score(ds: date, end: date | None = None, force: bool = False) -> list[dict]:
    """Score ``applications/ds`` (through ``end``, inclusive, if given) with ``models:/risk-scorer@champion``.

    Steps, per day: resolve the champion alias, read the partition, predict in
    place (no row loop), write ``predictions/ds`` atomically and record it in
    the ledger with the model version and input hash. A day already scored
    from the same input by the same champion is skipped; ``force`` rescores.
    One flow run covers the whole range, so a week costs one run's overhead.
    """
    days = [ds + timedelta(days=i) for i in range(((end or ds) - ds).days + 1)]
    with shared_api_client():
        return [score_partition(day, force=force) for day in days]
