"""The two ledgers in the ops database.

``PartitionLedger``: which date partitions exist, with row count, content hash,
schema version, status and the flow run that wrote them. Backfills ask it what
is missing or failed.

``PointerLedger``: the only way a live pointer (model alias ``champion``,
prompt alias ``production``, Qdrant alias ``docs-live``) moves. Each move
records old value, new value, actor, reason and evidence, in the same
transaction that applies it, so the ledger and the pointer never disagree.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infra.stores.opsdb import partition_attempts, partitions, pointer_moves


def _now() -> datetime:
    return datetime.now(timezone.utc)


def default_actor(configured: str | None = None) -> str:
    """Who a pointer move is recorded as: the configured actor, else the OS user."""
    if configured:
        return configured
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER", "unknown")


@dataclass(frozen=True)
class PartitionRecord:
    dataset: str
    ds: date
    status: str
    row_count: int | None
    quarantined_count: int | None
    content_hash: str | None
    schema_version: str | None
    path: str | None
    flow_run_id: str | None
    error: str | None
    meta: dict[str, Any] | None
    updated_at: datetime


class PartitionLedger:
    """Read and write the partition ledger."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, dataset: str, ds: date) -> PartitionRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(partitions).where(partitions.c.dataset == dataset, partitions.c.ds == ds)
            ).mappings().first()
        return PartitionRecord(**row) if row else None

    def list(
        self,
        dataset: str | None = None,
        *,
        start: date | None = None,
        end: date | None = None,
        status: str | None = None,
    ) -> list[PartitionRecord]:
        query = sa.select(partitions).order_by(partitions.c.dataset, partitions.c.ds)
        if dataset:
            query = query.where(partitions.c.dataset == dataset)
        if start:
            query = query.where(partitions.c.ds >= start)
        if end:
            query = query.where(partitions.c.ds <= end)
        if status:
            query = query.where(partitions.c.status == status)
        with self._engine.connect() as conn:
            return [PartitionRecord(**r) for r in conn.execute(query).mappings()]

    def statuses(self, dataset: str, days: Iterable[date]) -> dict[date, str | None]:
        """Status of each day (``ok``, ``failed`` or None when never ingested)."""
        days = list(days)
        if not days:
            return {}
        found = {r.ds: r.status for r in self.list(dataset, start=min(days), end=max(days))}
        return {d: found.get(d) for d in days}

    def record_success(
        self,
        *,
        dataset: str,
        ds: date,
        row_count: int,
        quarantined_count: int,
        content_hash: str,
        schema_version: str,
        path: str,
        flow_run_id: str | None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Upsert the partition as ``ok`` and append the attempt."""
        now = _now()
        values = dict(
            status="ok",
            row_count=row_count,
            quarantined_count=quarantined_count,
            content_hash=content_hash,
            schema_version=schema_version,
            path=path,
            flow_run_id=flow_run_id,
            error=None,
            meta=meta,
            updated_at=now,
        )
        with self._engine.begin() as conn:
            self._append_attempt(conn, dataset, ds, "ok", row_count, content_hash, flow_run_id, None, now)
            updated = conn.execute(
                partitions.update()
                .where(partitions.c.dataset == dataset, partitions.c.ds == ds)
                .values(**values)
            ).rowcount
            if not updated:
                conn.execute(partitions.insert().values(dataset=dataset, ds=ds, **values))

    def record_failure(self, *, dataset: str, ds: date, error: str, flow_run_id: str | None) -> None:
        """Append the failed attempt; mark the partition failed only if it was never committed.

        A committed (``ok``) partition stays exactly as it was: the lake still
        holds it, so the ledger must keep describing it.
        """
        now = _now()
        with self._engine.begin() as conn:
            self._append_attempt(conn, dataset, ds, "failed", None, None, flow_run_id, error, now)
            existing = conn.execute(
                sa.select(partitions.c.status).where(partitions.c.dataset == dataset, partitions.c.ds == ds)
            ).scalar()
            if existing is None:
                conn.execute(
                    partitions.insert().values(
                        dataset=dataset, ds=ds, status="failed", error=error,
                        flow_run_id=flow_run_id, updated_at=now,
                    )
                )
            elif existing == "failed":
                conn.execute(
                    partitions.update()
                    .where(partitions.c.dataset == dataset, partitions.c.ds == ds)
                    .values(error=error, flow_run_id=flow_run_id, updated_at=now)
                )

    def attempts(self, dataset: str, ds: date) -> list[dict[str, Any]]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(partition_attempts)
                .where(partition_attempts.c.dataset == dataset, partition_attempts.c.ds == ds)
                .order_by(partition_attempts.c.id)
            ).mappings()
            return [dict(r) for r in rows]

    @staticmethod
    def _append_attempt(conn, dataset, ds, status, row_count, content_hash, flow_run_id, error, at) -> None:
        conn.execute(
            partition_attempts.insert().values(
                dataset=dataset, ds=ds, status=status, row_count=row_count,
                content_hash=content_hash, flow_run_id=flow_run_id, error=error, at=at,
            )
        )


@dataclass(frozen=True)
class PointerMove:
    id: int
    pointer: str
    old_value: str | None
    new_value: str | None
    actor: str
    reason: str
    evidence: dict[str, Any] | None
    moved_at: datetime


class NothingToRollBack(RuntimeError):
    """The pointer has no earlier value to move back to."""


class PointerLedger:
    """Every move of a live pointer, recorded with who, why and the evidence."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def move(
        self,
        pointer: str,
        *,
        old_value: str | None,
        new_value: str | None,
        actor: str,
        reason: str,
        evidence: dict[str, Any] | None,
        apply: Callable[[], None],
    ) -> PointerMove:
        """Record the move and apply it in one transaction.

        ``apply`` performs the real move (an MLflow alias, a Qdrant alias...).
        If it raises, the ledger row is rolled back and the error propagates, so
        the ledger never records a move that did not happen.
        """
        if not reason.strip():
            raise ValueError(f"moving {pointer!r} needs a reason")
        moved_at = _now()
        with self._engine.begin() as conn:
            move_id = conn.execute(
                pointer_moves.insert().values(
                    pointer=pointer, old_value=old_value, new_value=new_value,
                    actor=actor, reason=reason, evidence=evidence, moved_at=moved_at,
                )
            ).inserted_primary_key[0]
            apply()
        return PointerMove(move_id, pointer, old_value, new_value, actor, reason, evidence, moved_at)

    def history(self, pointer: str | None = None, *, limit: int = 50) -> list[PointerMove]:
        """Moves, newest first."""
        query = sa.select(pointer_moves).order_by(pointer_moves.c.id.desc()).limit(limit)
        if pointer:
            query = query.where(pointer_moves.c.pointer == pointer)
        with self._engine.connect() as conn:
            return [PointerMove(**r) for r in conn.execute(query).mappings()]

    def last_move(self, pointer: str) -> PointerMove | None:
        moves = self.history(pointer, limit=1)
        return moves[0] if moves else None

    def rollback_target(self, pointer: str) -> PointerMove:
        """The move to undo: the latest one that set a value different from its old one.

        Raises:
            NothingToRollBack: the pointer never moved, or has no previous value.
        """
        last = self.last_move(pointer)
        if last is None:
            raise NothingToRollBack(f"{pointer} has never moved; there is nothing to roll back")
        if last.old_value is None:
            raise NothingToRollBack(
                f"{pointer} has no previous value: move #{last.id} set it to "
                f"{last.new_value!r} for the first time ({last.moved_at:%Y-%m-%d %H:%M} by {last.actor})"
            )
        return last
