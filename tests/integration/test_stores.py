"""The lake and the ledgers on local disk and SQLite."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from infra.stores.lake import ParquetLake, content_hash
from infra.stores.ledger import NothingToRollBack, PartitionLedger, PointerLedger, PointerPinned
from infra.stores.opsdb import create_ops_engine

DAY = date(2026, 2, 1)


def test_content_hash_is_stable_for_the_same_rows_and_ignores_the_index(tmp_path):
    lake = ParquetLake(str(tmp_path / "lake"))
    a = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    first = lake.write_partition("d", DAY, a).content_hash
    assert lake.write_partition("d", DAY, a.set_axis([10, 11])).content_hash == first
    assert lake.write_partition("d", DAY, a.assign(x=[1, 3])).content_hash != first
    third = lake.write_partition("d", DAY, a.assign(x=[1, 3])).content_hash
    assert content_hash((tmp_path / "lake" / "d" / "ds=2026-02-01" / "part.parquet").read_bytes()) == third


def test_partition_write_replaces_the_whole_file_and_leaves_no_staging(tmp_path):
    lake = ParquetLake(str(tmp_path / "lake"))
    lake.write_partition("d", DAY, pd.DataFrame({"x": range(10)}))
    written = lake.write_partition("d", DAY, pd.DataFrame({"x": range(3)}))
    assert written.rows == 3 and len(lake.read_partition("d", DAY)) == 3
    assert lake.list_partitions("d") == [DAY]
    assert list((tmp_path / "lake" / "_staging").iterdir()) == []


def test_a_failed_write_keeps_the_previous_partition(tmp_path):
    lake = ParquetLake(str(tmp_path / "lake"))
    lake.write_partition("d", DAY, pd.DataFrame({"x": [1, 2]}))
    unwritable = pd.DataFrame({"x": [object(), object()]})  # pyarrow cannot convert it
    with pytest.raises(Exception):
        lake.write_partition("d", DAY, unwritable)
    assert lake.read_partition("d", DAY)["x"].tolist() == [1, 2]
    assert list((tmp_path / "lake" / "_staging").iterdir()) == []


def test_missing_partition_error_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="d/ds=2026-02-01"):
        ParquetLake(str(tmp_path / "lake")).read_partition("d", DAY)


def test_ledgers_on_sqlite(tmp_path):
    engine = create_ops_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    ledger = PartitionLedger(engine)
    ledger.record_failure(dataset="a", ds=DAY, error="boom", flow_run_id=None)
    assert ledger.statuses("a", [DAY, date(2026, 2, 2)]) == {DAY: "failed", date(2026, 2, 2): None}
    pointers = PointerLedger(engine)
    with pytest.raises(ValueError, match="reason"):
        pointers.move("p", new_value="1", actor="me", reason=" ", evidence=None, apply=lambda v: None)
    pointers.move("p", new_value="1", actor="me", reason="first", evidence=None, apply=lambda v: None)
    with pytest.raises(NothingToRollBack, match="no previous value"):
        pointers.rollback_target("p")
    pointers.move("p", new_value="2", actor="me", reason="better", evidence={"auc": 0.8}, apply=lambda v: None)
    assert pointers.rollback_target("p").old_value == "1"


def test_a_rollback_pins_the_pointer_until_unpinned(tmp_path):
    live = {"value": None}
    pointers = PointerLedger(create_ops_engine(f"sqlite:///{tmp_path / 'ops.db'}"))
    kwargs = dict(read_current=lambda: live["value"], apply=lambda v: live.update(value=v))
    pointers.move("p", new_value="1", actor="gate", reason="first", evidence=None, **kwargs)
    pointers.move("p", new_value="2", actor="gate", reason="better", evidence=None, **kwargs)

    back = pointers.roll_back("p", actor="alice", reason="bad scores", **kwargs)
    assert (back.old_value, back.new_value, back.evidence["rolled_back_move"]) == ("2", "1", 2)
    assert live["value"] == "1" and pointers.pin("p").actor == "alice" and pointers.pin("p").move_id == back.id
    with pytest.raises(PointerPinned, match=r"tandem unpin p"):
        pointers.move("p", new_value="3", actor="gate", reason="gate PROMOTE", evidence=None, **kwargs)
    assert live["value"] == "1" and len(pointers.history("p")) == 3  # nothing moved, nothing recorded

    again = pointers.roll_back("p", actor="bob", reason="undo the rollback", **kwargs)  # a rollback moves even when pinned
    assert (again.old_value, again.new_value, pointers.pin("p").actor) == ("1", "2", "bob")

    lifted = pointers.unpin("p", actor="carol", reason="v2 fixed upstream")
    assert (lifted.old_value, lifted.new_value, lifted.actor, lifted.evidence["action"]) == ("2", "2", "carol", "unpin")
    assert pointers.pin("p") is None and pointers.pins() == [] and pointers.unpin("p", actor="c", reason="again") is None
    assert pointers.rollback_target("p").id == again.id  # an unpin is not a move to undo
    pointers.move("p", new_value="3", actor="gate", reason="gate PROMOTE", evidence=None, **kwargs)
    assert live["value"] == "3"


def test_a_value_changed_outside_the_ledger_is_reconciled_before_the_next_move(tmp_path):
    live = {"value": None}
    pointers = PointerLedger(create_ops_engine(f"sqlite:///{tmp_path / 'ops.db'}"))
    kwargs = dict(read_current=lambda: live["value"], apply=lambda v: live.update(value=v))
    pointers.move("p", new_value="1", actor="gate", reason="first", evidence=None, **kwargs)
    live["value"] = "9"  # e.g. moved by hand in the MLflow UI, or a move killed before its row committed
    pointers.move("p", new_value="2", actor="gate", reason="better", evidence=None, **kwargs)
    rows = [(m.old_value, m.new_value, m.actor) for m in reversed(pointers.history("p"))]
    assert rows == [(None, "1", "gate"), ("1", "9", "tandem"), ("9", "2", "gate")]


def test_the_lake_works_on_a_non_local_fsspec_url():
    """The lake is any fsspec URL (s3://, gs://, ...): here fsspec's in-memory filesystem stands in for object storage."""
    import uuid

    lake = ParquetLake(f"memory://tandem-{uuid.uuid4().hex[:8]}/lake")
    day = date(2026, 1, 1)
    written = lake.write_partition("applications", day, pd.DataFrame({"applicant_id": ["a", "b"], "x": [1.0, 2.0]}))
    assert written.path.startswith("memory://") and written.rows == 2
    assert lake.list_partitions("applications") == [day]
    assert lake.read_partition("applications", day)["applicant_id"].tolist() == ["a", "b"]
    again = lake.write_partition("applications", day, pd.DataFrame({"applicant_id": ["a", "b"], "x": [1.0, 2.0]}))
    assert again.content_hash == written.content_hash


def test_answered_counts_one_use_cases_questions_of_one_day(tmp_path):
    from datetime import datetime, timedelta, timezone

    from infra.stores.requests import RequestEvent, RequestLog

    log = RequestLog(create_ops_engine(f"sqlite:///{tmp_path / 'ops.db'}"))
    at = datetime(2026, 3, 1, 10, tzinfo=timezone.utc)
    events = [("answer", "demo-traffic", at), ("refused", "demo-traffic", at), ("budget_warning", "demo-traffic", at),
              ("answer", "qa", at), ("answer", "demo-traffic", at + timedelta(days=1))]
    for i, (kind, use_case, when) in enumerate(events):
        log.append(RequestEvent(request_id=f"r{i}", at=when, kind=kind, tenant="t", use_case=use_case))
    assert log.answered(date(2026, 3, 1), use_case="demo-traffic") == 2  # the warning, the other use case and day left out
    assert log.answered(date(2026, 3, 2), use_case="demo-traffic") == 1
