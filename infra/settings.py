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

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_GROUP = ConfigDict(extra="forbid", frozen=True)

# The demo corpus, golden set and attack set ship inside the package.
DEMO_DIR = Path(__file__).resolve().parent / "demo"


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


class IndexSettings(BaseModel):
    """The RAG corpus, its chunking and the blue/green vector index."""

    model_config = _GROUP

    corpus_dir: Path | None = None  # default: the demo corpus shipped in infra/demo/corpus
    include_model_cards: bool = True  # index the training flow's model cards too (doc ids model-cards/...)
    golden_path: Path | None = None  # default: infra/demo/golden.yaml
    collection_prefix: str = "docs"  # collections are <prefix>-v1, <prefix>-v2, ...
    live_alias: str = "docs-live"
    chunk_size: int = Field(200, ge=32, le=512)  # in tokens of the embedding model (MiniLM reads 256)
    chunk_overlap: int = Field(30, ge=0)
    embed_batch_size: int = Field(32, ge=1)
    docs_per_batch: int = Field(16, ge=1)  # documents embedded between progress logs and crash-safe checkpoints
    keep_collections: int = Field(3, ge=2)  # the live one, the rollback target, one more
    top_k: int = Field(4, ge=1, le=50)
    score_threshold: float | None = Field(None, ge=-1, le=1)
    gate_min_hit_rate: float = Field(0.80, ge=0, le=1)  # hit@k on the golden set
    gate_min_mrr: float = Field(0.60, ge=0, le=1)

    @model_validator(mode="after")
    def _check_overlap(self) -> "IndexSettings":
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(f"index.chunk_overlap ({self.chunk_overlap}) must be smaller than index.chunk_size ({self.chunk_size})")
        return self


class PromptSettings(BaseModel):
    """The answer prompt in MLflow's prompt registry and its release gate."""

    model_config = _GROUP

    name: str = "rag-answer"
    production_alias: str = "production"
    staging_alias: str = "staging"
    gate_min_answered: float = Field(0.85, ge=0, le=1)  # share of golden questions answered (not "not found")
    gate_min_faithfulness: float = Field(0.80, ge=0, le=1)
    gate_min_answer_relevance: float = Field(0.45, ge=0, le=1)
    gate_min_citation_coverage: float = Field(0.90, ge=0, le=1)


class Price(BaseModel):
    model_config = _GROUP

    prompt_per_1k: float = Field(0.0, ge=0)  # USD per 1,000 prompt tokens
    completion_per_1k: float = Field(0.0, ge=0)


class LLMSettings(BaseModel):
    """An OpenAI-compatible endpoint (vLLM, Ollama, TGI, LiteLLM, OpenAI); unset = offline only."""

    model_config = _GROUP

    base_url: str | None = None  # e.g. http://127.0.0.1:8000/v1
    model: str = "gpt-4o-mini"
    api_key: SecretStr | None = None
    timeout_s: float = Field(20.0, gt=0)
    max_tokens: int = Field(512, gt=0)
    temperature: float = Field(0.0, ge=0, le=2)
    # Routing: a question goes to the endpoint when it has at least
    # route_min_words words or contains one of route_keywords; otherwise offline.
    route_min_words: int = Field(0, ge=0)
    route_keywords: tuple[str, ...] = ()
    prices: dict[str, Price] = {}  # model name -> price; a model missing here costs 0 and is flagged
    judge_runs: int = Field(3, ge=0, le=10)  # LLM-as-judge grades per golden answer (0 = off); only with an endpoint


class BudgetSettings(BaseModel):
    """Per-tenant token budgets per UTC day."""

    model_config = _GROUP

    daily_tokens: int = Field(200_000, gt=0)  # default for any tenant
    per_tenant: dict[str, int] = {}
    warn_ratio: float = Field(0.8, gt=0, lt=1)
    on_exceeded: Literal["refuse", "offline"] = "refuse"


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

    qdrant_url: str | None = None  # a Qdrant server; default: local mode under <data_dir>/qdrant
    qdrant_api_key: SecretStr | None = None
    index: IndexSettings = IndexSettings()
    prompt: PromptSettings = PromptSettings()
    llm: LLMSettings = LLMSettings()
    budget: BudgetSettings = BudgetSettings()
    tenant: str = "default"  # the tenant `tandem ask` charges

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

    @property
    def resolved_qdrant_path(self) -> Path:
        """Where Qdrant's local mode keeps its files (used only without ``qdrant_url``)."""
        return self.data_dir.resolve() / "qdrant"

    @property
    def resolved_corpus_dir(self) -> Path:
        return self.index.corpus_dir or DEMO_DIR / "corpus"

    @property
    def resolved_golden_path(self) -> Path:
        return self.index.golden_path or DEMO_DIR / "golden.yaml"


@lru_cache(maxsize=1)
def get_settings() -> TandemSettings:
    """The process-wide settings, read once from the environment."""
    return TandemSettings()
