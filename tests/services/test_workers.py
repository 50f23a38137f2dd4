"""Two Prefect workers (``prefect worker start``, a process pool) on the PostgreSQL-backed server.

The runs are deployments of ``tests/services/worker_flows.py``, which call the
real backfill flow; Tandem is on the production profile (ops database on
PostgreSQL, lake on S3). Given / when / then:

- two overlapping backfills on two workers: every day committed once, every
  run's done day has its ledger row, the id index holds each day's ids once,
  and the pointer both runs moved has an unbroken chain;
- a worker (and its flow run) SIGKILLed after a day's file reached the lake
  but before its ledger row: the day stays missing, so a rerun on the other
  worker redoes it and every day then reads back against its hash.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

from infra.factory import build_lake, build_partition_ledger, build_pointer_ledger
from infra.settings import get_settings
from tests.services.conftest import BIN, ROOT

pytestmark = [pytest.mark.services, pytest.mark.postgres]

START = date(2026, 1, 5)
DATASET = "applications"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
WAIT_S = 480  # a deadline for a stuck run, not a speed check


def worker_env(server, production: dict[str, str], home: Path) -> dict[str, str]:
    return {
        **os.environ,
        **production,
        "PREFECT_API_URL": server.api_url,
        "PREFECT_HOME": str(home),
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_LOGGING_LEVEL": "INFO",  # the worker logs which flow run it submits
        "PYTHONPATH": str(ROOT),
    }


async def deploy(pool: str, flow_name: str, entrypoint: str) -> str:
    """A process work pool and a deployment in it that runs ``entrypoint`` from this checkout."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    async with get_client() as client:
        try:
            await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        except ObjectAlreadyExists:
            pass
        flow_id = await client.create_flow_from_name(flow_name)
        deployment_id = await client.create_deployment(
            flow_id=flow_id, name=f"svc-{uuid.uuid4().hex[:6]}", work_pool_name=pool, entrypoint=entrypoint,
            pull_steps=[{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}],
            job_variables={"working_dir": str(ROOT)},
        )
    return str(deployment_id)


async def start_run(deployment_id: str, parameters: dict) -> str:
    from prefect import get_client

    async with get_client() as client:
        run = await client.create_flow_run_from_deployment(deployment_id, parameters=parameters)
    return str(run.id)


async def wait_until(check, what: str, logs: list[Path], timeout_s: float = WAIT_S):
    """Poll ``check()`` (async) until it returns something truthy; fail with the workers' log tails."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs)
            pytest.fail(f"{what}: not after {timeout_s:.0f} s\n{tails}")
        await asyncio.sleep(1)


async def workers_online(pool: str, names: set[str], logs: list[Path]) -> None:
    from prefect import get_client

    async def check():
        async with get_client() as client:
            workers = await client.read_workers_for_work_pool(pool)
        return names <= {w.name for w in workers if str(w.status.value if w.status else "") == "ONLINE"}

    await wait_until(check, f"workers {sorted(names)} online in pool {pool}", logs)


async def final_states(run_ids: list[str], logs: list[Path]) -> dict[str, str]:
    from prefect import get_client

    async def check():
        async with get_client() as client:
            runs = [await client.read_flow_run(run_id) for run_id in run_ids]
        states = {str(r.id): r.state.type.value for r in runs}
        return states if set(states.values()) <= FINAL else None

    return await wait_until(check, f"flow runs {run_ids} finished", logs)


async def backfill_summaries(parent_ids: list[str]) -> dict[str, list[dict]]:
    """The ``backfill-summary`` artifact of each run's backfill subflow, by subflow run id."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId, FlowRunFilterParentFlowRunId,
    )

    async with get_client() as client:
        children = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=parent_ids))
        )
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["backfill-summary"])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[c.id for c in children])),
        )
    data = {str(a.flow_run_id): a.data for a in artifacts}
    return {run_id: json.loads(rows) if isinstance(rows, str) else rows for run_id, rows in data.items()}


def submitted_by(log: Path) -> list[str]:
    """Flow run ids a worker's log says it submitted (less those the server made it abort: another worker had it)."""
    def ids(marker: str) -> list[str]:
        return [line.split(marker)[1].split("'")[0] for line in log.read_text(errors="replace").splitlines() if marker in line]

    aborted = set(ids("Aborted submission of flow run '"))
    return [run_id for run_id in ids("submitting flow run '") if run_id not in aborted]


def assert_days_committed_once(days: list[date], s3) -> None:
    """One ledger row per day, ok; its file reads back against the ledger's hash; its ids indexed once."""
    settings = get_settings()
    ledger, lake = build_partition_ledger(settings), build_lake(settings)
    records = ledger.list(DATASET)
    assert [r.ds for r in records] == days and {r.status for r in records} == {"ok"}
    for record in records:
        frame = lake.read_partition(DATASET, record.ds)  # raises PartitionUnreadable on a hash mismatch
        assert len(frame) == record.row_count > 0
        assert ledger.indexed_ids(DATASET, record.ds) == record.row_count
    # one object per day, nothing left aside in staging
    keys = s3.keys("lake/")
    assert [k for k in keys if k.startswith(f"lake/{DATASET}/")] == [
        f"lake/{DATASET}/ds={d.isoformat()}/part.parquet" for d in days
    ]
    assert not [k for k in keys if k.startswith("lake/_staging/")]


def test_two_workers_run_overlapping_backfills(use_prefect, production, s3, start_process, tmp_path):
    # Given two workers polling one process pool
    pool, pointer = f"svc-{uuid.uuid4().hex[:6]}", "model:svc@champion"
    env = worker_env(use_prefect, production, tmp_path / "prefect-home")
    logs = []
    for name in ("w1", "w2"):
        _, log = start_process([str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process",
                                "--name", name, "--limit", "1"], env=env, name=name)
        logs.append(log)

    async def scenario():
        deployment = await deploy(pool, "svc-backfill-then-move", "tests/services/worker_flows.py:backfill_then_move")
        await workers_online(pool, {"w1", "w2"}, logs)
        # When two backfills that share two days run at once, each then moving the same pointer
        runs = [
            await start_run(deployment, {"start": START.isoformat(), "end": (START + timedelta(days=3)).isoformat(), "pointer": pointer}),
            await start_run(deployment, {"start": (START + timedelta(days=2)).isoformat(), "end": (START + timedelta(days=5)).isoformat(), "pointer": pointer}),
        ]
        return runs, await final_states(runs, logs), await backfill_summaries(runs)

    runs, states, summaries = asyncio.run(scenario())

    # Then both completed, one on each worker
    assert set(states.values()) == {"COMPLETED"}, (states, [log.read_text()[-3000:] for log in logs])
    assert sorted(sum((submitted_by(log) for log in logs), [])) == sorted(runs)
    assert all(len(submitted_by(log)) == 1 for log in logs)
    # every day committed once, readable against its hash, ids indexed once
    days = [START + timedelta(days=i) for i in range(6)]
    assert_days_committed_once(days, s3)
    # no lost ledger row: every day a run reports done has its ok attempt from that run
    ledger = build_partition_ledger(get_settings())
    assert len(summaries) == 2
    for run_id, rows in summaries.items():
        done = [date.fromisoformat(r["ds"]) for r in rows if r["outcome"] == "done"]
        assert {r["outcome"] for r in rows} <= {"done", "skipped"}
        for ds in done:
            assert any(a["status"] == "ok" and a["flow_run_id"] == run_id for a in ledger.attempts(DATASET, ds)), (run_id, ds)
    covered = {date.fromisoformat(r["ds"]) for rows in summaries.values() for r in rows if r["outcome"] == "done"}
    assert covered == set(days)
    # the pointer chain: ten moves, each replacing the value the one before set
    moves = list(reversed(build_pointer_ledger(get_settings()).history(pointer, limit=100)))
    assert len(moves) == 10 and moves[0].old_value is None
    assert all(later.old_value == earlier.new_value for earlier, later in zip(moves, moves[1:]))
    assert {m.actor for m in moves} == {"svc-test"}  # no reconcile row: the ledger never lost track


def test_a_worker_killed_mid_partition_leaves_it_to_be_redone(use_prefect, production, s3, start_process, tmp_path):
    # Given two workers, and a backfill that dies on its third day after the file reached the lake,
    # before the day's ledger row
    pool = f"svc-{uuid.uuid4().hex[:6]}"
    env = worker_env(use_prefect, production, tmp_path / "prefect-home")
    workers, logs = {}, []
    for name in ("w1", "w2"):
        proc, log = start_process([str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process",
                                   "--name", name, "--limit", "1"], env=env, name=name)
        workers[name] = proc
        logs.append(log)
    days = [START + timedelta(days=i) for i in range(4)]
    pause_ds, marker = days[2], tmp_path / "paused"

    async def first_run():
        deployment = await deploy(pool, "svc-backfill-pausing", "tests/services/worker_flows.py:backfill_pausing")
        await workers_online(pool, {"w1", "w2"}, logs)
        run = await start_run(deployment, {"start": days[0].isoformat(), "end": days[-1].isoformat(),
                                           "pause_ds": pause_ds.isoformat(), "marker": str(marker)})

        async def paused():
            return marker.exists() and marker.read_text().strip()

        flow_pid = int(await wait_until(paused, "the backfill reached the pause", logs))
        return deployment, run, flow_pid

    deployment, run, flow_pid = asyncio.run(first_run())
    # When the worker that took it and its flow-run process are SIGKILLed (a lost machine)
    [holder] = [name for name, log in zip(workers, logs) if run in submitted_by(log)]
    os.killpg(workers[holder].pid, signal.SIGKILL)
    try:
        os.kill(flow_pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it was in the worker's process group
    assert workers[holder].wait(timeout=30) == -signal.SIGKILL

    # Then the day's file is in the lake but the ledger does not count it: a backfill plans it again
    ledger = build_partition_ledger(get_settings())
    assert f"lake/{DATASET}/ds={pause_ds.isoformat()}/part.parquet" in s3.keys("lake/")
    assert ledger.get(DATASET, pause_ds) is None
    assert [r.ds for r in ledger.list(DATASET, status="ok")] == days[:2]
    assert ledger.statuses(DATASET, days) == {days[0]: "ok", days[1]: "ok", pause_ds: None, days[3]: None}

    # and a rerun, taken by the surviving worker, completes the range
    async def rerun():
        rerun_id = await start_run(deployment, {"start": days[0].isoformat(), "end": days[-1].isoformat()})
        return rerun_id, await final_states([rerun_id], logs)

    rerun_id, states = asyncio.run(rerun())
    assert states == {rerun_id: "COMPLETED"}, [log.read_text()[-3000:] for log in logs]
    survivor = next(log for name, log in zip(workers, logs) if name != holder)
    assert rerun_id in submitted_by(survivor)
    assert_days_committed_once(days, s3)
    # the redone day was committed by the rerun only; the two days before were not redone
    assert [a["status"] for a in ledger.attempts(DATASET, pause_ds)] == ["ok"]
    assert all([a["status"] for a in ledger.attempts(DATASET, d)] == ["ok"] for d in days[:2])
