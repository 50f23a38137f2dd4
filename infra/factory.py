"""Builds adapters from settings: the only place that decides which backend runs.

URLs pick the backend (``sqlite://`` or ``postgresql://`` for the ops database
and MLflow, a path or ``s3://`` for the lake), so production needs no code
change. Engines are cached per URL so tasks can ask for them freely.

Imports are lazy, inside each builder: `tandem partitions` needs SQLAlchemy,
not MLflow, XGBoost, torch or Qdrant (importing all of them took 8-18 s of a
read command). Add new builders the same way; annotations come from the
``TYPE_CHECKING`` block.
"""

from __future__ import annotations

import atexit
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from infra.settings import TandemSettings

if TYPE_CHECKING:  # for annotations only: each builder imports what it builds
    from sqlalchemy.engine import Engine

    from infra.clients.embedding import Embedder
    from infra.clients.mlflow_prompts import PromptRegistry
    from infra.clients.mlflow_registry import ModelRegistry
    from infra.clients.qdrant_index import VectorIndex
    from infra.sources.base import Source
    from infra.stores.lake import ParquetLake
    from infra.stores.ledger import PartitionLedger, PointerLedger
    from infra.stores.requests import IndexBuilds, RequestLog, ResponseCache


@lru_cache(maxsize=8)
def ops_engine(url: str) -> Engine:
    from infra.stores.opsdb import create_ops_engine

    return create_ops_engine(url)


def build_partition_ledger(settings: TandemSettings) -> PartitionLedger:
    from infra.stores.ledger import PartitionLedger

    return PartitionLedger(ops_engine(settings.resolved_ops_db_url))


def build_pointer_ledger(settings: TandemSettings) -> PointerLedger:
    from infra.stores.ledger import PointerLedger

    return PointerLedger(ops_engine(settings.resolved_ops_db_url))


def build_lake(settings: TandemSettings) -> ParquetLake:
    """The lake; every read checks the file against the partition ledger's content hash."""
    from infra.stores.lake import ParquetLake

    return ParquetLake(settings.resolved_lake_url, expected_hash=build_partition_ledger(settings).content_hash)


def build_registry(settings: TandemSettings) -> ModelRegistry:
    from infra.clients.mlflow_registry import ModelRegistry

    return ModelRegistry(
        tracking_uri=settings.resolved_mlflow_tracking_uri,
        artifact_root=settings.resolved_mlflow_artifact_root,
        experiment_name=settings.experiment_name,
        model_name=settings.model_name,
    )


def build_source(
    settings: TandemSettings,
    *,
    scenario: str | None = None,
    scenario_start: date | None = None,
) -> Source:
    """The configured source; a run may override the synthetic drift scenario."""
    if settings.source == "file":
        from infra.sources.files import FileSource, load_schema

        return FileSource(
            path=settings.file.path,
            schema=load_schema(settings.file.schema_path),
            format=settings.file.format,
        )
    from infra.sources.synthetic import SyntheticSource
    from models.synthetic import Scenario

    cfg = settings.synthetic
    chosen = Scenario(name=scenario or cfg.scenario, start=scenario_start or cfg.scenario_start)
    return SyntheticSource(
        seed=cfg.seed,
        rows_per_day=cfg.rows_per_day,
        scenario=chosen,
        label_delay_days=cfg.label_delay_days,
    )


def model_pointer(settings: TandemSettings) -> str:
    """The pointer-ledger name of the champion alias, e.g. ``model:risk-scorer@champion``."""
    return f"model:{settings.model_name}@{settings.champion_alias}"


# -- RAG side -----------------------------------------------------------------
_QDRANT_CLIENTS: dict[tuple, object] = {}
# Close clients before the interpreter tears modules down (local mode's
# destructor otherwise prints an ImportError at exit).
atexit.register(lambda: close_vector_clients())


# How long a process waits for Qdrant's local folder while another holds it
# (a second `tandem ask` usually needs only the first one's few seconds).
QDRANT_LOCK_WAIT_S = 30.0


class IndexLocked(RuntimeError):
    """Qdrant's local folder is held by another process; the message says what to do."""


def _local_qdrant_free(path: str) -> bool:
    """Whether no other process holds the local folder's lock (probed the way qdrant-client takes it)."""
    import os

    import portalocker

    lock_path = os.path.join(path, ".lock")
    if not os.path.exists(lock_path):
        return True
    with open(lock_path, "r+") as f:
        try:
            portalocker.lock(f, portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING)
        except portalocker.exceptions.LockException:
            return False
        portalocker.unlock(f)
        return True


def _open_local_qdrant(path: str, wait_s: float):
    """A local-mode client for ``path``, waiting up to ``wait_s`` for another process to let go of it.

    Raises:
        IndexLocked: still held after ``wait_s``; one line naming the cause and the fix.
    """
    import logging
    import time

    from qdrant_client import QdrantClient

    deadline = time.monotonic() + wait_s
    waiting = False
    while True:
        # Probe first: a failed QdrantClient(path=...) has already loaded every
        # collection, which is too slow to repeat in a loop.
        if _local_qdrant_free(path):
            try:
                return QdrantClient(path=path)
            except RuntimeError as exc:
                if "already accessed" not in str(exc):
                    raise
        if time.monotonic() >= deadline:
            raise IndexLocked(
                f"the vector index ({path}) is in use by another process (another `tandem ask`, `make serve` or a flow run)"
                f"{f', still after {wait_s:.0f} s' if wait_s else ''}: Qdrant local mode allows one process at a time; "
                "wait for it to finish, or run a Qdrant server and set TANDEM_QDRANT_URL (README, Known limits)"
            )
        if not waiting:
            waiting = True
            logging.getLogger(__name__).warning(
                "the vector index (%s) is in use by another process; waiting up to %.0f s for it", path, wait_s
            )
        time.sleep(0.25)


def _qdrant_client(url: str | None, api_key: str | None, path: str | None, lock_wait_s: float = QDRANT_LOCK_WAIT_S):
    from qdrant_client import QdrantClient

    key = (url, api_key, path)
    if key not in _QDRANT_CLIENTS:
        # Local mode: one process at a time holds the folder's lock, so the
        # process keeps one client for its lifetime.
        _QDRANT_CLIENTS[key] = QdrantClient(url=url, api_key=api_key) if url else _open_local_qdrant(path, lock_wait_s)
    return _QDRANT_CLIENTS[key]


def build_vector_index(settings: TandemSettings, *, lock_wait_s: float = QDRANT_LOCK_WAIT_S) -> VectorIndex:
    """The corpus's versioned collections: a Qdrant server if ``qdrant_url`` is set, else local mode.

    Args:
        settings: Tandem's settings.
        lock_wait_s: In local mode, how long to wait while another process holds the folder.

    Raises:
        IndexLocked: local mode, and another process still holds the folder after ``lock_wait_s``.
    """
    from infra.clients.embedding import DIMENSION
    from infra.clients.qdrant_index import VectorIndex

    url = settings.qdrant_url
    key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    client = _qdrant_client(url, key, None if url else str(settings.resolved_qdrant_path), lock_wait_s)
    return VectorIndex(client, prefix=settings.index.collection_prefix, live_alias=settings.index.live_alias, dimension=DIMENSION)


def build_embedder(settings: TandemSettings) -> Embedder:
    """The process-wide embedder ``index.embedder`` names (ONNX int8 by default; its first use may build it, ~10-40 s)."""
    from infra.clients.embedding import get_embedder

    cfg = settings.index
    return get_embedder(cfg.embed_batch_size, cfg.embedder, cfg.onnx_cache_dir)


def build_prompt_registry(settings: TandemSettings) -> PromptRegistry:
    from infra.clients.mlflow_prompts import PromptRegistry

    return PromptRegistry(tracking_uri=settings.resolved_mlflow_tracking_uri, name=settings.prompt.name)


def build_request_log(settings: TandemSettings) -> RequestLog:
    from infra.stores.requests import RequestLog

    return RequestLog(ops_engine(settings.resolved_ops_db_url))


def build_response_cache(settings: TandemSettings) -> ResponseCache:
    from infra.stores.requests import ResponseCache

    return ResponseCache(ops_engine(settings.resolved_ops_db_url))


def build_index_builds(settings: TandemSettings) -> IndexBuilds:
    from infra.stores.requests import IndexBuilds

    return IndexBuilds(ops_engine(settings.resolved_ops_db_url))


def build_endpoint_generator(settings: TandemSettings):
    """The OpenAI-compatible generator, or None when no endpoint is configured."""
    cfg = settings.llm
    if not cfg.base_url:
        return None
    from infra.clients.llm import EndpointGenerator

    return EndpointGenerator(
        base_url=cfg.base_url,
        model=cfg.model,
        api_key=cfg.api_key.get_secret_value() if cfg.api_key else None,
        timeout_s=cfg.timeout_s,
        max_tokens=cfg.max_tokens,
        temperature=cfg.temperature,
    )


def prompt_pointer(settings: TandemSettings) -> str:
    """e.g. ``prompt:rag-answer@production``."""
    return f"prompt:{settings.prompt.name}@{settings.prompt.production_alias}"


def index_pointer(settings: TandemSettings) -> str:
    """e.g. ``index:docs-live``."""
    return f"index:{settings.index.live_alias}"


def build_rag_tracking(settings: TandemSettings):
    from infra.clients.mlflow_rag import RagTracking

    return RagTracking(tracking_uri=settings.resolved_mlflow_tracking_uri, artifact_root=settings.resolved_mlflow_artifact_root)


def build_gateway(settings: TandemSettings, *, lock_wait_s: float = QDRANT_LOCK_WAIT_S, clock=None):
    """The question-answering gateway wired to the configured stores and generators.

    ``clock`` (a callable returning an aware datetime) dates the request events;
    the main job's replay of past nights passes the night's time.

    Raises:
        IndexLocked: see ``build_vector_index``.
    """
    from infra.rag.gateway import Gateway

    embedder = build_embedder(settings)  # seconds: load the model before taking the index's lock
    return Gateway(
        settings,
        embedder=embedder,
        prompts=build_prompt_registry(settings),
        requests=build_request_log(settings),
        cache=build_response_cache(settings),
        endpoint=build_endpoint_generator(settings),
        guardrails=build_guardrails(settings, embedder),
        # Last: in local mode this takes a folder lock another process may be waiting for.
        index=build_vector_index(settings, lock_wait_s=lock_wait_s),
        clock=clock,
    )


def build_guardrails(settings: TandemSettings, embedder: Embedder | None = None):
    """PII analyzer (Presidio, spaCy or patterns) and the semantic injection detector, built once per process.

    Raises:
        GuardrailSetupError: the configured spaCy model is not installed (names the setting to change).
    """
    from infra.clients.pii import build_guardrails as build

    return build(settings, embedder.embed_cached if embedder is not None else None)


def close_vector_clients() -> None:
    """Close every cached Qdrant client (releases local mode's folder lock for another process)."""
    while _QDRANT_CLIENTS:
        _, client = _QDRANT_CLIENTS.popitem()
        client.close()
