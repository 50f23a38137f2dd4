"""The main job (`make run`'s `python -m flows.demo`) end to end, in a fresh process.

Runs on the embedded defaults with fewer rows per day to stay quick; a second
run must skip every done partition, the retraining, the re-embedding and the
prompt evaluation, and answer the sample questions from the cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _run(env: dict) -> tuple[str, float]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "flows.demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout, elapsed


def test_main_job_runs_and_reruns_quickly(tmp_path):
    env = {
        **os.environ,
        "TANDEM_DATA_DIR": str(tmp_path / "tandem"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "TANDEM_SYNTHETIC__ROWS_PER_DAY": "300",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # a fresh PREFECT_HOME migrates Prefect's database first (18-26 s seen here; Prefect waits 20 s)
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90"),
        "COLUMNS": "200",
    }
    first, first_s = _run(env)
    assert "Champion: risk-scorer v1" in first
    assert "applications 120" in first
    assert "Scored 7 day(s)" in first and "mlflow ui --backend-store-uri" in first
    assert "Index: built docs-v1" in first and "released" in first
    assert "PROMOTE: v1 is now production" in first
    assert "[model-cards/risk-scorer-v1.md]" in first  # the assistant answers from the model card
    assert "I can't help with that request" in first and "injection:question" in first
    second, second_s = _run(env)
    assert "Training skipped" in second
    assert "Champion: risk-scorer v1" in second
    assert second.count(" skipped") >= 7  # every scored day: same input, same champion
    assert "docs-live -> docs-v1, up to date" in second and "0 embedded" in second
    assert "v1 is already production" in second
    assert second.count("cache hit") == 2  # the two answered sample questions
    print(f"first run {first_s:.1f} s, second run {second_s:.1f} s")
