"""Scale-out benchmark: a long backfill and a night's scoring, in this process's threads and on Dask with two workers.

For each engine (``embedded``: the flow's own threads; ``dask``: a Dask
``LocalCluster`` of two worker processes, one thread each, reached through
``TANDEM_DASK_ADDRESS``), on one embedded Tandem (SQLite ops database and
MLflow, local Parquet lake) in a temporary folder, against one Prefect server
(a subprocess on SQLite), it times:

- **overhead**: the backfill flow over one, then ``--tiny-days`` days of 10
  rows, where the rows cost nothing: what the engine and Prefect add per run
  and per partition (planning, task-run states, the ledger, the Dask round
  trip). Fresh Dask workers' imports are timed apart (a long-lived cluster
  pays them once) and one untimed run of each flow warms each process up;
- **backfill**: ``--days`` days (default 365) of 2,000 synthetic rows,
  ``mode=all``, 4 days in flight;
- **score**: the score flow over 10 days holding ``--score-rows`` rows in all
  (default 10,000,000), ``force=True``, with a champion trained once at setup.

Besides wall time it records CPU seconds per process (this one, which runs
the flow and, for the LocalCluster, the Dask scheduler; the Prefect server;
the Dask workers), which says where the time goes, and it projects a Dask
run's time on N machines from those CPU seconds (see ``projection``).

Two cores shared with other work cannot show a cluster faster than one
process: the point is the per-partition overhead each engine adds and how
the divisible part of the work would spread. Prints tables; asserts nothing.
PostgreSQL with two Prefect workers is not measured here (tests/services runs
it for correctness; see docs/operations.md, Sizing).

    python bench/scale.py            # 365 days, 10M rows scored
    python bench/scale.py --quick    # 60 days, 1M rows scored
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for key, value in {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                   "PREFECT_LOGGING_LEVEL": "WARNING", "DO_NOT_TRACK": "1", "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
                   "GIT_PYTHON_REFRESH": "quiet", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
                   "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
                   "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1"}.items():
    os.environ.setdefault(key, value)

START = date(2024, 6, 1)  # every range below ends before today: the backfill refuses future days
ROWS_PER_DAY = 2_000
TINY_ROWS = 10
SCORE_DAYS = 10
CONCURRENCY = 4
CORES_HERE = 2


@dataclass
class Measure:
    """One flow run: wall seconds, partitions, and CPU seconds by process role."""

    wall: float
    partitions: int
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def per_partition(self) -> float:
        return self.wall / self.partitions


SERVER_PIDS: set[int] = set()  # the Prefect server's process (and any it starts)


def _cpu_by_role(worker_pids: set[int]) -> dict[str, float]:
    """CPU seconds (user + system) so far of this process, the Prefect server, the Dask workers, and other children (Dask nannies)."""
    import psutil

    me = psutil.Process()
    roles = {"flow process": sum(me.cpu_times()[:2]), "prefect server": 0.0, "dask workers": 0.0, "other": 0.0}
    for child in me.children(recursive=True):
        try:
            seconds = sum(child.cpu_times()[:2])
            parent = child.ppid()
        except psutil.Error:
            continue
        role = "dask workers" if child.pid in worker_pids else "prefect server" if {child.pid, parent} & SERVER_PIDS else "other"
        roles[role] += seconds
    return roles


def _set_tandem_env(env: dict[str, str], client=None) -> None:
    """Set ``TANDEM_*`` here and, with a Dask client, on every worker (each reads its own environment, cached)."""
    from infra.factory import ops_engine
    from infra.settings import get_settings

    def apply(env: dict[str, str]) -> None:
        os.environ.update(env)
        get_settings.cache_clear()
        ops_engine.cache_clear()

    apply(env)
    if client is not None:
        client.run(apply, env)


def _measure(run, partitions: int, worker_pids: set[int]) -> Measure:
    before = _cpu_by_role(worker_pids)
    started = time.perf_counter()
    run()
    wall = time.perf_counter() - started
    after = _cpu_by_role(worker_pids)
    return Measure(wall, partitions, {k: after[k] - before[k] for k in after})


def bench_engine(name: str, days: list[date], tiny: list[date], score_days: list[date], client=None) -> dict[str, Measure]:
    """The runs on one engine (``client`` None: threads here; else the Dask cluster behind it).

    Fresh Dask workers first import the task modules (timed apart, as a
    long-lived cluster pays it once), and one untimed run of each flow warms
    up each process, so the figures are those of a warm, long-lived cluster.
    """
    from flows.backfill import backfill
    from flows.score import score

    worker_pids = set(client.run(os.getpid).values()) if client is not None else set()
    dask = {"TANDEM_DASK_ADDRESS": client.scheduler.address} if client is not None else {"TANDEM_DASK_ADDRESS": ""}
    results = {}

    def backfill_all(span: list[date]) -> None:
        rows = asyncio.run(backfill(span[0], span[-1], mode="all", concurrency=CONCURRENCY))
        assert all(r["outcome"] == "done" for r in rows), [r for r in rows if r["outcome"] != "done"][:3]

    def score_all(span: list[date]) -> None:
        asyncio.run(score(span[0], end=span[-1], force=True))

    if client is not None:
        started = time.perf_counter()
        client.run(_import_task_modules)
        print(f"[{name}] fresh workers import Tandem's task modules, Prefect, MLflow: {time.perf_counter() - started:.1f} s "
              "(paid once per worker process, not timed below)", flush=True)
    print(f"[{name}] overhead: 1 then {len(tiny)} days of {TINY_ROWS} rows ...", flush=True)
    _set_tandem_env({**dask, "TANDEM_SYNTHETIC__ROWS_PER_DAY": str(TINY_ROWS)}, client)
    backfill_all(tiny[:1])  # warm-up: the first flow run of a process builds its clients and engines
    results["run: backfill 1 tiny day"] = _measure(lambda: backfill_all(tiny[:1]), 1, worker_pids)
    results["tiny days"] = _measure(lambda: backfill_all(tiny), len(tiny), worker_pids)
    _set_tandem_env({**dask, "TANDEM_SYNTHETIC__ROWS_PER_DAY": str(ROWS_PER_DAY)}, client)
    print(f"[{name}] backfill of {len(days)} days ...", flush=True)
    results["backfill"] = _measure(lambda: backfill_all(days), len(days), worker_pids)
    print(f"[{name}] scoring {len(score_days)} days ...", flush=True)
    score_all(score_days[:2])  # warm-up: the first score task of a process loads the model's libraries
    results["score"] = _measure(lambda: score_all(score_days), len(score_days), worker_pids)
    return results


def _import_task_modules() -> None:
    """On a Dask worker: what its first task would import (Tandem's tasks, Prefect, MLflow, XGBoost)."""
    import mlflow.pyfunc  # noqa: F401
    import tasks.ingest  # noqa: F401
    import tasks.scoring  # noqa: F401


def overheads(runs: dict[str, Measure]) -> tuple[float, float]:
    """(seconds a run costs whatever its size, seconds each partition adds), from the runs of 10-row days."""
    one, many = runs["run: backfill 1 tiny day"], runs["tiny days"]
    per_partition = max(0.0, (many.wall - one.wall) / (many.partitions - 1))
    return max(0.0, one.wall - per_partition), per_partition


def projection(m: Measure, machines: int, cores: int = CORES_HERE) -> float:
    """Seconds a Dask run would take on ``machines`` machines of ``cores`` cores, from its CPU seconds measured here.

    CPU seconds, not wall time: on a shared machine a process waits for a core
    (the load average is printed), and CPU is what a machine of its own would
    spend. The flow process (planning, submitting, collecting, and here the
    LocalCluster's scheduler) and the Prefect server are one process each, so
    their CPU does not divide; the workers' CPU (the rows' work and each
    task's Prefect engine) divides over ``machines * cores`` worker threads,
    never finer than one partition per thread. The run takes as long as the
    busiest of the three. Assumes the ops database and the object store keep
    up (PostgreSQL and S3 in production) and ignores network transfer.
    """
    threads = min(machines * cores, m.partitions)
    return max(m.cpu["flow process"], m.cpu["prefect server"], m.cpu["dask workers"] / threads)


def _table(results: dict[str, dict[str, Measure]], rows: dict[str, int]) -> None:
    print("\n| engine | run | partitions | rows | wall s | s / partition | rows/s | CPU s: flow process | Prefect server | Dask workers |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for engine, runs in results.items():
        for run, m in runs.items():
            cpu = m.cpu
            print(f"| {engine} | {run} | {m.partitions} | {rows[run]:,} | {m.wall:.1f} | {m.per_partition:.3f} | "
                  f"{rows[run] / m.wall:,.0f} | {cpu['flow process']:.1f} | {cpu['prefect server']:.1f} | {cpu['dask workers']:.1f} |")
    print("(CPU of the Dask nannies, 'other', is left out of this table.)")
    print("\nWhere the time goes (share of all CPU seconds measured in the run):")
    for engine, runs in results.items():
        for run, m in runs.items():
            total = sum(m.cpu.values()) or 1.0
            shares = ", ".join(f"{k} {v / total:.0%}" for k, v in m.cpu.items() if v > 0.05 * total)
            print(f"- {engine} {run}: {shares}; CPU {total:.1f} s in {m.wall:.1f} s wall ({total / m.wall:.2f} cores busy)")
    print("\nOverhead each engine adds (from the runs of 10-row days): wall per run and per partition; CPU per partition by process")
    for engine, runs in results.items():
        per_run, per_partition = overheads(runs)
        tiny = runs["tiny days"]
        cpu = ", ".join(f"{k} {v / tiny.partitions:.3f} s" for k, v in tiny.cpu.items() if k != "other" and v > 0)
        print(f"- {engine}: {per_run:.2f} s per run, {per_partition:.3f} s per partition; CPU per partition: {cpu}")
    print("\nDask on N machines of 2 cores (one worker thread per core), projected from the CPU seconds above (a lower bound: waits not counted):")
    print("| run | wall here | N=1 | N=2 | N=4 | N=8 | N=16 | bound by (N=16) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for engine, runs in results.items():
        if not engine.startswith("dask"):
            continue
        for run in ("backfill", "score"):
            m = runs[run]
            cpu = m.cpu
            threads = min(16 * CORES_HERE, m.partitions)
            bound = max(("flow process", cpu["flow process"]), ("Prefect server", cpu["prefect server"]),
                        ("Dask workers", cpu["dask workers"] / threads), key=lambda kv: kv[1])[0]
            print(f"| {run} | {m.wall:.1f} | " + " | ".join(f"{projection(m, n):.1f}" for n in (1, 2, 4, 8, 16)) + f" | {bound} |")
    print("(The embedded engine is one process: more machines do not help it; it is bound by its own cores.)")

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 days, 1M rows scored (about 10 minutes on 2 busy cores)")
    parser.add_argument("--days", type=int, default=None, help="backfill days (default 365; 60 with --quick)")
    parser.add_argument("--score-rows", type=int, default=None, help="rows scored in all (default 10M; 1M with --quick)")
    parser.add_argument("--tiny-days", type=int, default=None, help="10-row days for the overhead run (default 60; 30 with --quick)")
    parser.add_argument("--engines", default="embedded,dask")
    args = parser.parse_args()
    n_days = args.days or (60 if args.quick else 365)
    score_rows = args.score_rows or (1_000_000 if args.quick else 10_000_000)
    n_tiny = args.tiny_days or (30 if args.quick else 60)
    engines = args.engines.split(",")

    work = Path(tempfile.mkdtemp(prefix="tandem-scale-bench-"))
    env = {
        "TANDEM_DATA_DIR": str(work / "tandem"), "PREFECT_HOME": str(work / "prefect"),
        "TANDEM_SYNTHETIC__ROWS_PER_DAY": str(ROWS_PER_DAY), "TANDEM_SYNTHETIC__LABEL_DELAY_DAYS": "5",
        "TANDEM_TRAINING__WINDOW_DAYS": str(min(30, n_days - 8)), "TANDEM_ACTOR": "bench",
    }
    os.environ.update(env)
    (work / "prefect").mkdir(parents=True)

    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    days = [START + timedelta(days=i) for i in range(n_days)]
    score_days = [days[-1] + timedelta(days=1 + i) for i in range(SCORE_DAYS)]
    tiny = [score_days[-1] + timedelta(days=1 + i) for i in range(n_tiny)]
    print(f"data dir {work}; {n_days} backfill days of {ROWS_PER_DAY:,} rows, {SCORE_DAYS} days of "
          f"{score_rows // SCORE_DAYS:,} rows scored, {n_tiny} days of {TINY_ROWS} rows; engines {', '.join(engines)}", flush=True)

    server = SubprocessASGIServer()
    server.start(timeout=240)
    SERVER_PIDS.add(server.server_process.pid)
    os.environ["PREFECT_API_URL"] = server.api_url  # the flows here and, through each task's context, the Dask workers
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            from flows.backfill import backfill
            from flows.train import train

            # Setup (not timed): a champion, and the days the score runs read.
            t0 = time.perf_counter()
            _set_tandem_env({"TANDEM_SYNTHETIC__ROWS_PER_DAY": str(ROWS_PER_DAY)})
            asyncio.run(backfill(days[-min(40, n_days)], days[-1], concurrency=CONCURRENCY))
            trained = asyncio.run(train())
            print(f"setup: champion v{trained['version']} ({trained['decision']})", flush=True)
            _set_tandem_env({"TANDEM_SYNTHETIC__ROWS_PER_DAY": str(score_rows // SCORE_DAYS)})
            asyncio.run(backfill(score_days[0], score_days[-1], concurrency=2))
            print(f"setup done in {time.perf_counter() - t0:.0f} s", flush=True)

            results = {}
            if "embedded" in engines:
                results["embedded"] = bench_engine("embedded", days, tiny, score_days)
            if "dask" in engines:
                from distributed import Client, LocalCluster

                with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, env=env, silence_logs=40) as cluster, Client(cluster) as client:
                    client.wait_for_workers(2, timeout=240)
                    results["dask (2 workers x 1 thread)"] = bench_engine("dask", days, tiny, score_days, client)
                _set_tandem_env({"TANDEM_DASK_ADDRESS": ""})
    finally:
        server.stop()

    load = os.getloadavg()
    print(f"\nmachine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) at the end")
    _table(results, {"run: backfill 1 tiny day": TINY_ROWS, "tiny days": n_tiny * TINY_ROWS,
                     "backfill": n_days * ROWS_PER_DAY, "score": score_rows})


if __name__ == "__main__":
    main()
