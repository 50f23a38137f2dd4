"""What both benchmarks share: a throw-away environment and repeated timings."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path


def isolated_env(work: Path, **extra: str) -> None:
    """Point Tandem, Prefect and MLflow at ``work`` (a temporary directory), quietly.

    The same variables the Makefile exports, so the benchmark measures what
    ``make run`` runs, minus INFO logging.
    """
    os.environ.update(
        TANDEM_DATA_DIR=str(work / "tandem"),
        PREFECT_HOME=str(work / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE="100",
        PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL="1",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="90",
        GIT_PYTHON_REFRESH="quiet",
        MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        **extra,
    )
    (work / "prefect").mkdir(parents=True, exist_ok=True)


def timed(fn):
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


class Timings:
    """Seconds per named step over repeats; the median is what the tables print.

    Two shared cores are noisy (repeats of one step differ by up to 40%, and
    the same pure-Python loop takes 25 to 55 ms from one second to the next),
    so each step runs ``repeats`` times, interleaved with its baselines, and
    the table shows the median, the spread and the paired ratio.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}

    def add(self, name: str, seconds: float) -> None:
        self.seconds.setdefault(name, []).append(seconds)

    def run(self, name: str, fn):
        seconds, result = timed(fn)
        self.add(name, seconds)
        return result

    def median(self, name: str) -> float:
        return statistics.median(self.seconds[name])

    def paired_ratio(self, name: str, baseline: str) -> float:
        """Median over rounds of ``name / baseline`` within each round.

        Both ran back to back in a round, so a slow stretch of the machine
        (it drifts over tens of seconds) mostly cancels out of each ratio.
        """
        return statistics.median(a / b for a, b in zip(self.seconds[name], self.seconds[baseline]))

    def spread(self, name: str) -> str:
        values = self.seconds[name]
        return f"{min(values):.2f}-{max(values):.2f}" if len(values) > 1 else "-"
