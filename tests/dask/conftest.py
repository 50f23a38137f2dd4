"""A Dask cluster started by the tests: one scheduler and two worker processes (one thread each) on loopback.

The workers run Tandem's tasks themselves: they import this checkout (its
modules reach them by reference, on the same ``sys.path``) and read their own
``TANDEM_*`` environment, given here through the nanny (``DASK_ENV``), as a
production worker gets it from its service definition. One cluster serves the
whole ``tests/dask`` session; it is closed at its end, also when a test fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from infra.factory import close_vector_clients, ops_engine
from infra.settings import get_settings

WORKERS = 2


@dataclass(frozen=True)
class DaskCluster:
    address: str  # the scheduler, tcp://127.0.0.1:PORT
    workers: list[str]  # the worker processes' addresses
    env: dict[str, str]  # the TANDEM_* environment every worker runs with


def reset_settings() -> None:
    get_settings.cache_clear()
    ops_engine.cache_clear()
    close_vector_clients()


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """Scheduler + two worker processes, one thread each; the workers' Tandem lives under a session data dir."""
    from distributed import Client, LocalCluster

    env = {
        "TANDEM_DATA_DIR": str(tmp_path_factory.mktemp("dask") / "tandem"),
        "TANDEM_SYNTHETIC__ROWS_PER_DAY": "600",
        "TANDEM_SYNTHETIC__LABEL_DELAY_DAYS": "2",
        "TANDEM_ACTOR": "pytest",
        "TOKENIZERS_PARALLELISM": "false",
    }
    cluster = LocalCluster(
        n_workers=WORKERS, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, env=env, silence_logs=40,
    )
    try:
        with Client(cluster) as client:
            client.wait_for_workers(WORKERS, timeout=180)
            workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
        yield DaskCluster(cluster.scheduler_address, workers, env)
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A temporary Prefect server (SQLite) for flows run by the tests; its URL reaches the Dask workers in each task's context."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def dask_client(dask_cluster: DaskCluster) -> Iterator:
    """A client of the session's cluster for one test."""
    from distributed import Client

    with Client(dask_cluster.address) as client:
        yield client


@pytest.fixture
def on_dask(dask_cluster: DaskCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[DaskCluster]:
    """This process uses the cluster's data dir and sends its fan-outs to the cluster (TANDEM_DASK_ADDRESS)."""
    for key, value in {**dask_cluster.env, "TANDEM_DASK_ADDRESS": dask_cluster.address}.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    yield dask_cluster
    reset_settings()
