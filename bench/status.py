"""Benchmark: wall time of `tandem status` (target: under 1.5 s), beside `tandem champion` and `tandem pointers verify`.

Run with ``.venv/bin/python bench/status.py --data-dir DIR`` on a data dir
with a trained model (``make run`` leaves one), or without ``--data-dir`` on a
throw-away one seeded like ``bench/cli.py`` (a champion version, partitions, a
pointer move). Each run is a fresh process, because imports are most of what a
read command costs. Prints median / min / max wall time and the median CPU
time (user + system; the steadier figure on a shared machine) and the load
average. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cli import children_cpu, seed  # noqa: E402
from bench.common import isolated_env  # noqa: E402

COMMANDS = [["status"], ["champion"], ["pointers", "verify"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="time this data dir instead of a seeded throw-away one")
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", "7")))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        isolated_env(Path(tmp))
        if args.data_dir:
            os.environ["TANDEM_DATA_DIR"] = str(args.data_dir.resolve())
        else:
            seed(Path(tmp) / "tandem")
        print(f"{args.repeats} fresh processes per command, data dir {os.environ['TANDEM_DATA_DIR']}")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"{'command':28} {'median s':>9} {'min':>6} {'max':>6} {'cpu s':>6}  exit")
        for cmd in COMMANDS:
            wall, cpu, codes = [], [], set()
            for _ in range(args.repeats):
                started, cpu_before = time.perf_counter(), children_cpu()
                proc = subprocess.run([sys.executable, "-m", "infra.cli", *cmd], cwd=ROOT, capture_output=True, text=True)
                wall.append(time.perf_counter() - started)
                cpu.append(children_cpu() - cpu_before)
                codes.add(proc.returncode)
            print(f"{'tandem ' + ' '.join(cmd):28} {statistics.median(wall):9.2f} {min(wall):6.2f} {max(wall):6.2f} "
                  f"{statistics.median(cpu):6.2f}  {sorted(codes)}")
        print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
