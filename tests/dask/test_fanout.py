"""The partition fan-outs on the test's Dask cluster (prefect-dask's DaskTaskRunner, chosen by TANDEM_DASK_ADDRESS).

Given Tandem on the embedded profile with ``TANDEM_DASK_ADDRESS`` set to the
cluster's scheduler, when the backfill flow ingests 10 days and the score flow
scores 4, then the days' tasks ran on both worker processes (the scheduler's
task stream names the worker of each), every day is committed once in the
partition ledger, and every prediction partition holds one score per
application. Training runs here, in the test's process (``training.engine``
stays ``local``), to give the score flow a champion.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from distributed import get_task_stream

from flows.backfill import backfill
from flows.score import score
from flows.train import train
from infra.factory import build_lake, build_partition_ledger
from infra.settings import get_settings

pytestmark = [pytest.mark.dask, pytest.mark.integration]

START = date(2026, 1, 5)
DAYS = [START + timedelta(days=i) for i in range(10)]


def _workers_of(stream, task_prefix: str) -> set[str]:
    return {t["worker"] for t in stream.data if str(t["key"]).startswith(task_prefix)}


def test_backfill_days_run_on_both_workers(prefect_server, on_dask, dask_client):
    # Given the fan-out pointed at the cluster
    # When the backfill (re)ingests 10 days, 4 at a time (mode=all: whatever another test of the session did)
    with get_task_stream(dask_client) as stream:
        rows = asyncio.run(backfill(DAYS[0], DAYS[-1], mode="all", concurrency=4))
    # Then both workers ingested days
    assert _workers_of(stream, "ingest") == set(on_dask.workers), sorted({str(t["key"])[:30] for t in stream.data})
    # and every day is done once, in the ledger and in the lake, with the workers' settings (600 rows a day)
    assert [r["outcome"] for r in rows] == ["done"] * len(DAYS)
    ledger = build_partition_ledger(get_settings())
    committed = [ledger.get("applications", d) for d in DAYS]
    assert all(p is not None and p.status == "ok" and p.row_count == 600 for p in committed)
    assert len(build_lake(get_settings()).read_partition("applications", DAYS[3])) == 600
    # and a rerun finds nothing left to do
    again = asyncio.run(backfill(DAYS[0], DAYS[-1], concurrency=4))
    assert {r["outcome"] for r in again} == {"skipped"}


def test_scoring_days_run_on_both_workers(prefect_server, on_dask, dask_client, monkeypatch):
    # Given ingested days (the backfill skips what another test already did) and a champion trained here
    asyncio.run(backfill(DAYS[0], DAYS[-1], concurrency=4))
    monkeypatch.setenv("TANDEM_TRAINING__WINDOW_DAYS", "8")  # the 8 days whose labels matured
    get_settings.cache_clear()
    trained = asyncio.run(train())
    assert trained["champion"] is not None, trained["message"]
    # When the score flow scores 4 days
    scored_days = DAYS[-4:]
    with get_task_stream(dask_client) as stream:
        scored = asyncio.run(score(scored_days[0], end=scored_days[-1], force=True))
    # Then the days were scored on both workers, in day order, by the champion
    assert _workers_of(stream, "score") == set(on_dask.workers), sorted({str(t["key"])[:30] for t in stream.data})
    assert [s["ds"] for s in scored] == scored_days
    assert {s["status"] for s in scored} == {"scored"} and {s["model_version"] for s in scored} == {trained["champion"]}
    lake = build_lake(get_settings())
    for day in scored_days:
        predictions, applications = lake.read_partition("predictions", day), lake.read_partition("applications", day)
        assert len(predictions) == len(applications) == 600
        assert predictions["applicant_id"].is_unique and predictions["score"].between(0, 1).all()
