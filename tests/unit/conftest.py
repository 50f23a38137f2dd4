"""Fixtures for the CLI's unit tests: a fresh data dir with no cached settings or engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``TANDEM_DATA_DIR`` under ``tmp_path``; settings and ops engines re-read before and after."""
    from infra.factory import ops_engine
    from infra.settings import get_settings

    monkeypatch.setenv("TANDEM_DATA_DIR", str(tmp_path / "tandem"))
    get_settings.cache_clear()
    ops_engine.cache_clear()
    yield tmp_path / "tandem"
    get_settings.cache_clear()
    ops_engine.cache_clear()


def run_cli(*args: str, **env: str):
    """``tandem ARGS`` in process, with extra environment variables."""
    from typer.testing import CliRunner

    from infra.cli import app

    return CliRunner().invoke(app, list(args), env=env)
