"""The ingest flow: one date partition from the source into the lake."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import Completed

from infra.flow_runs import RISK, ingest_message, name_by_day, run_day, run_hooks
from infra.settings import Scenario
from tasks.ingest import ingest_partition


@flow(name="ingest", log_prints=True, flow_run_name=name_by_day("ingest"), **run_hooks(RISK, by_day=True))
def ingest(ds: date | None = None, scenario: Scenario | None = None, scenario_start: date | None = None) -> dict:
    """Ingest one day (the nightly ``ingest-daily`` deployment: yesterday).

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

    The final state's message says what was written (``2026-03-14: 2,000 rows, 3 quarantined``).

    Args:
        ds: the partition date (default: yesterday in the deployment's timezone).
        scenario: synthetic source only: override the drift scenario for this run.
        scenario_start: synthetic source only: the day the scenario begins.
    """
    result = ingest_partition(run_day(ds), scenario=scenario, scenario_start=scenario_start)
    return Completed(message=ingest_message(result), data=result)


if __name__ == "__main__":
    import sys

    print(ingest(date.fromisoformat(sys.argv[1]) if len(sys.argv) > 1 else None))
