"""The ``pg_url`` fixture: skip with a reason where no PostgreSQL answers, fail under TANDEM_REQUIRE_SERVICES."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_pg_test(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    test_file = tmp_path / "test_needs_pg.py"
    test_file.write_text("def test_needs_pg(pg_url):\n    assert pg_url\n")
    full_env = {k: v for k, v in os.environ.items() if k != "TANDEM_REQUIRE_SERVICES"}
    full_env |= {"TANDEM_TEST_PG_ADMIN_URL": f"postgresql://postgres@127.0.0.1:{_closed_port()}/postgres", **env}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:randomly", "-rs", "-q",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(test_file)],
        cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120,
    )


def test_a_missing_postgres_skips_with_the_reason(tmp_path: Path) -> None:
    proc = _run_pg_test(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 skipped" in proc.stdout
    assert "no PostgreSQL answers at 127.0.0.1:" in proc.stdout


def test_a_missing_postgres_fails_when_services_are_required(tmp_path: Path) -> None:
    proc = _run_pg_test(tmp_path, TANDEM_REQUIRE_SERVICES="1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 error" in proc.stdout or "1 failed" in proc.stdout
    assert "TANDEM_REQUIRE_SERVICES is set" in proc.stdout
