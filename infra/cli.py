"""``tandem``: the command line for analysts and on-call.

Pointer moves (rollback) and ledger reads act directly on the stores. Work
(ingest, backfill, train, score) is started as runs of the Prefect deployments
so it shows in the Prefect UI like any scheduled run; start ``make serve``
(or a worker for the work pool in ``prefect.yaml``) to execute them. Finding
the server, watching the run and reading its outcome live in ``infra.runs``;
the commands here only check their input.

Commands import what they use inside their body: a ledger read loads
SQLAlchemy, not MLflow, XGBoost or torch. Exit codes: 0 done, 1 the work
failed, 2 bad input or settings (one line on stderr), 3 a run could not start.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from infra.settings import SettingsInvalid, get_settings, settings_error_message

app = typer.Typer(
    help="Tandem: run the risk scorer's lifecycle and the RAG assistant as Prefect flows.",
    no_args_is_help=True,
    add_completion=False,
)
rollback_app = typer.Typer(help="Move a live pointer back to its previous value (recorded in the pointer ledger).", no_args_is_help=True)
app.add_typer(rollback_app, name="rollback")
prompts_app = typer.Typer(help="Versions of the answer prompt in MLflow's prompt registry, and its production alias.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
from infra.cli_prompts import eval_run, prompts_init  # noqa: E402 (bodies import lazily)
prompts_app.command("init")(prompts_init); app.command("eval")(eval_run)
promote_app = typer.Typer(help="A person promotes a version the gate held (recorded in the pointer ledger as a human decision).", no_args_is_help=True)
app.add_typer(promote_app, name="promote")
from infra.cli_service import keys_app, serve_assistant  # noqa: E402 (bodies import lazily)
app.add_typer(keys_app, name="keys"); app.command("serve-assistant")(serve_assistant)
from infra.cli_tickets import tickets_app  # noqa: E402 (its commands import lazily)
app.add_typer(tickets_app, name="tickets")
from infra.cli_prefect import setup_prefect  # noqa: E402 (its body imports lazily)
app.command("setup-prefect")(setup_prefect)
from infra.cli_pointers import pointers_app  # noqa: E402 (its commands import lazily)
app.add_typer(pointers_app, name="pointers")
from infra.cli_status import status as _status  # noqa: E402 (its body imports lazily)
app.command("status")(_status)
console = Console()
err = Console(stderr=True)


def _print_error(message: str) -> None:
    # soft_wrap: one line however long (greppable); markup off for the message, which may hold brackets.
    err.print("[red]error:[/] ", end="")
    err.print(message, markup=False, highlight=False, soft_wrap=True)


@app.callback()
def _check_settings() -> None:
    """Read the settings before any command: a bad TANDEM_* variable is one line and exit 2, not a traceback."""
    from pydantic import ValidationError

    try:
        get_settings()
    except (ValidationError, SettingsInvalid) as exc:
        _print_error(settings_error_message(exc))
        raise typer.Exit(2)

ReasonOpt = Annotated[str, typer.Option("--reason", "-r", help="Why: recorded in the pointer ledger and shown to on-call.")]
ActorOpt = Annotated[Optional[str], typer.Option(help="Who is acting (default: TANDEM_ACTOR or your OS user).")]


def _fail(message: str) -> None:
    # soft_wrap: one line however long (greppable); markup off for the message, which may hold brackets.
    err.print("[red]error:[/] ", end="")
    err.print(message, markup=False, highlight=False, soft_wrap=True)
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
    _print_move(move, lambda v: f"v{v}" if v else "(none)", pinned="model")


def _print_move(move, fmt=str, *, pinned: str | None = None) -> None:
    console.print(
        f"[green]{move.pointer}[/]: {fmt(move.old_value)} -> {fmt(move.new_value)} "
        f"(move #{move.id} by {move.actor}: {move.reason})"
    )
    if pinned:  # a rollback pins: say so, and how to lift it
        console.print(
            f"[yellow]pinned[/]: gates still record their verdicts, but {move.pointer} stays here until "
            f"`tandem unpin {pinned} --reason ...`"
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
    _print_move(move, pinned="index")


@rollback_app.command("prompt")
def rollback_prompt(reason: ReasonOpt = "manual rollback", actor: ActorOpt = None) -> None:
    """Point the prompt's `production` alias back at its previous version (same as `tandem prompts rollback`)."""
    from infra.pointers import rollback_prompt as do_rollback
    from infra.stores.ledger import NothingToRollBack

    try:
        move = do_rollback(get_settings(), reason=reason, actor=actor)
    except NothingToRollBack as exc:
        _fail(str(exc))
    _print_move(move, lambda v: f"v{v}" if v else "(none)", pinned="prompt")


@app.command()
def unpin(
    pointer: Annotated[str, typer.Argument(help="model, prompt or index (or a ledger name such as index:docs-live).")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why gates may move it again: recorded in the pointer ledger.")],
    actor: ActorOpt = None,
) -> None:
    """Lift a rollback's pin: the next passing gate moves the pointer again (recorded: who, why)."""
    from infra.pointers import resolve_pointer
    from infra.pointers import unpin as do_unpin

    settings = get_settings()
    try:
        name = resolve_pointer(settings, pointer)
        move = do_unpin(settings, name, reason=reason, actor=actor)
    except ValueError as exc:
        _fail(str(exc))
    if move is None:
        console.print(f"{name} is not pinned; nothing to do")
        return
    pin = move.evidence["pin"]
    console.print(
        f"[green]{name}[/]: unpinned at {move.new_value} (move #{move.id} by {move.actor}: {move.reason}); "
        f"it was pinned by {pin['actor']} ({pin['reason']}). The next passing gate moves it."
    )


@promote_app.command("model")
def promote_model(
    version: Annotated[str, typer.Argument(help="The registered version the gate HELD, e.g. 4.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why you overrule the gate: recorded in the pointer ledger.")],
    actor: ActorOpt = None,
) -> None:
    """Point `champion` at a version the gate HELD (never a REJECTed one): a human decision, with your name and reason."""
    from functools import partial

    from infra.factory import build_registry
    from infra.pointers import move_champion
    from infra.risk.gate import NotPromotable, promote_by_hand
    from infra.stores.ledger import PointerPinned, default_actor

    settings = get_settings()
    try:
        move = promote_by_hand(
            build_registry(settings), partial(move_champion, settings), version=version.removeprefix("v"), reason=reason,
            actor=default_actor(actor or settings.actor), champion_alias=settings.champion_alias,
        )
    except NotPromotable as exc:
        _fail(str(exc))
    except PointerPinned as exc:
        who = exc.pin.get("actor", "a rollback")
        _fail(f"{exc.pointer} is pinned by {who} ({exc.pin.get('reason', 'rollback')}); it did not move. "
              f"Lift the pin first: `tandem unpin model --reason ...`")
    _print_move(move, lambda v: f"v{v}" if v else "(none)")


@app.command()
def partitions(
    dataset: Annotated[Optional[str], typer.Option(help="applications, labels, predictions, quarantine/applications.")] = None,
    status: Annotated[Optional[str], typer.Option(help="ok or failed.")] = None,
    start: Annotated[Optional[str], typer.Option(help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[Optional[str], typer.Option(help="Last day, YYYY-MM-DD.")] = None,
) -> None:
    """Show the partition ledger: rows, content hash, status and error of each partition."""
    from infra.factory import build_partition_ledger

    first, last = (_day(start) if start else None), (_day(end) if end else None)
    if first and last and last < first:
        _usage_error(f"--end {last} is before --start {first}: no day can match")
    ledger = build_partition_ledger(get_settings())
    records = ledger.list(dataset, start=first, end=last, status=status)
    if not records and (dataset or status):
        _check_partition_filters(ledger, dataset, status)
    table = Table("dataset", "ds", "status", "rows", "quarantined", "hash", "error")
    for r in records:
        table.add_row(r.dataset, r.ds.isoformat(), r.status, str(r.row_count or ""), str(r.quarantined_count or ""),
                      (r.content_hash or "")[:12], (r.error or "")[:80])
    console.print(table)
    console.print(f"{len(records)} partition(s)")


@app.command()
def champion() -> None:
    """Show the champion version, its test metrics and the gate verdict that promoted it."""
    from infra.clients.mlflow_sql import StoreUnreadable, read_alias, read_alias_with_client

    settings = get_settings()
    uri = settings.resolved_mlflow_tracking_uri
    try:  # MLflow's tables directly: importing MLflow alone takes longer than this whole command may
        mv = read_alias(uri, settings.model_name, settings.champion_alias)
    except StoreUnreadable:
        mv = read_alias_with_client(uri, settings.model_name, settings.champion_alias)
    if mv is None:
        _fail(f"no {settings.champion_alias} for {settings.model_name} yet: run the train flow")
    console.print(f"[bold]{settings.model_name} v{mv.version}[/] (run {mv.run_id})")
    console.print(f"gate: {mv.tags.get('gate.decision')} — {mv.tags.get('gate.reason')}", markup=False, soft_wrap=True)
    for key in sorted(k for k in mv.metrics if k.startswith("test_")):
        value = mv.metrics[key]
        console.print(f"  {key.removeprefix('test_'):14} {value:,.0f}" if value.is_integer() and value > 1 else
                      f"  {key.removeprefix('test_'):14} {value:.4f}")


def _usage_error(message: str) -> None:
    """Bad input from the command line: one line on stderr, exit code 2 (nothing was started)."""
    _print_error(message)
    raise typer.Exit(2)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _usage_error(f"{text!r} is not a date (YYYY-MM-DD)")


# Datasets the shipped flows write; the ledger adds any other (a file source's own name).
KNOWN_DATASETS = ("applications", "labels", "predictions", "quarantine/applications")
KNOWN_STATUSES = ("ok", "failed")


def _check_partition_filters(ledger, dataset: str | None, status: str | None) -> None:
    """An empty result from a filter that can never match is a typo: say so (exit 2)."""
    import difflib

    seen = ledger.list()
    datasets = sorted(set(KNOWN_DATASETS) | {r.dataset for r in seen})
    statuses = sorted(set(KNOWN_STATUSES) | {r.status for r in seen})
    for flag, value, known in (("--dataset", dataset, datasets), ("--status", status, statuses)):
        if value is not None and value not in known:
            close = difflib.get_close_matches(value, known, n=1)
            _usage_error(f"{flag} {value!r} is not one of {', '.join(known)}" + (f"; did you mean {close[0]!r}?" if close else ""))


def _days(start: str, end: str | None = None) -> tuple[date, ...]:
    """The days START..END, or exit 2 with one line: bad text, end before start, or a day after today."""
    from models.dates import ImpossibleRange, check_range

    first, last = _day(start), (_day(end) if end else None)
    today = date.today()
    allow_future = False
    if max(first, last or first) > today:
        # Only now load the source (imports pandas: seconds): its schema may say it publishes ahead.
        from infra.factory import build_source

        allow_future = bool(getattr(build_source(get_settings()).schema, "allow_future", False))
    try:
        return tuple(check_range(first, last, today=today, allow_future=allow_future))
    except ImpossibleRange as exc:
        _usage_error(str(exc))


def _start_run(request, *, wait: bool, dry_run: bool = False, start_timeout: float) -> None:
    """Dry run: print the plan. Else find the server, start the run, watch it, print its outcome; exit with its code.

    """
    from infra.runs import NotStarted, find_api_url, plan, start_and_watch

    settings = get_settings()
    if dry_run:
        plan(request, settings, console)
        return
    try:
        api_url = find_api_url()
        code = start_and_watch(request, settings, console, api_url=api_url, wait=wait, start_timeout_s=start_timeout)
    except NotStarted as exc:
        _print_error(str(exc))
        raise typer.Exit(3)
    raise typer.Exit(code)


WaitOpt = Annotated[bool, typer.Option("--wait/--no-wait", help="Watch the run to its end (progress, outcome, exit code).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the plan from the stores; start nothing.")]
StartTimeoutOpt = Annotated[float, typer.Option(
    "--start-timeout", min=1, help="Seconds a run may wait for a worker before it is cancelled and reported.")]


@app.command()
def backfill(
    start: Annotated[str, typer.Argument(help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Argument(help="Last day, YYYY-MM-DD (inclusive).")],
    mode: Annotated[str, typer.Option(help="missing (default): never ingested; failed: failed ones; all: everything.")] = "missing",
    dry_run: DryRunOpt = False,
    concurrency: Annotated[int, typer.Option(min=1, max=8, help="Days ingested at once.")] = 4,
    wait: WaitOpt = True,
    start_timeout: StartTimeoutOpt = 30.0,
) -> None:
    """Ingest a range of days as a run of the `backfill` deployment (visible in the Prefect UI)."""
    from infra.runs import BACKFILL_MODES, RunRequest

    if mode not in BACKFILL_MODES:
        _usage_error(f"--mode {mode!r} is not one of {', '.join(BACKFILL_MODES)}")
    days = _days(start, end)
    params = {"start": days[0].isoformat(), "end": days[-1].isoformat(), "mode": mode, "concurrency": concurrency}
    _start_run(RunRequest("backfill", "backfill/backfill", params, days), wait=wait, dry_run=dry_run, start_timeout=start_timeout)


@app.command()
def ingest(
    ds: Annotated[str, typer.Argument(help="The day, YYYY-MM-DD.")],
    dry_run: DryRunOpt = False,
    wait: WaitOpt = True,
    start_timeout: StartTimeoutOpt = 30.0,
) -> None:
    """Ingest one day as a run of the `ingest` deployment."""
    from infra.runs import RunRequest

    days = _days(ds)
    _start_run(RunRequest("ingest", "ingest/ingest-daily", {"ds": days[0].isoformat()}, days), wait=wait, dry_run=dry_run,
               start_timeout=start_timeout)


@app.command()
def train(
    window_days: Annotated[Optional[int], typer.Option(min=3, help="Days of matured applications (default from settings).")] = None,
    force: Annotated[bool, typer.Option(help="Train even if these partitions were already trained on.")] = False,
    dry_run: DryRunOpt = False,
    wait: WaitOpt = True,
    start_timeout: StartTimeoutOpt = 30.0,
) -> None:
    """Train a challenger and gate it, as a run of the `train` deployment."""
    from infra.runs import RunRequest

    _start_run(RunRequest("train", "train/train", {"window_days": window_days, "force": force}), wait=wait, dry_run=dry_run,
               start_timeout=start_timeout)


@app.command()
def score(
    ds: Annotated[str, typer.Argument(help="The (first) day, YYYY-MM-DD.")],
    end: Annotated[Optional[str], typer.Option(help="Last day to score, inclusive (default: only DS).")] = None,
    force: Annotated[bool, typer.Option(help="Rescore even if already scored by this champion.")] = False,
    dry_run: DryRunOpt = False,
    wait: WaitOpt = True,
    start_timeout: StartTimeoutOpt = 30.0,
) -> None:
    """Batch-score one day (or DS..END) with the champion, as a run of the `score` deployment."""
    from infra.runs import RunRequest

    days = _days(ds, end)
    params = {"ds": days[0].isoformat(), "end": days[-1].isoformat() if end else None, "force": force}
    _start_run(RunRequest("score", "score/score-daily", params, days), wait=wait, dry_run=dry_run, start_timeout=start_timeout)


@app.command()
def reindex(
    force: Annotated[bool, typer.Option(help="Build a new collection even if nothing changed (copies vectors, embeds nothing).")] = False,
    corpus: Annotated[Optional[str], typer.Option("--corpus", help="The corpus folder (default: TANDEM_INDEX__CORPUS_DIR if you set it, else the worker's).")] = None,
    golden: Annotated[Optional[str], typer.Option("--golden", help="The golden set of the retrieval gate (default: TANDEM_INDEX__GOLDEN_PATH if you set it, else the worker's).")] = None,
    dry_run: DryRunOpt = False,
    wait: WaitOpt = True,
    start_timeout: StartTimeoutOpt = 30.0,
) -> None:
    """Rebuild the vector index (incremental, blue/green), as a run of the `reindex` deployment."""
    from infra.runs import InputRejected, RunRequest, caller_inputs

    try:  # the caller's corpus and golden set travel as parameters: the worker's settings do not replace them
        paths = caller_inputs(get_settings(), corpus_dir=corpus, golden_path=golden)
    except InputRejected as exc:
        _usage_error(str(exc))
    _start_run(RunRequest("reindex", "reindex/reindex", {"force": force, **paths}), wait=wait, dry_run=dry_run, start_timeout=start_timeout)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    tenant: Annotated[Optional[str], typer.Option(help="Tenant charged for the tokens (default: TANDEM_TENANT).")] = None,
    use_case: Annotated[str, typer.Option(help="Use case recorded on the event, for cost attribution.")] = "cli",
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer and its event as JSON.")] = False,
    lock_wait: Annotated[float, typer.Option(min=0, help="Seconds to wait while another process holds the local vector index.")] = 30.0,
) -> None:
    """Answer a question from docs-live with the production prompt; print citations and the request event."""
    from infra.cli_prompts import not_ready

    if (missing := not_ready(get_settings())) is not None:  # before any model loads: say what to run
        _usage_error(missing)
    from infra.factory import IndexLocked, build_gateway, close_vector_clients
    from infra.rag.gateway import EventNotWritten, NotReady

    try:
        result = build_gateway(get_settings(), lock_wait_s=lock_wait).ask(question, tenant=tenant, use_case=use_case)
    except (NotReady, ValueError, IndexLocked, EventNotWritten) as exc:
        _fail(str(exc))
    finally:
        # Let go of Qdrant's local folder now, not at exit: another `tandem ask` may be waiting for it.
        close_vector_clients()
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
    """The newest request events of the gateway (tokens, cost, latency, versions, flags, error)."""
    from rich.text import Text

    from infra.factory import build_request_log

    rows = build_request_log(get_settings()).recent(limit, tenant=tenant)
    table = Table("at", "kind", "tenant", "prompt", "index", "generator", "tokens", "cost $", "ms", "cache", "flags", "error")
    for r in rows:
        error = r["error"] or ""
        table.add_row(
            f"{r['at']:%Y-%m-%d %H:%M:%S}", r["kind"], r["tenant"], str(r["prompt_version"] or "-"), str(r["index_version"] or "-"),
            str(r["generator"] or "-"), str(r["total_tokens"]), f"{r['cost_usd']:.6f}", f"{r['latency_ms'] or 0:.0f}",
            "hit" if r["cache_hit"] else "", ", ".join(r["guardrail_flags"] or []),
            Text(error if len(error) <= 80 else error[:79] + "…"),  # Text: an error may hold [brackets], not markup
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
        _fail(f"prompt {registry.name!r} has no versions yet: `tandem prompts init` registers the built-in one (so does `make run`)")
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
    """Run the golden-set release gate for a version; move `production` only if it passes.

    While a rollback pins `production` the gate still runs and its verdict is
    stored on the version, but production stays and the command exits 1:
    `tandem unpin prompt --reason ...` first.
    """
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
    console.print(release.message, markup=False, soft_wrap=True)  # one line: the verdict's checks make it long
    # A pinned production refuses a person's promote too; with prompt.require_approval only an approval moves it.
    if not release.gate.passed or release.pinned or release.awaiting_approval:
        raise typer.Exit(1)


@prompts_app.command("rollback")
def prompts_rollback(reason: ReasonOpt = "manual rollback", actor: ActorOpt = None) -> None:
    """Point `production` back at its previous version (seconds; recorded in the pointer ledger)."""
    rollback_prompt(reason=reason, actor=actor)


@app.command()
def settings() -> None:
    """Print the effective settings (embedded defaults plus TANDEM_* overrides)."""
    from infra.masking import mask_secrets

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
    console.print_json(json.dumps(mask_secrets(data)))  # passwords in URLs and keys never reach a terminal


from infra.cli_feedback import feedback as _feedback  # noqa: E402 (its body imports lazily)

app.command("feedback")(_feedback)


def main() -> None:
    """Entry point: clear one-line errors for bad configuration instead of tracebacks."""
    from pydantic import ValidationError

    try:
        app()
    except (ValidationError, SettingsInvalid) as exc:  # settings built lazily inside a command
        _print_error(settings_error_message(exc))
        sys.exit(2)
    except Exception as exc:
        # Any command that opens Qdrant's local folder (rollback index, reindex
        # reads, ask) may find it held by another process: one line, not a traceback.
        from infra.factory import IndexLocked

        if not isinstance(exc, IndexLocked):
            raise
        _print_error(str(exc))
        sys.exit(1)


if __name__ == "__main__":
    main()
