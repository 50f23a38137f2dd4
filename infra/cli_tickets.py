"""``tandem tickets``: list, show, acknowledge and resolve the nightly loop's tickets.

Registered on the main app in ``infra.cli``. Commands act on the ops
database directly (like the pointer commands) and import what they use
inside their body, so ``tandem --help`` loads neither SQLAlchemy nor Prefect.
Acknowledging or resolving also emits ``tandem.ticket.acknowledged`` /
``.resolved`` to the Prefect server when one answers, and posts to the
ticket webhook when one is configured.

Exit codes: 0 done, 2 bad input (an unknown id, a change the ticket's status
does not allow: one line on stderr).
"""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

tickets_app = typer.Typer(
    help="Tickets the nightly evaluation opened (retrain, re-prompt, re-index, cost-review, ops).",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)

IdArg = Annotated[int, typer.Argument(help="The ticket id (`tandem tickets list` shows them).")]
ActorOpt = Annotated[Optional[str], typer.Option(help="Who is acting (default: TANDEM_ACTOR or your OS user).")]


def _usage_error(message: str) -> None:
    err.print("[red]error:[/] ", end="")
    err.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _store():
    from infra.factory import ops_engine
    from infra.settings import get_settings
    from infra.stores.tickets import TicketStore

    return TicketStore(ops_engine(get_settings().resolved_ops_db_url))


def _notify(action: str, ticket, actor: str, note: str | None) -> None:
    """The Prefect event (when a server answers) and the webhook message (when configured)."""
    from infra.clients.webhook import TicketWebhook
    from infra.monitoring.events import emit_if_server, event_name, ticket_payload
    from infra.settings import get_settings

    console.print(f"[dim]{emit_if_server(action, ticket, actor=actor, note=note)}[/]", soft_wrap=True)
    webhook = TicketWebhook.from_settings(get_settings())
    if webhook is not None:
        result = webhook.deliver(event_name(action), ticket_payload(action, ticket, actor=actor, note=note).model_dump(mode="json"))
        console.print(f"[dim]webhook: {'delivered' if result.delivered else 'not delivered'} "
                      f"after {result.attempts} attempt(s)[/]")


@tickets_app.command("list")
def list_tickets(
    status: Annotated[Optional[str], typer.Option(help="open, acknowledged, resolved, or active (open or acknowledged).")] = None,
    kind: Annotated[Optional[str], typer.Option(help="retrain, re-prompt, re-index, cost-review or ops.")] = None,
    asset: Annotated[Optional[str], typer.Option(help="risk-scorer or rag.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List tickets, newest first."""
    from models.monitoring import ASSETS, TICKET_KINDS
    from infra.stores.tickets import TICKET_STATUSES

    if status is not None and status not in (*TICKET_STATUSES, "active"):
        _usage_error(f"unknown status {status!r}; known: {', '.join(TICKET_STATUSES)}, active")
    if kind is not None and kind not in TICKET_KINDS:
        _usage_error(f"unknown kind {kind!r}; known: {', '.join(TICKET_KINDS)}")
    if asset is not None and asset not in ASSETS:
        _usage_error(f"unknown asset {asset!r}; known: {', '.join(ASSETS)}")
    found = _store().list(status=status, kind=kind, asset=asset)
    if as_json:
        console.print_json(json.dumps([t.to_dict() for t in found]))
        return
    if not found:
        console.print("no tickets" + (" matching the filters" if status or kind or asset else ""))
        return
    table = Table("#", "kind", "asset", "status", "severity", "nights", "opened", "last", "title")
    for t in found:
        table.add_row(str(t.id), t.kind, t.asset, t.status, t.severity, str(t.count), str(t.opened_night),
                      str(t.last_night), t.title[:90])
    console.print(table)


@tickets_app.command("show")
def show(ticket_id: IdArg, as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """One ticket: evidence (figures against levels), suggested action, remedy and history."""
    from infra.stores.tickets import TicketNotFound

    store = _store()
    try:
        ticket = store.get(ticket_id)
        history = store.history(ticket_id)
    except TicketNotFound as exc:
        _usage_error(str(exc))
    if as_json:
        console.print_json(json.dumps({"ticket": ticket.to_dict(), "history": [h.to_dict() for h in history]}))
        return
    console.print(f"[bold]Ticket #{ticket.id}[/] {ticket.kind} · {ticket.asset} · {ticket.status} · severity {ticket.severity}",
                  soft_wrap=True)
    console.print(ticket.title, markup=False, soft_wrap=True)
    console.print(f"opened {ticket.opened_night} · last failing night {ticket.last_night} · {ticket.count} night(s)"
                  + (f" · acknowledged by {ticket.acknowledged_by}" if ticket.acknowledged_by else "")
                  + (f" · resolved {ticket.resolved_night} by {ticket.resolved_by}: {ticket.resolution}" if ticket.resolved_by else ""),
                  markup=False, soft_wrap=True)
    console.print("\n[bold]Evidence[/]")
    for e in ticket.evidence:
        console.print(f"  {e.get('night', '')}  {e.get('summary', e)}", markup=False, soft_wrap=True)
    console.print("\n[bold]Suggested action[/]")
    console.print(f"  {ticket.suggested_action}", markup=False, soft_wrap=True)
    if ticket.remedy:
        console.print("\n[bold]Remedy[/]")
        console.print_json(json.dumps(ticket.remedy, default=str))
    console.print("\n[bold]History[/]")
    table = Table("when (UTC)", "action", "actor", "night", "note")
    for h in history:
        table.add_row(f"{h.at:%Y-%m-%d %H:%M:%S}", h.action, h.actor, str(h.night or ""), (h.note or "")[:100])
    console.print(table)


@tickets_app.command("ack")
def ack(
    ticket_id: IdArg,
    note: Annotated[Optional[str], typer.Option("--note", "-n", help="What you are doing about it: recorded in its history.")] = None,
    actor: ActorOpt = None,
) -> None:
    """Acknowledge a ticket: someone is on it (it stays the open ticket of its kind and asset)."""
    from infra.settings import get_settings
    from infra.stores.ledger import default_actor
    from infra.stores.tickets import IllegalTransition, TicketNotFound

    who = default_actor(actor or get_settings().actor)
    try:
        ticket = _store().ack(ticket_id, who, note)
    except (TicketNotFound, IllegalTransition) as exc:
        _usage_error(str(exc))
    console.print(f"[green]ticket #{ticket.id}[/] ({ticket.kind} {ticket.asset}) acknowledged by {who}")
    _notify("acknowledged", ticket, who, note)


@tickets_app.command("resolve")
def resolve(
    ticket_id: IdArg,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why it is resolved: recorded in its history.")],
    actor: ActorOpt = None,
) -> None:
    """Resolve a ticket by hand; its kind and asset may open a new one after the policy's cool-down."""
    from infra.settings import get_settings
    from infra.stores.ledger import default_actor
    from infra.stores.tickets import IllegalTransition, TicketNotFound

    who = default_actor(actor or get_settings().actor)
    try:
        ticket = _store().resolve(ticket_id, who, reason)
    except (TicketNotFound, IllegalTransition, ValueError) as exc:
        _usage_error(str(exc))
    console.print(f"[green]ticket #{ticket.id}[/] ({ticket.kind} {ticket.asset}) resolved by {who}: {reason}",
                  soft_wrap=True)
    _notify("resolved", ticket, who, reason)
