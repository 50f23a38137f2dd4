"""The ingest flow: one date partition from the source into the lake."""

from __future__ import annotations

from datetime import date

from prefect import flow

from tasks.ingest import ingest_partition


@flow(name="ingest", log_prints=True)
def ingest(ds: date, scenario: str | None = None, scenario_start: date | None = None) -> dict:
    """Ingest one day.

    Steps (one task, so a backfill can run many days side by side):
    1. refuse a day after today (unless the schema sets ``allow_future``),
       before anything is read or recorded;
    2. read the day's rows from the files that can hold it;
    3. validate against the schema: bad rows (and ids another day already
       committed) to quarantine with a reason; a bad partition (a broken
       file, more than ``max_quarantine_share`` of rows quarantined) fails
       the run naming the file and column;
    4. write quarantine, matured labels, then the applications partition,
       each atomically (aside, then moved into place);
    5. record each in the partition ledger with row count and content hash,
       the applications row together with its ids in the id index.

    Args:
        ds: the partition date.
        scenario: synthetic source only: override the drift scenario for this run.
        scenario_start: synthetic source only: the day the scenario begins.
    """
    return ingest_partition(ds, scenario=scenario, scenario_start=scenario_start)


if __name__ == "__main__":
    import sys

    print(ingest(date.fromisoformat(sys.argv[1])))
