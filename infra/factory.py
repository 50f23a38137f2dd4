"""Builds adapters from settings: the only place that decides which backend runs.

URLs pick the backend (``sqlite://`` or ``postgresql://`` for the ops database
and MLflow, a path or ``s3://`` for the lake), so production needs no code
change. Engines are cached per URL so tasks can ask for them freely.
"""

from __future__ import annotations

import atexit
from datetime import date
from functools import lru_cache

from sqlalchemy.engine import Engine

from models.synthetic import Scenario
from infra.clients.embedding import Embedder, get_embedder
from infra.clients.mlflow_prompts import PromptRegistry
from infra.clients.mlflow_registry import ModelRegistry
from infra.clients.qdrant_index import VectorIndex
from infra.settings import TandemSettings
from infra.sources.base import Source
from infra.sources.files import FileSource, load_schema
from infra.sources.synthetic import SyntheticSource
from infra.stores.lake import ParquetLake
from infra.stores.ledger import PartitionLedger, PointerLedger
from infra.stores.opsdb import create_ops_engine
from infra.stores.requests import IndexBuilds, RequestLog, ResponseCache


@lru_cache(maxsize=8)
def ops_engine(url: str) -> Engine:
    return create_ops_engine(url)


def build_partition_ledger(settings: TandemSettings) -> PartitionLedger:
    return PartitionLedger(ops_engine(settings.resolved_ops_db_url))


def build_pointer_ledger(settings: TandemSettings) -> PointerLedger:
    return PointerLedger(ops_engine(settings.resolved_ops_db_url))


def build_lake(settings: TandemSettings) -> ParquetLake:
    return ParquetLake(settings.resolved_lake_url)


def build_registry(settings: TandemSettings) -> ModelRegistry:
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
        return FileSource(
            path=settings.file.path,
            schema=load_schema(settings.file.schema_path),
            format=settings.file.format,
        )
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


def _qdrant_client(url: str | None, api_key: str | None, path: str | None):
    from qdrant_client import QdrantClient

    key = (url, api_key, path)
    if key not in _QDRANT_CLIENTS:
        # Local mode: one process at a time holds the folder's lock, so the
        # process keeps one client for its lifetime.
        _QDRANT_CLIENTS[key] = QdrantClient(url=url, api_key=api_key) if url else QdrantClient(path=path)
    return _QDRANT_CLIENTS[key]


def build_vector_index(settings: TandemSettings) -> VectorIndex:
    """The corpus's versioned collections: a Qdrant server if ``qdrant_url`` is set, else local mode."""
    from infra.clients.embedding import DIMENSION

    url = settings.qdrant_url
    key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    client = _qdrant_client(url, key, None if url else str(settings.resolved_qdrant_path))
    return VectorIndex(client, prefix=settings.index.collection_prefix, live_alias=settings.index.live_alias, dimension=DIMENSION)


def build_embedder(settings: TandemSettings) -> Embedder:
    return get_embedder(settings.index.embed_batch_size)


def build_prompt_registry(settings: TandemSettings) -> PromptRegistry:
    return PromptRegistry(tracking_uri=settings.resolved_mlflow_tracking_uri, name=settings.prompt.name)


def build_request_log(settings: TandemSettings) -> RequestLog:
    return RequestLog(ops_engine(settings.resolved_ops_db_url))


def build_response_cache(settings: TandemSettings) -> ResponseCache:
    return ResponseCache(ops_engine(settings.resolved_ops_db_url))


def build_index_builds(settings: TandemSettings) -> IndexBuilds:
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


def build_gateway(settings: TandemSettings):
    """The question-answering gateway wired to the configured stores and generators."""
    from infra.rag.gateway import Gateway

    return Gateway(
        settings,
        index=build_vector_index(settings),
        embedder=build_embedder(settings),
        prompts=build_prompt_registry(settings),
        requests=build_request_log(settings),
        cache=build_response_cache(settings),
        endpoint=build_endpoint_generator(settings),
    )


def close_vector_clients() -> None:
    """Close every cached Qdrant client (releases local mode's folder lock for another process)."""
    while _QDRANT_CLIENTS:
        _, client = _QDRANT_CLIENTS.popitem()
        client.close()
