"""What a ticket's remedy should do tonight: the pure decision behind ``flows/remediate.py``.

- ``retrain`` is label-aware: retraining on old labels cannot learn a shift
  whose labels have not matured. The shifted days are those since the first
  red night behind the ticket; a day's labels are matured when its labels
  partition (``label_delay_days`` later) is in the ledger by tonight. The
  retrain runs once ``min_matured_days`` of them (or all, when fewer shifted
  days exist) have matured; until then the ticket records "waiting for labels:
  N of M days matured" and the night the retrain is due.
- ``re-index`` rebuilds the index; the retrieval gate decides the alias move.
- ``re-prompt`` cannot write a prompt: with a ``staging`` prompt, its release
  gate runs; without one, a person has to write it (the ticket keeps the
  failing golden questions and request ids as evidence).
- ``cost-review`` and ``ops`` have no automatic remedy: a person decides.

A remedy already done for the same state is not repeated (a rerun, or the
next night's ``updated`` event, finds it on the ticket's remedy): a retrain
the gate held is retried only after ``retry_nights`` more nights of labels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal

Action = Literal["retrain", "reindex", "release-prompt", "wait", "none"]
# When a waiting retrain is scheduled on the day after its due night: after that day's ingest (01:30 UTC,
# which lands the due night's labels partition) and nightly evaluation (02:30 UTC) in prefect.yaml.
REMEDY_HOUR_UTC = 3


@dataclass(frozen=True)
class RemedyPlan:
    """What to do for one ticket tonight, and why."""

    ticket_id: int
    kind: str
    action: Action
    reason: str
    night: date
    train_end: date | None = None  # retrain: the last application day of the training window
    prompt_version: int | None = None  # release-prompt: the staging version to gate
    labels: dict[str, Any] = field(default_factory=dict)  # retrain: matured / total / due night

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["night"] = self.night.isoformat()
        out["train_end"] = self.train_end.isoformat() if self.train_end else None
        return out


@dataclass(frozen=True)
class ScheduledRemedy:
    """A remediation run to schedule for the night a waiting retrain's labels will have matured.

    Attributes:
        ticket_id: the ticket.
        night: the night the run acts for (the due night: ``remediate(ticket_id, night)``).
        scheduled_time: when it starts (UTC): the day after ``night`` at ``REMEDY_HOUR_UTC``.
        idempotency_key: one per ticket and due night, so reruns and the nightly
            ``updated`` events schedule the same run, never a second one.
    """

    ticket_id: int
    night: date
    scheduled_time: datetime
    idempotency_key: str

    def parameters(self) -> dict[str, Any]:
        return {"ticket_id": self.ticket_id, "night": self.night.isoformat()}


def schedule_for(plan: RemedyPlan, *, hour_utc: int = REMEDY_HOUR_UTC) -> ScheduledRemedy | None:
    """The run a waiting retrain schedules for its due night; None for any other plan."""
    due = plan.labels.get("due") if plan.action == "wait" else None
    if not due:
        return None
    due = date.fromisoformat(due) if isinstance(due, str) else due
    when = datetime.combine(due + timedelta(days=1), time(hour_utc), tzinfo=timezone.utc)
    return ScheduledRemedy(plan.ticket_id, due, when, f"tandem-remedy-{plan.ticket_id}-{due.isoformat()}")


def shift_start(evidence: list[dict[str, Any]], opened_night: date) -> date:
    """The first day of the shift behind a ticket: its earliest red night, minus the streak that led to it."""
    starts = []
    for e in evidence:
        night = e.get("night")
        if not night:
            continue
        day = date.fromisoformat(night) if isinstance(night, str) else night
        starts.append(day - timedelta(days=max(int(e.get("streak") or 1), 1) - 1))
    return min(starts, default=opened_night)


def label_readiness(
    shift_first: date,
    night: date,
    matured_days: set[date],
    *,
    min_matured_days: int,
    label_delay_days: int,
) -> dict[str, Any]:
    """How many shifted application days have matured labels by ``night``.

    Args:
        shift_first: the first shifted application day.
        night: tonight (the newest application day).
        matured_days: application days whose labels partition is in the ledger by tonight.
        min_matured_days: matured shifted days a retrain needs.
        label_delay_days: the source's label delay.

    Returns:
        ``matured`` (N), ``total`` (M shifted days so far), ``needed``,
        ``ready`` and ``due`` (the night enough labels will have matured).
    """
    days = [shift_first + timedelta(days=i) for i in range((night - shift_first).days + 1)]
    matured = sum(1 for d in days if d in matured_days)
    needed = max(1, min(min_matured_days, len(days)))
    due = shift_first + timedelta(days=needed - 1 + label_delay_days)
    return {
        "matured": matured, "total": len(days), "needed": needed, "ready": matured >= needed,
        "due": max(due, night) if matured < needed else night,
        "shift_start": shift_first.isoformat(),
    }


def plan_remedy(
    ticket: dict[str, Any],
    night: date,
    *,
    matured_days: set[date] = frozenset(),
    label_delay_days: int = 0,
    min_matured_days: int = 7,
    retry_nights: int = 7,
    staging_prompt: int | None = None,
    production_prompt: int | None = None,
) -> RemedyPlan:
    """Decide tonight's remedy for one open ticket.

    Args:
        ticket: the stored ticket as a dict (id, kind, status, evidence, opened_night, remedy).
        night: tonight.
        matured_days: application days with matured labels by tonight (``retrain``).
        label_delay_days: the source's label delay (``retrain``).
        min_matured_days: matured shifted days a retrain needs.
        retry_nights: after a retrain the gate did not promote, nights of new
            matured labels before the next one (no retrain every night).
        staging_prompt: the prompt version behind the ``staging`` alias, if any (``re-prompt``).
        production_prompt: the version behind ``production`` (a staging equal to it is nothing new).

    Returns:
        The plan; ``action`` "none" when there is nothing to do (closed ticket,
        a kind without automatic remedy, or the remedy already done for this state).
    """
    tid, kind = int(ticket["id"]), ticket["kind"]
    remedy = ticket.get("remedy") or {}
    opened = ticket["opened_night"]
    opened = date.fromisoformat(opened) if isinstance(opened, str) else opened
    if ticket.get("status") not in ("open", "acknowledged"):
        return RemedyPlan(tid, kind, "none", f"ticket #{tid} is {ticket.get('status')}", night)
    if kind == "retrain":
        first = shift_start(list(ticket.get("evidence") or []), opened)
        labels = label_readiness(first, night, matured_days, min_matured_days=min_matured_days, label_delay_days=label_delay_days)
        if not labels["ready"]:
            return RemedyPlan(tid, kind, "wait", (
                f"waiting for labels: {labels['matured']} of {labels['total']} shifted days matured "
                f"({labels['needed']} needed); retrain due on {labels['due']}"), night, labels=labels)
        train_end = night - timedelta(days=label_delay_days)
        last = remedy.get("train_end")
        if last and (train_end - date.fromisoformat(last)).days < retry_nights:
            return RemedyPlan(tid, kind, "none", (
                f"retrained on the window ending {last} ({remedy.get('outcome') or 'see the ticket'}); the next "
                f"retrain waits for {retry_nights} more nights of matured labels"), night, labels=labels)
        return RemedyPlan(tid, kind, "retrain", (
            f"{labels['matured']} of {labels['total']} shifted days have matured labels: retrain on the window "
            f"ending {train_end}; the challenger must pass the gate"), night, train_end=train_end, labels=labels)
    if kind == "re-index":
        if remedy.get("done_for") == f"reindex:{night.isoformat()}":
            return RemedyPlan(tid, kind, "none", f"already reindexed for {night}", night)
        return RemedyPlan(tid, kind, "reindex", "rebuild the index; the retrieval gate decides the docs-live move", night)
    if kind == "re-prompt":
        if staging_prompt is None or staging_prompt == production_prompt:
            return RemedyPlan(tid, kind, "none", (
                "a ticket cannot write a prompt: register a fixed prompt (`tandem prompts register FILE -m ...` "
                "points `staging` at it); its release gate then runs"), night)
        if remedy.get("done_for") == f"release-prompt:{staging_prompt}":
            return RemedyPlan(tid, kind, "none", f"staging prompt v{staging_prompt} was already gated", night)
        return RemedyPlan(tid, kind, "release-prompt", f"run the release gate for staging prompt v{staging_prompt}",
                          night, prompt_version=staging_prompt)
    return RemedyPlan(tid, kind, "none", f"a {kind} ticket has no automatic remedy: on-call decides", night)
