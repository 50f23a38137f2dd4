"""Ticket changes as Prefect events (and, when configured, webhook messages).

Each change of a ticket is one event, ``tandem.ticket.<action>`` (opened,
updated, acknowledged, resolved), about the resource
``tandem.ticket.<id>`` whose labels carry the kind, asset and severity, so a
deployment trigger can match on them::

    triggers:
      - type: event
        expect: ["tandem.ticket.opened"]
        match: {"tandem.ticket.kind": "retrain"}
        parameters: {ticket_id: "{{ event.payload.ticket_id }}"}

(Prefect 3.8's server wraps a template that is one ``{{ expression }}`` as
``{"__prefect_kind": "json", "value": {"__prefect_kind": "jinja", "template":
"{{ expression | tojson }}"}}``, see ``_wrap_v1_template`` in
``prefect/server/events/actions.py``, so ``ticket_id`` arrives as an int; a
template with text around the expression arrives as a string.)

The payload is a ``TicketEventPayload`` (validated before it leaves).

Emitting never fails the caller. What Prefect 3.8 does (checked in its
``prefect.events.utilities.emit_event`` and ``EventsWorker``):

- with ``PREFECT_API_URL`` set (a flow run, a worker, ``make serve``), the
  event is queued to a background events worker that sends it over the
  server's websocket; a server that does not answer is retried and logged
  there, never raised here;
- with no URL and no API key (a plain script), Prefect starts its ephemeral
  server as a subprocess on first emit (about 10 s here) and sends to it:
  the event lands in the local Prefect database that ``make ui`` serves;
- any other error inside ``emit_event`` is logged by Prefect and it returns
  None; an oversized event raises ``EventTooLarge``, which this module
  catches and logs.

Events are sent asynchronously: a short-lived process (the CLI) calls
``flush_events`` before it exits. The ``tandem tickets`` commands emit only to
a server that answers (``emit_if_server``), so an ack without one costs
nothing and says so; the ticket history in the ops database holds every
change either way.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.monitoring import TICKET_KINDS

if TYPE_CHECKING:
    from prefect.events import Event

    from infra.clients.webhook import TicketWebhook, WebhookResult
    from infra.stores.tickets import Ticket

logger = logging.getLogger(__name__)

TicketAction = Literal["opened", "updated", "acknowledged", "resolved"]
ACTIONS: tuple[str, ...] = ("opened", "updated", "acknowledged", "resolved")
EVENT_PREFIX = "tandem.ticket"
MAX_EVIDENCE_ITEMS = 20  # the newest; the full evidence stays on the ticket (Prefect caps an event's size)


class TicketEventPayload(BaseModel):
    """What a ticket event carries; automations read it as ``event.payload``.

    ``ticket_id`` is what a triggered flow needs; the rest lets a webhook or
    the UI say what happened without reading the ops database.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ticket_id: int = Field(ge=1)
    action: TicketAction
    kind: Literal["retrain", "re-prompt", "re-index", "cost-review", "ops"]
    asset: str = Field(min_length=1)
    status: Literal["open", "acknowledged", "resolved"]
    severity: Literal["medium", "high"]
    title: str
    count: int = Field(ge=1)
    opened_night: date
    last_night: date
    suggested_action: str
    evidence: list[dict[str, Any]] = []  # the newest entries (figures against levels)
    remedy: dict[str, Any] | None = None
    actor: str | None = None
    note: str | None = None
    updated_at: datetime


assert set(TicketEventPayload.model_fields["kind"].annotation.__args__) == set(TICKET_KINDS)  # one list of kinds


def event_name(action: str) -> str:
    """``tandem.ticket.opened`` etc.; a ValueError for an unknown action."""
    if action not in ACTIONS:
        raise ValueError(f"unknown ticket action {action!r}; known: {', '.join(ACTIONS)}")
    return f"{EVENT_PREFIX}.{action}"


def ticket_payload(action: TicketAction, ticket: Ticket, *, actor: str | None = None, note: str | None = None) -> TicketEventPayload:
    """The validated payload of one change of ``ticket``."""
    return TicketEventPayload(
        ticket_id=ticket.id, action=action, kind=ticket.kind, asset=ticket.asset, status=ticket.status,
        severity=ticket.severity, title=ticket.title, count=ticket.count, opened_night=ticket.opened_night,
        last_night=ticket.last_night, suggested_action=ticket.suggested_action,
        evidence=list(ticket.evidence[-MAX_EVIDENCE_ITEMS:]), remedy=ticket.remedy, actor=actor, note=note,
        updated_at=ticket.updated_at,
    )


def ticket_resource(ticket: Ticket) -> dict[str, str]:
    """The event's resource: id ``tandem.ticket.<id>`` and labels a trigger's ``match`` can use."""
    return {
        "prefect.resource.id": f"{EVENT_PREFIX}.{ticket.id}",
        "prefect.resource.name": f"{ticket.kind} {ticket.asset} #{ticket.id}",
        "tandem.ticket.kind": ticket.kind,
        "tandem.ticket.asset": ticket.asset,
        "tandem.ticket.severity": ticket.severity,
        "tandem.ticket.status": ticket.status,
    }


def emit_ticket_event(action: TicketAction, ticket: Ticket, *, actor: str | None = None, note: str | None = None) -> Event | None:
    """Emit ``tandem.ticket.<action>`` for ``ticket`` to the Prefect API in the current settings.

    Never raises (see the module docstring for what Prefect does without a server).

    Returns:
        The event Prefect queued, or None when nothing was sent.
    """
    try:
        from prefect.events import emit_event

        payload = ticket_payload(action, ticket, actor=actor, note=note)
        return emit_event(event_name(action), resource=ticket_resource(ticket), payload=payload.model_dump(mode="json"))
    except Exception as exc:  # EventTooLarge, a bad ticket: the ticket is stored, the event is a notification
        logger.warning("ticket %s: event %s.%s not emitted (%s: %s)", getattr(ticket, "id", "?"), EVENT_PREFIX, action,
                       type(exc).__name__, exc)
        return None


def flush_events(timeout_s: float = 10.0) -> None:
    """Wait (up to ``timeout_s``) until queued events are sent: call before a short-lived process exits."""
    try:
        from prefect.events.worker import EventsWorker

        EventsWorker.drain_all(timeout=timeout_s)
    except Exception as exc:
        logger.warning("ticket events: flushing failed (%s)", type(exc).__name__)


def emit_if_server(action: TicketAction, ticket: Ticket, *, actor: str | None = None, note: str | None = None,
                   probe_timeout_s: float = 2.0) -> str:
    """Emit and flush, only when a Prefect server answers (for the CLI).

    The server is ``PREFECT_API_URL`` or the local one ``make ui`` starts
    (``infra.runs.find_api_url``); without one, nothing is started.

    Returns:
        One line saying what happened, for the CLI to print.
    """
    from infra.masking import mask_url
    from infra.runs import NotStarted, find_api_url

    try:
        api_url = find_api_url(timeout_s=probe_timeout_s)
    except NotStarted:
        return f"{event_name(action)} not emitted: no Prefect server answers (the ticket's history holds the change)"
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        event = emit_ticket_event(action, ticket, actor=actor, note=note)
        flush_events()
    if event is None:
        return f"{event_name(action)} not emitted (see the warning above)"
    return f"{event_name(action)} emitted to {mask_url(api_url)}"


def publish(action: TicketAction, ticket: Ticket, *, actor: str | None = None, note: str | None = None,
            webhook: TicketWebhook | None = None) -> WebhookResult | None:
    """Emit the Prefect event and deliver the webhook message (if any) for one change; never raises.

    Returns:
        The webhook's outcome, or None without a webhook.
    """
    emit_ticket_event(action, ticket, actor=actor, note=note)
    if webhook is None:
        return None
    try:
        payload = ticket_payload(action, ticket, actor=actor, note=note).model_dump(mode="json")
    except Exception as exc:
        logger.warning("ticket %s: webhook message not built (%s)", ticket.id, type(exc).__name__)
        return None
    return webhook.deliver(event_name(action), payload)
