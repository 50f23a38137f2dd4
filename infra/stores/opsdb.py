"""The ops database: Tandem's own state (partition and pointer ledgers, request events, caches).

SQLAlchemy Core on any URL: SQLite under the data dir by default,
``postgresql://...`` in production. Tables are created on first use
(``create_all`` is idempotent); columns added since a table shipped are added
in place and older pointer moves get their hash chain (``_migrate``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

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
    # Tamper evidence: sha256 over the row's canonical content and the previous
    # row's hash (``infra.stores.ledger.chain_hash``); `tandem pointers verify`.
    sa.Column("prev_hash", sa.String(64)),
    sa.Column("row_hash", sa.String(64)),
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
    # Every request reads its tenant's spend of the day (``RequestLog.tokens_used``): one range of this index.
    sa.Index("ix_llm_requests_tenant_at", "tenant", "at"),
)

# User feedback on an answered request: one row per (request, actor), a
# second vote replaces the first. The note is cleaned and PII-redacted like a
# question before it is stored.
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("request_id", sa.String(64), sa.ForeignKey("llm_requests.request_id"), primary_key=True),
    sa.Column("actor", sa.String(200), primary_key=True),
    sa.Column("rating", sa.String(10), nullable=False),  # good | bad
    sa.Column("note", sa.Text),  # redacted
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
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

# Tickets the nightly loop opens (retrain, re-prompt, re-index, cost-review,
# ops). At most one open or acknowledged ticket per (kind, asset): held twice,
# by the partial unique index below (the database refuses a second one) and
# by ``ticket_heads`` (the row an opener locks, so a concurrent opener waits
# and then updates the ticket the first one opened instead of failing).
tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),  # retrain | re-prompt | re-index | cost-review | ops
    sa.Column("asset", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # open | acknowledged | resolved
    sa.Column("severity", sa.String(10), nullable=False),  # medium | high
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),  # [{night, check, subject, value, warn, fail, n, summary, ...}]
    sa.Column("suggested_action", sa.Text, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),  # failing nights recorded on it
    sa.Column("opened_night", sa.Date, nullable=False),
    sa.Column("last_night", sa.Date, nullable=False),
    sa.Column("resolved_night", sa.Date),  # the night the remedy's check was green, or the day a person resolved it
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("acknowledged_by", sa.String(200)),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("resolved_by", sa.String(200)),
    sa.Column("resolution", sa.Text),
    sa.Column("remedy", sa.JSON),  # {flow_run_id, gate verdict, promoted, "waiting for labels: 3 of 7 days matured", ...}
    sa.Index("ix_tickets_kind_asset", "kind", "asset"),
    sa.Index(
        "uq_tickets_one_open", "kind", "asset", unique=True,
        sqlite_where=sa.text("status != 'resolved'"), postgresql_where=sa.text("status != 'resolved'"),
    ),
)

# One row per (kind, asset): the row an opener locks (``SELECT ... FOR UPDATE``
# on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) and the pair's open ticket.
ticket_heads = sa.Table(
    "ticket_heads",
    metadata,
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("asset", sa.String(100), primary_key=True),
    sa.Column("open_ticket_id", sa.Integer),  # None when the pair has no open ticket
    sa.Column("last_resolved_night", sa.Date),  # for the cool-down
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Append-only: every change of a ticket (opened, updated, acknowledged,
# remedy, resolved), who made it and the evidence it added.
ticket_history = sa.Table(
    "ticket_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("night", sa.Date),
    sa.Column("action", sa.String(20), nullable=False),  # opened | updated | acknowledged | remedy | resolved
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("evidence", sa.JSON),
)

# Every graded check of every night: the scorecard's lines and the history
# debounce counts from. One row per (night, check, subject); a rerun of a
# night replaces its rows. ``subject`` is '' for the asset itself (a NULL in a
# key would not be unique on either database).
check_results = sa.Table(
    "check_results",
    metadata,
    sa.Column("night", sa.Date, primary_key=True),
    sa.Column("check", sa.String(60), primary_key=True),
    sa.Column("subject", sa.String(200), primary_key=True),
    sa.Column("asset", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # green | amber | red | insufficient
    sa.Column("value", sa.Float),
    sa.Column("warn", sa.Float),
    sa.Column("fail", sa.Float),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("evidence", sa.JSON),
    sa.Column("calibration", sa.JSON),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_check_results_check_subject_night", "check", "subject", "night"),
)


# The calibrated levels a check was graded with, stored with the version they
# belong to (issue 11, point 5): the live index collection for the RAG checks
# (the risk scorer's live with its MLflow model version, as tags). Later nights
# reuse a row while the version and the policy entry (``policy``) are unchanged.
calibrations = sa.Table(
    "calibrations",
    metadata,
    sa.Column("asset", sa.String(100), primary_key=True),
    sa.Column("version", sa.String(200), primary_key=True),
    sa.Column("check", sa.String(60), primary_key=True),
    sa.Column("subject", sa.String(200), primary_key=True),  # '' for the asset itself
    sa.Column("policy", sa.Text, nullable=False),  # models.alerting.policy_fingerprint of the entry
    sa.Column("calibration", sa.JSON, nullable=False),  # models.alerting.Calibration.to_dict()
    sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
)

# API keys of the HTTP service (``tandem keys create|list|revoke``). The key
# itself is never stored: only a salted SHA-256 of its secret part, looked up
# by the public key id that prefixes it. A key maps to exactly one tenant.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("salt", sa.String(64), nullable=False),  # hex
    sa.Column("key_hash", sa.String(64), nullable=False),  # hex sha256(salt + secret)
    sa.Column("tenant", sa.String(100), nullable=False, index=True),
    sa.Column("name", sa.String(200)),
    sa.Column("rate_limit_per_minute", sa.Integer),  # None: service.rate_limit_per_minute
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(200)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_by", sa.String(200)),
)

@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction that holds the write lock from its first statement.

    On SQLite an immediate transaction (the database's write lock, waiting up to
    ``busy_timeout``) taken before the first read, so a read-then-write inside
    it cannot interleave with another writer; pysqlite would otherwise open a
    deferred one itself, only before the first write. On PostgreSQL a plain
    transaction: callers lock the rows they need (``SELECT ... FOR UPDATE``).
    Commits on success, rolls back on any exception.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.driver_connection if sqlite else None
        saved = raw.isolation_level if sqlite else None
        if sqlite:
            raw.isolation_level = None
        try:
            if sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            if sqlite:
                raw.isolation_level = saved


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets readers run beside the one writer; busy_timeout makes concurrent
    # backfill threads wait for the lock instead of failing at once.
    # synchronous=NORMAL (SQLite's advice for WAL): a commit no longer waits for the
    # disk to sync (about 8 ms a commit here, most of a cached answer's time). A
    # killed process loses nothing and the file cannot corrupt; a power cut or OS
    # crash can lose the last commits (a backfill's rerun redoes such a day).
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
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
    _ensure_schema(engine)
    return engine


# Columns added after a table first shipped: (table, column DDL). ``create_all``
# creates missing tables, never missing columns; these are added in place.
_ADDED_COLUMNS = (
    ("pointer_moves", "prev_hash VARCHAR(64)"),
    ("pointer_moves", "row_hash VARCHAR(64)"),
)


# PostgreSQL advisory lock that serializes schema work across processes: two
# processes starting on a fresh database would otherwise both see a table missing
# and both CREATE it (the second fails on pg_type's unique index).
_SCHEMA_LOCK_KEY = 0x74616E64656E  # "tanden", next to the pointer chain's key


def _schema_gaps(conn: Connection) -> list[str]:
    """What this database lacks of the schema: missing tables, added columns and indexes (empty: up to date)."""
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    gaps = [f"table {t}" for t in metadata.tables if t not in tables]
    for table, ddl in _ADDED_COLUMNS:
        if table in tables and ddl.split()[0] not in {c["name"] for c in inspector.get_columns(table)}:
            gaps.append(f"column {table}.{ddl.split()[0]}")
    if llm_requests.name in tables:
        have = {i["name"] for i in inspector.get_indexes(llm_requests.name)}
        gaps += [f"index {i.name}" for i in llm_requests.indexes if i.name not in have]
    return gaps


def _ensure_schema(engine: Engine) -> None:
    """Create what is missing of the schema, one process at a time; then hash-chain older pointer moves.

    An up-to-date database costs one read and no lock. Otherwise the work runs
    in one transaction under the schema lock (PostgreSQL: an advisory lock, its
    DDL is transactional; SQLite: the immediate transaction's write lock), and
    looks again under the lock, so a process that waited finds the work done.
    """
    with engine.connect() as conn:
        gaps = _schema_gaps(conn)
    if gaps:
        with write_transaction(engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            if _schema_gaps(conn):
                _migrate(conn)
    from infra.stores.ledger import seal_pointer_moves  # here: ledger imports this module

    seal_pointer_moves(engine)


def _migrate(conn: Connection) -> None:
    """Bring a database up to this schema inside the caller's locked transaction: tables, added columns, indexes."""
    metadata.create_all(conn)  # missing tables (with their indexes); checkfirst
    inspector = sa.inspect(conn)
    for table, ddl in _ADDED_COLUMNS:
        if ddl.split()[0] not in {c["name"] for c in inspector.get_columns(table)}:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {ddl}")
    # Indexes added after a table first shipped (``create_all`` makes them only with a new table).
    for index in llm_requests.indexes:
        index.create(conn, checkfirst=True)
