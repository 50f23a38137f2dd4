"""Scale-out benchmark: a long backfill and a night's scoring, in this process's threads, on Dask with two workers, and on two Prefect workers over PostgreSQL.

For each engine (``embedded``: the flow's own threads; ``dask``: a Dask
``LocalCluster`` of two worker processes, one thread each, reached through
``TANDEM_DASK_ADDRESS``), on one embedded Tandem (SQLite ops database and
MLflow, local Parquet lake) in a temporary folder, against one Prefect server
(a subprocess on SQLite), it times the runs below. The third engine,
``postgres-2-workers``, is the production profile's orchestration: a
``prefect server start`` on its own fresh PostgreSQL database, Tandem's ops
database and MLflow on PostgreSQL too (fresh, uniquely named databases on
``TANDEM_TEST_PG_ADMIN_URL``'s server, default 127.0.0.1:5432, dropped at the
end; the lake stays a local folder), the flows deployed to a process work
pool and run by two ``prefect worker start`` processes (``--limit 1`` each),
each flow run in a fresh process the worker starts. There the overhead runs
are one flow run each (one worker), and the backfill and the score runs are
split in two halves of the range, started together, one on each worker
(see ``bench_postgres``). It times:

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
the Dask workers; on ``postgres-2-workers`` the flow-run processes, the two
Prefect workers and the PostgreSQL backends serving the three databases),
which says where the time goes, and it projects a run's time on N machines
from those CPU seconds (see ``projection`` and ``projection_pg``).

Two cores shared with other work cannot show a cluster faster than one
process: the point is the per-partition overhead each engine adds and how
the divisible part of the work would spread. Prints tables; asserts nothing
beyond every run completing. ``postgres-2-workers`` needs a PostgreSQL server
(``--engines embedded,dask`` leaves it out).

    python bench/scale.py            # 365 days, 10M rows scored, all three engines
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
    in_process: float | None = None  # postgres-2-workers: the longest flow run's Running -> Completed, as the server recorded it

    @property
    def per_partition(self) -> float:
        return self.wall / self.partitions


SERVER_PIDS: set[int] = set()  # the Prefect servers' processes (and any they start)
PREFECT_WORKER_PIDS: set[int] = set()  # ``prefect worker start`` processes; their children are flow-run processes
ROLES = ("flow process", "prefect server", "dask workers", "prefect workers", "postgresql", "other")


def _cpu_by_role(worker_pids: set[int]) -> dict[str, float]:
    """CPU seconds (user + system) so far of this process, the Prefect server, the Dask workers, the Prefect workers, the flow-run processes they start, PostgreSQL's backends, and other children (Dask nannies).

    A child is counted by the nearest ancestor this benchmark knows. Processes
    that exited count through their parent's ``children_*`` CPU times when it
    reaped them (a Prefect worker reaps each flow-run process it started, so
    finished flow runs are counted; the server's reaped children likewise).
    With Prefect workers running, the flows run in the flow-run processes, so
    this process's CPU (it only creates the runs and polls their states) is
    "other" and "flow process" is the flow-run processes'.
    """
    import psutil

    me = psutil.Process()
    roles = dict.fromkeys(ROLES, 0.0)
    roles["other" if PREFECT_WORKER_PIDS else "flow process"] += sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            times = child.cpu_times()
            seconds = sum(times[:2])
            reaped = times.children_user + times.children_system
            lineage = [child.pid] + [p.pid for p in child.parents()]
        except psutil.Error:
            continue
        if child.pid in worker_pids:
            role = "dask workers"
        elif child.pid in PREFECT_WORKER_PIDS:
            role = "prefect workers"
            roles["flow process"] += reaped  # finished flow-run processes this worker reaped
        elif set(lineage) & PREFECT_WORKER_PIDS:
            role = "flow process"  # a flow-run process still running (or one of its children)
        elif set(lineage) & SERVER_PIDS:
            role = "prefect server"
            if child.pid in SERVER_PIDS:
                roles[role] += reaped
        else:
            role = "other"
        roles[role] += seconds
    roles["postgresql"] = PG_BACKENDS.total() if PG_BACKENDS is not None else 0.0
    return roles


class PgBackendSampler:
    """CPU seconds of the PostgreSQL backends serving ``databases``, sampled every ``interval`` s by a thread.

    A backend is a process per connection; one that ends between two samples
    loses at most its last ``interval`` s, and one shorter than ``interval`` is
    missed: a lower bound. Other databases on the same server (other users of
    it) are not counted; the server's shared background processes (WAL writer,
    checkpointer, autovacuum) are not either.
    """

    def __init__(self, databases: list[str], interval: float = 0.5) -> None:
        import threading

        self.databases = databases
        self.interval = interval
        self.seen: dict[tuple[int, float], float] = {}  # (pid, create time) -> last CPU seconds seen
        self.ours: dict[tuple[int, float], bool] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True, name="pg-backend-sampler")

    def start(self) -> "PgBackendSampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def sample(self) -> None:
        import psutil

        for proc in psutil.process_iter(["name", "create_time"]):
            if proc.info["name"] != "postgres":
                continue
            key = (proc.pid, proc.info["create_time"])
            try:
                if key not in self.ours:
                    title = " ".join(proc.cmdline())
                    self.ours[key] = any(f" {db} " in f" {title} " for db in self.databases)
                if self.ours[key]:
                    seconds = sum(proc.cpu_times()[:2])
                    with self._lock:
                        self.seen[key] = max(seconds, self.seen.get(key, 0.0))
            except psutil.Error:
                continue

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def total(self) -> float:
        self.sample()
        with self._lock:
            return sum(self.seen.values())


PG_BACKENDS: PgBackendSampler | None = None


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f}"


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
    print(f"[{name}] overhead: 1 then {len(tiny)} days of {TINY_ROWS} rows ... ({_load()})", flush=True)
    _set_tandem_env({**dask, "TANDEM_SYNTHETIC__ROWS_PER_DAY": str(TINY_ROWS)}, client)
    backfill_all(tiny[:1])  # warm-up: the first flow run of a process builds its clients and engines
    results["run: backfill 1 tiny day"] = _measure(lambda: backfill_all(tiny[:1]), 1, worker_pids)
    results["tiny days"] = _measure(lambda: backfill_all(tiny), len(tiny), worker_pids)
    _set_tandem_env({**dask, "TANDEM_SYNTHETIC__ROWS_PER_DAY": str(ROWS_PER_DAY)}, client)
    print(f"[{name}] backfill of {len(days)} days ... ({_load()})", flush=True)
    results["backfill"] = _measure(lambda: backfill_all(days), len(days), worker_pids)
    print(f"[{name}] scoring {len(score_days)} days ... ({_load()})", flush=True)
    score_all(score_days[:2])  # warm-up: the first score task of a process loads the model's libraries
    results["score"] = _measure(lambda: score_all(score_days), len(score_days), worker_pids)
    return results


PG_WAIT_S = 3600  # a deadline for a stuck flow run, not a speed check
IDLE_S = 30
PG_IDLE: dict[str, float] = {}  # CPU seconds per wall second of the PostgreSQL-backed server and databases with no flow running


def bench_postgres(days: list[date], tiny: list[date], score_days: list[date], score_rows: int, work: Path) -> dict[str, Measure]:
    """The same runs on the production profile's orchestration: two Prefect workers, Prefect server and Tandem's state on PostgreSQL.

    Fresh uniquely named databases (Prefect's, the ops database, MLflow's) on
    the PostgreSQL server of ``tests/services`` (``TANDEM_TEST_PG_ADMIN_URL``,
    default 127.0.0.1:5432), dropped at the end; a ``prefect server start`` on
    the first; two ``prefect worker start --pool P --type process --limit 1``
    processes; ``flows/backfill.py:backfill``, ``flows/score.py:score`` and
    ``flows/train.py:train`` deployed to the pool. The lake and MLflow's
    artifacts stay local folders (one machine; S3 is out of this benchmark).
    Every flow run is a fresh process the worker starts, so each run pays its
    process start and imports (the per-run overhead measured here); there is no
    warm process to warm up. Split: the overhead runs are one flow run each,
    hence on one worker; the backfill's days and the score's days are cut
    into two halves, two flow runs started together, one per worker (the log
    of each worker says which run it took). Setup (not timed): the same
    champion and score days as the other engines, built by flow runs on the
    workers. The run's wall time is from creating the flow runs to the last one
    final, as seen by polling the server every 0.5 s. Before any run, the
    server's and PostgreSQL's CPU over ``IDLE_S`` idle seconds (the workers
    polling) gives the rate that ``projection_pg`` takes off as not growing
    with the work.
    """
    global PG_BACKENDS
    import subprocess

    import psutil
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.services.conftest import BIN, PgDatabases, asyncpg_url, free_port, stop, wait_for_http
    from tests.services.test_workers import deploy, submitted_by

    databases = PgDatabases()  # (outside pytest, a missing PostgreSQL raises pytest's Skipped with the reason)
    procs: list[subprocess.Popen] = []
    results: dict[str, Measure] = {}
    home = work / "pg"
    home.mkdir(parents=True, exist_ok=True)
    try:
        prefect_db, ops_db, mlflow_db = (databases.create(f"bench_{tag}") for tag in ("prefect", "ops", "mlflow"))
        names = [url.rsplit("/", 1)[1] for url in (prefect_db, ops_db, mlflow_db)]
        print(f"[postgres-2-workers] databases {', '.join(names)}", flush=True)
        PG_BACKENDS = PgBackendSampler(names).start()
        port = free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        base = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "TANDEM_DASK_ADDRESS")}
        server_env = {**base, "PREFECT_HOME": str(home / "prefect-server"), "PREFECT_UI_ENABLED": "false",
                      "PREFECT_API_DATABASE_CONNECTION_URL": asyncpg_url(prefect_db)}
        server_log = home / "server.log"
        started = time.perf_counter()
        with server_log.open("wb") as out:
            server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
                                      env=server_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(server)
        SERVER_PIDS.add(server.pid)
        wait_for_http(f"{api_url}/health", server, server_log)
        print(f"[postgres-2-workers] Prefect server on PostgreSQL answers after {time.perf_counter() - started:.0f} s "
              "(it migrates its fresh database)", flush=True)

        tandem = {"TANDEM_DATA_DIR": str(home / "tandem"), "TANDEM_OPS_DB_URL": ops_db, "TANDEM_MLFLOW_TRACKING_URI": mlflow_db,
                  "TANDEM_DASK_ADDRESS": "", "TANDEM_SYNTHETIC__ROWS_PER_DAY": str(ROWS_PER_DAY)}
        pool = f"bench-{os.getpid()}"
        worker_env = {**base, **tandem, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(home / "prefect-workers"),
                      "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_LOGGING_LEVEL": "INFO", "PYTHONPATH": str(ROOT)}
        logs = []
        for name in ("w1", "w2"):
            log = home / f"{name}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen([str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process",
                                         "--name", name, "--limit", "1"], cwd=ROOT, env=worker_env, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
            procs.append(proc)
            PREFECT_WORKER_PIDS.add(proc.pid)
            logs.append(log)

        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            from prefect import get_client

            async def online() -> None:
                deadline = time.monotonic() + 240
                while True:
                    async with get_client() as client:
                        workers = await client.read_workers_for_work_pool(pool)
                    if {"w1", "w2"} <= {w.name for w in workers if w.status and w.status.value == "ONLINE"}:
                        return
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"workers not online: {[log.read_text(errors='replace')[-1500:] for log in logs]}")
                    await asyncio.sleep(0.5)

            async def deploy_all() -> dict[str, str]:
                deployments = {name: await deploy(pool, name, entry) for name, entry in (
                    ("backfill", "flows/backfill.py:backfill"), ("score", "flows/score.py:score"), ("train", "flows/train.py:train"))}
                await online()
                return deployments

            deployments = asyncio.run(deploy_all())
            idle = _measure(lambda: time.sleep(IDLE_S), 1, set())
            PG_IDLE["prefect server"] = idle.cpu["prefect server"] / idle.wall
            PG_IDLE["postgresql"] = idle.cpu["postgresql"] / idle.wall
            print(f"[postgres-2-workers] idle for {IDLE_S} s (no flow run; the two workers polling every second): Prefect server "
                  f"{idle.cpu['prefect server']:.1f} CPU s ({PG_IDLE['prefect server']:.2f} of a core: its background services), "
                  f"PostgreSQL {idle.cpu['postgresql']:.1f} s, workers {idle.cpu['prefect workers']:.1f} s", flush=True)

            async def run_all(flow: str, parameter_sets: list[dict], env: dict[str, str]) -> list:
                """Start the runs together, poll until all are final; the runs (with their states and times)."""
                async with get_client() as client:
                    ids = [(await client.create_flow_run_from_deployment(
                        deployments[flow], parameters=params,
                        job_variables={"env": {"PREFECT_LOGGING_LEVEL": "WARNING", **env}})).id for params in parameter_sets]
                    deadline = time.monotonic() + PG_WAIT_S
                    while True:
                        runs = [await client.read_flow_run(i) for i in ids]
                        if all(r.state and r.state.is_final() for r in runs):
                            break
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"{flow} runs not final after {PG_WAIT_S} s")
                        await asyncio.sleep(0.5)
                bad = [(str(r.id), r.state.type.value, r.state.message) for r in runs if not r.state.is_completed()]
                if bad:
                    tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}" for log in logs)
                    raise RuntimeError(f"{flow} runs did not complete: {bad}\n{tails}")
                return runs

            def halves(span: list[date]) -> list[list[date]]:
                middle = (len(span) + 1) // 2
                return [span[:middle], span[middle:]]

            def backfill_runs(spans: list[list[date]], rows: int, concurrency: int = CONCURRENCY):
                params = [{"start": s[0].isoformat(), "end": s[-1].isoformat(), "mode": "all", "concurrency": concurrency} for s in spans]
                return asyncio.run(run_all("backfill", params, {"TANDEM_SYNTHETIC__ROWS_PER_DAY": str(rows)}))

            def score_runs(spans: list[list[date]]):
                params = [{"ds": s[0].isoformat(), "end": s[-1].isoformat(), "force": True} for s in spans]
                return asyncio.run(run_all("score", params, {}))

            def split_note(key: str, label: str, spans: list[list[date]], runs) -> None:
                took = {run_id: name for name, log in zip(("w1", "w2"), logs) for run_id in submitted_by(log)}
                parts = []
                for span, run in zip(spans, runs):
                    seconds = (run.end_time - run.start_time).total_seconds() if run.start_time and run.end_time else float("nan")
                    parts.append(f"{span[0]}..{span[-1]} ({len(span)} days) on {took.get(str(run.id), '?')}, "
                                 f"{seconds:.1f} s in its process from Running to Completed")
                print(f"[postgres-2-workers] {label}: " + "; ".join(parts), flush=True)
                results[key].in_process = max((r.end_time - r.start_time).total_seconds() for r in runs)

            # Setup (not timed), as for the other engines: days to train on, a champion, the days scored.
            t0 = time.perf_counter()
            backfill_runs([days[-min(40, len(days)):]], ROWS_PER_DAY)
            asyncio.run(run_all("train", [{}], {}))
            backfill_runs(halves(score_days), score_rows // SCORE_DAYS, concurrency=1)
            print(f"[postgres-2-workers] setup done in {time.perf_counter() - t0:.0f} s (ops database and MLflow on PostgreSQL)", flush=True)

            print(f"[postgres-2-workers] overhead: 1 then {len(tiny)} days of {TINY_ROWS} rows, one flow run each ... ({_load()})", flush=True)
            backfill_runs([tiny[:1]], TINY_ROWS)  # warm-up: the server's and the OS's caches (each run is a fresh process anyway)
            holder: dict[str, list] = {}
            results["run: backfill 1 tiny day"] = _measure(lambda: holder.__setitem__("one", backfill_runs([tiny[:1]], TINY_ROWS)), 1, set())
            split_note("run: backfill 1 tiny day", "1 tiny day", [tiny[:1]], holder["one"])
            results["tiny days"] = _measure(lambda: holder.__setitem__("tiny", backfill_runs([tiny], TINY_ROWS)), len(tiny), set())
            split_note("tiny days", "tiny days", [tiny], holder["tiny"])
            print(f"[postgres-2-workers] backfill of {len(days)} days, two flow runs of half the days each ... ({_load()})", flush=True)
            results["backfill"] = _measure(lambda: holder.__setitem__("bf", backfill_runs(halves(days), ROWS_PER_DAY)), len(days), set())
            split_note("backfill", "backfill", halves(days), holder["bf"])
            print(f"[postgres-2-workers] scoring {len(score_days)} days, two flow runs of half the days each ... ({_load()})", flush=True)
            results["score"] = _measure(lambda: holder.__setitem__("sc", score_runs(halves(score_days))), len(score_days), set())
            split_note("score", "score", halves(score_days), holder["sc"])
    finally:
        for proc in reversed(procs):
            stop(proc, group=True)
        PREFECT_WORKER_PIDS.clear()
        if PG_BACKENDS is not None:
            PG_BACKENDS.stop()
            PG_BACKENDS = None
        databases.drop_all()
        print(f"[postgres-2-workers] servers stopped, databases dropped; logs in {home}", flush=True)
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


def projection_pg(m: Measure, runs_here: int, run_cpu: float, machines: int) -> tuple[float, str]:
    """Seconds a ``postgres-2-workers`` run would take on ``machines`` worker machines, and what bounds it.

    The range is cut into ``machines`` flow runs, one per Prefect worker (one
    worker a machine): each flow-run process pays its fixed CPU ``run_cpu``
    (process start, imports, the flow's setup; the 10-row one-day run's
    flow-run CPU) and an equal share of the rest of the flow-run CPU
    measured here (``runs_here`` runs), never finer than a partition a run.
    One process a machine is counted as one core (the GIL keeps Prefect's
    per-task Python on one core; the rows' pandas/XGBoost work would use a
    second). The Prefect server and PostgreSQL (the API's and the ledger's
    writes) are shared by all machines and do not divide. The run lasts as
    long as the busiest. A lower bound like ``projection``: waits, network
    and the workers' poll interval are not counted.
    """
    runs = min(machines, m.partitions)
    per_run = run_cpu + max(0.0, m.cpu["flow process"] - runs_here * run_cpu) / runs
    # The server's background services (and the workers' polling) cost CPU whatever runs: measured idle, it is
    # taken off, since it does not grow with the work and would shrink with the run's time.
    server = max(0.0, m.cpu["prefect server"] - PG_IDLE.get("prefect server", 0.0) * m.wall)
    database = max(0.0, m.cpu["postgresql"] - PG_IDLE.get("postgresql", 0.0) * m.wall)
    candidates = {"flow-run processes": per_run, "Prefect server": server, "PostgreSQL": database}
    bound = max(candidates, key=candidates.get)
    return candidates[bound], bound


def _cell(value: float) -> str:
    return f"{value:.1f}" if value > 0 else "-"


def _table(results: dict[str, dict[str, Measure]], rows: dict[str, int]) -> None:
    print("\n| engine | run | partitions | rows | wall s | s / partition | rows/s | CPU s: flow process | Prefect server "
          "| Dask workers | Prefect workers | PostgreSQL |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for engine, runs in results.items():
        for run, m in runs.items():
            cpu = m.cpu
            print(f"| {engine} | {run} | {m.partitions} | {rows[run]:,} | {m.wall:.1f} | {m.per_partition:.3f} | "
                  f"{rows[run] / m.wall:,.0f} | {_cell(cpu['flow process'])} | {_cell(cpu['prefect server'])} | "
                  f"{_cell(cpu['dask workers'])} | {_cell(cpu['prefect workers'])} | {_cell(cpu['postgresql'])} |")
    print("(CPU of the Dask nannies, 'other', is left out of this table. On postgres-2-workers 'flow process' is the"
          " flow-run processes the two Prefect workers started, 'Prefect workers' the two worker processes themselves,"
          " 'PostgreSQL' the backends serving the three databases (sampled every 0.5 s: a lower bound), and 'other'"
          " this benchmark's process, which creates the runs and polls them.)")
    print("\nWhere the time goes (share of all CPU seconds measured in the run):")
    for engine, runs in results.items():
        for run, m in runs.items():
            total = sum(m.cpu.values()) or 1.0
            shares = ", ".join(f"{k} {v / total:.0%}" for k, v in m.cpu.items() if v > 0.05 * total)
            print(f"- {engine} {run}: {shares}; CPU {total:.1f} s in {m.wall:.1f} s wall ({total / m.wall:.2f} cores busy)")
    print("\nOverhead each engine adds (from the runs of 10-row days): wall per run and per partition; CPU per partition by process")
    for engine, runs in results.items():
        per_run, per_partition = overheads(runs)
        one, tiny = runs["run: backfill 1 tiny day"], runs["tiny days"]
        cpu = ", ".join(f"{k} {(v - one.cpu[k]) / (tiny.partitions - 1):.3f} s" for k, v in tiny.cpu.items()
                        if k != "other" and v > 0)
        print(f"- {engine}: {per_run:.2f} s per run, {per_partition:.3f} s per partition; CPU per partition "
              f"(the {tiny.partitions}-day run's less the one-day run's, over {tiny.partitions - 1} days): {cpu}")
        if one.in_process is not None and tiny.in_process is not None:
            inside = max(0.0, (tiny.in_process - one.in_process) / (tiny.partitions - 1))
            print(f"  {engine}, as the server timed the flow-run process (Running -> Completed): {inside:.3f} s per partition, "
                  f"{max(0.0, one.in_process - inside):.2f} s per run inside the process; the worker's pickup, the process "
                  f"start and the flow's import add {one.wall - one.in_process:.2f} s per run (the one-day run's wall less its in-process time)")
    for engine, runs in results.items():
        if not engine.startswith("dask"):
            continue
        print("\nDask on N machines of 2 cores (one worker thread per core), projected from the CPU seconds above (a lower bound: waits not counted):")
        print("| run | wall here | N=1 | N=2 | N=4 | N=8 | N=16 | bound by (N=16) |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for run in ("backfill", "score"):
            m = runs[run]
            cpu = m.cpu
            threads = min(16 * CORES_HERE, m.partitions)
            bound = max(("flow process", cpu["flow process"]), ("Prefect server", cpu["prefect server"]),
                        ("Dask workers", cpu["dask workers"] / threads), key=lambda kv: kv[1])[0]
            print(f"| {run} | {m.wall:.1f} | " + " | ".join(f"{projection(m, n):.1f}" for n in (1, 2, 4, 8, 16)) + f" | {bound} |")
    for engine, runs in results.items():
        if not engine.startswith("postgres"):
            continue
        run_cpu = runs["run: backfill 1 tiny day"].cpu["flow process"]
        print(f"\nPrefect workers on N machines (one worker, one flow run of 1/N of the range each; server and PostgreSQL shared), "
              f"projected from the CPU seconds above (a lower bound; each flow run's fixed CPU {run_cpu:.1f} s from the one-day run; "
              f"the server's and PostgreSQL's idle CPU, {PG_IDLE.get('prefect server', 0.0):.2f} and {PG_IDLE.get('postgresql', 0.0):.2f} "
              "of a core, taken off as it does not grow with the work):")
        print("| run | wall here | N=1 | N=2 | N=4 | N=8 | N=16 | bound by (N=16) |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for run in ("backfill", "score"):
            m = runs[run]
            cells = [projection_pg(m, 2, run_cpu, n) for n in (1, 2, 4, 8, 16)]
            print(f"| {run} | {m.wall:.1f} | " + " | ".join(f"{v:.1f}" for v, _ in cells) + f" | {cells[-1][1]} |")
    print("(The embedded engine is one process: more machines do not help it; it is bound by its own cores.)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 days, 1M rows scored (a shorter run)")
    parser.add_argument("--days", type=int, default=None, help="backfill days (default 365; 60 with --quick)")
    parser.add_argument("--score-rows", type=int, default=None, help="rows scored in all (default 10M; 1M with --quick)")
    parser.add_argument("--tiny-days", type=int, default=None, help="10-row days for the overhead run (default 60; 30 with --quick)")
    parser.add_argument("--engines", default="embedded,dask,postgres-2-workers",
                        help="comma-separated: embedded, dask, postgres-2-workers (needs PostgreSQL)")
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

    results: dict[str, dict[str, Measure]] = {}
    if {"embedded", "dask"} & set(engines):
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
            SERVER_PIDS.clear()

    if "postgres-2-workers" in engines:
        try:
            results["postgres-2-workers"] = bench_postgres(days, tiny, score_days, score_rows, work)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # keep the other engines' tables; say why this one has none (pytest's Skipped is one)
            import traceback

            traceback.print_exc()
            print(f"[postgres-2-workers] not measured: {type(exc).__name__}: {str(exc)[:2000]}", flush=True)

    load = os.getloadavg()
    print(f"\nmachine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) at the end")
    _table(results, {"run: backfill 1 tiny day": TINY_ROWS, "tiny days": n_tiny * TINY_ROWS,
                     "backfill": n_days * ROWS_PER_DAY, "score": score_rows})


if __name__ == "__main__":
    main()
