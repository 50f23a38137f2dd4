"""The main job (`make run`'s `python -m flows.demo`) end to end, in a fresh process.

Runs on the embedded defaults with fewer rows per day to stay quick; a second
run must skip every done partition, the retraining, the re-embedding and the
prompt evaluation, and answer the sample questions from the cache.
"""

from __future__ import annotations

import json
import os
import re
import shutil
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


@pytest.mark.timeout(1800)  # two runs of the main job: about 7 minutes and 1 on a quiet machine at 600 rows a day
def test_main_job_runs_and_reruns_quickly(tmp_path):
    corpus = tmp_path / "tandem" / "corpus"
    shutil.copytree(ROOT / "infra" / "demo" / "corpus", corpus)  # what `make run` does: its own copy to edit
    env = {
        **os.environ,
        "TANDEM_DATA_DIR": str(tmp_path / "tandem"),
        "TANDEM_INDEX__CORPUS_DIR": str(corpus),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        # enough rows a night for the drift checks' minimum sample (500), fewer than the default 2,000
        "TANDEM_SYNTHETIC__ROWS_PER_DAY": "600",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # a fresh PREFECT_HOME migrates Prefect's database first (18-26 s seen here; Prefect waits 20 s)
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90"),
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "COLUMNS": "200",
    }
    first, first_s = _run(env)
    assert "Champion: risk-scorer v" in first
    assert "applications 120" in first
    assert "Scored 47 day(s)" in first and "mlflow ui --backend-store-uri" in first
    assert "Index: built docs-v1" in first and "released" in first
    assert "PROMOTE: v1 is now production" in first
    assert "I can't help with that request" in first and "injection:question" in first
    # the nightly loop: the shock opens a retrain ticket that waits for labels, then goes through the gate;
    # the edited corpus document opens a re-index ticket that the reindex resolves
    assert "47 evaluated now" in first
    tickets = _tickets(env)
    retrain = [t for t in tickets if t["kind"] == "retrain"]
    assert len(retrain) == 1, tickets
    assert "retrained on the window ending" in json.dumps(retrain[0]["remedy"])
    reindex = [t for t in tickets if t["kind"] == "re-index"]
    assert any(t["status"] == "resolved" and "docs-v" in (t["resolution"] or "") for t in reindex), reindex
    assert "Update: self-employed applicants" in (corpus / "policy" / "03-debt-to-income.md").read_text()
    second, second_s = _run(env)
    assert "Training skipped" in second
    assert "0 evaluated now, 47 already done" in second
    assert "v1 is already production" in second
    if "Index: up to date" in second:
        assert second.count("cache hit") == 2  # the two answered sample questions, from the response cache
    else:
        # The replayed nights' ops notes (scorecards, tickets) came after the first run's last reindex: the
        # rerun's index stage adds them incrementally (most chunks unchanged), so its answers are new ones.
        m = re.search(r"Index: built docs-v\d+ \(added (\d+), changed (\d+), deleted (\d+), unchanged (\d+)\)", second)
        assert m, second[-2000:]
        added, changed, deleted, unchanged = map(int, m.groups())
        assert unchanged > added + changed + deleted
        assert second.count("cache miss") == 3 and second.count("cache hit") == 0
    assert _tickets(env) == tickets  # nothing re-evaluated, nothing re-opened
    print(f"first run {first_s:.1f} s, second run {second_s:.1f} s")


def _tickets(env: dict) -> list[dict]:
    import sqlite3

    with sqlite3.connect(Path(env["TANDEM_DATA_DIR"]) / "ops.db") as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("select id, kind, asset, status, remedy, resolution from tickets order by id").fetchall()
    return [{**dict(r), "remedy": json.loads(r["remedy"]) if r["remedy"] else None} for r in rows]
