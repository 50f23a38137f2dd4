"""Several processes opening a fresh MLflow database at once: MLflow's tables are created once, nobody fails.

MLflow's tracking store creates its tables on a process's first open without a
lock of its own; on a fresh PostgreSQL database, 3 of 4 processes spawned at
once failed (``pg_type_typname_nsp_index`` on ``alembic_version``) before
``infra.clients.mlflow_store`` took an advisory lock around that first open.
Real processes (spawn), each its own MLflow, as two flow runs on two workers.
"""

from __future__ import annotations

import multiprocessing as mp

import pytest

pytestmark = pytest.mark.postgres
OPENERS = 4


def _open(url: str, queue) -> None:
    try:
        from infra.clients.mlflow_store import mlflow_client

        client = mlflow_client(url)
        client.search_experiments(max_results=1)
        queue.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        queue.put(repr(exc)[:300])


def test_processes_opening_a_fresh_mlflow_database_at_once_all_succeed(pg_url):
    # Given a fresh database; when four processes open it through Tandem's MLflow client at once
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_open, args=(pg_url, queue)) for _ in range(OPENERS)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    # Then every one of them got a working client
    assert results == ["ok"] * OPENERS, results
