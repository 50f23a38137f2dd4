"""Pointer moves from several processes at once: the ledger's chain never breaks.

Two real processes each make 20 promotions and 20 rollbacks of the same
pointer at the same time, on SQLite and on PostgreSQL. The pointer is a small
file (a real, cheap pointer: read and replaced like an alias), so the test
checks the lock itself, not a registry. Every row's old value must be the
previous row's new value, and the live value must be the ledger's head.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from infra.stores.ledger import PointerLedger
from infra.stores.opsdb import create_ops_engine

ROOT = Path(__file__).resolve().parents[2]
POINTER = "test:race"
PROCESSES = 2
ROUNDS = 20

# One racer: ROUNDS promotions and ROUNDS rollbacks, all started at the same
# instant. A rollback pins the pointer, so a promotion that finds it pinned
# unpins it (also a recorded, locked action) and tries again.
RACER = r"""
import os, sys, time
from pathlib import Path
from infra.stores.ledger import PointerLedger, PointerPinned
from infra.stores.opsdb import create_ops_engine

url, live, tag, rounds, start_at = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
ledger = PointerLedger(create_ops_engine(url))

def read():
    return live.read_text() or None

def apply(value):
    time.sleep(0.003)  # a real alias move takes a while: this is the window a race needs
    tmp = live.with_name(f"{live.name}.{tag}.tmp")
    tmp.write_text(value or "")
    os.replace(tmp, live)

while time.time() < start_at:
    time.sleep(0.001)
for i in range(rounds):
    while True:
        try:
            ledger.move("test:race", new_value=f"{tag}-{i}", actor=tag, reason="promote", evidence=None, apply=apply, read_current=read)
            break
        except PointerPinned:
            ledger.unpin("test:race", actor=tag, reason="next promotion")
    ledger.roll_back("test:race", actor=tag, reason="rollback", apply=apply, read_current=read)
print("done", tag, flush=True)
"""


def race(url: str, tmp_path: Path) -> PointerLedger:
    """Seed the pointer, run the racers to the end, return the ledger."""
    live = tmp_path / "live-pointer"
    live.write_text("")
    ledger = PointerLedger(create_ops_engine(url))  # creates the tables before anyone races
    set_live = lambda v: live.write_text(v or "")  # noqa: E731
    read_live = lambda: live.read_text() or None  # noqa: E731
    for value in ("seed-0", "seed-1"):  # two moves: every rollback has a previous value
        ledger.move(POINTER, new_value=value, actor="seed", reason="seed", evidence=None, apply=set_live, read_current=read_live)
    start_at = time.time() + 4  # after every racer has imported
    procs = [
        subprocess.Popen([sys.executable, "-c", RACER, url, str(live), f"p{n}", str(ROUNDS), str(start_at)],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(PROCESSES)
    ]
    for proc in procs:
        out, errors = proc.communicate(timeout=180)
        assert proc.returncode == 0, errors[-3000:]
        assert out.startswith("done")
    return ledger


def assert_chain_holds(ledger: PointerLedger, live: Path) -> None:
    rows = list(reversed(ledger.history(POINTER, limit=10_000)))
    broken = [(prev.id, row.id) for prev, row in zip(rows, rows[1:]) if row.old_value != prev.new_value]
    assert broken == [], f"{len(broken)} of {len(rows)} rows do not continue the previous one: {broken[:5]}"
    assert (live.read_text() or None) == rows[-1].new_value  # the live pointer is the ledger's head
    assert not [r for r in rows if r.actor == "tandem"]  # no reconcile: nothing moved outside the lock
    for n in range(PROCESSES):
        mine = [r for r in rows if r.actor == f"p{n}"]
        assert sum(r.reason == "promote" for r in mine) == ROUNDS and sum(r.reason == "rollback" for r in mine) == ROUNDS
    # every rollback undid a real move and landed on that move's old value
    by_id = {r.id: r for r in rows}
    for r in rows:
        if r.reason == "rollback":
            undone = by_id[r.evidence["rolled_back_move"]]
            assert (r.old_value, r.new_value) == (undone.new_value, undone.old_value)


def test_concurrent_moves_and_rollbacks_keep_the_chain_on_sqlite(tmp_path):
    ledger = race(f"sqlite:///{tmp_path / 'ops.db'}", tmp_path)
    assert_chain_holds(ledger, tmp_path / "live-pointer")


def test_concurrent_moves_and_rollbacks_keep_the_chain_on_postgres(pg_url, tmp_path):
    ledger = race(pg_url, tmp_path)
    assert_chain_holds(ledger, tmp_path / "live-pointer")
    ledger._engine.dispose()  # the fixture drops the database next
