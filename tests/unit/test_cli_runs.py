"""`tandem backfill|ingest|score ...` refuse impossible work and a missing server before anything starts."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from infra.runs import local_api_url
from tests.unit.conftest import run_cli

TODAY = date.today()


# Every test gets a fresh data dir (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("data_dir")
_run = run_cli


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["backfill", "2026-01-05", "2026-01-01"], "end 2026-01-01 is before start 2026-01-05"),
        (["backfill", "2026-01-01", (TODAY + timedelta(days=3)).isoformat()], f"{TODAY + timedelta(days=1)} is after today"),
        (["ingest", (TODAY + timedelta(days=1)).isoformat()], "is after today"),
        (["score", "2026-01-05", "--end", "2026-01-04"], "end 2026-01-04 is before start 2026-01-05"),
        (["ingest", "2026-13-01"], "'2026-13-01' is not a date (YYYY-MM-DD)"),
        (["backfill", "2026-01-01", "2026-01-02", "--mode", "every"], "--mode 'every' is not one of missing, failed, all"),
    ],
)
def test_impossible_ranges_are_refused_with_one_line_and_exit_2(args, expected, data_dir: Path):
    # no server is needed to refuse: PREFECT_API_URL points nowhere
    result = _run(*args, PREFECT_API_URL="http://127.0.0.1:9/api")
    assert result.exit_code == 2, result.output
    assert expected in result.output and len(result.output.strip().splitlines()) == 1
    assert not (data_dir / "ops.db").exists()  # nothing was started or recorded


def test_dry_run_prints_the_ledger_plan_without_a_server():
    result = _run("backfill", "2026-01-01", "2026-01-03", "--dry-run", PREFECT_API_URL="http://127.0.0.1:9/api")
    assert result.exit_code == 0, result.output
    assert "3 of 3 day(s) would run (mode missing)" in result.output and "nothing was started" in result.output


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers (a hung server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/api"
    sock.close()


def test_a_server_that_does_not_answer_is_reported_within_5_seconds(silent_server: str):
    started = time.monotonic()
    result = _run("backfill", "2026-01-01", "2026-01-03", PREFECT_API_URL=silent_server)
    took = time.monotonic() - started
    assert result.exit_code == 3, result.output
    assert f"no Prefect server answers at {silent_server} (PREFECT_API_URL)" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert took < 5, f"took {took:.1f} s"


def test_without_prefect_api_url_the_local_server_of_make_ui_is_probed(monkeypatch):
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_SERVER_API_PORT", str(port))
    assert local_api_url() == f"http://127.0.0.1:{port}/api"
    monkeypatch.setattr("infra.runs._configured_api_url", lambda: None)  # a Prefect imported by other tests
    result = _run("train")
    assert result.exit_code == 3, result.output
    assert f"no Prefect server answers at http://127.0.0.1:{port}/api: start one with `make ui`" in result.output
