"""The ingest flow: one date partition from the source into the lake."""

from __future__ import annotations

from datetime import date

from prefect import flow

from tasks.ingest import ingest_partition


@flow(name="ingest", log_prints=True)
def ingest(ds: date, scenario: str | None = None, scenario_start: date | None = None) -> dict:
    """Ingest one day.

    Steps (one task, so a backfill can run many days side by side):
    1. read the day's rows from the configured source;
    2. validate against the schema: bad rows to quarantine with a reason,
       a bad partition fails the run naming the file and column;
    3. write quarantine, matured labels, then the applications partition,
       each atomically (aside, then moved into place);
    4. record each in the partition ledger with row count and content hash.

    Args:
        ds: the partition date.
        scenario: synthetic source only: override the drift scenario for this run.
        scenario_start: synthetic source only: the day the scenario begins.
    """
    return ingest_partition(ds, scenario=scenario, scenario_start=scenario_start)


if __name__ == "__main__":
    import sys

    print(ingest(date.fromisoformat(sys.argv[1])))
