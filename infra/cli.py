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
    help="Tandem: run the risk scorer's lifecycle and the RAG assistant as Prefect flows.",
    no_args_is_help=True,
    add_completion=False,
)
rollback_app = typer.Typer(help="Move a live pointer back to its previous value (recorded in the pointer ledger).", no_args_is_help=True)
app.add_typer(rollback_app, name="rollback")
prompts_app = typer.Typer(help="Versions of the answer prompt in MLflow's prompt registry, and its production alias.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
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


def _print_move(move, fmt=str) -> None:
    console.print(
        f"[green]{move.pointer}[/]: {fmt(move.old_value)} -> {fmt(move.new_value)} "
        f"(move #{move.id} by {move.actor}: {move.reason})"
    )


@rollback_app.command("index")
def rollback_index(reason: ReasonOpt = "manual rollback", actor: ActorOpt = None) -> None:
    """Point `docs-live` back at the collection it had before its last move."""
    from infra.pointers import rollback_index as do_rollback
    from infra.stores.ledger import NothingToRollBack

    try:
        move = do_rollback(get_settings(), reason=reason, actor=actor)
    except (NothingToRollBack, ValueError) as exc:
        _fail(str(exc))
    _print_move(move)


@rollback_app.command("prompt")
def rollback_prompt(reason: ReasonOpt = "manual rollback", actor: ActorOpt = None) -> None:
    """Point the prompt's `production` alias back at its previous version (same as `tandem prompts rollback`)."""
    from infra.pointers import rollback_prompt as do_rollback
    from infra.stores.ledger import NothingToRollBack

    try:
        move = do_rollback(get_settings(), reason=reason, actor=actor)
    except NothingToRollBack as exc:
        _fail(str(exc))
    _print_move(move, lambda v: f"v{v}" if v else "(none)")


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
def reindex(
    force: Annotated[bool, typer.Option(help="Build a new collection even if nothing changed (copies vectors, embeds nothing).")] = False,
    wait: WaitOpt = True,
) -> None:
    """Rebuild the vector index (incremental, blue/green), as a run of the `reindex` deployment."""
    _start_run("reindex/reindex", {"force": force}, wait)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    tenant: Annotated[Optional[str], typer.Option(help="Tenant charged for the tokens (default: TANDEM_TENANT).")] = None,
    use_case: Annotated[str, typer.Option(help="Use case recorded on the event, for cost attribution.")] = "cli",
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer and its event as JSON.")] = False,
) -> None:
    """Answer a question from docs-live with the production prompt; print citations and the request event."""
    from infra.factory import build_gateway
    from infra.rag.gateway import NotReady

    try:
        result = build_gateway(get_settings()).ask(question, tenant=tenant, use_case=use_case)
    except (NotReady, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        console.print_json(json.dumps(result.to_dict(), default=str))
        raise typer.Exit(1 if result.refused else 0)
    console.print(result.answer, style="red" if result.refused else None, markup=False)
    if result.citations:
        console.print("\n[bold]sources:[/] " + ", ".join(result.citations))
    e = result.event
    console.print(
        f"\n[dim]request {e.request_id} | {e.kind} | tenant {e.tenant} | prompt {e.prompt_name} v{e.prompt_version} | "
        f"index {e.index_version} | {e.generator}/{e.model} | tokens {e.prompt_tokens}+{e.completion_tokens}={e.total_tokens} | "
        f"cost ${e.cost_usd:.6f} | {e.latency_ms:.0f} ms (retrieval {e.retrieval_latency_ms or 0:.0f} ms) | "
        f"cache {'hit' if e.cache_hit else 'miss'} | flags {', '.join(e.guardrail_flags) or '-'}"
        + (f" | error {e.error}" if e.error else "") + "[/]",
        soft_wrap=True,  # one line per event: easy to grep
    )
    if result.refused:
        raise typer.Exit(1)


@app.command()
def requests(
    limit: Annotated[int, typer.Option(min=1, help="How many of the newest events.")] = 20,
    tenant: Annotated[Optional[str], typer.Option(help="Only this tenant.")] = None,
) -> None:
    """The newest request events of the gateway (tokens, cost, latency, versions, flags)."""
    from infra.factory import build_request_log

    rows = build_request_log(get_settings()).recent(limit, tenant=tenant)
    table = Table("at", "kind", "tenant", "prompt", "index", "generator", "tokens", "cost $", "ms", "cache", "flags")
    for r in rows:
        table.add_row(
            f"{r['at']:%Y-%m-%d %H:%M:%S}", r["kind"], r["tenant"], str(r["prompt_version"] or "-"), str(r["index_version"] or "-"),
            str(r["generator"] or "-"), str(r["total_tokens"]), f"{r['cost_usd']:.6f}", f"{r['latency_ms'] or 0:.0f}",
            "hit" if r["cache_hit"] else "", ", ".join(r["guardrail_flags"] or []),
        )
    console.print(table)


# -- prompts --------------------------------------------------------------------
@prompts_app.command("list")
def prompts_list() -> None:
    """Every version with its aliases, gate result and message."""
    from infra.factory import build_prompt_registry

    settings = get_settings()
    registry = build_prompt_registry(settings)
    versions = registry.versions((settings.prompt.production_alias, settings.prompt.staging_alias))
    if not versions:
        _fail(f"prompt {registry.name!r} has no versions yet: `make run` registers the built-in one")
    table = Table("version", "aliases", "gate", "message")
    for v in versions:
        table.add_row(f"v{v.version}", ", ".join(v.aliases) or "-", v.tags.get("gate", "-"), v.message or "")
    console.print(table)


def _prompt_version(text: str) -> int:
    try:
        return int(text.lower().removeprefix("v"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a version number (e.g. 3 or v3)")


VersionArg = Annotated[str, typer.Argument(help="A version number (3 or v3), or an alias (production, staging).")]


def _resolve_version(registry, text: str) -> int:
    if text in (get_settings().prompt.production_alias, get_settings().prompt.staging_alias):
        version = registry.alias_version(text)
        if version is None:
            _fail(f"alias {text!r} is not set")
        return version
    return _prompt_version(text)


@prompts_app.command("show")
def prompts_show(version: VersionArg = "production") -> None:
    """Print one version's template and parameters."""
    from infra.clients.mlflow_prompts import PromptNotFound
    from infra.factory import build_prompt_registry

    registry = build_prompt_registry(get_settings())
    try:
        spec = registry.get(_resolve_version(registry, version))
    except PromptNotFound as exc:
        _fail(str(exc))
    console.print(f"[bold]{spec.name} v{spec.version}[/]  params {json.dumps(spec.params)}")
    console.print(spec.template, markup=False)


@prompts_app.command("diff")
def prompts_diff(old: VersionArg, new: VersionArg = "staging") -> None:
    """Unified diff of two versions' templates and parameters."""
    import difflib

    from infra.clients.mlflow_prompts import PromptNotFound
    from infra.factory import build_prompt_registry

    registry = build_prompt_registry(get_settings())
    try:
        a, b = registry.get(_resolve_version(registry, old)), registry.get(_resolve_version(registry, new))
    except PromptNotFound as exc:
        _fail(str(exc))
    text_a = a.template.splitlines() + ["", f"params: {json.dumps(a.params, sort_keys=True)}"]
    text_b = b.template.splitlines() + ["", f"params: {json.dumps(b.params, sort_keys=True)}"]
    diff = list(difflib.unified_diff(text_a, text_b, f"v{a.version}", f"v{b.version}", lineterm=""))
    console.print("\n".join(diff) if diff else f"v{a.version} and v{b.version} are identical", markup=False)


@prompts_app.command("register")
def prompts_register(
    template_file: Annotated[str, typer.Argument(help="A text file with the template; it must use {{question}} and {{context}}.")],
    message: Annotated[str, typer.Option("--message", "-m", help="What changed (the version's commit message).")],
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="A knob, KEY=VALUE (max_sentences, min_similarity, temperature, max_tokens).")] = None,
) -> None:
    """Register a new version and point `staging` at it. Production moves only with `tandem prompts promote`."""
    from pathlib import Path

    from indexes.prompts import PromptRejected
    from infra.factory import build_prompt_registry

    path = Path(template_file)
    if not path.is_file():
        _fail(f"{path}: no such file")
    params = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--param {item!r}: expected KEY=VALUE")
        params[key.strip()] = value.strip()
    settings = get_settings()
    registry = build_prompt_registry(settings)
    try:
        spec = registry.register(path.read_text(encoding="utf-8"), params, message=message, tags={"source_file": str(path)})
    except PromptRejected as exc:
        _fail(f"{path}: {exc}")
    registry.set_alias(settings.prompt.staging_alias, spec.version)
    console.print(f"registered {spec.name} v{spec.version} (params {json.dumps(spec.params)}); `{settings.prompt.staging_alias}` -> v{spec.version}")
    console.print(f"next: `tandem prompts promote {spec.version}` runs the release gate and moves production if it passes")


@prompts_app.command("promote")
def prompts_promote(
    version: VersionArg,
    reason: Annotated[Optional[str], typer.Option("--reason", "-r", help="Why (recorded in the pointer ledger).")] = None,
    actor: ActorOpt = None,
    force_eval: Annotated[bool, typer.Option(help="Re-run the evaluation even if MLflow has a result for these versions.")] = False,
) -> None:
    """Run the golden-set release gate for a version; move `production` only if it passes."""
    from infra.clients.mlflow_prompts import PromptNotFound
    from infra.factory import build_prompt_registry
    from infra.rag.release import release_prompt

    settings = get_settings()
    registry = build_prompt_registry(settings)
    try:
        number = _resolve_version(registry, version)
        release = release_prompt(settings, number, actor=actor, reason=reason, force_eval=force_eval)
    except (PromptNotFound, RuntimeError) as exc:
        _fail(str(exc))
    for c in release.gate.checks:
        mark = "[green]pass[/]" if c.passed else "[red]FAIL[/]"
        console.print(f"  {c.name:18} {c.value:.3f}  (min {c.threshold})  {mark}")
    console.print(release.message)
    if not release.gate.passed:
        raise typer.Exit(1)


@prompts_app.command("rollback")
def prompts_rollback(reason: ReasonOpt = "manual rollback", actor: ActorOpt = None) -> None:
    """Point `production` back at its previous version (seconds; recorded in the pointer ledger)."""
    rollback_prompt(reason=reason, actor=actor)


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
        "qdrant": s.qdrant_url or str(s.resolved_qdrant_path),
        "corpus_dir": str(s.resolved_corpus_dir),
        "golden_path": str(s.resolved_golden_path),
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
