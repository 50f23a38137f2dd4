"""Tickets and the check history in the ops database.

``TicketStore``: the retrain / re-prompt / re-index / cost-review / ops
tickets the nightly loop opens, with their append-only history. One open (or
acknowledged) ticket per ``(kind, asset)``, even with two openers at once:
an opener locks the pair's ``ticket_heads`` row (``SELECT ... FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) and the database's partial unique
index refuses a second open ticket whatever the code does. A failure on an
open ticket adds its evidence and a count.

``CheckHistory``: every graded check of every night (the scorecard's lines),
which debounce counts from. Recording a night again replaces its rows.

The decisions themselves (debounce, cool-down, dedup, severity) are pure and
live in ``models.alerting``; this module only stores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from models.alerting import PastResult, TicketDecision
from models.monitoring import CheckResult, Measurement
from infra.stores.opsdb import check_results, ticket_heads, ticket_history, tickets, write_transaction

OPEN_STATUSES = ("open", "acknowledged")
TICKET_STATUSES = ("open", "acknowledged", "resolved")
MAX_EVIDENCE_NIGHTS = 60  # a ticket keeps the evidence of its last 60 failing nights (the count keeps counting)
_SEVERITY_RANK = {"medium": 1, "high": 2}


class TicketNotFound(LookupError):
    """No ticket has this id."""


class IllegalTransition(ValueError):
    """The change does not apply to the ticket's status (resolving a resolved ticket, ...)."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything here is stored in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _json_safe(value: Any) -> Any:
    """Evidence as plain JSON (numpy numbers, dates and paths become numbers or strings)."""
    def default(obj: Any) -> Any:
        if hasattr(obj, "item"):  # numpy scalars
            return obj.item()
        if hasattr(obj, "tolist"):
            return obj.tolist()
        return str(obj)

    return json.loads(json.dumps(value, default=default))


@dataclass(frozen=True)
class Ticket:
    """One ticket as stored.

    Attributes:
        evidence: one entry per failing check and night, oldest first (the
            last ``MAX_EVIDENCE_NIGHTS`` nights): night, check, subject,
            value, warn, fail, n, streak, summary, evidence.
        count: the failing nights recorded on it (the opening night included).
        remedy: what the remedy did so far (flow run id, gate verdict,
            ``promoted``, "waiting for labels" state), or None.
    """

    id: int
    kind: str
    asset: str
    status: str
    severity: str
    title: str
    evidence: list[dict[str, Any]]
    suggested_action: str
    count: int
    opened_night: date
    last_night: date
    resolved_night: date | None
    opened_at: datetime
    updated_at: datetime
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    remedy: dict[str, Any] | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (dates and times as ISO strings)."""
        return _json_safe(asdict(self))


@dataclass(frozen=True)
class TicketChange:
    """One row of a ticket's history."""

    id: int
    ticket_id: int
    at: datetime
    night: date | None
    action: str  # opened | updated | acknowledged | remedy | resolved
    actor: str
    note: str | None
    evidence: Any

    def to_dict(self) -> dict[str, Any]:
        return _json_safe(asdict(self))


def _ticket(row: Any) -> Ticket:
    m = row._mapping
    return Ticket(
        id=m["id"], kind=m["kind"], asset=m["asset"], status=m["status"], severity=m["severity"], title=m["title"],
        evidence=list(m["evidence"] or []), suggested_action=m["suggested_action"], count=m["count"],
        opened_night=m["opened_night"], last_night=m["last_night"], resolved_night=m["resolved_night"],
        opened_at=_utc(m["opened_at"]), updated_at=_utc(m["updated_at"]), acknowledged_by=m["acknowledged_by"],
        resolved_at=_utc(m["resolved_at"]), resolved_by=m["resolved_by"], resolution=m["resolution"],
        remedy=dict(m["remedy"]) if m["remedy"] is not None else None,
    )


def _lock_head(conn: Connection, kind: str, asset: str) -> Any:
    """Create the pair's head row if needed and lock it; returns the row."""
    where = (ticket_heads.c.kind == kind) & (ticket_heads.c.asset == asset)
    values = dict(kind=kind, asset=asset, open_ticket_id=None, updated_at=_now())
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(ticket_heads).values(**values).on_conflict_do_nothing(index_elements=["kind", "asset"]))
        return conn.execute(sa.select(ticket_heads).where(where).with_for_update()).one()
    row = conn.execute(sa.select(ticket_heads).where(where)).first()  # SQLite: the whole database is locked already
    if row is None:
        conn.execute(ticket_heads.insert().values(**values))
        row = conn.execute(sa.select(ticket_heads).where(where)).one()
    return row


class TicketStore:
    """The tickets in the ops database.

    Example:
        >>> store = TicketStore(create_ops_engine("sqlite:///ops.db"))
        >>> ticket, created = store.open_or_update(decision, night=date(2026, 3, 4))
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- the nightly loop --------------------------------------------------------
    def open_or_update(self, decision: TicketDecision, night: date) -> tuple[Ticket, bool]:
        """Open the decision's ticket, or add tonight's failure to the pair's open one.

        Whatever the decision's action says, the pair's head (read under its
        lock) decides: with an open or acknowledged ticket, that ticket gets
        the evidence (entries of the same night and check are replaced, so a
        rerun of a night does not count twice), the count (+1 for a new
        night), the higher severity and a history row; without one, a ticket
        opens.

        Args:
            decision: from ``models.alerting.decide_tickets`` ("open" or "update").
            night: the night the evidence is about.

        Returns:
            ``(ticket, created)``: created is True when this call opened it.

        Raises:
            ValueError: a "held" decision (nothing to store).
        """
        if decision.action == "held":
            raise ValueError(f"a held decision ({decision.kind} {decision.asset}: {decision.reason}) opens no ticket")
        entries = [_json_safe({"night": night.isoformat(), **e}) for e in decision.evidence]
        with write_transaction(self._engine) as conn:
            head = _lock_head(conn, decision.kind, decision.asset)
            now = _now()  # under the lock: times follow the order the lock gives
            if head.open_ticket_id is not None:
                current = _ticket(conn.execute(sa.select(tickets).where(tickets.c.id == head.open_ticket_id)).one())
                same_night = {(e.get("night"), e.get("check"), e.get("subject")) for e in entries}
                kept = [e for e in current.evidence if (e.get("night"), e.get("check"), e.get("subject")) not in same_night]
                evidence = (kept + entries)[-MAX_EVIDENCE_NIGHTS * max(1, len(entries)):]
                new_night = night > current.last_night
                severity = max(current.severity, decision.severity, key=lambda s: _SEVERITY_RANK.get(s, 0))
                conn.execute(tickets.update().where(tickets.c.id == current.id).values(
                    evidence=evidence, count=current.count + (1 if new_night else 0), severity=severity,
                    title=decision.title if new_night else current.title,
                    last_night=max(night, current.last_night), updated_at=now,
                ))
                self._log(conn, current.id, "updated", "tandem", decision.reason, entries, night)
                ticket_id, created = current.id, False
            else:
                ticket_id = conn.execute(tickets.insert().values(
                    kind=decision.kind, asset=decision.asset, status="open", severity=decision.severity,
                    title=decision.title, evidence=entries, suggested_action=decision.suggested_action, count=1,
                    opened_night=night, last_night=night, opened_at=now, updated_at=now, remedy=None,
                )).inserted_primary_key[0]
                conn.execute(ticket_heads.update()
                             .where((ticket_heads.c.kind == decision.kind) & (ticket_heads.c.asset == decision.asset))
                             .values(open_ticket_id=ticket_id, updated_at=now))
                self._log(conn, ticket_id, "opened", "tandem", decision.reason, entries, night)
                created = True
            ticket = _ticket(conn.execute(sa.select(tickets).where(tickets.c.id == ticket_id)).one())
        return ticket, created

    # -- reads -------------------------------------------------------------------
    def get(self, ticket_id: int) -> Ticket:
        """The ticket; ``TicketNotFound`` naming the id when there is none."""
        with self._engine.connect() as conn:
            return self._get(conn, ticket_id)

    def list(self, status: str | None = None, kind: str | None = None, asset: str | None = None) -> list[Ticket]:
        """Tickets, newest first, filtered by status (open, acknowledged, resolved; "active" = open or acknowledged), kind, asset."""
        query = sa.select(tickets).order_by(tickets.c.id.desc())
        if status == "active":
            query = query.where(tickets.c.status.in_(OPEN_STATUSES))
        elif status is not None:
            if status not in TICKET_STATUSES:
                raise ValueError(f"unknown ticket status {status!r}; known: {', '.join(TICKET_STATUSES)}, active")
            query = query.where(tickets.c.status == status)
        if kind is not None:
            query = query.where(tickets.c.kind == kind)
        if asset is not None:
            query = query.where(tickets.c.asset == asset)
        with self._engine.connect() as conn:
            return [_ticket(row) for row in conn.execute(query)]

    def open_for(self, kind: str, asset: str) -> Ticket | None:
        """The pair's open or acknowledged ticket, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(tickets).where(
                (tickets.c.kind == kind) & (tickets.c.asset == asset) & tickets.c.status.in_(OPEN_STATUSES))).first()
        return _ticket(row) if row is not None else None

    def open_tickets(self) -> dict[tuple[str, str], int]:
        """``(kind, asset)`` -> id of its open or acknowledged ticket: ``decide_tickets``' ``open_tickets``."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(tickets.c.kind, tickets.c.asset, tickets.c.id)
                                .where(tickets.c.status.in_(OPEN_STATUSES)))
            return {(r.kind, r.asset): r.id for r in rows}

    def last_resolved(self, kind: str, asset: str) -> date | None:
        """The night the pair's last ticket was resolved (for the cool-down), or None."""
        with self._engine.connect() as conn:
            return conn.execute(sa.select(ticket_heads.c.last_resolved_night).where(
                (ticket_heads.c.kind == kind) & (ticket_heads.c.asset == asset))).scalar()

    def last_resolved_all(self) -> dict[tuple[str, str], date]:
        """``(kind, asset)`` -> last resolved night: ``decide_tickets``' ``last_resolved``."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(ticket_heads).where(ticket_heads.c.last_resolved_night.is_not(None)))
            return {(r.kind, r.asset): r.last_resolved_night for r in rows}

    def history(self, ticket_id: int) -> list[TicketChange]:
        """Every change of the ticket, oldest first."""
        with self._engine.connect() as conn:
            self._get(conn, ticket_id)
            rows = conn.execute(sa.select(ticket_history).where(ticket_history.c.ticket_id == ticket_id)
                                .order_by(ticket_history.c.id))
            return [TicketChange(id=r.id, ticket_id=r.ticket_id, at=_utc(r.at), night=r.night, action=r.action,
                                 actor=r.actor, note=r.note, evidence=r.evidence) for r in rows]

    # -- changes by people and remedies --------------------------------------------
    def ack(self, ticket_id: int, actor: str, note: str | None = None) -> Ticket:
        """Someone is on it: open -> acknowledged (it still counts as the pair's open ticket).

        Raises:
            TicketNotFound: no such id.
            IllegalTransition: the ticket is already acknowledged or resolved.
        """
        with write_transaction(self._engine) as conn:
            current = self._get(conn, ticket_id, lock=True)
            if current.status != "open":
                raise IllegalTransition(f"ticket {ticket_id} is {current.status}; only an open ticket can be acknowledged")
            conn.execute(tickets.update().where(tickets.c.id == ticket_id)
                         .values(status="acknowledged", acknowledged_by=actor, updated_at=_now()))
            self._log(conn, ticket_id, "acknowledged", actor, note, None, None)
            return self._get(conn, ticket_id)

    def resolve(self, ticket_id: int, actor: str, reason: str, night: date | None = None) -> Ticket:
        """Close the ticket; the pair may open a new one after its cool-down.

        Args:
            ticket_id: the ticket.
            actor: who (a person, or "tandem" when the remedy's gate promoted
                and the night's check is green).
            reason: why, recorded.
            night: the night the cool-down counts from (default: today, UTC).

        Raises:
            TicketNotFound: no such id.
            IllegalTransition: the ticket is already resolved.
            ValueError: an empty reason.
        """
        if not reason or not reason.strip():
            raise ValueError("a resolution needs a reason")
        night = night or _now().date()
        with write_transaction(self._engine) as conn:
            current = self._get(conn, ticket_id)
            # The pair's head first, then the ticket (the order open_or_update takes them: no deadlock).
            _lock_head(conn, current.kind, current.asset)
            current = self._get(conn, ticket_id, lock=True)
            if current.status == "resolved":
                raise IllegalTransition(f"ticket {ticket_id} is already resolved (by {current.resolved_by}: {current.resolution})")
            now = _now()
            conn.execute(tickets.update().where(tickets.c.id == ticket_id).values(
                status="resolved", resolved_at=now, resolved_by=actor, resolution=reason, resolved_night=night, updated_at=now))
            conn.execute(ticket_heads.update()
                         .where((ticket_heads.c.kind == current.kind) & (ticket_heads.c.asset == current.asset))
                         .values(open_ticket_id=None, last_resolved_night=night, updated_at=now))
            self._log(conn, ticket_id, "resolved", actor, reason, None, night)
            return self._get(conn, ticket_id)

    def attach_remedy(self, ticket_id: int, remedy: dict[str, Any], note: str, actor: str = "tandem") -> Ticket:
        """Record what the remedy did (merged into the ticket's ``remedy``; history keeps each step).

        Args:
            ticket_id: the ticket.
            remedy: e.g. ``{"flow_run_id": ..., "gate": {...}, "promoted": False}``
                or ``{"state": "waiting for labels", "matured_days": 3, "needed_days": 7}``.
            note: one line for the history ("gate HELD v7: AUC 0.71 < 0.72").
            actor: who.

        Raises:
            TicketNotFound: no such id.
            IllegalTransition: the ticket is resolved.
        """
        remedy = _json_safe(remedy)
        with write_transaction(self._engine) as conn:
            current = self._get(conn, ticket_id, lock=True)
            if current.status == "resolved":
                raise IllegalTransition(f"ticket {ticket_id} is resolved; a remedy can no longer be attached")
            conn.execute(tickets.update().where(tickets.c.id == ticket_id)
                         .values(remedy={**(current.remedy or {}), **remedy}, updated_at=_now()))
            self._log(conn, ticket_id, "remedy", actor, note, remedy, None)
            return self._get(conn, ticket_id)

    # -- helpers -----------------------------------------------------------------
    @staticmethod
    def _get(conn: Connection, ticket_id: int, *, lock: bool = False) -> Ticket:
        query = sa.select(tickets).where(tickets.c.id == ticket_id)
        if lock and conn.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already holds the database
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise TicketNotFound(f"no ticket {ticket_id} (`tandem tickets list` shows them)")
        return _ticket(row)

    @staticmethod
    def _log(conn: Connection, ticket_id: int, action: str, actor: str, note: str | None, evidence: Any, night: date | None) -> None:
        conn.execute(ticket_history.insert().values(
            ticket_id=ticket_id, at=_now(), night=night, action=action, actor=actor, note=note, evidence=evidence))


class CheckHistory:
    """Every graded check of every night, one row per (night, check, subject)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, night: date, results: Iterable[CheckResult]) -> int:
        """Store the night's results; recording a night again replaces them.

        Rows of the same night for the checks in ``results`` are deleted first
        (all their subjects: a tenant gone on the rerun leaves no stale row);
        other checks of that night stay (the two assets may be recorded apart).

        Returns:
            How many rows were written.
        """
        results = list(results)
        now = _now()
        rows = [dict(
            night=night, check=r.check, subject=r.measurement.subject or "", asset=r.asset, status=r.status,
            value=None if r.measurement.value is None else float(r.measurement.value), warn=r.warn, fail=r.fail,
            n=int(r.measurement.n), summary=r.summary, note=r.measurement.note, evidence=_json_safe(r.measurement.evidence),
            calibration=_json_safe(r.calibration), recorded_at=now,
        ) for r in results]
        checks = sorted({r.check for r in results})
        with self._engine.begin() as conn:
            if checks:
                conn.execute(check_results.delete().where((check_results.c.night == night) & check_results.c.check.in_(checks)))
            if rows:
                conn.execute(check_results.insert(), rows)
        return len(rows)

    def night(self, night: date) -> list[CheckResult]:
        """The night's graded results, as recorded."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(check_results).where(check_results.c.night == night)
                                .order_by(check_results.c.asset, check_results.c.check, check_results.c.subject))
            return [_result(r) for r in rows]

    def nights(self) -> list[date]:
        """Every recorded night, oldest first."""
        with self._engine.connect() as conn:
            return list(conn.execute(sa.select(check_results.c.night).distinct().order_by(check_results.c.night)).scalars())

    def recent(self, check: str, subject: str | None = None, before_night: date | None = None, limit: int = 30) -> list[PastResult]:
        """The check's last ``limit`` results before ``before_night`` (exclusive), newest first."""
        query = (sa.select(check_results.c.night, check_results.c.check, check_results.c.subject, check_results.c.status)
                 .where((check_results.c.check == check) & (check_results.c.subject == (subject or "")))
                 .order_by(check_results.c.night.desc()).limit(limit))
        if before_night is not None:
            query = query.where(check_results.c.night < before_night)
        with self._engine.connect() as conn:
            return [PastResult(r.night, r.check, r.subject or None, r.status) for r in conn.execute(query)]

    def before(self, night: date, nights: int = 30) -> list[PastResult]:
        """Every check's results in the ``nights`` nights before ``night``: ``decide_tickets``' ``history``."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(check_results.c.night, check_results.c.check, check_results.c.subject, check_results.c.status)
                .where((check_results.c.night < night) & (check_results.c.night >= night - timedelta(days=nights)))
            )
            return [PastResult(r.night, r.check, r.subject or None, r.status) for r in rows]

    def values(self, check: str, subject: str | None = None, start: date | None = None, end: date | None = None) -> list[float]:
        """The check's recorded figures in ``[start, end)`` (None values left out): reference values for ``calibrate``."""
        return [value for _, value, _, _ in self.figures(check, subject, start, end)]

    def figures(self, check: str, subject: str | None = None, start: date | None = None,
                end: date | None = None) -> list[tuple[date, float, int, str]]:
        """The check's recorded ``(night, figure, n, status)`` in ``[start, end)``, oldest first (None figures left out)."""
        query = (sa.select(check_results.c.night, check_results.c.value, check_results.c.n, check_results.c.status)
                 .where((check_results.c.check == check) & (check_results.c.subject == (subject or ""))
                        & check_results.c.value.is_not(None))
                 .order_by(check_results.c.night))
        if start is not None:
            query = query.where(check_results.c.night >= start)
        if end is not None:
            query = query.where(check_results.c.night < end)
        with self._engine.connect() as conn:
            return [(r.night, float(r.value), int(r.n or 0), r.status) for r in conn.execute(query)]


def _result(row: Any) -> CheckResult:
    measurement = Measurement(check=row.check, value=row.value, n=row.n, evidence=row.evidence or {},
                              subject=row.subject or None, note=row.note or "")
    return CheckResult(measurement, row.status, row.warn, row.fail, row.summary, row.calibration)
