"""``tandem pointers``: the pointer ledger (every move, who, why, pins) and ``tandem pointers verify``.

Registered on the main app in ``infra.cli``. Both read the ops database
directly and import what they use inside their body.

Exit codes: 0 done (``verify``: the chain is intact), 1 ``verify`` found a
broken chain (the first broken row is named on stderr), 2 bad input.
"""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

pointers_app = typer.Typer(
    help="The pointer ledger: every move with who, why and when; `verify` checks its hash chain.",
    invoke_without_command=True,
    no_args_is_help=False,
)
console = Console()
err = Console(stderr=True)


def _error(message: str, code: int) -> None:
    # soft_wrap: one line however long (greppable); markup off for the message, which may hold brackets.
    err.print("[red]error:[/] ", end="")
    err.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@pointers_app.callback()
def pointers(
    ctx: typer.Context,
    pointer: Annotated[Optional[str], typer.Option(help="Only this pointer: model, prompt, index or a ledger name.")] = None,
    limit: Annotated[int, typer.Option(help="How many moves, newest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the pointer ledger: every move with who, why and when, and which pointers a rollback pinned."""
    if ctx.invoked_subcommand is not None:
        return
    from infra.factory import build_pointer_ledger
    from infra.pointers import resolve_pointer
    from infra.settings import get_settings

    settings = get_settings()
    ledger = build_pointer_ledger(settings)
    if pointer is not None:
        try:  # model / prompt / index, or a ledger name; a typo is an error, not an empty table
            pointer = resolve_pointer(settings, pointer)
        except ValueError as exc:
            if not ledger.history(pointer, limit=1):  # a name from older settings still has its history
                _error(str(exc), 2)
    moves = ledger.history(pointer, limit=limit)
    pins = [p for p in ledger.pins() if pointer is None or p.pointer == pointer]
    if as_json:
        console.print_json(json.dumps({"pins": [p.to_dict() for p in pins], "moves": [m.__dict__ for m in moves]}, default=str))
        return
    for p in pins:
        kind = p.pointer.split(":", 1)[0]
        console.print(
            f"[yellow]PINNED[/] {p.pointer} since {p.since:%Y-%m-%d %H:%M} by {p.actor} ({p.reason}; move #{p.move_id}): "
            f"gates record verdicts but do not move it; `tandem unpin {kind} --reason ...` lifts it",
            soft_wrap=True,
        )
    table = Table("#", "when (UTC)", "pointer", "old", "new", "actor", "reason")
    for m in moves:
        table.add_row(str(m.id), f"{m.moved_at:%Y-%m-%d %H:%M:%S}", m.pointer, str(m.old_value), str(m.new_value), m.actor, m.reason[:80])
    console.print(table)


@pointers_app.command("verify")
def verify() -> None:
    """Check the ledger's hash chain: every row matches its hash and links to the row before it."""
    from infra.factory import build_pointer_ledger
    from infra.settings import get_settings

    check = build_pointer_ledger(get_settings()).verify_chain()
    if not check.intact:
        _error(f"pointer ledger chain broken at row #{check.broken_id}: {check.problem}", 1)
    console.print(f"{check.rows} rows, chain intact")
