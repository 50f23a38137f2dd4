"""Start runs of the Prefect deployments from the CLI, watch them, and say what they did.

`tandem backfill|ingest|train|score|reindex|eval` are thin: they check their input,
then hand a ``RunRequest`` to ``start_and_watch``, which

1. finds the Prefect server (``find_api_url``): ``PREFECT_API_URL`` if set,
   else the one ``make ui`` starts (``http://127.0.0.1:4200/api``, or
   ``PREFECT_SERVER_API_HOST``/``_PORT`` if those moved it); none answering in
   ``PROBE_TIMEOUT_S`` is one line naming the command that starts one;
2. creates a run of the deployment (one line if the deployment is not served);
3. shows its state and its task runs as they finish (polled from the API);
   a run that no worker picks up within ``start_timeout_s`` is cancelled and
   reported (start ``make serve``), instead of waiting forever;
4. reads the outcome from the stores the flow wrote (partition ledger,
   MLflow version tags, pointer ledger, index builds), not from the flow's
   return value, so the flows' insides may change freely; prints one line
   with the figures that matter and the run's UI link.

``plan`` is the ``--dry-run``: the same reading of the stores, before anything starts.

Exit codes (``EXIT_*``): 0 the run completed, 1 it failed, crashed or was
cancelled, 2 bad input (the CLI's), 3 nothing started (no server, no
deployment, no worker).
"""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rich.console import Console

from models.dates import BACKFILL_MODES  # one rule for the flow and the CLI
from infra.masking import mask_url
from infra.settings import TandemSettings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_STARTED = 0, 1, 2, 3
PROBE_TIMEOUT_S = 2.0  # per probe; the whole "no server" answer stays under 5 s
START_TIMEOUT_S = 30.0  # a served deployment polls every 10 s by default: three chances
PREDICTIONS = "predictions"  # the dataset the score flow writes (tasks.scoring.PREDICTIONS)


class NotStarted(RuntimeError):
    """Nothing ran: no server, no such deployment, or no worker picked the run up. One line, with the fix."""


@dataclass(frozen=True)
class RunRequest:
    """One run to start: which deployment, its parameters, and how to read its outcome.

    Attributes:
        kind: ``backfill``, ``ingest``, ``train``, ``score``, ``reindex`` or ``eval`` (picks the outcome reader).
        deployment: ``flow name/deployment name``, e.g. ``backfill/backfill``.
        parameters: JSON-ready parameters (dates as ISO strings).
        days: the partition days the run covers (backfill, ingest, score).
    """

    kind: str
    deployment: str
    parameters: dict[str, Any]
    days: tuple[date, ...] = ()


@dataclass
class Outcome:
    """What a finished run did, as the person at the terminal needs it."""

    summary: str
    details: list[str] = field(default_factory=list)


class InputRejected(ValueError):
    """A path the caller gave (a flag or their own TANDEM_* setting) that cannot be used; one line naming it."""


def caller_inputs(settings: TandemSettings, *, corpus_dir: str | None = None, golden_path: str | None = None,
                  corpus: bool = True) -> dict[str, str]:
    """The corpus folder and golden set the caller chose, as absolute paths for a RAG run's parameters.

    A flag wins; else the caller's own setting when they set one
    (``TANDEM_INDEX__CORPUS_DIR`` / ``TANDEM_INDEX__GOLDEN_PATH``, in the
    environment or ``.env``), so the worker's settings never silently replace
    what the caller asked for; else nothing is passed and the worker's
    settings decide (the flows' defaults).

    Args:
        settings: the caller's settings.
        corpus_dir: ``--corpus``, or None.
        golden_path: ``--golden``, or None.
        corpus: whether the flow takes a corpus folder (``rag-eval`` and ``prompt-release`` do not).

    Returns:
        ``{"corpus_dir": ..., "golden_path": ...}``, only the keys the caller set.

    Raises:
        InputRejected: a folder or file that does not exist, or a golden set that does not load
            (every malformed entry is named; nothing is started).
    """
    from pathlib import Path

    from infra.sources.golden import EvalSetRejected, load_golden

    out: dict[str, str] = {}
    chosen = [("corpus_dir", "--corpus", "TANDEM_INDEX__CORPUS_DIR", corpus_dir, settings.index.corpus_dir)] if corpus else []
    chosen.append(("golden_path", "--golden", "TANDEM_INDEX__GOLDEN_PATH", golden_path, settings.index.golden_path))
    for key, flag, variable, given, configured in chosen:
        value = given if given is not None else configured
        if value is None:
            continue
        where = f"{flag} {given}" if given is not None else f"{variable}={configured}"
        path = Path(value).expanduser().resolve()  # the worker may run in another directory
        if key == "corpus_dir" and not path.is_dir():
            raise InputRejected(f"{where}: no such folder")
        if key == "golden_path":
            if not path.is_file():
                raise InputRejected(f"{where}: no such file")
            try:
                load_golden(path)
            except EvalSetRejected as exc:
                raise InputRejected(f"{where}: {_one_line(str(exc))}") from None
        out[key] = str(path)
    return out


# -- finding the server ---------------------------------------------------------
def local_api_url() -> str:
    """The API of the server ``make ui`` starts (``prefect server start --host 127.0.0.1``)."""
    host = os.environ.get("PREFECT_SERVER_API_HOST") or "127.0.0.1"
    port = os.environ.get("PREFECT_SERVER_API_PORT") or "4200"
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/api"


def _recorded_api_url() -> str | None:
    """The server ``make run`` / ``make ui`` started for this data dir, while it runs (it may not be on port 4200)."""
    try:
        from infra.localserver import recorded_api_url
        from infra.settings import get_settings

        return recorded_api_url(get_settings().data_dir)
    except Exception:  # bad settings are reported by the command itself; no record: the default port
        return None


def _configured_api_url() -> str | None:
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    if "prefect.settings" in sys.modules:  # a caller (or a test harness) configured Prefect in-process
        from prefect.settings import get_current_settings

        return get_current_settings().api.url
    return None


def server_answers(api_url: str, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a Prefect server answers ``GET {api_url}/health`` within ``timeout_s``."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout_s) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):  # refused, timed out, not a URL
        return False


def find_api_url(timeout_s: float = PROBE_TIMEOUT_S) -> str:
    """The Prefect API to start runs on, checked to answer.

    Returns:
        ``PREFECT_API_URL`` if set, else the local server ``make ui`` starts.

    Raises:
        NotStarted: no server answers there within ``timeout_s``.
    """
    configured = _configured_api_url()
    url = configured or _recorded_api_url() or local_api_url()
    if server_answers(url, timeout_s):
        return url
    if configured:
        raise NotStarted(
            f"no Prefect server answers at {mask_url(url)} (PREFECT_API_URL): start it, "
            "or unset PREFECT_API_URL to use the local one `make ui` starts"
        )
    raise NotStarted(
        f"no Prefect server answers at {url}: start one with `make ui` "
        "(or `PREFECT_HOME=.tandem/prefect prefect server start --host 127.0.0.1`), and `make serve` to run the flows"
    )


# -- starting and watching ----------------------------------------------------------
def start_and_watch(
    request: RunRequest,
    settings: TandemSettings,
    console: Console,
    *,
    api_url: str,
    wait: bool = True,
    start_timeout_s: float = START_TIMEOUT_S,
    poll_s: float = 1.0,
) -> int:
    """Start a run of ``request.deployment`` on ``api_url``, show its progress and outcome.

    Args:
        request: what to run.
        settings: Tandem's settings (the stores the outcome is read from).
        console: where progress and the outcome go.
        api_url: a Prefect API that answered (``find_api_url``).
        wait: False returns right after the run is created (its link printed).
        start_timeout_s: how long the run may stay scheduled before it counts as "no worker".
        poll_s: seconds between polls of the API.

    Returns:
        The exit code: ``EXIT_OK`` or ``EXIT_FAILED``.

    Raises:
        NotStarted: the deployment is not on the server, or no worker picked the run up
            (the run is then cancelled so it does not start later by surprise).
    """
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        ui_url = (get_current_settings().ui_url or api_url.removesuffix("/api")).rstrip("/")
        with get_client(sync_client=True) as client:
            try:
                deployment = client.read_deployment_by_name(request.deployment)
            except ObjectNotFound:
                raise NotStarted(
                    f"deployment {request.deployment!r} is not on the Prefect server at {mask_url(api_url)}: "
                    "start `make serve` (serves every flow), or `prefect deploy --all` and a worker of the `tandem` pool"
                ) from None
            before = SNAPSHOTS.get(request.kind, _no_snapshot)(settings, request)
            run = client.create_flow_run_from_deployment(deployment.id, parameters=request.parameters)
            link = f"{ui_url}/runs/flow-run/{run.id}"
            console.print(f"started [bold]{request.deployment}[/] run [bold]{run.name}[/]: {link}", soft_wrap=True)
            if not wait:
                console.print("not waiting (--no-wait): follow it in the UI, or `tandem partitions` / `tandem pointers`")
                return EXIT_OK
            try:
                run, failed_tasks = _watch(client, run, console, start_timeout_s=start_timeout_s, poll_s=poll_s)
            except KeyboardInterrupt:
                console.print(f"stopped watching; the run goes on: {link}", soft_wrap=True)
                return 130
            except (httpx.HTTPError, OSError) as exc:  # the server went away (or stopped answering) mid-run
                console.print(
                    f"[red]lost the Prefect server at {mask_url(api_url)} while watching run {run.name}[/]: "
                    f"{type(exc).__name__}: {_one_line(str(exc))[:200]}; the run may still be going: {link}",
                    soft_wrap=True,
                )
                return EXIT_FAILED
    state = run.state
    ok = bool(state and state.is_completed())
    try:
        outcome = OUTCOMES[request.kind](settings, request, RunView(str(run.id), before, failed_tasks, ok))
    except Exception as exc:  # reading the stores must not hide the run's own verdict
        outcome = Outcome(f"(could not read the outcome from the stores: {type(exc).__name__}: {exc})")
    seconds = (state.timestamp - run.start_time).total_seconds() if state and run.start_time else None
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    mark = "[green]completed[/]" if ok else f"[red]{state.name.lower() if state else 'unknown'}[/]"
    console.print(f"{request.kind} {mark}{took}: {outcome.summary}", soft_wrap=True)
    for line in outcome.details:
        console.print(f"  {line}", markup=False, soft_wrap=True)
    if not ok and state and state.message:
        console.print(f"  why: {_one_line(state.message)}", markup=False, soft_wrap=True)
    console.print(f"run: {link}", soft_wrap=True)
    return EXIT_OK if ok else EXIT_FAILED


PAGE = 200  # Prefect's default API page size (PREFECT_API_DEFAULT_LIMIT)


def _watch(client, run, console: Console, *, start_timeout_s: float, poll_s: float):
    """Poll until the run is final; print each task run as it finishes. Raises NotStarted for no worker.

    Returns:
        The final flow run, and the failed task runs' names with their messages.
    """
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort
    from prefect.states import Cancelled

    started = time.monotonic()
    shown: set = set()
    failed: dict[str, str] = {}
    with console.status(f"{run.name}: waiting for a worker") as status:
        while True:
            run = client.read_flow_run(run.id)
            state = run.state
            task_runs, page = [], None
            while page is None or len(page) == PAGE:  # the API answers at most PAGE rows at a time
                page = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])), sort=TaskRunSort.EXPECTED_START_TIME_ASC,
                    limit=PAGE, offset=len(task_runs),
                )
                task_runs += page
            for tr in task_runs:
                if tr.id not in shown and tr.state and tr.state.is_final():
                    shown.add(tr.id)
                    ok = tr.state.is_completed()
                    took = f" {tr.total_run_time.total_seconds():.1f} s" if tr.total_run_time else ""
                    why = "" if ok or not tr.state.message else f": {_one_line(tr.state.message)[:160]}"
                    if not ok:
                        failed[tr.name] = _one_line(tr.state.message or tr.state.name)
                    console.print(
                        f"  {'[green]✓[/]' if ok else '[red]✗[/]'} {tr.name} {tr.state.name.lower()}{took}{why}",
                        soft_wrap=True, highlight=False,
                    )
            if state and state.is_final():
                return run, failed
            waiting = state is None or state.is_scheduled()
            if waiting and time.monotonic() - started > start_timeout_s:
                client.set_flow_run_state(
                    run.id, Cancelled(message=f"no worker picked it up within {start_timeout_s:.0f} s (tandem CLI)"), force=True
                )
                raise NotStarted(
                    f"no worker picked up run {run.name} within {start_timeout_s:.0f} s: start `make serve` "
                    "(next to `make ui`), or a worker of the `tandem` pool (`prefect worker start --pool tandem`); "
                    "the run was cancelled so it does not start later by surprise"
                )
            name = state.name if state else "SCHEDULED"
            status.update(
                f"{run.name}: {name} · {len(shown)}/{len(task_runs)} task runs finished · {time.monotonic() - started:.0f} s"
            )
            time.sleep(poll_s)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# -- what a run did: read from the stores ------------------------------------------
@dataclass(frozen=True)
class RunView:
    """What an outcome reader gets: the run's id, the stores' state before it, its failed task runs."""

    run_id: str
    before: dict
    failed_tasks: dict[str, str]
    completed: bool = True

    def task_error(self, ds: date) -> str | None:
        """The message of a failed task run about day ``ds`` (task runs are named after their day)."""
        return next((m for name, m in self.failed_tasks.items() if ds.isoformat() in name), None)


def _no_snapshot(settings: TandemSettings, request: RunRequest) -> dict:
    return {}


def _dataset(settings: TandemSettings) -> str:
    from infra.factory import build_source

    return build_source(settings).schema.name


def _partition_outcome(
    settings: TandemSettings, dataset: str, days: tuple[date, ...], view: RunView, *, planned: set[date] | None = None,
) -> tuple[dict, list[str]]:
    """Per day: this run's own ledger attempts (done / failed with the reason), else skipped.

    A day the run meant to do (``planned``; all when None) that has no attempt
    of this run and a failed task run about it failed before the ledger heard
    of it (e.g. the lake refused the write): failed, with the task's message.
    """
    from infra.factory import build_partition_ledger

    ledger = build_partition_ledger(settings)
    counts = {"done": 0, "skipped": 0, "failed": 0, "rows": 0}
    details = []
    for ds in days:
        mine = [a for a in ledger.attempts(dataset, ds) if a.get("flow_run_id") == view.run_id]
        if mine and mine[-1]["status"] == "ok":
            counts["done"] += 1
            counts["rows"] += mine[-1].get("row_count") or 0
            continue
        error = mine[-1].get("error") if mine else None
        error = error or ((planned is None or ds in planned) and view.task_error(ds))
        if mine or error:
            counts["failed"] += 1
            details.append(f"{ds} failed: {_one_line(error or 'no reason recorded')[:300]}")
        else:
            counts["skipped"] += 1
    return counts, details


def _backfill_snapshot(settings: TandemSettings, request: RunRequest) -> dict:
    from infra.factory import build_partition_ledger

    statuses = build_partition_ledger(settings).statuses(_dataset(settings), list(request.days))
    wanted = BACKFILL_MODES[request.parameters.get("mode", "missing")]
    return {"planned": {ds for ds, status in statuses.items() if status in wanted}}


def _backfill_outcome(settings: TandemSettings, request: RunRequest, view: RunView) -> Outcome:
    c, details = _partition_outcome(settings, _dataset(settings), request.days, view, planned=view.before.get("planned"))
    return Outcome(
        f"{c['done']} day(s) done ({c['rows']:,} rows), {c['skipped']} skipped (already in the ledger), {c['failed']} failed",
        details,
    )


def _ingest_outcome(settings: TandemSettings, request: RunRequest, view: RunView) -> Outcome:
    from infra.factory import build_partition_ledger

    dataset = _dataset(settings)
    (ds,) = request.days
    c, details = _partition_outcome(settings, dataset, request.days, view)
    record = build_partition_ledger(settings).get(dataset, ds)
    if c["done"] and record:
        return Outcome(f"{dataset}/ds={ds}: {record.row_count:,} rows, {record.quarantined_count or 0} quarantined", details)
    return Outcome(f"{dataset}/ds={ds}: {'failed' if c['failed'] else 'not written by this run'}", details)


def _score_outcome(settings: TandemSettings, request: RunRequest, view: RunView) -> Outcome:
    c, details = _partition_outcome(settings, PREDICTIONS, request.days, view)
    # The flow scores day by day and stops at a failure: in a failed run, an untouched day was not reached.
    why = "already scored by this champion" if view.completed else "not reached"
    return Outcome(f"{c['done']} day(s) scored ({c['rows']:,} rows), {c['skipped']} skipped ({why}), {c['failed']} failed", details)


def _model_versions(settings: TandemSettings) -> tuple[dict[str, dict[str, str]], str | None]:
    from infra.clients.mlflow_store import mlflow_client

    client = mlflow_client(settings.resolved_mlflow_tracking_uri)
    versions = {str(mv.version): dict(mv.tags) for mv in client.search_model_versions(f"name = '{settings.model_name}'")}
    try:
        champion = str(client.get_model_version_by_alias(settings.model_name, settings.champion_alias).version)
    except Exception:  # no alias yet
        champion = None
    return versions, champion


def _train_snapshot(settings: TandemSettings, request: RunRequest) -> dict:
    versions, champion = _model_versions(settings)
    return {"decisions": {v: t.get("gate.decision") for v, t in versions.items()}, "champion": champion}


def _train_outcome(settings: TandemSettings, request: RunRequest, view: RunView) -> Outcome:
    versions, champion = _model_versions(settings)
    before = view.before
    old = before.get("decisions", {})
    # A version this run registered, or an ungated one it gated (its decision tag changed).
    judged = [v for v, tags in versions.items() if v not in old or old[v] != tags.get("gate.decision")]
    was = before.get("champion")
    name = lambda v: f"v{v}" if v else "unset"  # noqa: E731
    moved = f"champion {name(was)} -> {name(champion)}" if champion != was else f"champion stays {name(champion)}"
    if not judged and not view.completed:
        return Outcome(f"no version trained or gated ({moved})")
    if not judged:
        return Outcome(f"no version trained or gated ({moved}): this window was already trained; "
                       "`tandem champion` shows the verdict, --force trains again")
    version = max(judged, key=int)
    tags = versions[version]
    auc = tags.get("gate.auc") or "?"
    summary = f"v{version} {tags.get('gate.decision') or 'not gated'} (AUC {auc}); {moved}"
    reason = tags.get("gate.headline") or tags.get("gate.reason")
    return Outcome(summary, [f"gate: {reason}"] if reason else [])


def _reindex_snapshot(settings: TandemSettings, request: RunRequest) -> dict:
    from infra.factory import build_pointer_ledger, index_pointer

    last = build_pointer_ledger(settings).last_move(index_pointer(settings))
    return {"last_move": last.id if last else 0}


def _reindex_outcome(settings: TandemSettings, request: RunRequest, view: RunView) -> Outcome:
    from infra.factory import build_index_builds, build_pointer_ledger, index_pointer

    alias = settings.index.live_alias
    moves = [m for m in build_pointer_ledger(settings).history(index_pointer(settings), limit=5) if m.id > view.before.get("last_move", 0)]
    builds = [b for b in build_index_builds(settings).list() if b.get("flow_run_id") == view.run_id]
    details = []
    for b in builds:
        gate = b.get("gate") or {}
        figures = ", ".join(f"{k} {v:.3f}" for k, v in (gate.get("metrics") or {}).items() if isinstance(v, (int, float)))
        details.append(f"{b['collection']}: {b['status']}" + (f" ({figures})" if figures else ""))
    if moves:
        m = moves[0]
        return Outcome(f"{alias} moved: {m.old_value or '(none)'} -> {m.new_value}", details)
    if not builds:
        return Outcome(f"{alias} did not move: the index is up to date (nothing changed in the corpus)", details)
    return Outcome(f"{alias} did not move: {builds[-1]['collection']} is {builds[-1]['status']}", details)


def _eval_target(settings: TandemSettings, request: RunRequest) -> dict:
    """What a rag-eval run answers: the prompt version, docs-live's collection (from the pointer ledger), the golden set."""
    from pathlib import Path

    from infra.factory import build_pointer_ledger, build_prompt_registry, index_pointer
    from infra.sources.golden import load_golden

    version = request.parameters.get("prompt_version")
    if version is None:
        version = build_prompt_registry(settings).alias_version(settings.prompt.production_alias)
    last = build_pointer_ledger(settings).last_move(index_pointer(settings))  # not Qdrant: its local folder is the worker's
    golden = load_golden(Path(request.parameters.get("golden_path") or settings.resolved_golden_path))
    return {"prompt_version": version, "collection": last.new_value if last else None, "golden": golden}


def _eval_snapshot(settings: TandemSettings, request: RunRequest) -> dict:
    target = _eval_target(settings, request)
    return {"prompt_version": target["prompt_version"], "collection": target["collection"], "since_ms": int(time.time() * 1000)}


# The release gate's figures, in the order the outcome line shows them.
EVAL_FIGURES = ("answered", "faithfulness", "sentence_completeness", "answer_relevance", "citation_coverage", "answer_focus",
                "answer_similarity", "token_f1", "rouge_l", "answer_precision")


def _eval_outcome(settings: TandemSettings, request: RunRequest, view: RunView) -> Outcome:
    """The MLflow evaluation this run wrote (or reused): verdict, figures, where each question's figures are."""
    from infra.factory import build_rag_tracking
    from infra.clients.mlflow_rag import EVAL_EXPERIMENT

    target = _eval_target(settings, request)
    version = target["prompt_version"] if request.parameters.get("prompt_version") is not None else view.before.get("prompt_version")
    collection = target["collection"] or view.before.get("collection")
    golden = target["golden"]
    if version is None or collection is None:
        return Outcome(f"nothing to evaluate: {'no production prompt' if version is None else 'docs-live points at no collection'}")
    client = build_rag_tracking(settings).client
    exp = client.get_experiment_by_name(EVAL_EXPERIMENT)
    flt = f"tags.prompt_version = '{version}' and tags.index_version = '{collection}' and attributes.status = 'FINISHED'"
    if request.parameters.get("golden_path"):  # else the worker's golden set, which may not be the one here
        flt += f" and tags.golden_hash = '{golden.content_hash[:16]}'"
    runs = client.search_runs([exp.experiment_id], filter_string=flt, order_by=["attributes.start_time DESC"], max_results=1) if exp else []
    if not runs:
        return Outcome(f"no evaluation of prompt v{version} on {collection} with {golden.path} was recorded")
    run = runs[0]
    metrics, tags = run.data.metrics, run.data.tags
    fresh = run.info.start_time >= view.before.get("since_ms", 0)
    verdict = "PASS" if tags.get("gate") == "pass" else "FAIL"
    figures = ", ".join(f"{k} {metrics[k]:.3f}" for k in (*EVAL_FIGURES, *sorted(k for k in metrics if k.startswith(("hit_at_", "mrr_at_"))))
                        if k in metrics)
    return Outcome(
        f"prompt {tags.get('prompt_name', '')} v{version} on {collection}: {verdict} "
        f"({'evaluated' if fresh else 'reused, nothing changed since'}: MLflow run {run.info.run_id})",
        [figures, (f"golden set {golden.path}: {len(golden.questions)} questions" if request.parameters.get("golden_path") else
                   "the worker's golden set") + "; each question's figures are in the run's per_question.json"],
    )


SNAPSHOTS: dict[str, Callable[[TandemSettings, RunRequest], dict]] = {
    "backfill": _backfill_snapshot, "train": _train_snapshot, "reindex": _reindex_snapshot, "eval": _eval_snapshot,
}
OUTCOMES: dict[str, Callable[[TandemSettings, RunRequest, RunView], Outcome]] = {
    "backfill": _backfill_outcome,
    "ingest": _ingest_outcome,
    "score": _score_outcome,
    "train": _train_outcome,
    "reindex": _reindex_outcome,
    "eval": _eval_outcome,
}


# -- --dry-run: the plan, from the stores, nothing started ------------------------------


def plan(request: RunRequest, settings: TandemSettings, console: Console) -> None:
    """Print what ``request`` would do, read from the stores; start nothing, need no server."""
    from rich.table import Table

    from infra.factory import build_partition_ledger

    console.print(f"dry run: would start [bold]{request.deployment}[/] with {request.parameters}", soft_wrap=True)
    if request.kind in ("backfill", "ingest", "score"):
        dataset = PREDICTIONS if request.kind == "score" else _dataset(settings)
        statuses = build_partition_ledger(settings).statuses(dataset, list(request.days))
        mode = request.parameters.get("mode", "missing")
        if request.kind == "backfill":
            wanted = BACKFILL_MODES[mode]
            runs = {ds: statuses[ds] in wanted for ds in request.days}
        else:  # ingest replaces a day; score skips one scored from the same input by the same champion (the flow checks)
            runs = {ds: True for ds in request.days}
        table = Table("ds", f"{dataset} in the ledger", "would run")
        for ds in request.days:
            table.add_row(ds.isoformat(), statuses[ds] or "missing", "yes" if runs[ds] else "no")
        console.print(table)
        console.print(f"{sum(runs.values())} of {len(request.days)} day(s) would run" + (f" (mode {mode})" if request.kind == "backfill" else ""))
    elif request.kind == "train":
        from infra.clients.mlflow_sql import StoreUnreadable, read_alias

        try:
            champion = read_alias(settings.resolved_mlflow_tracking_uri, settings.model_name, settings.champion_alias)
        except StoreUnreadable:
            champion = None
        window = request.parameters.get("window_days") or settings.training.window_days
        console.print(
            f"would train on the newest {window} days of matured applications"
            f"{' (even if already trained: --force)' if request.parameters.get('force') else ''}, "
            f"gate against {'champion v' + champion.version if champion else 'no champion (the first passing version is promoted)'}"
        )
    elif request.kind == "reindex":
        from infra.factory import build_pointer_ledger, index_pointer

        last = build_pointer_ledger(settings).last_move(index_pointer(settings))
        corpus = request.parameters.get("corpus_dir") or f"the worker's corpus folder (here: {settings.resolved_corpus_dir})"
        golden = request.parameters.get("golden_path") or f"the worker's golden set (here: {settings.resolved_golden_path})"
        console.print(
            f"would diff {corpus} against {settings.index.live_alias} "
            f"(now {last.new_value if last else 'unset'}), embed only what changed, gate on {golden}, then move {settings.index.live_alias}",
            soft_wrap=True,
        )
    elif request.kind == "eval":
        target = _eval_target(settings, request)
        version = target["prompt_version"]
        which = "" if request.parameters.get("prompt_version") is not None else f" ({settings.prompt.production_alias})"
        console.print(
            f"would answer the {len(target['golden'].questions)} questions of {target['golden'].path} with prompt "
            f"{'v' + str(version) if version is not None else '(none yet)'}{which} over {target['collection'] or 'no collection yet'}"
            f"{', again (--force)' if request.parameters.get('force') else ''}; a result for exactly these versions is reused",
            soft_wrap=True,
        )
    console.print("nothing was started")
