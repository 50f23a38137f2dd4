"""``tandem``: the command line for analysts and on-call.

Pointer moves (rollback) and ledger reads act directly on the stores. Work
(ingest, backfill, train, score) is started as runs of the Prefect deployments
so it shows in the Prefect UI like any scheduled run; start ``make serve``
(or a worker for the work pool in ``prefect.yaml``) to execute them.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from infra.settings import get_settings

app = typer.Typer(
    help="Tandem: run the risk scorer's lifecycle (and later the RAG assistant) as Prefect flows.",
    no_args_is_help=True,
    add_completion=False,
)
rollback_app = typer.Typer(help="Move a live pointer back to its previous value (recorded in the pointer ledger).", no_args_is_help=True)
app.add_typer(rollback_app, name="rollback")
console = Console()
err = Console(stderr=True)

ReasonOpt = Annotated[str, typer.Option("--reason", "-r", help="Why: recorded in the pointer ledger and shown to on-call.")]
ActorOpt = Annotated[Optional[str], typer.Option(help="Who is acting (default: TANDEM_ACTOR or your OS user).")]


def _fail(message: str) -> None:
    err.print(f"[red]error:[/] {message}")
    raise typer.Exit(1)


@rollback_app.command("model")
def rollback_model(reason: ReasonOpt = "manual rollback", actor: ActorOpt = None) -> None:
    """Point `champion` back at the version it had before its last move (seconds, no redeploy)."""
    from infra.pointers import rollback_champion
    from infra.stores.ledger import NothingToRollBack

    settings = get_settings()
    try:
        move = rollback_champion(settings, reason=reason, actor=actor)
    except NothingToRollBack as exc:
        _fail(str(exc))
    console.print(
        f"[green]{move.pointer}[/]: v{move.old_value} -> v{move.new_value} "
        f"(move #{move.id} by {move.actor}: {move.reason})"
    )


@app.command()
def pointers(
    pointer: Annotated[Optional[str], typer.Option(help="Only this pointer, e.g. model:risk-scorer@champion.")] = None,
    limit: Annotated[int, typer.Option(help="How many moves, newest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the pointer ledger: every move with who, why and when."""
    from infra.factory import build_pointer_ledger

    moves = build_pointer_ledger(get_settings()).history(pointer, limit=limit)
    if as_json:
        console.print_json(json.dumps([m.__dict__ for m in moves], default=str))
        return
    table = Table("#", "when (UTC)", "pointer", "old", "new", "actor", "reason")
    for m in moves:
        table.add_row(str(m.id), f"{m.moved_at:%Y-%m-%d %H:%M:%S}", m.pointer, str(m.old_value), str(m.new_value), m.actor, m.reason[:80])
    console.print(table)


@app.command()
def partitions(
    dataset: Annotated[Optional[str], typer.Option(help="applications, labels, predictions, quarantine/applications.")] = None,
    status: Annotated[Optional[str], typer.Option(help="ok or failed.")] = None,
    start: Annotated[Optional[str], typer.Option(help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[Optional[str], typer.Option(help="Last day, YYYY-MM-DD.")] = None,
) -> None:
    """Show the partition ledger: rows, content hash, status and error of each partition."""
    from infra.factory import build_partition_ledger

    records = build_partition_ledger(get_settings()).list(
        dataset, start=_day(start) if start else None, end=_day(end) if end else None, status=status
    )
    table = Table("dataset", "ds", "status", "rows", "quarantined", "hash", "error")
    for r in records:
        table.add_row(r.dataset, r.ds.isoformat(), r.status, str(r.row_count or ""), str(r.quarantined_count or ""),
                      (r.content_hash or "")[:12], (r.error or "")[:80])
    console.print(table)
    console.print(f"{len(records)} partition(s)")


@app.command()
def champion() -> None:
    """Show the champion version, its test metrics and the gate verdict that promoted it."""
    from infra.factory import build_registry

    settings = get_settings()
    registry = build_registry(settings)
    version = registry.alias_version(settings.champion_alias)
    if version is None:
        _fail(f"no {settings.champion_alias} for {settings.model_name} yet: run the train flow")
    mv = registry.version(version)
    metrics = registry.client.get_run(mv.run_id).data.metrics
    console.print(f"[bold]{settings.model_name} v{version}[/] (run {mv.run_id})")
    console.print(f"gate: {mv.tags.get('gate.decision')} — {mv.tags.get('gate.reason')}")
    for key in sorted(k for k in metrics if k.startswith("test_")):
        console.print(f"  {key.removeprefix('test_'):14} {metrics[key]:.4f}")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)")


def _start_run(deployment: str, parameters: dict, wait: bool) -> None:
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    try:
        run = run_deployment(deployment, parameters=parameters, timeout=None if wait else 0)
    except ObjectNotFound:
        _fail(
            f"deployment {deployment!r} not found on the Prefect server. Start `make serve` "
            "(serves every flow) or run `prefect deploy --all` with a worker."
        )
    state = run.state.name if run.state else "SCHEDULED"
    console.print(f"flow run [bold]{run.name}[/] ({run.id}) of {deployment}: {state}")
    if wait and run.state and not run.state.is_completed():
        raise typer.Exit(1)


WaitOpt = Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the run to finish.")]


@app.command()
def backfill(
    start: Annotated[str, typer.Argument(help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Argument(help="Last day, YYYY-MM-DD (inclusive).")],
    mode: Annotated[str, typer.Option(help="missing (default): never ingested; failed: failed ones; all: everything.")] = "missing",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would run.")] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=8, help="Days ingested at once.")] = 4,
    wait: WaitOpt = True,
) -> None:
    """Ingest a range of days as a run of the `backfill` deployment (visible in the Prefect UI)."""
    if mode not in ("missing", "failed", "all"):
        raise typer.BadParameter(f"mode {mode!r} is not one of missing, failed, all")
    params = {"start": _day(start).isoformat(), "end": _day(end).isoformat(), "mode": mode,
              "dry_run": dry_run, "concurrency": concurrency}
    _start_run("backfill/backfill", params, wait)


@app.command()
def ingest(ds: Annotated[str, typer.Argument(help="The day, YYYY-MM-DD.")], wait: WaitOpt = True) -> None:
    """Ingest one day as a run of the `ingest` deployment."""
    _start_run("ingest/ingest", {"ds": _day(ds).isoformat()}, wait)


@app.command()
def train(
    window_days: Annotated[Optional[int], typer.Option(help="Days of matured applications (default from settings).")] = None,
    force: Annotated[bool, typer.Option(help="Train even if these partitions were already trained on.")] = False,
    wait: WaitOpt = True,
) -> None:
    """Train a challenger and gate it, as a run of the `train` deployment."""
    _start_run("train/train", {"window_days": window_days, "force": force}, wait)


@app.command()
def score(
    ds: Annotated[str, typer.Argument(help="The (first) day, YYYY-MM-DD.")],
    end: Annotated[Optional[str], typer.Option(help="Last day to score, inclusive (default: only DS).")] = None,
    force: Annotated[bool, typer.Option(help="Rescore even if already scored by this champion.")] = False,
    wait: WaitOpt = True,
) -> None:
    """Batch-score one day (or DS..END) with the champion, as a run of the `score` deployment."""
    params = {"ds": _day(ds).isoformat(), "end": _day(end).isoformat() if end else None, "force": force}
    _start_run("score/score", params, wait)


@app.command()
def settings() -> None:
    """Print the effective settings (embedded defaults plus TANDEM_* overrides)."""
    s = get_settings()
    data = s.model_dump(mode="json")
    data["resolved"] = {
        "ops_db_url": s.resolved_ops_db_url,
        "mlflow_tracking_uri": s.resolved_mlflow_tracking_uri,
        "mlflow_artifact_root": s.resolved_mlflow_artifact_root,
        "lake_url": s.resolved_lake_url,
    }
    console.print_json(json.dumps(data))


def main() -> None:
    """Entry point: clear one-line errors for bad configuration instead of tracebacks."""
    from pydantic import ValidationError

    try:
        app()
    except ValidationError as exc:
        err.print(f"[red]error:[/] invalid TANDEM_* settings:\n{exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
