"""One typed settings object for all of Tandem.

Every knob is read from the environment with the prefix ``TANDEM_`` (nested
groups use ``__``, e.g. ``TANDEM_GATE__MIN_AUC=0.75``). The embedded defaults
keep everything under one data directory (``./.tandem``): MLflow on SQLite with
local artifacts, a Parquet lake, and the ops database on SQLite. Production
changes URLs only (``postgresql://...``, ``s3://...``): the factory in
``infra.factory`` picks the adapter from the URL, never an ``if prod:``.

Nothing happens at import time: no directory is created, no URI is set.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_GROUP = ConfigDict(extra="forbid", frozen=True)


class SyntheticSourceSettings(BaseModel):
    """The built-in synthetic loan-application source."""

    model_config = _GROUP

    seed: int = 2026
    rows_per_day: int = Field(2_000, gt=0)
    scenario: Literal["none", "gradual", "shock", "new-category", "missing-surge"] = "none"
    scenario_start: date | None = None
    label_delay_days: int = Field(30, ge=0)


class FileSourceSettings(BaseModel):
    """A team's own CSV/Parquet table, described by a schema YAML."""

    model_config = _GROUP

    path: str | None = None  # a path or glob, local or fsspec URL
    schema_path: str | None = None  # YAML declaring features, target, id, event time
    format: Literal["auto", "csv", "parquet"] = "auto"


class GateSettings(BaseModel):
    """Champion/challenger gate thresholds (see models.promotion.GatePolicy)."""

    model_config = _GROUP

    min_auc: float = Field(0.70, ge=0, le=1)
    max_brier: float = Field(0.25, ge=0, le=1)
    tolerance: float = Field(0.005, ge=0, le=1)
    n_bootstrap: int = Field(300, ge=20)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    seed: int = 7


class TrainingSettings(BaseModel):
    """Training window and XGBoost parameters (see models.training.TrainParams)."""

    model_config = _GROUP

    window_days: int = Field(90, gt=2)
    max_depth: int = Field(5, gt=0)
    learning_rate: float = Field(0.08, gt=0)
    num_boost_round: int = Field(400, gt=0)
    early_stopping_rounds: int = Field(30, gt=0)
    seed: int = 42


class TandemSettings(BaseSettings):
    """Everything Tandem reads from its environment.

    URLs left empty are derived from ``data_dir`` (the embedded profile).
    """

    model_config = SettingsConfigDict(
        env_prefix="TANDEM_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Path(".tandem")
    ops_db_url: str | None = None  # default sqlite:///<data_dir>/ops.db
    mlflow_tracking_uri: str | None = None  # default sqlite:///<data_dir>/mlflow.db
    mlflow_artifact_root: str | None = None  # default <data_dir>/mlartifacts
    lake_url: str | None = None  # default <data_dir>/lake ; any fsspec URL (s3://bucket/lake)

    source: Literal["synthetic", "file"] = "synthetic"
    synthetic: SyntheticSourceSettings = SyntheticSourceSettings()
    file: FileSourceSettings = FileSourceSettings()

    model_name: str = "risk-scorer"
    experiment_name: str = "risk-scorer"
    champion_alias: str = "champion"

    backfill_concurrency: int = Field(4, ge=1, le=32)
    training: TrainingSettings = TrainingSettings()
    gate: GateSettings = GateSettings()

    actor: str | None = None  # who pointer moves are recorded as; default: the OS user

    @model_validator(mode="after")
    def _check_file_source(self) -> "TandemSettings":
        if self.source == "file" and not (self.file.path and self.file.schema_path):
            raise ValueError(
                "TANDEM_SOURCE=file needs TANDEM_FILE__PATH (a path or glob) and "
                "TANDEM_FILE__SCHEMA_PATH (the schema YAML)"
            )
        return self

    # Derived URLs: computed, never stored, so the data dir alone moves everything.
    @property
    def resolved_ops_db_url(self) -> str:
        return self.ops_db_url or f"sqlite:///{self.data_dir.resolve() / 'ops.db'}"

    @property
    def resolved_mlflow_tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.data_dir.resolve() / 'mlflow.db'}"

    @property
    def resolved_mlflow_artifact_root(self) -> str:
        return self.mlflow_artifact_root or str(self.data_dir.resolve() / "mlartifacts")

    @property
    def resolved_lake_url(self) -> str:
        return self.lake_url or str(self.data_dir.resolve() / "lake")


@lru_cache(maxsize=1)
def get_settings() -> TandemSettings:
    """The process-wide settings, read once from the environment."""
    return TandemSettings()
