"""The local Prefect server of `make run` / `make ui` / `make stop` (infra.localserver), for real.

One real ``prefect server start`` under a temporary data dir: started on the
next free port when the preferred one is taken, found again rather than
started twice, and stopped by its recorded pid with the data left in place.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from infra.localserver import (
    SERVER,
    LocalServerError,
    ensure_server,
    is_running,
    read_record,
    recorded_api_url,
    server_answers,
    stop,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def taken_port():
    """A port something other than Prefect listens on (as another program on 4200 would)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    return env


@pytest.mark.timeout(600)
def test_a_taken_port_moves_the_server_which_is_reused_then_stopped_by_pid(tmp_path, taken_port):
    data_dir = tmp_path / "tandem"
    said: list[str] = []
    try:
        first = ensure_server(data_dir, port=taken_port, env=_env(tmp_path), say=said.append)
        assert first.started and not first.external
        assert f"port {taken_port} is taken by another program" in first.note
        assert first.api_url != f"http://127.0.0.1:{taken_port}/api" and server_answers(first.api_url)
        assert recorded_api_url(data_dir) == first.api_url  # what `tandem backfill` / `tandem status` find
        again = ensure_server(data_dir, port=taken_port, env=_env(tmp_path))
        assert (again.api_url, again.started) == (first.api_url, False)
        record = read_record(data_dir, SERVER)
    finally:
        stopped = stop(data_dir, say=said.append)
    assert stopped == [record["pid"]]
    assert not is_running(record) and not server_answers(first.api_url)
    assert read_record(data_dir, SERVER) is None
    assert (tmp_path / "prefect").is_dir() and (data_dir / "run" / "server.log").is_file()  # the data stays


def test_stop_with_nothing_recorded_stops_nothing(tmp_path):
    said: list[str] = []
    assert stop(tmp_path / "tandem", say=said.append) == []
    assert "nothing to stop" in said[0]


def test_a_recorded_pid_that_is_another_program_is_not_ours(tmp_path):
    """A pid reused by an unrelated process is never taken for the server (nor stopped)."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record = {"pid": sleeper.pid, "cmd": ["prefect", "server", "start", "--port", "4200"]}
        assert not is_running(record)
        assert is_running({"pid": sleeper.pid, "cmd": [sys.executable, "-c", "import time; time.sleep(60)"]})
    finally:
        sleeper.kill()
        sleeper.wait()


def test_an_unanswering_prefect_api_url_is_refused(tmp_path, taken_port):
    env = {**_env(tmp_path), "PREFECT_API_URL": f"http://127.0.0.1:{taken_port}/api"}
    with pytest.raises(LocalServerError, match="PREFECT_API_URL"):
        ensure_server(tmp_path / "tandem", env=env)
