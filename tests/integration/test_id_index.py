"""The id index in the ops database, on SQLite and PostgreSQL: lookups, reruns, the race."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from infra.stores.ledger import IdsTaken, PartitionLedger
from infra.stores.opsdb import create_ops_engine

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'ops.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    engine = create_ops_engine(url)
    yield PartitionLedger(engine)
    engine.dispose()


def _commit(ledger, ds, hashes, content="h1"):
    ledger.record_success(
        dataset="applications", ds=ds, row_count=len(hashes), quarantined_count=0, content_hash=content,
        schema_version="1", path="p", flow_run_id=None, id_hashes=np.asarray(hashes, dtype=np.int64),
    )


def test_ids_of_other_days_are_found_and_a_days_own_are_not(ledger):
    big = np.iinfo(np.int64)
    _commit(ledger, D1, [1, -2, big.max, big.min])
    # then another day sees them, with the day that holds them (64-bit extremes included)
    assert ledger.ids_seen("applications", np.array([big.min, 5, -2, big.max]), excluding=D2) == {
        big.min: D1, -2: D1, big.max: D1
    }
    # and the day itself does not (a rerun is idempotent)
    assert ledger.ids_seen("applications", np.array([1, -2]), excluding=D1) == {}
    assert ledger.ids_seen("applications", np.array([], dtype=np.int64), excluding=D2) == {}


def test_a_rerun_replaces_the_days_ids(ledger):
    _commit(ledger, D1, [1, 2, 3])
    _commit(ledger, D1, [3, 4], content="h2")
    assert ledger.indexed_ids("applications", D1) == 2
    assert ledger.ids_seen("applications", np.array([1, 2, 3, 4]), excluding=D2) == {3: D1, 4: D1}
    assert ledger.get("applications", D1).meta == {"ids_indexed": True}
    # and ids a day gave up can be committed by another day
    _commit(ledger, D2, [1, 2])
    assert ledger.indexed_ids("applications", D2) == 2


def test_an_id_committed_by_another_day_first_refuses_the_whole_commit(ledger):
    _commit(ledger, D1, [1, 2])
    # when another day commits one of them (it looked before D1 committed)
    with pytest.raises(IdsTaken):
        _commit(ledger, D2, [2, 3])
    # then nothing of that commit was recorded: no ledger row, no attempt, no ids
    assert ledger.get("applications", D2) is None
    assert ledger.attempts("applications", D2) == []
    assert ledger.indexed_ids("applications", D2) == 0
    assert ledger.indexed_ids("applications", D1) == 2
