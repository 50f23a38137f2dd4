"""Flows the worker tests deploy to a process work pool: the real backfill, plus what the test checks around it.

Loaded by Prefect's flow engine in the worker's flow-run process (entrypoint
``tests/services/worker_flows.py:...``); Tandem's settings come from that
process's environment, as in production.
"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

from prefect import flow
from prefect.runtime import flow_run

from flows.backfill import backfill
from infra.factory import build_pointer_ledger, build_source
from infra.settings import get_settings
from infra.stores.ledger import PartitionLedger


@flow(name="svc-backfill-then-move")
async def backfill_then_move(start: date, end: date, pointer: str, moves: int = 5) -> None:
    """The real backfill (a subflow), then ``moves`` moves of ``pointer`` through the pointer ledger.

    Two of these on two workers move the same pointer at about the same time:
    each move must record the value it really replaced.
    """
    await backfill(start, end, concurrency=2)
    ledger = build_pointer_ledger(get_settings())
    for i in range(moves):
        ledger.move(pointer, new_value=f"{flow_run.get_id()}:{i}", actor="svc-test", reason=f"move {i}",
                    evidence={}, apply=lambda value: None)


@flow(name="svc-backfill-pausing")
async def backfill_pausing(start: date, end: date, pause_ds: date | None = None, marker: str | None = None) -> None:
    """The real backfill, one day at a time; with ``pause_ds``, it stops for good on that day.

    The pause comes after the day's applications file is in the lake and
    before its ledger row is written (the worst moment to die): the process
    writes its pid to ``marker`` and sleeps until the test kills it.
    """
    if pause_ds is not None:
        _pause_before_ledger(pause_ds, Path(marker))
    await backfill(start, end, concurrency=1)


def _pause_before_ledger(pause_ds: date, marker: Path) -> None:
    dataset = build_source(get_settings()).schema.name
    record = PartitionLedger.record_success

    def paused(self, **kwargs):
        if kwargs["dataset"] == dataset and kwargs["ds"] == pause_ds:
            marker.write_text(str(os.getpid()))
            while True:  # until SIGKILL
                time.sleep(1)
        return record(self, **kwargs)

    PartitionLedger.record_success = paused
