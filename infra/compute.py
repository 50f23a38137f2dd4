"""Where the partition fan-outs and the booster fit run: this process, or a Dask cluster, by settings.

``TANDEM_DASK_ADDRESS`` unset (the embedded default): a flow's tasks run in
threads of the flow's own process. Set to a scheduler (``tcp://host:8786``):
the backfill and score flows hand their per-day tasks to prefect-dask's
``DaskTaskRunner`` connected to it, so the days run on the cluster's workers;
and with ``TANDEM_TRAINING__ENGINE=dask`` the booster is fitted by
``xgboost.dask`` across those workers.

The runner is picked when a flow run starts, not when the flow is imported
(nothing reads settings at import time): ``partition_runner`` returns a task
runner whose ``duplicate()``, which Prefect's engine calls at the start of every
run, builds the runner the current settings name.

A Dask worker runs Tandem's tasks itself: it imports this project (its
modules are pickled by reference) and reads its own ``TANDEM_*`` environment,
so every worker needs this checkout (or the same package version) and the same
environment as the flow's process (docs/operations.md, Dask).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from infra.settings import TandemSettings, get_settings

if TYPE_CHECKING:
    from distributed import Client


def build_task_runner(settings: TandemSettings, *, max_workers: int) -> TaskRunner:
    """The task runner the settings name: ``DaskTaskRunner`` on ``dask_address``, else ``max_workers`` threads.

    Args:
        settings: Tandem's settings (``dask_address``).
        max_workers: threads of the in-process runner (unused on Dask: the cluster's workers set the width).
    """
    if settings.dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=settings.dask_address)
    return ThreadPoolTaskRunner(max_workers=max_workers)


class SettingsTaskRunner(ThreadPoolTaskRunner):
    """A flow's task runner, chosen from the process's settings at the start of each run.

    Prefect enters ``flow.task_runner.duplicate()`` for every run, so this
    object never runs a task itself: its ``duplicate()`` returns the runner
    ``build_task_runner`` picks from ``get_settings()`` at that moment. It is a
    ``ThreadPoolTaskRunner`` only so that code inspecting a flow's runner
    before any run sees a working default.
    """

    def __init__(self, max_workers: int = 8):
        super().__init__(max_workers=max_workers)
        self._width = max_workers

    def duplicate(self) -> TaskRunner:  # type: ignore[override]
        return build_task_runner(get_settings(), max_workers=self._width)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SettingsTaskRunner) and other._width == self._width

    def __hash__(self) -> int:
        return hash((SettingsTaskRunner, self._width))


def partition_runner(max_workers: int = 8) -> TaskRunner:
    """The task runner of a flow that fans out one task per partition (``@flow(task_runner=partition_runner())``).

    Args:
        max_workers: threads when no Dask cluster is set.
    """
    return SettingsTaskRunner(max_workers)


@contextmanager
def training_client(settings: TandemSettings) -> Iterator[Client | None]:
    """A Dask client on ``dask_address`` when ``training.engine`` is ``dask``; ``None`` (fit here) otherwise.

    The client is closed on exit; the cluster keeps running.
    """
    if settings.training.engine != "dask":
        yield None
        return
    from distributed import Client

    client = Client(settings.dask_address, timeout="60s")
    try:
        yield client
    finally:
        client.close()

