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


def test_glob_of_daily_files_takes_only_the_day_and_a_bad_file_fails_only_its_own_day(tandem, tmp_path, monkeypatch):
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
    # when the other day's file loses a column
    labelled_rows([other], rows=30).drop(columns=["age"]).to_parquet(folder / f"{other}.parquet")
    # then DAY still ingests, and the other day fails naming its file and the column
    assert ingest(DAY)["rows"] == 40
    state = ingest(other, return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match=f"{other}.parquet: missing required column.*'age'"):
        state.result()


def test_ids_committed_on_another_day_are_quarantined_naming_that_day(tandem, tmp_path, monkeypatch):
    # given a day committed from a CSV, and the next day's CSV resending 3 of its ids
    nxt = date(2026, 3, 3)
    first, second = labelled_rows([DAY], rows=40), labelled_rows([nxt], rows=40)
    second.loc[:2, "applicant_id"] = first.loc[:2, "applicant_id"].to_numpy()
    folder = tmp_path / "csv"
    folder.mkdir()
    first.to_csv(folder / "a.csv", index=False)
    second.to_csv(folder / "b.csv", index=False)
    use_file_source(monkeypatch, str(folder / "*.csv"), write_schema(tmp_path / "schema.yaml"))
    assert ingest(DAY)["quarantined"] == 0
    # when the next day is ingested
    result = ingest(nxt)
    # then the resent ids are quarantined with the partition they were first seen in
    assert (result["rows"], result["quarantined"], result["seen_before"]) == (37, 3, 3)
    lake = build_lake(get_settings())
    quarantine = lake.read_partition("quarantine/applications", nxt)
    assert quarantine["_reason"].tolist() == [f"applicant_id already in applications ds={DAY}"] * 3
    assert set(quarantine["applicant_id"]) == set(first.loc[:2, "applicant_id"])
    # and their labels stay out of the labels dataset
    assert len(lake.read_partition("labels", nxt)) == 37
    # when both days are ingested again, nothing changes: a day's own ids never count against it
    assert ingest(DAY)["quarantined"] == 0
    assert ingest(nxt)["quarantined"] == 3
    ledger = build_partition_ledger(get_settings())
    assert (ledger.indexed_ids("applications", DAY), ledger.indexed_ids("applications", nxt)) == (40, 37)


def test_a_crash_between_lake_write_and_ledger_leaves_a_rerun_clean(tandem, tmp_path, monkeypatch):
    # given two days committed, day one sharing nothing with day two
    nxt = date(2026, 3, 3)
    frame = labelled_rows([DAY, nxt], rows=30)
    path = tmp_path / "loans.parquet"
    frame.to_parquet(path)
    use_file_source(monkeypatch, str(path), write_schema(tmp_path / "schema.yaml"))
    ingest(DAY)
    ingest(nxt)
    # and a rerun of day two that wrote its new file to the lake and was killed
    # before its ledger row and ids committed (the ledger still has the old hash)
    lake, ledger = build_lake(get_settings()), build_partition_ledger(get_settings())
    before = ledger.get("applications", nxt)
    changed = frame[frame["application_ts"].dt.date == nxt].iloc[:25]
    from infra.stores.lake import ParquetLake

    ParquetLake(str(tandem / "lake")).write_partition("applications", nxt, changed.drop(columns=["default"]))
    with pytest.raises(Exception, match=f"applications/ds={nxt} is unreadable: its content no longer matches"):
        lake.read_partition("applications", nxt)
    # when the day is rerun on the (changed) source
    frame[(frame["application_ts"].dt.date != nxt) | (frame.index < 30 + 25)].to_parquet(path)
    result = ingest(nxt)
    # then it finishes: no spurious quarantine, no duplicate, ledger and index match the lake
    assert (result["rows"], result["quarantined"]) == (25, 0)
    assert result["content_hash"] != before.content_hash
    stored = lake.read_partition("applications", nxt)
    assert len(stored) == 25 and stored["applicant_id"].is_unique
    assert ledger.indexed_ids("applications", nxt) == 25 and ledger.indexed_ids("applications", DAY) == 30


def test_a_day_whose_ids_another_day_commits_meanwhile_quarantines_them(tandem, tmp_path, monkeypatch):
    # given day two's file resends two ids of day one, and day one commits while
    # day two is between its id lookup and its commit (two days ingested at once)
    nxt = date(2026, 3, 3)
    first, second = labelled_rows([DAY], rows=20), labelled_rows([nxt], rows=20)
    second.loc[:1, "applicant_id"] = first.loc[:1, "applicant_id"].to_numpy()
    path = tmp_path / "loans.parquet"
    pd.concat([first, second], ignore_index=True).to_parquet(path)
    use_file_source(monkeypatch, str(path), write_schema(tmp_path / "schema.yaml"))
    from infra.stores.ledger import PartitionLedger

    original = PartitionLedger.ids_seen
    calls = []

    def ids_seen_then_day_one_commits(self, dataset, hashes, *, excluding):
        found = original(self, dataset, hashes, excluding=excluding)
        calls.append(excluding)
        if excluding == nxt and len(calls) == 1:  # the concurrent winner commits after day two looked
            from infra.stores.lake import ParquetLake
            from models.validation import id_hashes
            from tasks.ingest import commit_partition

            rows = first.drop(columns=["default"])
            commit_partition(
                lake=ParquetLake(str(tandem / "lake")), ledger=self, dataset="applications", ds=DAY, frame=rows,
                schema_version="1", flow_run_id=None, id_hashes=id_hashes(rows["applicant_id"], dataset="applications"),
            )
        return found

    monkeypatch.setattr(PartitionLedger, "ids_seen", ids_seen_then_day_one_commits)
    # when day two is ingested
    result = ingest(nxt)
    # then its first commit lost the race on the id index, and the second took
    # the ids out: each id lives in exactly one committed partition
    assert calls.count(nxt) == 2
    assert (result["rows"], result["quarantined"]) == (18, 2)
    lake = build_lake(get_settings())
    ids_one = set(lake.read_partition("applications", DAY)["applicant_id"])
    ids_two = set(lake.read_partition("applications", nxt)["applicant_id"])
    assert len(ids_one) == 20 and not ids_one & ids_two


def test_mostly_bad_day_fails_naming_column_and_share_and_writes_nothing(tandem, tmp_path, monkeypatch):
    # given a day whose required column 'age' is null in 80% of rows
    frame = labelled_rows([DAY], rows=50)
    frame.loc[frame.index % 5 != 0, "age"] = None
    path = _file_day(tmp_path, monkeypatch, frame)
    # when ingested
    state = ingest(DAY, return_state=True)
    # then the run fails naming the column and the share, and nothing is written
    assert state.is_failed()
    with pytest.raises(Exception) as info:
        state.result()
    assert str(path) in str(info.value)
    assert "80.0% of rows quarantined" in str(info.value) and "column 'age'" in str(info.value)
    assert lake_snapshot(tandem) == {}
    assert build_partition_ledger(get_settings()).get("applications", DAY).status == "failed"


def test_a_future_day_is_refused_before_any_work(tandem):
    from datetime import timedelta

    from tasks.common import today_utc

    future = today_utc() + timedelta(days=2)
    state = ingest(future, return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match=rf"^{future} is after today") as info:
        state.result()
    assert "\n" not in str(info.value)
    ledger = build_partition_ledger(get_settings())
    assert ledger.list() == [] and ledger.attempts("applications", future) == []


def test_a_corrupted_partition_is_named_and_not_retried(tandem):
    # given a committed day whose file is then corrupted on storage
    ingest(DAY)
    lake = build_lake(get_settings())
    part = tandem / "lake" / "applications" / f"ds={DAY}" / "part.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    # when read, then the partition is named (the ledger's hash no longer matches)
    with pytest.raises(Exception, match=rf"^applications/ds={DAY} is unreadable: its content no longer matches") as info:
        lake.read_partition("applications", DAY)
    # and a file that is not Parquet at all is named too, even without a ledger to check against
    part.write_bytes(b"not parquet")
    from infra.stores.lake import ParquetLake, PartitionUnreadable

    with pytest.raises(PartitionUnreadable, match=rf"^applications/ds={DAY} is unreadable: "):
        ParquetLake(str(tandem / "lake")).read_partition("applications", DAY)
    # and tasks do not retry it
    from prefect.states import Failed

    from tasks.common import retry_unless_bad_input

    assert retry_unless_bad_input(None, None, Failed(data=info.value)) is False
    assert retry_unless_bad_input(None, None, Failed(data=ConnectionError("blip"))) is True


def test_a_day_that_fails_outside_validation_is_recorded_failed_then_redone(tandem, monkeypatch):
    from prefect.logging import disable_run_logger

    from infra.stores.lake import ParquetLake
    from tasks.ingest import ingest_partition

    # given a lake that refuses writes (a full disk, a revoked bucket permission)
    def refuse(self, *args, **kwargs):
        raise PermissionError("lake is read-only")

    with monkeypatch.context() as mp:
        mp.setattr(ParquetLake, "write_partition", refuse)
        # when the day is ingested (the task body alone: no retries to wait for)
        with disable_run_logger(), pytest.raises(PermissionError):
            ingest_partition.fn(DAY)
    # then the ledger says the day failed and why, so `backfill --mode failed` finds it
    record = build_partition_ledger(get_settings()).get("applications", DAY)
    assert record.status == "failed" and "PermissionError: lake is read-only" in record.error
    # and once the lake takes writes again, the rerun commits it
    assert ingest(DAY)["rows"] == 400
    assert build_partition_ledger(get_settings()).get("applications", DAY).status == "ok"
