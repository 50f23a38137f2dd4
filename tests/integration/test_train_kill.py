"""Kill test: a training process SIGKILLed between registration and verdict; the rerun gates that version."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import prefect.settings

from flows.backfill import backfill
from flows.train import train
from infra.factory import build_registry
from infra.settings import get_settings
from tests.integration.conftest import reset_settings

START = date(2026, 1, 1)
ROOT = Path(__file__).resolve().parents[2]


def test_a_version_registered_by_a_killed_run_is_gated_by_the_next_run(tandem, tmp_path, monkeypatch):
    # Given matured partitions, and a minimum a small test set clears
    monkeypatch.setenv("TANDEM_GATE__MIN_AUC", "0.5")
    reset_settings()
    asyncio.run(backfill(START, START + timedelta(days=13), concurrency=2))
    marker = tmp_path / "registered"
    env = {**os.environ, "PREFECT_API_URL": prefect.settings.PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT)}
    # When a real training process is killed (SIGKILL) after registering its version, before the verdict
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/integration/train_until_gate.py"), str(marker)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert child.poll() is None, child.stdout.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the child never reached the gate"
            time.sleep(0.2)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    registry = build_registry(get_settings())
    [killed] = registry.versions()
    assert "gate.decision" not in killed.tags  # registered, never gated
    # Then the next run gates that version instead of calling it "already trained" or training another
    result = asyncio.run(train())
    assert (result["version"], result["resumed"], result["decision"]) == (str(killed.version), True, "PROMOTE"), result["reason"]
    assert result["champion"] == str(killed.version)
    [after] = registry.versions()
    assert after.version == killed.version and after.tags["gate.decision"] == "PROMOTE"
    assert Path(result["model_card"]).exists()
    # and the run after that finds it judged
    assert asyncio.run(train())["skipped"] is True
    assert len(registry.versions()) == 1
