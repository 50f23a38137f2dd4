"""Builds adapters from settings: the only place that decides which backend runs.

URLs pick the backend (``sqlite://`` or ``postgresql://`` for the ops database
and MLflow, a path or ``s3://`` for the lake), so production needs no code
change. Engines are cached per URL so tasks can ask for them freely.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from sqlalchemy.engine import Engine

from models.synthetic import Scenario
from infra.clients.mlflow_registry import ModelRegistry
from infra.settings import TandemSettings
from infra.sources.base import Source
from infra.sources.files import FileSource, load_schema
from infra.sources.synthetic import SyntheticSource
from infra.stores.lake import ParquetLake
from infra.stores.ledger import PartitionLedger, PointerLedger
from infra.stores.opsdb import create_ops_engine


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
