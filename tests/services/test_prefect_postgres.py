"""The real backfill flow on a Prefect server whose database is PostgreSQL, Tandem on the production profile."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from flows.backfill import backfill
from infra.factory import build_lake, build_partition_ledger
from infra.settings import get_settings

pytestmark = [pytest.mark.services, pytest.mark.postgres]

START = date(2026, 1, 10)


def test_backfill_runs_on_prefect_postgres_with_the_lake_on_s3(use_prefect, production, s3):
    days = [START + timedelta(days=i) for i in range(3)]
    # When a three-day backfill runs against the PostgreSQL-backed Prefect server
    rows = asyncio.run(backfill(days[0], days[-1], concurrency=2))
    # Then every day is done, committed once in the ledger (PostgreSQL), readable from S3 against its hash
    assert [(r["ds"], r["outcome"]) for r in rows] == [(d, "done") for d in days]
    settings = get_settings()
    ledger, lake = build_partition_ledger(settings), build_lake(settings)
    for ds, row in zip(days, rows):
        record = ledger.get("applications", ds)
        assert record.status == "ok" and record.row_count == row["rows"] > 0
        assert record.path == f"s3://{s3.bucket}/lake/applications/ds={ds.isoformat()}/part.parquet"
        assert len(lake.read_partition("applications", ds)) == record.row_count
    assert [k for k in s3.keys("lake/applications/")] == [
        f"lake/applications/ds={d.isoformat()}/part.parquet" for d in days
    ]
    # and Prefect recorded the run in its own PostgreSQL database
    engine = sa.create_engine(use_prefect.database_url)
    try:
        with engine.connect() as conn:
            states = conn.execute(sa.text(
                "SELECT fr.state_type FROM flow_run fr JOIN flow f ON f.id = fr.flow_id "
                "WHERE f.name = 'backfill' AND fr.parameters->>'start' = :start"
            ), {"start": days[0].isoformat()}).scalars().all()
    finally:
        engine.dispose()
    assert states == ["COMPLETED"]
    # a rerun finds nothing to do
    again = asyncio.run(backfill(days[0], days[-1]))
    assert {r["outcome"] for r in again} == {"skipped"}
