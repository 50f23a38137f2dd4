"""What a flow run is called, how it is tagged, which day it defaults to, and who hears when it fails.

On-call reads the run history, so every run says what it did:

- **names** (``flow_run_name``): ``ingest 2026-03-14``, ``nightly-eval 2026-03-14``,
  ``backfill 2026-01-01..2026-03-31``, ``prompt-release v3``; ``train`` is renamed to its
  window (``train 2026-01-01..2026-03-31``) once the flow has resolved it (``rename_run``);
- **tags**: ``asset:risk-scorer`` / ``asset:rag`` on every run, and ``ds:YYYY-MM-DD`` on
  the runs of one day, added when the run starts (``run_hooks``: an ``on_running`` hook), so
  a run called directly (the main job's subflows) is tagged like a run of a deployment;
- **the default day**: a nightly flow given no date runs for "yesterday" in its
  deployment's schedule timezone, counted from the run's scheduled time, so a cron
  schedule drives it and a late start still does the intended day (``run_day``);
- **failures**: a failed or crashed run posts one message to the ticket webhook
  (``TANDEM_MONITORING__WEBHOOK_URL``), from the run's own process (``on_failure`` /
  ``on_crashed`` hooks). A process killed outright runs no hook: the "crash zombie
  runs" automation (``infra.prefect_setup``) marks it Crashed and notifies.

The final state's message (``PROMOTE v3 (AUC 0.82 [0.80, 0.84])``) is each flow's own:
the flows return ``Completed(message=..., data=...)`` with the messages built here
(``*_message``); a caller of the flow still gets the data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

RISK, RAG = "risk-scorer", "rag"
DEFAULT_TIMEZONE = "UTC"


def _client():
    """The run's sync API client when one is in context (a sync flow's), else a new one for this call."""
    from prefect.context import SyncClientContext

    return SyncClientContext.get_or_create()


# -- the default day -------------------------------------------------------------------
def day_before(moment: datetime, tz: str = DEFAULT_TIMEZONE) -> date:
    """The calendar day before ``moment`` as seen in ``tz`` (a naive ``moment`` is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(ZoneInfo(tz)).date() - timedelta(days=1)


@lru_cache(maxsize=64)
def deployment_timezone(deployment_id: str | None) -> str:
    """The timezone of a deployment's first schedule (``UTC`` without a deployment or schedule)."""
    if not deployment_id:
        return DEFAULT_TIMEZONE
    try:
        with _client() as ctx:
            schedules = ctx.client.read_deployment(deployment_id).schedules or []
    except Exception as exc:  # the API is the flow's own; a hiccup here must not fail the night
        logger.warning("could not read the schedules of deployment %s (%s); counting days in UTC", deployment_id, type(exc).__name__)
        return DEFAULT_TIMEZONE
    zones = [getattr(s.schedule, "timezone", None) for s in schedules]
    return next((z for z in zones if z), DEFAULT_TIMEZONE)


def run_day(ds: date | str | None = None) -> date:
    """``ds``, or the day before the current run's scheduled start in its deployment's timezone.

    Outside a flow run: yesterday, UTC.
    """
    if ds:
        return ds if isinstance(ds, date) else date.fromisoformat(str(ds))
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    run = ctx.flow_run if ctx else None
    if run is None:
        return day_before(datetime.now(timezone.utc))
    moment = run.expected_start_time or datetime.now(timezone.utc)
    return day_before(moment, deployment_timezone(str(run.deployment_id) if run.deployment_id else None))


# -- names -------------------------------------------------------------------------------
def _parameters() -> dict[str, Any]:
    from prefect.runtime import flow_run

    return dict(flow_run.parameters or {})


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def name_by_day(flow_name: str) -> Callable[[], str]:
    """``flow_run_name`` for a flow of one day (``ds``, defaulting to ``run_day``) or a range (``ds``..``end``)."""

    def name() -> str:
        params = _parameters()
        day = run_day(params.get("ds"))
        end = params.get("end")
        return f"{flow_name} {day}" + (f"..{_iso(end)}" if end and _iso(end) != day.isoformat() else "")

    name.__name__ = f"{flow_name.replace('-', '_')}_run_name"
    return name


def name_by_range(flow_name: str) -> Callable[[], str]:
    """``flow_run_name`` for a flow over ``start``..``end``: ``backfill 2026-01-01..2026-03-31``."""

    def name() -> str:
        params = _parameters()
        return f"{flow_name} {_iso(params.get('start'))}..{_iso(params.get('end'))}"

    name.__name__ = f"{flow_name.replace('-', '_')}_run_name"
    return name


def name_by(template: str, **defaults: Any) -> Callable[[], str]:
    """``flow_run_name`` from a ``str.format`` template of the parameters; ``defaults`` fill a None."""

    def name() -> str:
        params = {k: v for k, v in _parameters().items()}
        for key, value in defaults.items():
            if params.get(key) is None:
                params[key] = value
        return template.format(**params).strip()

    name.__name__ = "run_name"
    return name


def rag_eval_run_name() -> str:
    """``rag-eval prompt v3``, or ``rag-eval production prompt`` when no version is given."""
    version = _parameters().get("prompt_version")
    return f"rag-eval prompt v{version}" if version is not None else "rag-eval production prompt"


def rename_run(name: str) -> None:
    """Rename the current flow run (when its name depends on what the flow resolved, e.g. train's window)."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return
    try:
        with _client() as client_ctx:
            client_ctx.client.set_flow_run_name(ctx.flow_run.id, name)
        ctx.flow_run.name = name
    except Exception as exc:  # a name is a courtesy: never the reason a run fails
        logger.warning("could not rename flow run %s to %r (%s)", ctx.flow_run.id, name, type(exc).__name__)


# -- tags -------------------------------------------------------------------------------
def run_tags(assets: Iterable[str], parameters: Mapping[str, Any], *, by_day: bool) -> set[str]:
    """The tags a run carries: ``asset:<name>`` for each asset, ``ds:<day>`` for a run of one day."""
    tags = {f"asset:{a}" for a in assets}
    if by_day and not (parameters.get("end") and _iso(parameters["end"]) != _iso(parameters.get("ds"))):
        tags.add(f"ds:{run_day(parameters.get('ds')).isoformat()}")
    return tags


class TagRun:
    """``on_running`` hook: add the asset (and day) tags to the run, keeping the ones it has."""

    def __init__(self, assets: tuple[str, ...], by_day: bool) -> None:
        self.assets, self.by_day = assets, by_day
        self.__name__ = "tag_run"

    def __call__(self, flow, flow_run, state) -> None:
        from prefect.context import FlowRunContext

        ctx = FlowRunContext.get()
        params = ctx.parameters if ctx and ctx.parameters is not None else (flow_run.parameters or {})
        wanted = run_tags(self.assets, params, by_day=self.by_day)
        if wanted <= set(flow_run.tags or ()):
            return
        tags = sorted(set(flow_run.tags or ()) | wanted)
        try:
            with _client() as client_ctx:
                client_ctx.client.update_flow_run(flow_run.id, tags=tags)
        except Exception as exc:  # tags are a courtesy: never the reason a run fails
            logger.warning("could not tag flow run %s with %s (%s)", flow_run.id, sorted(wanted), type(exc).__name__)
            return
        flow_run.tags = tags
        if ctx and ctx.flow_run is not None:
            ctx.flow_run.tags = tags


# -- failures -------------------------------------------------------------------------------
def failure_payload(flow_name: str, run_name: str, run_id: str, state_name: str, message: str | None,
                    ui_url: str | None = None) -> dict[str, Any]:
    """The webhook payload of a failed or crashed run (JSON-safe)."""
    link = f"{ui_url.rstrip('/')}/runs/flow-run/{run_id}" if ui_url else None
    return {"flow": flow_name, "run": run_name, "run_id": run_id, "state": state_name,
            "message": " ".join(str(message or "").split())[:1000], "url": link}


def notify_failure(flow, flow_run, state) -> None:
    """``on_failure`` / ``on_crashed`` hook: one message to the ticket webhook, if one is configured."""
    from prefect.settings import get_current_settings

    from infra.clients.webhook import TicketWebhook
    from infra.settings import get_settings

    hook = TicketWebhook.from_settings(get_settings())
    if hook is None:
        return
    payload = failure_payload(flow.name, flow_run.name, str(flow_run.id), state.name, state.message,
                              get_current_settings().ui_url)
    hook.deliver(f"tandem.run.{state.name.lower()}", payload)


def run_hooks(*assets: str, by_day: bool = False) -> dict[str, list]:
    """The hooks every Tandem flow carries: tags when it starts, a webhook message when it fails or crashes.

    Example:
        >>> @flow(name="ingest", flow_run_name=name_by_day("ingest"), **run_hooks(RISK, by_day=True))
    """
    return {"on_running": [TagRun(tuple(assets), by_day)], "on_failure": [notify_failure], "on_crashed": [notify_failure]}


# -- outcome messages (the final state's message) -----------------------------------------
def _interval(figure: Mapping[str, float] | None) -> str:
    if not figure:
        return ""
    return f"{figure['value']:.2f} [{figure['low']:.2f}, {figure['high']:.2f}]"


def train_message(result: Mapping[str, Any]) -> str:
    """``PROMOTE v3 (AUC 0.82 [0.80, 0.84])``, ``HOLD v4: inconclusive (...)``, ``skipped: same partitions as v2 (HOLD)``."""
    version, decision = result.get("version"), result.get("decision") or "not gated"
    if result.get("skipped"):
        return f"skipped: same partitions as v{version} ({decision}{', code ' + str(result['code']) if result.get('code') else ''})"
    auc = _interval(result.get("auc"))
    head = f"{decision} v{version}" + (f" (AUC {auc})" if auc else "")
    if decision == "PROMOTE":
        return head + (" but champion is pinned: not moved" if result.get("pinned") else "")
    why = result.get("code") or result.get("reason") or ""
    text = f"{head}: {why}" if why else head
    approval = result.get("approval") or {}
    if approval.get("outcome") in ("approved", "rejected"):  # a person decided over the HOLD: that is the outcome
        text += f"; {approval['outcome']} by {approval.get('approver')}: champion is v{result.get('champion')}"
    return text


def reindex_message(result: Mapping[str, Any], alias: str = "docs-live") -> str:
    """``docs-live -> docs-v5``, ``up to date: docs-v4``, ``HOLD: docs-v5 failed the retrieval gate``."""
    if result.get("up_to_date"):
        return f"up to date: {alias} is {result.get('collection') or '(unset)'}"
    collection = result.get("collection")
    if result.get("released"):
        return f"{alias} -> {collection}"
    if result.get("pinned"):
        return f"PINNED: {collection} passed the gate, {alias} is pinned"
    return f"HOLD: {collection} failed the retrieval gate; {alias} stays"


def prompt_message(result: Mapping[str, Any]) -> str:
    """``production -> v3``, ``HOLD v3: ...``, ``PINNED v3: ...``."""
    version = result.get("version")
    if result.get("moved"):
        return f"production -> v{version}" + (f" (was v{result['previous']})" if result.get("previous") else "")
    kind = "PINNED" if result.get("pinned") else "HOLD"
    return f"{kind} v{version}: {result.get('message') or ''}".rstrip(": ")


def backfill_message(rows: list[Mapping[str, Any]]) -> str:
    """``12 done, 3 skipped, 0 failed`` (``would run`` on a dry run)."""
    counts = {k: sum(r.get("outcome") == k for r in rows) for k in ("done", "skipped", "failed", "would run")}
    return ", ".join(f"{v} {k}" for k, v in counts.items() if v or k in ("done", "failed")) or "nothing to do"


def ingest_message(result: Mapping[str, Any]) -> str:
    """``2026-03-14: 2,000 rows, 3 quarantined``."""
    return f"{_iso(result.get('ds', ''))}: {result.get('rows') or 0:,} rows, {result.get('quarantined') or 0} quarantined".lstrip(": ")


def score_message(results: list[Mapping[str, Any]]) -> str:
    """``3 day(s) scored, 1 skipped (already scored by this champion)``."""
    skipped = sum(r.get("status") == "skipped" for r in results)
    versions = sorted({str(r.get("model_version")) for r in results if r.get("model_version")})
    by = f" with v{', v'.join(versions)}" if versions else ""
    return f"{len(results) - skipped} day(s) scored{by}, {skipped} skipped (already scored by this champion)"


def nightly_message(result: Mapping[str, Any]) -> str:
    """``2026-03-14 red: 2 ticket change(s), 1 held`` or ``skipped: 2026-03-14 already evaluated``."""
    if result.get("skipped"):
        return f"skipped: {result.get('night')} already evaluated"
    tickets = result.get("tickets") or []
    held = result.get("held") or []
    status = f" {result['status']}" if result.get("status") else ""
    return f"{result.get('night')}{status}: {len(tickets)} ticket change(s)" + (f", {len(held)} held" if held else "")


def remediate_message(result: Mapping[str, Any]) -> str:
    """``ticket #7 retrain: PROMOTE v3 ...`` or ``ticket #7 wait: labels not matured``."""
    return f"ticket #{result.get('ticket_id')} {result.get('action')}: {result.get('reason') or ''}".rstrip(": ")
