"""A ticket's remedy against the stores: read what ``models.remedy`` needs, record what the remedy did.

The remedy itself runs through the same flows and gates as any change
(``flows/remediate.py`` calls ``train``, ``reindex`` or ``prompt-release``):
a challenger must pass the champion/challenger gate, a new collection the
retrieval gate, a staging prompt the release gate. A pinned pointer is never
moved (those flows record the verdict and leave it). The ticket records the
plan and the verdict; it resolves itself later, in the nightly evaluation,
when the remedy promoted and the night's checks of its kind are green.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from models.remedy import RemedyPlan, ScheduledRemedy, plan_remedy, schedule_for
from infra.settings import TandemSettings

LABELS_DATASET = "labels"  # tasks.ingest.LABELS (infra imports no tasks)


def _tickets(settings: TandemSettings):
    from infra.factory import ops_engine
    from infra.stores.tickets import TicketStore

    return TicketStore(ops_engine(settings.resolved_ops_db_url))


def plan_for_ticket(settings: TandemSettings, ticket_id: int, night: date | None = None) -> RemedyPlan:
    """Tonight's plan for a ticket (``models.remedy.plan_remedy``) from the ledger and the prompt registry.

    Args:
        settings: the stores.
        ticket_id: the ticket.
        night: the night acted for; default the ticket's last failing night.

    Raises:
        TicketNotFound: no such ticket.
    """
    ticket = _tickets(settings).get(ticket_id)
    night = night or ticket.last_night
    data = ticket.to_dict()
    m = settings.monitoring
    if ticket.kind == "retrain":
        from infra.factory import build_partition_ledger, build_source

        delay = build_source(settings).label_delay_days
        labels = build_partition_ledger(settings).list(LABELS_DATASET, end=night, status="ok")
        matured = {p.ds - timedelta(days=delay) for p in labels}
        return plan_remedy(data, night, matured_days=matured, label_delay_days=delay,
                           min_matured_days=m.retrain_min_matured_days, retry_nights=m.retrain_retry_nights)
    if ticket.kind == "re-prompt":
        from infra.factory import build_prompt_registry

        registry = build_prompt_registry(settings)
        return plan_remedy(data, night, staging_prompt=_int(registry.alias_version(settings.prompt.staging_alias)),
                           production_prompt=_int(registry.alias_version(settings.prompt.production_alias)))
    return plan_remedy(data, night)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _retrain_outcome(plan: RemedyPlan, result: dict[str, Any]) -> dict[str, Any]:
    promoted = result.get("decision") == "PROMOTE" and str(result.get("champion")) == str(result.get("version")) and not result.get("pinned")
    return {
        "action": "retrain", "state": f"retrained: v{result.get('version')} {result.get('decision')}", "due": None,
        "version": result.get("version"), "decision": result.get("decision"),
        "reason": result.get("reason"), "promoted": promoted, "pinned": bool(result.get("pinned")),
        "train_end": plan.train_end.isoformat() if plan.train_end else None,
        "outcome": f"v{result.get('version')} {result.get('decision')}" + (" (pinned: champion not moved)" if result.get("pinned") else ""),
        "summary": f"retrained on the window ending {plan.train_end}: {result.get('message') or result.get('decision')}",
        "labels": plan.labels,
    }


def _reindex_outcome(plan: RemedyPlan, result: dict[str, Any]) -> dict[str, Any]:
    released = bool(result.get("released"))
    if result.get("up_to_date"):
        summary = f"index already up to date: docs-live -> {result.get('collection')}"
    else:
        summary = f"rebuilt {result.get('collection')}: {result.get('outcome')}"
    return {"action": "reindex", "state": f"reindexed: {result.get('outcome') or 'up to date'}", "collection": result.get("collection"), "outcome": result.get("outcome") or "up to date",
            "promoted": released or bool(result.get("up_to_date")), "pinned": bool(result.get("pinned")),
            "done_for": f"reindex:{plan.night.isoformat()}", "summary": summary}


def _prompt_outcome(plan: RemedyPlan, result: dict[str, Any]) -> dict[str, Any]:
    return {"action": "release-prompt", "state": f"staging prompt v{plan.prompt_version} gated", "version": plan.prompt_version, "promoted": bool(result.get("moved")),
            "pinned": bool(result.get("pinned")), "gate": result.get("gate"),
            "done_for": f"release-prompt:{plan.prompt_version}", "summary": result.get("message") or ""}


def create_scheduled_run(deployment: str, when: ScheduledRemedy) -> str:
    """A scheduled flow run of ``deployment`` ("flow/deployment") for ``when``; the same run for the same key.

    The Prefect server returns the existing run for a deployment and
    idempotency key, so a rerun (or the next night's ticket update) finds the
    run already scheduled instead of adding one.

    Returns:
        The flow run's id.
    """
    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    with get_client(sync_client=True) as client:
        target = client.read_deployment_by_name(deployment)
        run = client.create_flow_run_from_deployment(
            target.id, parameters=when.parameters(), state=Scheduled(scheduled_time=when.scheduled_time),
            idempotency_key=when.idempotency_key, tags=["tandem-remedy"],
        )
    return str(run.id)


def schedule_retrain(plan: RemedyPlan, deployment: str | None) -> dict[str, Any]:
    """Schedule a waiting retrain's remediation for the night enough labels will have matured.

    Args:
        plan: tonight's plan; only a "wait" plan schedules anything.
        deployment: the deployment this remediation runs in ("remediate/remediate"),
            None outside one (the main job's replay calls the flows directly):
            nothing is scheduled and the ticket says so.

    Returns:
        What to record on the ticket's remedy ({} for a plan that waits for nothing).
    """
    when = schedule_for(plan)
    if when is None:
        return {}
    if deployment is None:
        return {"scheduled_for": when.night.isoformat(), "scheduled_run_id": None,
                "schedule": (f"not scheduled: this remediation ran outside a Prefect deployment (the main job's replay), "
                             f"which re-runs the remedy each night; the retrain starts on the first night from {when.night} "
                             f"that finds the labels matured")}
    if when.scheduled_time <= datetime.now(timezone.utc):
        # A due date already past (a replay of past nights, a late run): a run scheduled for it would start at
        # once and race the run that is replaying; the next remediation of this ticket retrains instead.
        return {"scheduled_for": when.night.isoformat(), "scheduled_run_id": None,
                "schedule": (f"not scheduled: the due night {when.night} has already passed; the next remediation "
                             f"of this ticket retrains once the labels have matured")}
    run_id = create_scheduled_run(deployment, when)
    return {"scheduled_for": when.night.isoformat(), "scheduled_run_id": run_id,
            "schedule": (f"retrain scheduled: {deployment} flow run {run_id} for the night {when.night}, "
                         f"starting {when.scheduled_time:%Y-%m-%d %H:%M} UTC")}


def record_outcome(
    settings: TandemSettings,
    plan: RemedyPlan,
    result: dict[str, Any] | None,
    *,
    flow_run_id: str | None = None,
    schedule: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Attach the plan (and the gate's verdict, when a remedy ran) to the ticket.

    A "none" plan already recorded with the same reason writes nothing (the
    nightly ``updated`` events re-run the remedy; the history stays readable).

    Args:
        settings: the stores.
        plan: tonight's plan.
        result: what the remedy's flow returned (None when nothing ran).
        flow_run_id: the remediation's flow run.
        schedule: a waiting retrain's scheduled run (``schedule_retrain``), recorded with it.

    Returns:
        The remedy as stored on the ticket.
    """
    store = _tickets(settings)
    if plan.action == "wait":
        remedy = {"action": "wait", "state": "waiting for labels", "promoted": False, "summary": plan.reason,
                  "labels": plan.labels, "due": str(plan.labels.get("due")), **(schedule or {})}
        if schedule and schedule.get("schedule"):
            remedy["summary"] = f"{plan.reason}; {schedule['schedule']}"
    elif plan.action == "retrain":
        remedy = _retrain_outcome(plan, result or {})
    elif plan.action == "reindex":
        remedy = _reindex_outcome(plan, result or {})
    elif plan.action == "release-prompt":
        remedy = _prompt_outcome(plan, result or {})
    else:
        current = store.get(plan.ticket_id).remedy or {}
        if current.get("summary") == plan.reason or current.get("note") == plan.reason:
            return current
        remedy = {"note": plan.reason}
    if flow_run_id:
        remedy["flow_run_id"] = flow_run_id
    remedy["night"] = plan.night.isoformat()
    ticket = store.attach_remedy(plan.ticket_id, remedy, note=remedy.get("summary") or plan.reason)
    return ticket.remedy or remedy
