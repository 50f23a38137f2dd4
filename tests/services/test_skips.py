"""The service fixtures skip with the reason where PostgreSQL is absent, and fail under TANDEM_REQUIRE_SERVICES.

Runs pytest on a small test file in a subprocess, with the fixtures of this
folder and PostgreSQL pointed at a closed port.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.services.conftest import ROOT, free_port

NEEDS_SERVICES = """
def test_database(pg):
    assert pg

def test_production_profile(production):
    assert production

def test_prefect_server(prefect_pg_server):
    assert prefect_pg_server
"""


def run_without_postgres(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    test_file = tmp_path / "test_needs_services.py"
    test_file.write_text(NEEDS_SERVICES)
    full_env = {k: v for k, v in os.environ.items() if k != "TANDEM_REQUIRE_SERVICES"}
    full_env |= {"TANDEM_TEST_PG_ADMIN_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", **env}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.services.conftest", "-p", "no:randomly", "-rs", "-q",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(test_file)],
        cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=180,
    )


def test_absent_postgres_skips_with_the_reason(tmp_path: Path):
    proc = run_without_postgres(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 skipped" in proc.stdout
    assert proc.stdout.count("no PostgreSQL answers at 127.0.0.1:") == 3


def test_absent_postgres_fails_when_services_are_required(tmp_path: Path):
    proc = run_without_postgres(tmp_path, TANDEM_REQUIRE_SERVICES="1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "3 errors" in proc.stdout
    assert "TANDEM_REQUIRE_SERVICES is set" in proc.stdout
