"""The pointer ledger's hash chain: tampering shows, migration seals old rows, concurrent writers keep one chain."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from infra.stores.ledger import GENESIS_HASH, PointerLedger, chain_hash
from infra.stores.opsdb import create_ops_engine

from tests.integration.conftest import configure, reset_settings


def _moves(ledger: PointerLedger, pointer: str, n: int, *, tag: str = "t") -> None:
    for i in range(n):
        ledger.move(pointer, new_value=f"{tag}{i}", actor=tag, reason=f"move {i}",
                    evidence={"auc": 0.81 + i / 1000, "checks": [{"name": "auc", "passed": True}]}, apply=lambda v: None)


def test_an_edited_row_and_a_deleted_row_are_named(tmp_path):
    # given: five moves, chained
    engine = create_ops_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    ledger = PointerLedger(engine)
    _moves(ledger, "model:m@champion", 5)
    assert ledger.verify_chain().intact and ledger.verify_chain().rows == 5

    # when: someone rewrites row 2's reason by hand
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE pointer_moves SET reason = 'approved by the board' WHERE id = 2"))
    check = ledger.verify_chain()
    # then: row 2 is the first broken one
    assert (check.broken_id, check.rows) == (2, 2)
    assert "edited" in check.problem

    # when: the edit is undone but row 3 is deleted
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE pointer_moves SET reason = 'move 1' WHERE id = 2"))
        conn.execute(sa.text("DELETE FROM pointer_moves WHERE id = 3"))
    check = ledger.verify_chain()
    # then: row 4 no longer follows row 2
    assert check.broken_id == 4
    assert "does not follow row #2" in check.problem and "deleted" in check.problem


def test_deleting_the_first_row_breaks_the_chain(tmp_path):
    engine = create_ops_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    ledger = PointerLedger(engine)
    _moves(ledger, "index:docs-live", 3)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM pointer_moves WHERE id = 1"))
    check = ledger.verify_chain()
    assert check.broken_id == 2 and "the start of the ledger" in check.problem


def test_a_database_from_before_the_chain_is_sealed_on_migration(tmp_path):
    # given: an ops database whose pointer_moves table has no hash columns, with two old moves
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    old = sa.create_engine(url)
    with old.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE pointer_moves (id INTEGER PRIMARY KEY AUTOINCREMENT, pointer VARCHAR(200) NOT NULL, "
            "old_value VARCHAR(200), new_value VARCHAR(200), actor VARCHAR(200) NOT NULL, reason TEXT NOT NULL, "
            "evidence JSON, moved_at DATETIME NOT NULL)"
        )
        conn.exec_driver_sql(
            "INSERT INTO pointer_moves (pointer, old_value, new_value, actor, reason, evidence, moved_at) VALUES "
            "('model:m@champion', NULL, '1', 'ann', 'gate PROMOTE', '{\"auc\": 0.8}', '2026-01-02 03:04:05.000006'), "
            "('model:m@champion', '1', '2', 'bob', 'gate PROMOTE', NULL, '2026-01-03 03:04:05.000000')"
        )
    old.dispose()

    # when: tandem opens it (the migration), then moves the pointer once more
    engine = create_ops_engine(url)
    ledger = PointerLedger(engine)
    ledger.move("model:m@champion", new_value="3", actor="cy", reason="gate PROMOTE", evidence=None, apply=lambda v: None)

    # then: the old rows carry the chain from the start and the new row continues it
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM pointer_moves ORDER BY id")).mappings().all()
    assert rows[0]["prev_hash"] == GENESIS_HASH
    assert [r["prev_hash"] for r in rows[1:]] == [r["row_hash"] for r in rows[:-1]]
    assert ledger.verify_chain().intact and ledger.verify_chain().rows == 3
    assert ledger.history("model:m@champion", limit=1)[0].old_value == "2"
    # and: opening it again changes nothing
    before = [r["row_hash"] for r in rows]
    create_ops_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT row_hash FROM pointer_moves ORDER BY id")).scalars().all() == before


def test_the_hash_covers_every_field():
    row = {"id": 7, "pointer": "p", "old_value": "1", "new_value": "2", "actor": "a", "reason": "r",
           "evidence": {"x": [1, 2]}, "moved_at": __import__("datetime").datetime(2026, 1, 1, 12, 0)}
    base = chain_hash(row, GENESIS_HASH)
    for key, value in [("id", 8), ("pointer", "q"), ("old_value", None), ("new_value", "3"), ("actor", "b"),
                       ("reason", "s"), ("evidence", {"x": [2, 1]})]:
        assert chain_hash({**row, key: value}, GENESIS_HASH) != base, key
    assert chain_hash(row, "1" * 64) != base


def _race(ledger: PointerLedger, writers: int = 3, moves: int = 12) -> None:
    """Writers on different pointers (different row locks) append at the same time."""
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(tag: str) -> None:
        try:
            barrier.wait()
            _moves(ledger, f"test:{tag}", moves, tag=tag)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"w{i}",)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    check = ledger.verify_chain()
    assert check.intact, check.problem
    assert check.rows == writers * moves


def test_concurrent_writers_keep_one_chain_on_sqlite(tmp_path):
    _race(PointerLedger(create_ops_engine(f"sqlite:///{tmp_path / 'ops.db'}")))


def test_concurrent_writers_keep_one_chain_on_postgres(pg_url):
    engine = create_ops_engine(pg_url)
    try:
        _race(PointerLedger(engine))
    finally:
        engine.dispose()


def test_tandem_pointers_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from infra.cli import app
    from infra.factory import build_pointer_ledger
    from infra.settings import get_settings

    configure(monkeypatch, tmp_path / "tandem")
    ledger = build_pointer_ledger(get_settings())
    _moves(ledger, "model:risk-scorer@champion", 4)
    runner = CliRunner()

    ok = runner.invoke(app, ["pointers", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "4 rows, chain intact" in ok.output

    with ledger._engine.begin() as conn:
        conn.execute(sa.text("UPDATE pointer_moves SET actor = 'mallory' WHERE id = 3"))
    broken = runner.invoke(app, ["pointers", "verify"])
    assert broken.exit_code == 1
    assert "row #3" in broken.output and "edited" in broken.output
    # the plain listing still works beside the subcommand
    listed = runner.invoke(app, ["pointers", "--limit", "2"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "mallory" in listed.output
    reset_settings()
