"""The two ledgers in the ops database.

``PartitionLedger``: which date partitions exist, with row count, content hash,
schema version, status and the flow run that wrote them. Backfills ask it what
is missing or failed.

``PointerLedger``: the only way a live pointer (model alias ``champion``,
prompt alias ``production``, Qdrant alias ``docs-live``) moves. Each move
records old value, new value, actor, reason and evidence, in the same
transaction that applies it, so the ledger and the pointer never disagree.
Its rows form one hash chain (each carries sha256 of its content and the
previous row's hash), so an edited or deleted row shows (``verify_chain``).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from infra.stores.opsdb import (
    partition_attempts, partition_id_days, partition_ids, partitions, pointer_heads, pointer_moves, write_transaction,
)


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


class IdsTaken(RuntimeError):
    """Another partition committed some of these ids first (two days ingested at once).

    Nothing was recorded; the caller looks the ids up again, quarantines the
    ones now taken and commits again.
    """


def _json_ints(values) -> str:
    # One JSON array parameter, unpacked by the database (json_each on SQLite,
    # json_array_elements_text on PostgreSQL): one statement for a million ids
    # instead of a million bound rows. Sorted, so the probes and inserts walk
    # the index's B-tree in order (random order cost 3x on SQLite).
    import json

    import numpy as np  # here: the CLI's read commands import this module and need no numpy

    return json.dumps(np.sort(np.asarray(values, dtype=np.int64)).tolist(), separators=(",", ":"))


def _from_bytes(data: bytes):
    import numpy as np

    return np.frombuffer(data, dtype=np.int64)


def _unpacked_ids(conn: Connection) -> str:
    """A FROM item with one BIGINT column ``h``: the ids in the ``:ids`` JSON parameter."""
    if conn.dialect.name == "postgresql":
        return "(SELECT CAST(value AS BIGINT) AS h FROM json_array_elements_text(CAST(:ids AS json))) AS j"
    return "(SELECT value AS h FROM json_each(:ids)) AS j"


class PartitionLedger:
    """Read and write the partition ledger, and the id index of committed partitions."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def content_hash(self, dataset: str, ds: date) -> str | None:
        """The content hash of a committed (``ok``) partition; None when there is none to check against."""
        with self._engine.connect() as conn:
            return conn.execute(
                sa.select(partitions.c.content_hash).where(
                    partitions.c.dataset == dataset, partitions.c.ds == ds, partitions.c.status == "ok"
                )
            ).scalar()

    def ids_seen(self, dataset: str, id_hashes, *, excluding: date) -> dict[int, date]:
        """Which of these ids a committed partition of another day already holds.

        Args:
            dataset: the dataset, e.g. ``applications`` (the hashes carry it:
                ``id_hashes(ids, dataset=...)``).
            id_hashes: 64-bit id hashes (``models.validation.id_hashes``).
            excluding: the day being ingested: its own earlier commit is not a
                conflict, so re-ingesting a day is idempotent.

        Returns:
            id hash -> the day whose partition holds it.
        """
        if len(id_hashes) == 0:
            return {}
        with self._engine.connect() as conn:
            # SQLite's planner may scan the table and probe the unindexed JSON
            # for each row (quadratic: minutes at 1M ids); CROSS JOIN makes it
            # walk the ids and probe the primary key. PostgreSQL hash-joins.
            join = "CROSS JOIN" if conn.dialect.name == "sqlite" else "JOIN"
            query = sa.text(
                f"SELECT p.id_hash, p.ds FROM {_unpacked_ids(conn)} "
                f"{join} partition_ids p ON p.id_hash = j.h WHERE p.ds <> :ds"
            ).bindparams(sa.bindparam("ds", type_=sa.Date)).columns(id_hash=sa.BigInteger, ds=sa.Date)
            rows = conn.execute(query, {"ids": _json_ints(id_hashes), "ds": excluding})
            return {int(h): d for h, d in rows}

    def indexed_ids(self, dataset: str, ds: date) -> int:
        """How many of its ids the index maps to this day (for checks and tests)."""
        with self._engine.connect() as conn:
            stored = conn.execute(
                sa.select(partition_id_days.c.hashes).where(
                    partition_id_days.c.dataset == dataset, partition_id_days.c.ds == ds
                )
            ).scalar()
            if not stored:
                return 0
            join = "CROSS JOIN" if conn.dialect.name == "sqlite" else "JOIN"
            query = sa.text(
                f"SELECT count(*) FROM {_unpacked_ids(conn)} {join} partition_ids p ON p.id_hash = j.h WHERE p.ds = :ds"
            ).bindparams(sa.bindparam("ds", type_=sa.Date))
            return conn.execute(query, {"ids": _json_ints(_from_bytes(stored)), "ds": ds}).scalar_one()

    @staticmethod
    def _index_ids(conn: Connection, dataset: str, ds: date, id_hashes, previous: dict | None, content_hash: str) -> bool:
        """Make the index hold exactly this day's ids (in the caller's transaction); True if it holds them now.

        Only the difference with the day's previous commit is written: a rerun
        on unchanged ids writes nothing.

        Raises:
            IdsTaken: another day committed one of these ids first.
        """
        import numpy as np

        already = previous is not None and previous["status"] == "ok" and (previous["meta"] or {}).get("ids_indexed")
        if already and id_hashes is not None and previous["content_hash"] == content_hash:
            return True  # the same rows again: the index already holds exactly these ids
        where_day = (partition_id_days.c.dataset == dataset) & (partition_id_days.c.ds == ds)
        stored = conn.execute(sa.select(partition_id_days.c.hashes).where(where_day)).scalar()
        old = _from_bytes(stored) if stored is not None else np.empty(0, dtype=np.int64)
        new = np.unique(np.asarray(id_hashes if id_hashes is not None else [], dtype=np.int64))
        gone, added = np.setdiff1d(old, new, assume_unique=True), np.setdiff1d(new, old, assume_unique=True)
        if len(gone):
            conn.execute(
                sa.text(f"DELETE FROM partition_ids WHERE id_hash IN (SELECT h FROM {_unpacked_ids(conn)})"),
                {"ids": _json_ints(gone)},
            )
        if len(added):
            insert = sa.text(
                f"INSERT INTO partition_ids (id_hash, ds) SELECT j.h, :ds FROM {_unpacked_ids(conn)}"
            ).bindparams(sa.bindparam("ds", type_=sa.Date))
            try:
                conn.execute(insert, {"ids": _json_ints(added), "ds": ds})
            except sa.exc.IntegrityError as exc:  # the caller's transaction rolls back as this propagates
                raise IdsTaken(
                    f"{dataset} ds={ds}: another partition committed some of these ids first; look them up again"
                ) from exc
        if stored is not None:
            conn.execute(partition_id_days.delete().where(where_day))
        if id_hashes is None:
            return False  # unique_across_days switched off: the day's old ids were removed
        conn.execute(partition_id_days.insert().values(dataset=dataset, ds=ds, id_count=len(new), hashes=new.tobytes()))
        return True

    def get(self, dataset: str, ds: date) -> PartitionRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(partitions).where(partitions.c.dataset == dataset, partitions.c.ds == ds)
            ).mappings().first()
        return PartitionRecord(**row) if row else None

    def profile(self, dataset: str, ds: date) -> dict[str, Any] | None:
        """The data profile ingest stored with a committed (``ok``) partition (``models.profile``).

        Returns:
            The profile, or None when the partition is not committed or was
            ingested before profiles were kept.
        """
        with self._engine.connect() as conn:
            meta = conn.execute(
                sa.select(partitions.c.meta).where(
                    partitions.c.dataset == dataset, partitions.c.ds == ds, partitions.c.status == "ok"
                )
            ).scalar()
        return (meta or {}).get("profile")

    def profiles(self, dataset: str, *, start: date, end: date) -> dict[date, dict[str, Any]]:
        """The stored profiles of the committed partitions in ``[start, end]`` (days without one are left out)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(partitions.c.ds, partitions.c.meta)
                .where(partitions.c.dataset == dataset, partitions.c.status == "ok")
                .where(partitions.c.ds >= start, partitions.c.ds <= end)
                .order_by(partitions.c.ds)
            ).all()
        return {ds: meta["profile"] for ds, meta in rows if meta and meta.get("profile")}

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
        id_hashes=None,
    ) -> None:
        """Upsert the partition as ``ok``, append the attempt and, with ``id_hashes``, index its ids.

        The ledger row, the attempt and the day's ids commit in one
        transaction: a crash leaves all or none of them.

        Args:
            id_hashes: the committed rows' id hashes (``unique_across_days``);
                they replace the day's earlier ids in the index. None leaves
                the index without this day.

        Raises:
            IdsTaken: another day committed one of these ids first; nothing
                was recorded.
        """
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
            # A write first: on SQLite it takes the write lock (waiting up to
            # busy_timeout); a read first would make the later write fail at
            # once when another thread committed in between (WAL snapshot).
            self._append_attempt(conn, dataset, ds, "ok", row_count, content_hash, flow_run_id, None, now)
            previous = conn.execute(
                sa.select(partitions.c.status, partitions.c.content_hash, partitions.c.meta)
                .where(partitions.c.dataset == dataset, partitions.c.ds == ds)
            ).mappings().first()
            if self._index_ids(conn, dataset, ds, id_hashes, previous, content_hash):
                values["meta"] = {**(meta or {}), "ids_indexed": True}
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


class PointerPinned(RuntimeError):
    """The pointer is pinned (a rollback pinned it): gates record verdicts but do not move it.

    ``tandem unpin POINTER`` lifts the pin. Callers that apply a gate's verdict
    catch this, keep the verdict, and report that the pointer stayed.
    """

    def __init__(self, pointer: str, pin: dict | None = None) -> None:
        self.pointer = pointer
        self.pin = pin or {}
        who = self.pin.get("actor", "someone")
        why = self.pin.get("reason", "")
        super().__init__(
            f"{pointer} is pinned by {who}{f' ({why})' if why else ''}: the verdict is recorded but the pointer "
            f"does not move until `tandem unpin {pointer}`"
        )


@dataclass(frozen=True)
class Pin:
    """A pointer held where a rollback put it: gates record verdicts but do not move it."""

    pointer: str
    actor: str
    reason: str
    since: datetime
    move_id: int | None  # the rollback that pinned it

    def to_dict(self) -> dict[str, Any]:
        return {"pointer": self.pointer, "actor": self.actor, "reason": self.reason,
                "since": self.since.isoformat(), "move_id": self.move_id}


# Reason recorded when the live value is not the ledger's head at the start of a
# move (a move applied but killed before its row committed, or a change made
# outside tandem, e.g. by hand in the MLflow UI): the chain stays unbroken.
RECONCILE_REASON = "reconcile: the live value differed from the ledger's last move (changed outside the ledger)"


# -- the hash chain ------------------------------------------------------------
GENESIS_HASH = "0" * 64  # the "previous hash" of the first row
# PostgreSQL advisory lock that serializes appends to the chain across pointers
# (the per-pointer row lock alone would let two pointers' moves fork it).
_CHAIN_LOCK_KEY = 0x74616E64656D  # "tandem"


def _utc_text(at: datetime) -> str:
    # SQLite hands timestamps back naive (they were written in UTC), PostgreSQL aware.
    at = at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_hash(row: Mapping[str, Any], prev_hash: str) -> str:
    """sha256 over a pointer-ledger row's canonical content and the previous row's hash.

    Canonical: the row's fields (id, pointer, values, actor, reason, evidence,
    time in UTC to the microsecond) as JSON with sorted keys and no spaces, so
    SQLite and PostgreSQL give the same text for the same row.
    """
    content = {
        "id": int(row["id"]), "pointer": row["pointer"], "old_value": row["old_value"], "new_value": row["new_value"],
        "actor": row["actor"], "reason": row["reason"], "evidence": row["evidence"], "moved_at": _utc_text(row["moved_at"]),
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{prev_hash}\n{text}".encode()).hexdigest()


def _lock_chain(conn: Connection) -> None:
    """Hold the chain's append lock until the transaction ends (SQLite: the immediate transaction holds it)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})


def _seal_tail(conn: Connection) -> str:
    """Chain the rows after the last hashed one (rows written before the chain existed); return the head hash.

    Only the unhashed tail is sealed: an unhashed row between hashed ones is
    left for ``verify_chain`` to report, never papered over.
    """
    last = conn.execute(
        sa.select(pointer_moves.c.id, pointer_moves.c.row_hash)
        .where(pointer_moves.c.row_hash.is_not(None)).order_by(pointer_moves.c.id.desc()).limit(1)
    ).first()
    prev, after = (last.row_hash, last.id) if last else (GENESIS_HASH, None)
    query = sa.select(pointer_moves).order_by(pointer_moves.c.id)
    if after is not None:
        query = query.where(pointer_moves.c.id > after)
    for row in conn.execute(query).mappings().all():
        digest = chain_hash(row, prev)
        conn.execute(pointer_moves.update().where(pointer_moves.c.id == row["id"]).values(prev_hash=prev, row_hash=digest))
        prev = digest
    return prev


def seal_pointer_moves(engine: Engine) -> int:
    """Give pointer moves written before the hash chain existed their hashes (the ops database's migration).

    Returns:
        How many rows were sealed (0 on an up-to-date database: one read, no write lock).
    """
    with engine.connect() as conn:
        newest = conn.execute(
            sa.select(pointer_moves.c.id, pointer_moves.c.row_hash).order_by(pointer_moves.c.id.desc()).limit(1)
        ).first()
        if newest is None or newest.row_hash is not None:
            return 0
        unsealed = conn.execute(sa.select(sa.func.count()).where(pointer_moves.c.row_hash.is_(None))).scalar_one()
    with write_transaction(engine) as conn:
        _lock_chain(conn)
        _seal_tail(conn)
    return unsealed


@dataclass(frozen=True)
class ChainCheck:
    """What ``verify_chain`` found.

    Attributes:
        rows: rows checked (up to and including the first broken one).
        broken_id: the first row that breaks the chain, or None.
        problem: why it breaks it, in one line.
    """

    rows: int
    broken_id: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_id is None


class PointerLedger:
    """Every move of a live pointer, recorded with who, why and the evidence.

    A move reads the live value, applies the change and writes its row under
    one lock per pointer (``SELECT ... FOR UPDATE`` on its ``pointer_heads``
    row on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so concurrent moves
    queue up and each row's old value is the value it really replaced.
    Appending a row also takes the hash chain's lock (a transaction-scoped
    advisory lock on PostgreSQL; SQLite's write lock already serializes), so
    moves of different pointers never link to the same previous row.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- the lock --------------------------------------------------------------
    @contextmanager
    def _locked(self, pointer: str) -> Iterator[Connection]:
        """One transaction that holds ``pointer``'s lock until it commits or rolls back."""
        with write_transaction(self._engine) as conn:
            self._lock_head(conn, pointer, sqlite=conn.dialect.name == "sqlite")
            yield conn

    @staticmethod
    def _lock_head(conn: Connection, pointer: str, *, sqlite: bool) -> None:
        values = dict(pointer=pointer, pinned=False, updated_at=_now())
        if sqlite:  # the whole database is already locked for writing
            if conn.execute(sa.select(pointer_heads.c.pointer).where(pointer_heads.c.pointer == pointer)).first() is None:
                conn.execute(pointer_heads.insert().values(**values))
            return
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(pointer_heads).values(**values).on_conflict_do_nothing(index_elements=["pointer"]))
        elif conn.execute(sa.select(pointer_heads.c.pointer).where(pointer_heads.c.pointer == pointer)).first() is None:
            conn.execute(pointer_heads.insert().values(**values))
        conn.execute(sa.select(pointer_heads.c.pointer).where(pointer_heads.c.pointer == pointer).with_for_update())

    # -- moves -----------------------------------------------------------------
    def move(
        self,
        pointer: str,
        *,
        new_value: str | None,
        actor: str,
        reason: str,
        evidence: dict[str, Any] | None,
        apply: Callable[[str | None], None],
        read_current: Callable[[], str | None] | None = None,
    ) -> PointerMove:
        """Move ``pointer`` to ``new_value``: read, apply and record under the pointer's lock.

        Args:
            pointer: the ledger name, e.g. ``model:risk-scorer@champion``.
            new_value: the value to point at (None removes it).
            actor: who.
            reason: why, in words on-call will read.
            evidence: the gate verdict, ...
            apply: performs the real move (an MLflow alias, a Qdrant alias, ...)
                given the new value. If it raises, nothing is recorded and the
                error propagates.
            read_current: reads the live value; None when the ledger's last
                move is the live value (a pointer that lives only here).

        Returns:
            The recorded move; its ``old_value`` is the live value it replaced.

        Raises:
            PointerPinned: a rollback pinned the pointer; nothing moved.
            ValueError: an empty reason.
        """
        return self._move(pointer, lambda conn: new_value, actor=actor, reason=reason, evidence=evidence,
                          apply=apply, read_current=read_current, rollback=False)

    def roll_back(
        self,
        pointer: str,
        *,
        actor: str,
        reason: str,
        apply: Callable[[str | None], None],
        read_current: Callable[[], str | None] | None = None,
        evidence: dict[str, Any] | None = None,
    ) -> PointerMove:
        """Undo the pointer's last change and pin it there, under the pointer's lock.

        The target is chosen under the lock, so two concurrent rollbacks undo
        two moves, never the same one twice. Rolling back twice returns to
        where you started, like ``cd -``. A pinned pointer can still be rolled
        back (it stays pinned, by the new actor and reason).

        Raises:
            NothingToRollBack: the pointer never changed, or has no previous value.
        """

        def target(conn: Connection) -> str | None:
            last = self._rollback_target(conn, pointer)
            extra.update({"action": "rollback", "rolled_back_move": last.id, "from": last.new_value, "move_reason": last.reason})
            return last.old_value

        extra: dict[str, Any] = dict(evidence or {})
        return self._move(pointer, target, actor=actor, reason=reason, evidence=extra, apply=apply,
                          read_current=read_current, rollback=True)

    def _move(self, pointer, choose, *, actor, reason, evidence, apply, read_current, rollback: bool) -> PointerMove:
        if not reason.strip():
            raise ValueError(f"moving {pointer!r} needs a reason")
        with self._locked(pointer) as conn:
            pin = self._pin(conn, pointer)
            if pin is not None and not rollback:
                raise PointerPinned(pointer, pin.to_dict())
            current = self._reconcile(conn, pointer, read_current)
            new_value = choose(conn)
            move = self._insert(conn, pointer, current, new_value, actor, reason, evidence)
            apply(new_value)
            if rollback:
                conn.execute(
                    pointer_heads.update().where(pointer_heads.c.pointer == pointer).values(
                        pinned=True, pinned_by=actor, pinned_reason=reason, pinned_at=move.moved_at,
                        pin_move_id=move.id, updated_at=move.moved_at,
                    )
                )
        return move

    def unpin(self, pointer: str, *, actor: str, reason: str) -> PointerMove | None:
        """Lift the pin so gates move the pointer again; recorded as a ledger row (old = new).

        Returns:
            The recorded row, or None when the pointer was not pinned (nothing recorded).
        """
        if not reason.strip():
            raise ValueError(f"unpinning {pointer!r} needs a reason")
        with self._locked(pointer) as conn:
            pin = self._pin(conn, pointer)
            if pin is None:
                return None
            last = self._last(conn, pointer)
            value = last.new_value if last else None
            move = self._insert(conn, pointer, value, value, actor, reason, {"action": "unpin", "pin": pin.to_dict()})
            conn.execute(
                pointer_heads.update().where(pointer_heads.c.pointer == pointer).values(
                    pinned=False, pinned_by=None, pinned_reason=None, pinned_at=None, pin_move_id=None, updated_at=move.moved_at,
                )
            )
        return move

    def note(
        self,
        pointer: str,
        *,
        actor: str,
        reason: str,
        evidence: dict[str, Any] | None,
        read_current: Callable[[], str | None] | None = None,
    ) -> PointerMove:
        """Record a decision that does not move the pointer (old = new = the live value), under its lock.

        For a rejected or timed-out approval: the ledger keeps who decided what
        and why even when nothing moved. A rollback skips such rows like unpins.

        Raises:
            ValueError: an empty reason.
        """
        if not reason.strip():
            raise ValueError(f"a note on {pointer!r} needs a reason")
        with self._locked(pointer) as conn:
            current = self._reconcile(conn, pointer, read_current)
            return self._insert(conn, pointer, current, current, actor, reason, evidence)

    def _reconcile(self, conn, pointer, read_current) -> str | None:
        """The pointer's live value; a row records it first when it differs from the ledger's head."""
        last = self._last(conn, pointer)
        head = last.new_value if last else None
        current = head if read_current is None else read_current()
        if last is not None and current != head:
            self._insert(conn, pointer, head, current, "tandem", RECONCILE_REASON,
                         {"action": "reconcile", "ledger_head": head, "live": current})
        return current

    @staticmethod
    def _insert(conn, pointer, old_value, new_value, actor, reason, evidence) -> PointerMove:
        moved_at = _now()
        _lock_chain(conn)  # one chain for all pointers: appends queue up, whatever pointer they move
        prev = _seal_tail(conn)
        move_id = conn.execute(
            pointer_moves.insert().values(
                pointer=pointer, old_value=old_value, new_value=new_value,
                actor=actor, reason=reason, evidence=evidence, moved_at=moved_at, prev_hash=prev,
            )
        ).inserted_primary_key[0]
        # Hash the row as the database hands it back (JSON and timestamps round-tripped), as verify will read it.
        stored = conn.execute(sa.select(pointer_moves).where(pointer_moves.c.id == move_id)).mappings().one()
        conn.execute(pointer_moves.update().where(pointer_moves.c.id == move_id).values(row_hash=chain_hash(stored, prev)))
        return PointerMove(move_id, pointer, old_value, new_value, actor, reason, evidence, moved_at)

    @staticmethod
    def _last(conn, pointer: str) -> PointerMove | None:
        row = conn.execute(
            sa.select(*_MOVE_COLUMNS).where(pointer_moves.c.pointer == pointer).order_by(pointer_moves.c.id.desc()).limit(1)
        ).mappings().first()
        return PointerMove(**row) if row else None

    @staticmethod
    def _pin(conn, pointer: str) -> Pin | None:
        row = conn.execute(
            sa.select(pointer_heads).where(pointer_heads.c.pointer == pointer, pointer_heads.c.pinned.is_(True))
        ).mappings().first()
        if row is None:
            return None
        return Pin(row["pointer"], row["pinned_by"] or "unknown", row["pinned_reason"] or "", row["pinned_at"], row["pin_move_id"])

    @staticmethod
    def _rollback_target(conn, pointer: str) -> PointerMove:
        last = conn.execute(
            sa.select(*_MOVE_COLUMNS)
            .where(pointer_moves.c.pointer == pointer)
            .where(pointer_moves.c.old_value.is_distinct_from(pointer_moves.c.new_value))  # not an unpin
            .order_by(pointer_moves.c.id.desc())
            .limit(1)
        ).mappings().first()
        if last is None:
            raise NothingToRollBack(f"{pointer} has never moved; there is nothing to roll back")
        last = PointerMove(**last)
        if last.old_value is None:
            raise NothingToRollBack(
                f"{pointer} has no previous value: move #{last.id} set it to "
                f"{last.new_value!r} for the first time ({last.moved_at:%Y-%m-%d %H:%M} by {last.actor})"
            )
        return last

    # -- reads -----------------------------------------------------------------
    def history(self, pointer: str | None = None, *, limit: int = 50) -> list[PointerMove]:
        """Moves, newest first."""
        query = sa.select(*_MOVE_COLUMNS).order_by(pointer_moves.c.id.desc()).limit(limit)
        if pointer:
            query = query.where(pointer_moves.c.pointer == pointer)
        with self._engine.connect() as conn:
            return [PointerMove(**r) for r in conn.execute(query).mappings()]

    def last_move(self, pointer: str) -> PointerMove | None:
        moves = self.history(pointer, limit=1)
        return moves[0] if moves else None

    def rollback_target(self, pointer: str) -> PointerMove:
        """The move a rollback would undo: the latest one that changed the value (not an unpin).

        Raises:
            NothingToRollBack: the pointer never moved, or has no previous value.
        """
        with self._engine.connect() as conn:
            return self._rollback_target(conn, pointer)

    def pin(self, pointer: str) -> Pin | None:
        """The pointer's pin, or None when gates may move it."""
        with self._engine.connect() as conn:
            return self._pin(conn, pointer)

    def pins(self) -> list[Pin]:
        """Every pinned pointer."""
        with self._engine.connect() as conn:
            names = conn.execute(sa.select(pointer_heads.c.pointer).where(pointer_heads.c.pinned.is_(True))
                                 .order_by(pointer_heads.c.pointer)).scalars().all()
            return [self._pin(conn, n) for n in names]

    def verify_chain(self) -> ChainCheck:
        """Walk the whole ledger in order and check every row's hash and its link to the row before.

        Returns:
            The rows checked and, if the chain breaks, the first row that breaks it and why:
            an edited row no longer matches its own hash; after a deleted row the
            next one's link names a row that is not there.
        """
        prev, prev_id, n = GENESIS_HASH, None, 0
        with self._engine.connect() as conn:
            for row in conn.execute(sa.select(pointer_moves).order_by(pointer_moves.c.id)).mappings():
                n += 1
                where = f"row #{row['id']} ({row['pointer']}, {_utc_text(row['moved_at'])[:19]})"
                if row["row_hash"] is None or row["prev_hash"] is None:
                    return ChainCheck(n, row["id"], f"{where} has no hash: it was written outside tandem after the chain began")
                if row["prev_hash"] != prev:
                    before = f"row #{prev_id}" if prev_id is not None else "the start of the ledger"
                    return ChainCheck(n, row["id"], f"{where} does not follow {before}: a row between them was deleted, "
                                                    f"or a link was edited")
                if chain_hash(row, prev) != row["row_hash"]:
                    return ChainCheck(n, row["id"], f"{where} does not match its hash: it was edited after it was written")
                prev, prev_id = row["row_hash"], row["id"]
        return ChainCheck(n)


# PointerMove's fields: the hash columns are the chain's, not the move's.
_MOVE_COLUMNS = tuple(pointer_moves.c[name] for name in PointerMove.__dataclass_fields__)
