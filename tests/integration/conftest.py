"""Integration fixtures: a real (temporary) Prefect server, and a fresh Tandem data dir.

Every flow here runs for real: Prefect's test harness starts a temporary
server with its own SQLite database; MLflow, the ops database and the lake
live under the test's temporary data dir.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from infra.factory import close_vector_clients, ops_engine
from infra.settings import get_settings

@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


def configure(monkeypatch: pytest.MonkeyPatch, data_dir: Path, **env: str) -> None:
    """Point Tandem at ``data_dir`` with small, fast demo settings (overridable)."""
    defaults = {
        "TANDEM_DATA_DIR": str(data_dir),
        "TANDEM_SYNTHETIC__ROWS_PER_DAY": "400",
        "TANDEM_SYNTHETIC__LABEL_DELAY_DAYS": "5",
        "TANDEM_ACTOR": "pytest",
    }
    for key, value in {**defaults, **env}.items():
        monkeypatch.setenv(key, value)
    reset_settings()


def reset_settings() -> None:
    get_settings.cache_clear()
    ops_engine.cache_clear()
    close_vector_clients()


@pytest.fixture
def tandem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh embedded Tandem under ``tmp_path``; returns the data dir."""
    data_dir = tmp_path / "tandem"
    configure(monkeypatch, data_dir)
    yield data_dir
    reset_settings()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """Settings are cached per process; a test's env changes must not leak into the next."""
    reset_settings()
    yield
    reset_settings()
