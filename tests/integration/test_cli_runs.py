"""`tandem backfill|reindex ...` against a real Prefect server: progress, outcome, exit codes, no worker.

The test harness's server (conftest) is the server; a ``prefect.serve`` process
started here serves the backfill deployment, as ``make serve`` does. The CLI
runs in-process (typer's runner) or as a real ``tandem`` process where finding
the server without ``PREFECT_API_URL`` is the point.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.cli import app
from infra.factory import build_partition_ledger
from infra.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
DAYS = [date.today() - timedelta(days=12 - i) for i in range(3)]
SERVE = """
from prefect import serve
from flows.backfill import backfill
serve(backfill.to_deployment(name="backfill"))
"""


def _api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def _deployment_exists(name: str) -> bool:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(name)
            return True
        except ObjectNotFound:
            return False


@pytest.fixture
def served(tandem: Path, tmp_path: Path) -> Iterator[Path]:
    """The backfill deployment served by its own process (like `make serve`) on Tandem's data dir."""
    env = {**os.environ, "PREFECT_API_URL": _api_url(), "PREFECT_RUNNER_POLL_FREQUENCY": "1",
           "PREFECT_LOGGING_LEVEL": "WARNING"}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-c", SERVE], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while not _deployment_exists("backfill/backfill"):
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the served deployment never appeared"
            time.sleep(1)
        yield tandem
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_backfill_shows_progress_outcome_and_exit_code(served: Path):
    runner = CliRunner()
    env = {"PREFECT_API_URL": _api_url()}
    # given a day the lake cannot write (a file where its partition folder goes)
    blocker = served / "lake" / "applications" / f"ds={DAYS[1].isoformat()}"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder")
    # when three days are backfilled
    result = runner.invoke(app, ["backfill", DAYS[0].isoformat(), DAYS[-1].isoformat(), "--start-timeout", "120"], env=env)
    # then the run fails, the outcome counts each day and names the failed one, and the run's link is printed
    assert result.exit_code == 1, result.output
    out = result.output
    assert "2 day(s) done" in out and "1 failed" in out, out
    assert f"{DAYS[1]} failed:" in out, out
    assert "ingest ds=" in out, out  # task runs shown as they finished
    assert "/runs/flow-run/" in out, out
    # and the ledger recorded the day as failed, with the cause
    failed = build_partition_ledger(get_settings()).get("applications", DAYS[1])
    assert failed.status == "failed" and failed.error, failed
    # when the day is fixed and the range's failed days are backfilled again
    blocker.unlink()
    result = runner.invoke(
        app, ["backfill", DAYS[0].isoformat(), DAYS[-1].isoformat(), "--mode", "failed", "--start-timeout", "120"], env=env
    )
    # then it completes: one day done, two skipped, and the ledger agrees
    assert result.exit_code == 0, result.output
    assert "1 day(s) done" in result.output and "2 skipped" in result.output, result.output
    statuses = build_partition_ledger(get_settings()).statuses("applications", DAYS)
    assert set(statuses.values()) == {"ok"}


def test_unserved_deployment_is_reported_and_the_run_cancelled(tandem: Path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    # given a reindex deployment on the server that nothing serves (e.g. `make serve` stopped)
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("reindex")
        client.create_deployment(flow_id=flow_id, name="reindex", entrypoint="flows/reindex.py:reindex")
    port = _api_url().rsplit(":", 1)[1].split("/")[0]
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_SERVER_API_PORT=port, TANDEM_DATA_DIR=str(tandem))
    # when a real `tandem` process (no PREFECT_API_URL: it must find the server itself) starts a reindex
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "infra.cli", "reindex", "--start-timeout", "2"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    # then it says no worker picked the run up, names `make serve`, exits 3, and does not wait forever
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "no worker picked up run" in proc.stderr and "make serve" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 60
    # and the run was cancelled, so it will not start later by surprise
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["reindex"])))
    assert runs and all(r.state.is_cancelled() for r in runs)


# -- outcome readers, on real stores (what a finished run left behind) -------------------
def test_train_outcome_names_the_judged_version_its_verdict_and_the_champion_move(tandem: Path):
    from infra.factory import build_registry
    from infra.runs import RunRequest, RunView, _train_outcome, _train_snapshot

    settings = get_settings()
    client = build_registry(settings).client
    request = RunRequest("train", "train/train", {"window_days": None, "force": False})
    # given a champion v1, and a snapshot taken before the run
    run = client.create_run(build_registry(settings).experiment_id())
    client.create_registered_model(settings.model_name)
    v1 = client.create_model_version(settings.model_name, source="runs:/x/model", run_id=run.info.run_id).version
    client.set_model_version_tag(settings.model_name, v1, "gate.decision", "PROMOTE")
    client.set_registered_model_alias(settings.model_name, "champion", v1)
    before = _train_snapshot(settings, request)
    # when the run registers v2 and the gate promotes it
    v2 = client.create_model_version(settings.model_name, source="runs:/x/model", run_id=run.info.run_id).version
    for key, value in {"gate.decision": "PROMOTE", "gate.auc": "0.7810 [0.7600, 0.8000]", "gate.reason": "non-inferior"}.items():
        client.set_model_version_tag(settings.model_name, v2, key, value)
    client.set_registered_model_alias(settings.model_name, "champion", v2)
    outcome = _train_outcome(settings, request, RunView("run-1", before, {}))
    # then the line names the version, the verdict, the AUC with its interval and the move
    assert outcome.summary == "v2 PROMOTE (AUC 0.7810 [0.7600, 0.8000]); champion v1 -> v2"
    assert outcome.details == ["gate: non-inferior"]
    # and a rerun that trains nothing says so
    again = _train_outcome(settings, request, RunView("run-2", _train_snapshot(settings, request), {}))
    assert again.summary.startswith("no version trained or gated (champion stays v2)")


def test_reindex_outcome_says_whether_docs_live_moved(tandem: Path):
    from infra.factory import build_index_builds, build_pointer_ledger, index_pointer
    from infra.runs import RunRequest, RunView, _reindex_outcome, _reindex_snapshot

    settings = get_settings()
    request = RunRequest("reindex", "reindex/reindex", {"force": False})
    before = _reindex_snapshot(settings, request)
    # a run that found nothing to build
    assert "did not move: the index is up to date" in _reindex_outcome(settings, request, RunView("r0", before, {})).summary
    # a run whose build the gate rejected
    builds = build_index_builds(settings)
    builds.start("docs-v1", config_hash="c", base_collection=None, plan={}, flow_run_id="r1")
    builds.finish("docs-v1", status="rejected", gate={"metrics": {"hit_rate": 0.5}})
    rejected = _reindex_outcome(settings, request, RunView("r1", before, {}))
    assert rejected.summary == "docs-live did not move: docs-v1 is rejected" and rejected.details == ["docs-v1: rejected (hit_rate 0.500)"]
    # a run that released its collection
    build_pointer_ledger(settings).move(index_pointer(settings), new_value="docs-v2", actor="pytest", reason="gate passed",
                                        evidence=None, apply=lambda value: None)
    assert _reindex_outcome(settings, request, RunView("r2", before, {})).summary == "docs-live moved: (none) -> docs-v2"
