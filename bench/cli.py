"""Benchmark: wall time of the `tandem` read commands, as a person runs them.

Run with ``.venv/bin/python bench/cli.py`` (``BENCH_REPEATS`` runs per command,
default 5; ``--data-dir DIR`` to time an existing data dir instead of a seeded
throw-away one; ``--root DIR`` to time another checkout, e.g. an export of the
previous commit, on the same data). Each run is a fresh process
(``python -m infra.cli ...``), because import time is most of what a read
command costs. Prints the median, min and max wall time and the median CPU
time (user + system) per command: on a shared machine the CPU time is the
steadier figure. Asserts nothing (speed is measured here, not in tests).

The throw-away data dir is seeded with what the commands read: a few
partition-ledger rows, a pointer move, request events, and a registered model
version with gate tags and test metrics under the ``champion`` alias (through
MLflow's client, no training).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import isolated_env  # noqa: E402

COMMANDS = [
    ["--help"],
    ["partitions"],
    ["partitions", "--dataset", "applications", "--status", "ok"],
    ["pointers"],
    ["champion"],
    ["requests"],
    ["settings"],
]


def seed(data_dir: Path) -> None:
    """Ledger rows, a pointer move, request events and a champion version under ``data_dir``."""
    from infra.factory import build_partition_ledger, build_pointer_ledger, build_registry, build_request_log
    from infra.settings import get_settings
    from infra.stores.requests import RequestEvent

    settings = get_settings()
    ledger = build_partition_ledger(settings)
    for i in range(30):
        ds = date(2026, 1, 1) + timedelta(days=i)
        ledger.record_success(dataset="applications", ds=ds, row_count=2000, quarantined_count=3,
                              content_hash=f"{i:064x}", schema_version="1", path=f"lake/applications/ds={ds}",
                              flow_run_id=None)
    registry = build_registry(settings)
    client = registry.client
    run = client.create_run(registry.experiment_id())
    for key, value in {"test_auc": 0.78, "test_brier": 0.16, "test_n": 20000}.items():
        client.log_metric(run.info.run_id, key, value)
    client.set_terminated(run.info.run_id)
    try:
        client.create_registered_model(settings.model_name)
    except Exception:  # already there on a rerun
        pass
    mv = client.create_model_version(settings.model_name, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_model_version_tag(settings.model_name, mv.version, "gate.decision", "PROMOTE")
    client.set_model_version_tag(settings.model_name, mv.version, "gate.reason", "first model")
    client.set_registered_model_alias(settings.model_name, settings.champion_alias, mv.version)
    try:  # the ledger's API is the pointer helpers' to change: a missing move only shortens a table
        build_pointer_ledger(settings).move(
            f"model:{settings.model_name}@{settings.champion_alias}", new_value=str(mv.version),
            actor="bench", reason="bench seed", evidence=None, apply=lambda *a: None,
        )
    except Exception as exc:
        print(f"(pointer move not seeded: {type(exc).__name__}: {exc})")
    log = build_request_log(settings)
    now = datetime.now(timezone.utc)
    for i in range(20):
        log.append(RequestEvent(request_id=f"bench-{i}", at=now, kind="answer", tenant="default", use_case="bench"))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="time this data dir instead of a seeded throw-away one")
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", "5")))
    parser.add_argument("--only", help="time only the commands whose text contains this (e.g. champion)")
    parser.add_argument("--root", type=Path, action="append", help="a checkout whose CLI is timed (default: this one); "
                        "give it twice (e.g. an export of the previous commit) to compare, runs interleaved")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        isolated_env(work)
        if args.data_dir:
            os.environ["TANDEM_DATA_DIR"] = str(args.data_dir.resolve())
        else:
            try:
                seed(work / "tandem")
            except Exception as exc:  # the seeding API moved: time the empty data dir rather than nothing
                print(f"(seeding failed, timing an empty data dir: {type(exc).__name__}: {exc})")
        print(f"tandem read commands, {args.repeats} fresh processes each, data dir {os.environ['TANDEM_DATA_DIR']}")
        roots = args.root or [ROOT]
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"{'command':55} {'median s':>9} {'min':>6} {'max':>6} {'cpu s':>6}  exit")
        for cmd in [c for c in COMMANDS if not args.only or args.only in " ".join(c)]:
            seconds = {r: [] for r in roots}
            cpu = {r: [] for r in roots}
            codes = {r: set() for r in roots}
            last = {}
            for _ in range(args.repeats):
                for root in roots:  # interleaved, so both checkouts see the same machine
                    started, cpu_before = time.perf_counter(), children_cpu()
                    last[root] = subprocess.run([sys.executable, "-m", "infra.cli", *cmd], cwd=root, capture_output=True, text=True)
                    seconds[root].append(time.perf_counter() - started)
                    cpu[root].append(children_cpu() - cpu_before)
                    codes[root].add(last[root].returncode)
            for root in roots:
                label = "tandem " + " ".join(cmd) + (f"  [{root.name}]" if len(roots) > 1 else "")
                s = seconds[root]
                print(f"{label:55} {statistics.median(s):9.2f} {min(s):6.2f} {max(s):6.2f} "
                      f"{statistics.median(cpu[root]):6.2f}  {sorted(codes[root])}")
                if codes[root] != {0}:
                    proc = last[root]
                    print("   " + ((proc.stderr or proc.stdout).strip().splitlines() or [""])[-1][:120])
        print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
