"""Several processes opening a fresh ops database at once: each finds the schema whole, none fails.

Two Prefect flow runs starting on two workers against a new PostgreSQL ops
database both saw the ``partitions`` table missing and both created it; the
second failed on PostgreSQL's catalog (``pg_type_typname_nsp_index``) and its
backfill ended Failed before doing anything. Engines here are opened from
threads released together by a barrier, each with its own engine and
connections, so the database sees concurrent sessions as it would from
separate processes.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from infra.stores.opsdb import create_ops_engine, metadata

OPENERS = 6


def _open_at_once(url: str) -> list[BaseException]:
    barrier, errors, engines = threading.Barrier(OPENERS), [], []

    def open_one():
        barrier.wait()
        try:
            engines.append(create_ops_engine(url))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(OPENERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for engine in engines:
        engine.dispose()
    return errors


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_openers_of_a_fresh_database_all_succeed(backend, request, tmp_path):
    # Given a database with no tables yet
    url = request.getfixturevalue("pg_url") if backend == "postgres" else f"sqlite:///{tmp_path / 'ops.db'}"
    for attempt in range(3):  # three fresh starts: the race is a matter of timing
        if attempt:
            engine = sa.create_engine(url)
            metadata.drop_all(engine)
            engine.dispose()
        # When six openers create its schema at the same moment
        errors = _open_at_once(url)
        # Then none failed, and the schema is whole
        assert errors == [], [repr(e)[:300] for e in errors]
        engine = sa.create_engine(url)
        assert set(metadata.tables) <= set(sa.inspect(engine).get_table_names())
        engine.dispose()
