"""The ops database: Tandem's own state (partition and pointer ledgers, request events, caches).

SQLAlchemy Core on any URL: SQLite under the data dir by default,
``postgresql://...`` in production. Tables are created on first use
(``create_all`` is idempotent); there is nothing to migrate yet.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

metadata = sa.MetaData()

# One row per committed (or never-yet-committed, failed) partition. A failed
# attempt never overwrites an ``ok`` row: what is in the lake stays described.
partitions = sa.Table(
    "partitions",
    metadata,
    sa.Column("dataset", sa.String(100), primary_key=True),
    sa.Column("ds", sa.Date, primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),  # ok | failed
    sa.Column("row_count", sa.Integer),
    sa.Column("quarantined_count", sa.Integer),
    sa.Column("content_hash", sa.String(64)),
    sa.Column("schema_version", sa.String(40)),
    sa.Column("path", sa.Text),
    sa.Column("flow_run_id", sa.String(64)),
    sa.Column("error", sa.Text),
    sa.Column("meta", sa.JSON),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Append-only history of every ingest attempt, successful or not.
partition_attempts = sa.Table(
    "partition_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset", sa.String(100), nullable=False),
    sa.Column("ds", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("row_count", sa.Integer),
    sa.Column("content_hash", sa.String(64)),
    sa.Column("flow_run_id", sa.String(64)),
    sa.Column("error", sa.Text),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_partition_attempts_dataset_ds", "dataset", "ds"),
)

# The id index: which committed partition holds each id, keyed by a 64-bit
# hash of the id salted with the dataset name (``models.validation.id_hashes``),
# written in the same transaction as the partition's ledger row. The primary
# key is what keeps two days ingested at once from both committing an id. One
# narrow B-tree (the hash is SQLite's rowid; no second index): writing a day's
# million ids is the cost of ingest that grows with history, so it stays small.
partition_ids = sa.Table(
    "partition_ids",
    metadata,
    sa.Column("id_hash", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("ds", sa.Date, nullable=False),
)

# Each indexed day's id hashes (sorted int64 bytes): a rerun removes exactly the
# ids its day no longer holds, without an index on ``partition_ids.ds``.
partition_id_days = sa.Table(
    "partition_id_days",
    metadata,
    sa.Column("dataset", sa.String(100), primary_key=True),
    sa.Column("ds", sa.Date, primary_key=True),
    sa.Column("id_count", sa.Integer, nullable=False),
    sa.Column("hashes", sa.LargeBinary, nullable=False),
)

# Append-only: every move of a live pointer (model alias, prompt alias, index alias).
pointer_moves = sa.Table(
    "pointer_moves",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pointer", sa.String(200), nullable=False, index=True),
    sa.Column("old_value", sa.String(200)),
    sa.Column("new_value", sa.String(200)),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("evidence", sa.JSON),
    sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
)

# One row per pointer: the row a move locks (``SELECT ... FOR UPDATE`` on
# PostgreSQL) so moves of one pointer happen one at a time, and its pin (set by
# a rollback, lifted by ``tandem unpin``). Created on the pointer's first move.
pointer_heads = sa.Table(
    "pointer_heads",
    metadata,
    sa.Column("pointer", sa.String(200), primary_key=True),
    sa.Column("pinned", sa.Boolean, nullable=False, default=False),
    sa.Column("pinned_by", sa.String(200)),
    sa.Column("pinned_reason", sa.Text),
    sa.Column("pinned_at", sa.DateTime(timezone=True)),
    sa.Column("pin_move_id", sa.Integer),  # the rollback that pinned it
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


# Append-only: one structured event per request to the question-answering
# gateway (answered, refused, or a budget warning). Questions are stored only
# after PII redaction.
llm_requests = sa.Table(
    "llm_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(64), nullable=False, unique=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),  # answer | refused | budget_warning
    sa.Column("tenant", sa.String(100), nullable=False, index=True),
    sa.Column("use_case", sa.String(100), nullable=False),
    sa.Column("question", sa.Text),  # redacted
    sa.Column("prompt_name", sa.String(200)),
    sa.Column("prompt_version", sa.String(40)),
    sa.Column("index_version", sa.String(200)),
    sa.Column("generator", sa.String(40)),
    sa.Column("model", sa.String(200)),
    sa.Column("prompt_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("completion_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("total_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("cost_usd", sa.Float, nullable=False, default=0.0),
    sa.Column("latency_ms", sa.Float),
    sa.Column("retrieval_latency_ms", sa.Float),
    sa.Column("chunks_used", sa.JSON),  # [{chunk_id, doc_id, score}]
    sa.Column("cache_hit", sa.Boolean, nullable=False, default=False),
    sa.Column("guardrail_flags", sa.JSON),  # ["pii:email", "injection:question", ...]
    sa.Column("budget_state", sa.String(20)),
    sa.Column("error", sa.Text),
)

# Answers by cache key: sha256(normalized question, prompt version, index
# version, generator), so a new prompt or index never serves a stale answer.
response_cache = sa.Table(
    "response_cache",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("prompt_version", sa.String(40), nullable=False),
    sa.Column("index_version", sa.String(200), nullable=False),
    sa.Column("generator", sa.String(40), nullable=False),
    sa.Column("answer", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# One row per index build (a Qdrant collection): lets a killed build resume.
index_builds = sa.Table(
    "index_builds",
    metadata,
    sa.Column("collection", sa.String(200), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),  # building | released | rejected | pinned (passed, docs-live pinned) | abandoned
    sa.Column("config_hash", sa.String(64), nullable=False),
    sa.Column("base_collection", sa.String(200)),  # the live collection it was planned against
    sa.Column("plan", sa.JSON),
    sa.Column("gate", sa.JSON),
    sa.Column("flow_run_id", sa.String(64)),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets readers run beside the one writer; busy_timeout makes concurrent
    # backfill threads wait for the lock instead of failing at once.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def create_ops_engine(url: str) -> Engine:
    """Build an engine for the ops database and make sure its tables exist.

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:////abs/path/ops.db`` or
            ``postgresql://user@host:5432/db``.

    Returns:
        A ready engine.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    metadata.create_all(engine)
    return engine
