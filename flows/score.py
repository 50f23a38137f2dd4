"""The score flow: batch-score one partition with the champion model."""

from __future__ import annotations

from datetime import date

from prefect import flow

from tasks.scoring import score_partition


@flow(name="score")
def score(ds: date, force: bool = False) -> dict:
    """Score ``applications/ds`` with ``models:/risk-scorer@champion``.

    Steps: resolve the champion alias, read the partition, predict in place
    (no row loop), write ``predictions/ds`` atomically and record it in the
    ledger with the model version and input hash. A rerun with the same input
    and champion is skipped; ``force`` rescores anyway.
    """
    return score_partition(ds, force=force)
