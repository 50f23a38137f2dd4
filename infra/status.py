"""What `tandem status` shows, gathered fast: small queries on the stores, no MLflow, Prefect or Qdrant import.

- champion and production prompt: MLflow's own tables read directly
  (``infra.clients.mlflow_sql``; importing MLflow alone takes seconds);
- live index and pins: the pointer ledger (its head for ``docs-live``: opening
  Qdrant's local folder would wait for a running service that holds it);
- open tickets, the last night's scorecard and the partition bars: the ops database;
- next scheduled runs: the Prefect API over plain HTTP with a short timeout.

Every part is read on its own: one that cannot be read says why, the others still show.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infra.stores.opsdb import check_results, partitions, pointer_heads, pointer_moves, tickets

BAR_DAYS = 30
SCHEDULE_TIMEOUT_S = 0.8


@dataclass(frozen=True)
class Bars:
    """Each dataset's last ``BAR_DAYS`` days: ``ok``, ``failed`` or None (missing), oldest first."""

    start: date
    end: date
    days: dict[str, list[str | None]]


@dataclass
class Status:
    """One screen of state; a part that could not be read is None with its reason in ``problems``."""

    champion: dict[str, Any] | None = None
    prompt: dict[str, Any] | None = None
    index: dict[str, Any] | None = None
    pins: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    scorecard: dict[str, Any] | None = None
    bars: Bars | None = None
    schedule: dict[str, Any] | None = None
    problems: dict[str, str] = field(default_factory=dict)


def read_version(tracking_uri: str, name: str, alias: str) -> dict[str, Any] | None:
    """The version an MLflow alias points at (model or prompt), with its tags and its run's latest metrics.

    Raises:
        StoreUnreadable: not a database URI, or MLflow's tables are not as expected.
    """
    from infra.clients.mlflow_sql import read_alias

    view = read_alias(tracking_uri, name, alias)
    if view is None:
        return None
    return {"name": name, "alias": alias, "version": view.version, "tags": view.tags, "metrics": view.metrics}


def read_index(engine: Engine, pointer: str) -> dict[str, Any] | None:
    """The live collection as the pointer ledger's last move of ``pointer`` left it."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(pointer_moves.c.new_value, pointer_moves.c.moved_at, pointer_moves.c.actor)
            .where(pointer_moves.c.pointer == pointer).order_by(pointer_moves.c.id.desc()).limit(1)
        ).first()
    if row is None:
        return None
    return {"pointer": pointer, "collection": row.new_value, "moved_at": _utc(row.moved_at), "actor": row.actor}


def read_pins(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(pointer_heads).where(pointer_heads.c.pinned.is_(True)).order_by(pointer_heads.c.pointer)
        ).mappings().all()
    return [{"pointer": r["pointer"], "actor": r["pinned_by"], "reason": r["pinned_reason"], "since": _utc(r["pinned_at"])}
            for r in rows]


def read_open_tickets(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(tickets.c.id, tickets.c.kind, tickets.c.asset, tickets.c.status, tickets.c.severity, tickets.c.title,
                      tickets.c["count"], tickets.c.opened_night, tickets.c.last_night)
            .where(tickets.c.status != "resolved").order_by(tickets.c.id)
        ).mappings().all()
    return [dict(r) for r in rows]


def read_scorecard(engine: Engine) -> dict[str, Any] | None:
    """The newest night in the check history: counts by status and every line that is not green."""
    with engine.connect() as conn:
        night = conn.execute(sa.select(sa.func.max(check_results.c.night))).scalar()
        if night is None:
            return None
        rows = conn.execute(
            sa.select(check_results.c.check, check_results.c.subject, check_results.c.asset, check_results.c.status,
                      check_results.c.summary)
            .where(check_results.c.night == night).order_by(check_results.c.asset, check_results.c.check, check_results.c.subject)
        ).mappings().all()
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"night": night, "counts": counts, "lines": [dict(r) for r in rows if r["status"] != "green"]}


def read_bars(engine: Engine, *, today: date, days: int = BAR_DAYS) -> Bars | None:
    """Each dataset's partitions over the last ``days`` days up to yesterday.

    When no partition falls in that window (a demo data dir whose days lie in
    the past), the window ends at the newest partition instead, so the bar
    shows the data there is.
    """
    with engine.connect() as conn:
        newest = conn.execute(sa.select(sa.func.max(partitions.c.ds))).scalar()
        if newest is None:
            return None
        end = today - timedelta(days=1)
        if newest < end - timedelta(days=days - 1):
            end = newest
        start = end - timedelta(days=days - 1)
        rows = conn.execute(
            sa.select(partitions.c.dataset, partitions.c.ds, partitions.c.status)
            .where(partitions.c.ds >= start, partitions.c.ds <= end)
        ).all()
        datasets = conn.execute(sa.select(partitions.c.dataset).distinct().order_by(partitions.c.dataset)).scalars().all()
    found = {(r.dataset, r.ds): r.status for r in rows}
    span = [start + timedelta(days=i) for i in range(days)]
    return Bars(start, end, {name: [found.get((name, d)) for d in span] for name in datasets})


def read_schedule(api_url: str | None, *, limit: int = 5, timeout_s: float = SCHEDULE_TIMEOUT_S) -> dict[str, Any]:
    """The next scheduled flow runs from the Prefect API (two small POSTs), or why they could not be read."""
    if not api_url:
        return {"api_url": None, "reachable": False, "runs": [], "error": "no Prefect server known (PREFECT_API_URL unset)"}
    base = api_url.rstrip("/")
    try:
        runs = _post(f"{base}/flow_runs/filter", {
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
            "sort": "EXPECTED_START_TIME_ASC", "limit": limit,
        }, timeout_s)
        ids = sorted({r["deployment_id"] for r in runs if r.get("deployment_id")})
        names = {}
        if ids:
            deployments = _post(f"{base}/deployments/filter", {"deployments": {"id": {"any_": ids}}}, timeout_s)
            names = {d["id"]: d["name"] for d in deployments}
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
        return {"api_url": base, "reachable": False, "runs": [], "error": f"server not reachable ({_why(exc)})"}
    return {"api_url": base, "reachable": True, "error": None, "runs": [
        {"name": r.get("name"), "deployment": names.get(r.get("deployment_id"), "-"),
         "at": _parse_time(r.get("expected_start_time") or r.get("next_scheduled_start_time"))}
        for r in runs
    ]}


def gather(settings, engine: Engine, *, today: date, api_url: str | None) -> Status:
    """Every part of the screen; a part that fails is left empty with its reason.

    Args:
        settings: Tandem's settings (names of the model, prompt and pointers; MLflow's URI).
        engine: the ops database.
        today: the day the partition bars end before.
        api_url: the Prefect API to ask for scheduled runs (None: not known).
    """
    from infra.clients.mlflow_sql import StoreUnreadable

    status = Status()
    uri = settings.resolved_mlflow_tracking_uri
    for part, read in (
        ("champion", lambda: read_version(uri, settings.model_name, settings.champion_alias)),
        ("prompt", lambda: read_version(uri, settings.prompt.name, settings.prompt.production_alias)),
        ("index", lambda: read_index(engine, f"index:{settings.index.live_alias}")),
        ("pins", lambda: read_pins(engine)),
        ("tickets", lambda: read_open_tickets(engine)),
        ("scorecard", lambda: read_scorecard(engine)),
        ("bars", lambda: read_bars(engine, today=today)),
    ):
        try:
            setattr(status, part, read())
        except StoreUnreadable as exc:
            status.problems[part] = f"MLflow's store cannot be read directly ({exc}): see `tandem champion` / `tandem prompts list`"
        except sa.exc.SQLAlchemyError as exc:
            status.problems[part] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    status.schedule = read_schedule(api_url)
    return status


def _post(url: str, body: dict, timeout_s: float) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return json.loads(response.read())


def _why(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything here is stored in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value
