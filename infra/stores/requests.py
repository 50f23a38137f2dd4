"""Request events, the response cache and index builds, in the ops database.

``RequestLog`` is append-only: one row per request to the gateway. Token
budgets are summed from it, so there is no second counter to drift.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infra.stores.opsdb import index_builds, llm_requests, response_cache


def _now() -> datetime:
    return datetime.now(timezone.utc)


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
        with self.engine.begin() as conn:
            conn.execute(sa.insert(llm_requests).values(**asdict(event)))

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
        values = dict(
            key=key, prompt_version=prompt_version, index_version=index_version, generator=generator, answer=answer, created_at=_now()
        )
        with self.engine.begin() as conn:
            # delete + insert: portable upsert across SQLite and PostgreSQL
            conn.execute(sa.delete(response_cache).where(response_cache.c.key == key))
            conn.execute(sa.insert(response_cache).values(**values))


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
