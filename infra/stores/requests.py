"""Request events, the response cache and index builds, in the ops database.

``RequestLog`` is append-only: one row per request to the gateway. Token
budgets are summed from it, so there is no second counter to drift.

Everything a user or an endpoint wrote passes through ``clean_text`` before it
is stored: PostgreSQL rejects NUL in text, and control characters in a
question would forge log lines and terminal output. Strings are also cut to
their column's length, so a long model name never costs the event.
"""

from __future__ import annotations

import logging
import re
import time as clock
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infra.stores.opsdb import index_builds, llm_requests, response_cache

log = logging.getLogger(__name__)

# C0 controls except tab and newline, DEL, C1 controls, the bidirectional
# overrides (they reorder what a terminal shows), and lone surrogates (which
# no UTF-8 database can store).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LOG_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# Text columns without a declared length are still bounded: one event row
# must never be megabytes because an endpoint echoed a huge error body.
MAX_TEXT_CHARS = 10_000
# Attempts at writing one event before giving up (transient errors only).
APPEND_ATTEMPTS = 3


def _now() -> datetime:
    return datetime.now(timezone.utc)


def clean_text(text: str) -> str:
    """``text`` without control characters, safe to store, show and log.

    NUL, the other C0 and C1 control characters, DEL, bidirectional
    overrides and lone surrogates are removed; carriage returns become newlines; tabs and newlines stay (a
    pasted multi-line question is legitimate). Removing (rather than
    replacing by a space) keeps ``ig\\x00nore`` as ``ignore`` for the
    injection check.

    Args:
        text: Any string, e.g. a question as typed.

    Returns:
        The cleaned string.
    """
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def for_log(text: object, limit: int = 300) -> str:
    """``text`` as one log-safe line: control characters (newlines too) escaped, cut at ``limit``.

    Args:
        text: Anything whose ``str`` goes into a log line (a question, an endpoint error).
        limit: Longest result, in characters, before `` ...(N chars)``.

    Returns:
        A single line with no control characters.
    """
    line = _LOG_UNSAFE.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), str(text))
    return line if len(line) <= limit else f"{line[:limit]} ...({len(line)} chars)"


def clean_label(what: str, value: str, max_chars: int = 100) -> str:
    """A tenant or use-case name, cleaned, or ValueError naming what is wrong.

    Budgets are summed by tenant, so a name is refused rather than cut: a cut
    name would be charged to a different tenant than the one queried.

    Raises:
        ValueError: empty after cleaning, or longer than ``max_chars``.
    """
    cleaned = clean_text(value).strip()
    if not cleaned:
        raise ValueError(f"the {what} is empty")
    if len(cleaned) > max_chars:
        raise ValueError(f"the {what} is {len(cleaned)} characters long; at most {max_chars} are allowed")
    return cleaned


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {_clean_json(k) if isinstance(k, str) else k: _clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v) for v in value]
    return value


def db_safe_row(table: sa.Table, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` ready for ``table``: strings cleaned and cut to their column's length, JSON cleaned deeply.

    Args:
        table: The target table (its column types decide what is cut).
        values: Column name to value.

    Returns:
        A new dict; ``values`` is not changed.
    """
    out: dict[str, Any] = {}
    for name, value in values.items():
        column = table.c.get(name)
        if column is not None and isinstance(column.type, sa.JSON):
            value = _clean_json(value)
        elif isinstance(value, str):
            value = clean_text(value)
            limit = getattr(column.type, "length", None) if column is not None else None
            limit = limit or MAX_TEXT_CHARS
            if len(value) > limit:
                value = value[: limit - 8] + "...[cut]" if limit > 20 else value[:limit]
        out[name] = value
    return out


@dataclass
class RequestEvent:
    """One structured event per request (the columns of ``llm_requests``)."""

    request_id: str
    at: datetime
    kind: str  # answer | refused | budget_warning
    tenant: str
    use_case: str
    question: str | None = None  # already redacted
    prompt_name: str | None = None
    prompt_version: str | None = None
    index_version: str | None = None
    generator: str | None = None
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float | None = None
    retrieval_latency_ms: float | None = None
    chunks_used: list[dict[str, Any]] = field(default_factory=list)
    cache_hit: bool = False
    guardrail_flags: list[str] = field(default_factory=list)
    budget_state: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = self.at.isoformat()
        return d


class RequestLog:
    """Append and read request events."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, event: RequestEvent) -> None:
        """Write ``event`` (cleaned for the database), retrying transient errors.

        A retry after an error that hid a successful commit finds the row by
        its ``request_id`` and stops: an event is never written twice.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the write failed ``APPEND_ATTEMPTS`` times
                or for a reason a retry cannot fix.
        """
        row = db_safe_row(llm_requests, asdict(event))
        for attempt in range(1, APPEND_ATTEMPTS + 1):
            try:
                with self.engine.begin() as conn:
                    conn.execute(sa.insert(llm_requests).values(**row))
                return
            except sa.exc.IntegrityError:
                if attempt > 1 and self.exists(event.request_id):
                    return
                raise
            except sa.exc.OperationalError as exc:
                if attempt == APPEND_ATTEMPTS:
                    raise
                log.warning("writing request event %s failed (attempt %d of %d), retrying: %s",
                            event.request_id, attempt, APPEND_ATTEMPTS, for_log(exc))
                clock.sleep(0.2 * 4 ** (attempt - 1))

    def exists(self, request_id: str) -> bool:
        """Whether the event with this id is stored."""
        q = sa.select(sa.func.count()).where(llm_requests.c.request_id == request_id)
        with self.engine.connect() as conn:
            return conn.execute(q).scalar_one() > 0

    def tokens_used(self, tenant: str, day: date) -> int:
        """Tokens a tenant spent on ``day`` (UTC), cache hits included at their cost (0)."""
        start = datetime.combine(day, time.min, tzinfo=timezone.utc)
        q = sa.select(sa.func.coalesce(sa.func.sum(llm_requests.c.total_tokens), 0)).where(
            llm_requests.c.tenant == tenant,
            llm_requests.c.at >= start,
            llm_requests.c.at < start + timedelta(days=1),
        )
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def answered(self, day: date, *, use_case: str) -> int:
        """Questions of ``use_case`` answered or refused on ``day`` (UTC): one event each (budget warnings not counted)."""
        start = datetime.combine(day, time.min, tzinfo=timezone.utc)
        q = sa.select(sa.func.count()).where(
            llm_requests.c.use_case == use_case,
            llm_requests.c.kind.in_(("answer", "refused")),
            llm_requests.c.at >= start,
            llm_requests.c.at < start + timedelta(days=1),
        )
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def warned(self, tenant: str, day: date) -> bool:
        """Whether the 80% warning for this tenant and day has been written already."""
        start = datetime.combine(day, time.min, tzinfo=timezone.utc)
        q = sa.select(sa.func.count()).where(
            llm_requests.c.tenant == tenant,
            llm_requests.c.kind == "budget_warning",
            llm_requests.c.at >= start,
            llm_requests.c.at < start + timedelta(days=1),
        )
        with self.engine.connect() as conn:
            return conn.execute(q).scalar_one() > 0

    def recent(self, limit: int = 20, *, tenant: str | None = None) -> list[dict[str, Any]]:
        q = sa.select(llm_requests).order_by(llm_requests.c.id.desc()).limit(limit)
        if tenant:
            q = q.where(llm_requests.c.tenant == tenant)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def all(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(llm_requests).order_by(llm_requests.c.id))]


class ResponseCache:
    """Answers by key; the key already contains the prompt, index and generator versions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(response_cache.c.answer).where(response_cache.c.key == key)).first()
        return row[0] if row else None

    def put(self, key: str, *, prompt_version: str, index_version: str, generator: str, answer: dict[str, Any]) -> None:
        """Store (or replace) the answer under ``key``; safe when several requests write the same key at once.

        An upsert (``INSERT ... ON CONFLICT (key) DO UPDATE``) on PostgreSQL
        and SQLite: a delete-then-insert let two concurrent writers of one key
        both insert, and the second failed on the primary key.
        """
        values = db_safe_row(
            response_cache,
            dict(key=key, prompt_version=prompt_version, index_version=index_version, generator=generator, answer=answer, created_at=_now()),
        )
        dialect = self.engine.dialect.name
        if dialect in ("postgresql", "sqlite"):
            if dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            stmt = insert(response_cache).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=[response_cache.c.key],
                set_={c: stmt.excluded[c] for c in values if c != "key"},
            )
            with self.engine.begin() as conn:
                conn.execute(stmt)
            return
        # Any other backend: replace, and let a concurrent writer's row stand.
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.delete(response_cache).where(response_cache.c.key == key))
                conn.execute(sa.insert(response_cache).values(**values))
        except sa.exc.IntegrityError:
            pass


class IndexBuilds:
    """Which collection a build is writing, so a killed build resumes instead of starting over."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, collection: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(index_builds).where(index_builds.c.collection == collection)).first()
        return dict(row._mapping) if row else None

    def unfinished(self, config_hash: str) -> dict[str, Any] | None:
        """The newest build still ``building`` with the same chunking and embedding config."""
        q = (
            sa.select(index_builds)
            .where(index_builds.c.status == "building", index_builds.c.config_hash == config_hash)
            .order_by(index_builds.c.started_at.desc())
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return dict(row._mapping) if row else None

    def start(self, collection: str, *, config_hash: str, base_collection: str | None, plan: dict, flow_run_id: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(index_builds).where(index_builds.c.collection == collection))
            conn.execute(
                sa.insert(index_builds).values(
                    collection=collection,
                    status="building",
                    config_hash=config_hash,
                    base_collection=base_collection,
                    plan=plan,
                    flow_run_id=flow_run_id,
                    started_at=_now(),
                )
            )

    def abandon_other_builds(self, keep: str) -> None:
        """Builds planned against an older config will never resume."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(index_builds)
                .where(index_builds.c.status == "building", index_builds.c.collection != keep)
                .values(status="abandoned", finished_at=_now())
            )

    def finish(self, collection: str, *, status: str, gate: dict | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(index_builds)
                .where(index_builds.c.collection == collection)
                .values(status=status, gate=gate, finished_at=_now())
            )

    def list(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(index_builds).order_by(index_builds.c.started_at))]
