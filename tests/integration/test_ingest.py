"""The ingest flow, run for real: atomic partitions, ledger, quarantine, clear rejections."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from flows.ingest import ingest
from infra.factory import build_lake, build_partition_ledger
from infra.settings import get_settings
from tests.integration.helpers import labelled_rows, lake_snapshot, ledger_snapshot, use_file_source, write_schema

DAY = date(2026, 3, 2)


def test_ingest_then_rerun_gives_same_hash_and_no_duplicates(tandem):
    # given an ingested synthetic day
    first = ingest(DAY)
    # when the same day is ingested again
    second = ingest(DAY)
    # then the partition is replaced, not appended: same hash, same rows, unique ids
    assert first["content_hash"] == second["content_hash"]
    frame = build_lake(get_settings()).read_partition("applications", DAY)
    assert len(frame) == first["rows"] == second["rows"] == 400
    assert frame["applicant_id"].is_unique
    ledger = build_partition_ledger(get_settings())
    record = ledger.get("applications", DAY)
    assert (record.status, record.row_count, record.content_hash) == ("ok", 400, first["content_hash"])
    assert [a["status"] for a in ledger.attempts("applications", DAY)] == ["ok", "ok"]
    # and no half-written file is left beside the partitions
    assert not [p for p in lake_snapshot(tandem) if p.startswith("_staging")]


def test_labels_of_matured_applications_are_ingested(tandem):
    # given labels mature 5 days after the application (conftest settings)
    result = ingest(DAY)
    labels = build_lake(get_settings()).read_partition("labels", DAY)
    # then the day's labels are the outcomes of the applications of DAY - 5
    assert result["labels"] == len(labels) == 400
    assert labels["applicant_id"].str.startswith("A20260225").all()
    assert set(labels["default"].unique()) <= {0, 1}


def _file_day(tmp_path, monkeypatch, frame: pd.DataFrame, name: str = "loans.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    use_file_source(monkeypatch, str(path), write_schema(tmp_path / "schema.yaml"))
    return path


def test_file_source_quarantines_bad_rows_with_reasons(tandem, tmp_path, monkeypatch):
    # given a team's CSV where one row has an impossible age and one id repeats
    frame = labelled_rows([DAY], rows=50)
    frame.loc[3, "age"] = 7
    frame.loc[10, "applicant_id"] = frame.loc[9, "applicant_id"]
    _file_day(tmp_path, monkeypatch, frame)
    # when ingested
    result = ingest(DAY)
    # then good rows land, the bad ones wait in quarantine with their reason
    assert (result["rows"], result["quarantined"]) == (48, 2)
    quarantine = build_lake(get_settings()).read_partition("quarantine/applications", DAY)
    reasons = " | ".join(quarantine["_reason"])
    assert "age" in reasons and "duplicate" in reasons
    # and rows carrying their target feed the labels dataset
    assert result["labels"] == 48


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("missing-column", "'debt_to_income'"),
        ("wrong-type", "annual_income"),
        ("empty", "empty"),
    ],
)
def test_bad_file_fails_clearly_and_changes_nothing(tandem, tmp_path, monkeypatch, breakage, expected):
    # given a good day already ingested from the file
    good = labelled_rows([DAY], rows=50)
    path = _file_day(tmp_path, monkeypatch, good)
    ingest(DAY)
    lake_before, ledger_before = lake_snapshot(tandem), ledger_snapshot()
    # when the file is replaced by a broken one and the day is ingested again
    if breakage == "missing-column":
        good.drop(columns=["debt_to_income"]).to_csv(path, index=False)
    elif breakage == "wrong-type":
        bad = good.astype({"annual_income": object})
        bad.loc[5, "annual_income"] = "fifty thousand"
        bad.to_csv(path, index=False)
    else:
        path.write_text("")
    state = ingest(DAY, return_state=True)
    # then the run fails with a message naming the file (and the column)
    assert state.is_failed()
    with pytest.raises(Exception) as info:
        state.result()
    message = str(info.value)
    assert str(path) in message and expected in message
    # and nothing in the lake or the ledger moved; the failed attempt is on record
    assert lake_snapshot(tandem) == lake_before
    assert ledger_snapshot() == ledger_before
    attempts = build_partition_ledger(get_settings()).attempts("applications", DAY)
    assert [a["status"] for a in attempts] == ["ok", "failed"]
    assert str(path) in attempts[-1]["error"]


def test_glob_of_daily_files_takes_only_the_day_and_still_checks_every_header(tandem, tmp_path, monkeypatch):
    # given a team's daily Parquet files under one glob
    other = date(2026, 3, 3)
    folder = tmp_path / "daily"
    folder.mkdir()
    labelled_rows([DAY], rows=40).to_parquet(folder / f"{DAY}.parquet")
    labelled_rows([other], rows=30).to_parquet(folder / f"{other}.parquet")
    use_file_source(monkeypatch, str(folder / "*.parquet"), write_schema(tmp_path / "schema.yaml"))
    # when each day is ingested, each gets exactly its own rows
    assert ingest(DAY)["rows"] == 40
    assert ingest(other)["rows"] == 30
    # and a broken file of another day still fails the run, naming that file
    labelled_rows([other], rows=30).drop(columns=["age"]).to_parquet(folder / f"{other}.parquet")
    state = ingest(DAY, return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match=f"{other}.parquet.*'age'"):
        state.result()
