"""The backfill flow, run for real: plans from the ledger, skips done days, reports failures."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pandas as pd
import pytest
from prefect.exceptions import ParameterTypeError

from flows.backfill import backfill
from infra.factory import build_partition_ledger
from infra.settings import get_settings
from tests.integration.helpers import labelled_rows, use_file_source, write_schema

START = date(2026, 3, 1)
DAYS = [START + timedelta(days=i) for i in range(4)]


def _attempt_count() -> int:
    ledger = build_partition_ledger(get_settings())
    return sum(len(ledger.attempts("applications", d)) for d in DAYS)


def _outcomes(rows):
    return {r["ds"]: r["outcome"] for r in rows}


def test_backfill_then_rerun_does_no_work(tandem):
    # given a finished backfill of four days
    rows = asyncio.run(backfill(START, DAYS[-1], concurrency=2))
    assert _outcomes(rows) == {d: "done" for d in DAYS}
    attempts = _attempt_count()
    # when it is run again
    again = asyncio.run(backfill(START, DAYS[-1], concurrency=2))
    # then every day is skipped and nothing was ingested
    assert _outcomes(again) == {d: "skipped" for d in DAYS}
    assert _attempt_count() == attempts == 4


def test_dry_run_lists_missing_days_without_ingesting(tandem):
    asyncio.run(backfill(START, DAYS[1]))
    rows = asyncio.run(backfill(START, DAYS[-1], dry_run=True))
    assert _outcomes(rows) == {DAYS[0]: "skipped", DAYS[1]: "skipped", DAYS[2]: "would run", DAYS[3]: "would run"}
    assert build_partition_ledger(get_settings()).get("applications", DAYS[2]) is None


def test_backfill_continues_past_a_failed_day_and_retries_it_in_failed_mode(tandem, tmp_path, monkeypatch):
    # given a team's file where one day's income column is 90% null (limit: 50%)
    frame = labelled_rows(DAYS, rows=60)
    bad_day = frame["application_ts"].dt.date == DAYS[2]
    frame.loc[bad_day & (frame.index % 10 != 0), "annual_income"] = None
    path = tmp_path / "loans.parquet"
    frame.to_parquet(path)
    use_file_source(monkeypatch, str(path), write_schema(tmp_path / "schema.yaml"))
    # when backfilled
    state = asyncio.run(backfill(START, DAYS[-1], return_state=True))
    # then the run fails, but only that day failed and the others are done
    assert state.is_failed()
    assert "1 of 4 day(s) failed" in state.message or "1 of 4 day(s) failed" in str(_error(state))
    ledger = build_partition_ledger(get_settings())
    statuses = ledger.statuses("applications", DAYS)
    assert statuses == {DAYS[0]: "ok", DAYS[1]: "ok", DAYS[2]: "failed", DAYS[3]: "ok"}
    assert "annual_income" in ledger.get("applications", DAYS[2]).error
    # when the file is fixed and the failed days are backfilled
    labelled_rows(DAYS, rows=60).to_parquet(path)
    rows = asyncio.run(backfill(START, DAYS[-1], mode="failed"))
    # then only the failed day ran
    assert _outcomes(rows) == {DAYS[0]: "skipped", DAYS[1]: "skipped", DAYS[2]: "done", DAYS[3]: "skipped"}
    assert ledger.get("applications", DAYS[2]).status == "ok"


def test_bad_mode_is_rejected_before_any_work(tandem):
    with pytest.raises(ParameterTypeError, match="mode"):
        asyncio.run(backfill(START, DAYS[-1], mode="everything"))
    assert build_partition_ledger(get_settings()).list() == []


def _error(state):
    try:
        state.result()
    except Exception as exc:
        return exc
    return None


def test_impossible_ranges_are_refused_before_any_work(tandem):
    from tasks.common import today_utc

    # end before start
    state = asyncio.run(backfill(DAYS[-1], START, return_state=True))
    assert state.is_failed()
    assert f"end {START} is before start {DAYS[-1]}: nothing to run" in str(_error(state))
    # a range reaching into the future
    today = today_utc()
    state = asyncio.run(backfill(today - timedelta(days=1), today + timedelta(days=3), return_state=True))
    assert state.is_failed()
    assert f"{today + timedelta(days=1)} is after today ({today})" in str(_error(state))
    # and nothing was planned, ingested or recorded
    assert build_partition_ledger(get_settings()).list() == []


def test_overlapping_days_ingested_at_once_keep_each_id_in_one_partition(tandem, tmp_path, monkeypatch):
    # given four days where each day resends five ids of the day before (a day
    # may lose ids both ways: 10 of 60 stays under max_quarantine_share)
    frame = labelled_rows(DAYS, rows=60)
    for i, day in enumerate(DAYS[1:], start=1):
        this = frame.index[frame["application_ts"].dt.date == day][:5]
        prev = frame.index[frame["application_ts"].dt.date == DAYS[i - 1]][10:15]
        frame.loc[this, "applicant_id"] = frame.loc[prev, "applicant_id"].to_numpy()
    path = tmp_path / "loans.parquet"
    frame.to_parquet(path)
    use_file_source(monkeypatch, str(path), write_schema(tmp_path / "schema.yaml"))
    # when backfilled four at a time (whichever commits first keeps an id)
    rows = asyncio.run(backfill(START, DAYS[-1], concurrency=4))
    # then every day is done and each id lives in exactly one committed partition
    assert _outcomes(rows) == {d: "done" for d in DAYS}
    from infra.factory import build_lake

    lake = build_lake(get_settings())
    committed = pd.concat([lake.read_partition("applications", d) for d in DAYS], ignore_index=True)
    assert committed["applicant_id"].is_unique
    assert set(committed["applicant_id"]) == set(frame["applicant_id"])
    quarantined = sum(r["rows"] is not None and int(r["detail"].split()[0]) for r in rows)
    assert len(committed) + quarantined == len(frame) and quarantined == 15
    # and a rerun of everything changes nothing
    again = asyncio.run(backfill(START, DAYS[-1], mode="all", concurrency=4))
    assert [r["rows"] for r in again] == [r["rows"] for r in rows]
