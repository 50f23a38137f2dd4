"""``make run``: the main job as a run of the ``demo`` deployment on a live Prefect server.

1. a Prefect server (``infra.localserver.ensure_server``: ``PREFECT_API_URL``'s,
   or a local one started once and kept) and the serve process that registers
   every deployment of ``prefect.yaml`` and runs their flow runs (``ensure_serve``);
2. one run of ``demo/demo``: its stages (backfill, train, reindex, prompt
   release, the nightly replay with its remedies) are subflows of that run, so
   the Prefect UI shows them under it, named and tagged, next to the scheduled
   runs. One deployment run costs one process start and one round of imports;
   a deployment run per stage and night would cost that 150 times;
3. while it runs, the ``remediate`` deployment's ticket trigger is paused: the
   replay runs each night's remedies itself, in order, and a triggered remedy
   for the same ticket at the same moment would race it (and Qdrant local
   mode's single-process lock); it is resumed when the run ends (after a Ctrl-C the
   run goes on and the trigger stays paused: the next ``make run`` resumes it);
4. a progress line per stage, read from the API (the run's subflow runs and the
   backfill's task runs), then a one-screen summary from the run's result.

The server and the serve process keep running afterwards, so the schedules
fire; ``make stop`` stops them (``python -m infra.localserver stop``).

Exit codes: 0 the run completed, 1 it failed or crashed, 3 no server or
serve process could be started.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from infra.localserver import LocalServerError, ensure_serve, ensure_server, is_running, log_tail, read_record
from infra.masking import mask_url

DEPLOYMENT = "demo/demo"
REMEDY_DEPLOYMENT = "remediate/remediate"
REGISTER_TIMEOUT_S = 180.0  # the serve process imports every flow, then registers the deployments
PICKUP_TIMEOUT_S = 120.0  # a run nobody picks up in this time: the serve process is not polling
PAGE = 200
EXIT_OK, EXIT_FAILED, EXIT_NOT_STARTED = 0, 1, 3


@dataclass(frozen=True)
class Stage:
    """One line of the progress display: ``key`` is the subflow's flow name (``start``, ``finish``: the run's own)."""

    key: str
    label: str


def stages(days: int, nights: int) -> list[Stage]:
    return [
        Stage("start", "start the run (serve process picks it up, imports)"),
        Stage("backfill", f"backfill {days} days"),
        Stage("train", "train, gate, promote the champion"),
        Stage("reindex", "index the corpus and model cards"),
        Stage("prompt-release", "release the answer prompt"),
        Stage("nightly-eval", f"replay {nights} nights (score, questions, evaluation, remedies)"),
        Stage("finish", "sample questions, summary"),
    ]


class StageProgress:
    """The progress display of one run of the main job, fed from the API's view of its subflow runs."""

    def __init__(self, progress: Progress, days: int, nights: int):
        self.progress = progress
        self.stages = stages(days, nights)
        self.totals = {"backfill": days, "nightly-eval": nights}
        self.ids = {s.key: progress.add_task(s.label, total=self.totals.get(s.key, 1), start=False)
                    for s in self.stages}
        self.done: set[str] = set()
        self.progress.start_task(self.ids["start"])

    def _finish(self, key: str, note: str = "") -> None:
        if key in self.done:
            return
        self.done.add(key)
        task = self.ids[key]
        self.progress.start_task(task)  # a stage with no subflow run (all skipped) still shows as done
        label = next(s.label for s in self.stages if s.key == key)
        self.progress.update(task, completed=self.totals.get(key, 1), description=f"{label}{': ' + note if note else ''}")
        self.progress.stop_task(task)

    def _start(self, key: str) -> None:
        self.progress.start_task(self.ids[key])
        for s in self.stages:  # everything before a started stage is over
            if s.key == key:
                break
            self._finish(s.key)

    def update(self, children: list[tuple[str, Any]], backfill_tasks_done: int | None, run_final: bool,
               run_ok: bool = True) -> None:
        """``children``: (flow name, flow run) of the run's subflow runs, oldest first.

        A run that ended badly leaves the stages it never reached as they are (not ticked).
        """
        by_flow: dict[str, list] = {}
        for name, child in children:
            by_flow.setdefault(name, []).append(child)
        if children:
            self._finish("start")
        for key in ("backfill", "train", "reindex", "prompt-release"):
            runs = by_flow.get(key, [])
            if not runs:
                continue
            self._start(key)
            first = runs[0]
            if first.state and first.state.is_final():
                self._finish(key, _state_note(first))
            elif key == "backfill" and backfill_tasks_done is not None:
                self.progress.update(self.ids[key], completed=min(backfill_tasks_done, self.totals[key]))
        nightly = [c for c in by_flow.get("nightly-eval", []) if c.state and c.state.is_final()]
        if nightly or by_flow.get("score"):
            self._start("nightly-eval")
            remedies = len(by_flow.get("remediate", []))
            note = f" ({remedies} remedies run)" if remedies else ""
            label = next(s.label for s in self.stages if s.key == "nightly-eval")
            self.progress.update(self.ids["nightly-eval"], completed=min(len(nightly), self.totals["nightly-eval"]),
                                 description=f"{label}{note}")
        if run_final and run_ok:
            for s in self.stages:
                if s.key == "nightly-eval" and "nightly-eval" not in self.done and not nightly:
                    self._finish(s.key, "every night already evaluated")
                self._finish(s.key)
        elif "prompt-release" in self.done and "nightly-eval" not in self.done:
            self._start("nightly-eval")


def _state_note(run) -> str:
    state = run.state
    text = (state.message or "").replace("\n", " ").strip()
    name = state.name.lower()
    if state.is_completed():
        return text[:110] or "done"
    return f"[red]{name}[/]" + (f": {text[:100]}" if text else "")


# -- the API -----------------------------------------------------------------------------
def wait_for_deployment(client, name: str, serve: dict | None, timeout_s: float = REGISTER_TIMEOUT_S):
    """The deployment ``name`` once the serve process (its ``serve`` record) has registered it.

    Raises:
        LocalServerError: the serve process exited, or registered nothing within ``timeout_s``.
    """
    from prefect.exceptions import ObjectNotFound

    log = (serve or {}).get("log")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return client.read_deployment_by_name(name)
        except ObjectNotFound:
            if serve and not is_running(serve):
                raise LocalServerError(f"the serve process exited before registering {name}; the end of its log "
                                       f"({log}):\n{log_tail(Path(log), 6)}") from None
            if time.monotonic() > deadline:
                raise LocalServerError(f"deployment {name} was not registered within {int(timeout_s)} s; "
                                       f"see the serve process's log: {log}") from None
            time.sleep(1.0)


def pause_remedy_trigger(client, data_dir: Path, wait_s: float = 60.0) -> list[str]:
    """Pause the enabled automations that start ``remediate`` runs; returns their ids (to ``resume``).

    The ids are also written to ``<data dir>/run/paused-automations.json``, so
    a ``make run`` that was killed before resuming them has the next one resume them.
    """
    from prefect.exceptions import ObjectNotFound

    resume(client, data_dir)  # left paused by a run that was killed
    # The serve process registers the deployments, then their triggers' automations: the demo deployment
    # can exist before the remediate trigger does. Wait for it (a fresh `make run` once paused nothing and
    # the trigger started remediations beside the replay).
    automations, deadline = [], time.monotonic() + wait_s
    while True:
        try:
            deployment = client.read_deployment_by_name(REMEDY_DEPLOYMENT)
            automations = client.read_resource_related_automations(f"prefect.deployment.{deployment.id}")
        except ObjectNotFound:
            automations = []
        if automations or time.monotonic() >= deadline:
            break
        time.sleep(1.0)
    paused = []
    for automation in automations:
        if automation.enabled:
            paused.append(str(automation.id))
    _paused_file(data_dir).parent.mkdir(parents=True, exist_ok=True)
    _paused_file(data_dir).write_text(json.dumps(paused), "utf-8")
    for automation_id in paused:
        client.pause_automation(automation_id)
    return paused


def resume(client, data_dir: Path) -> None:
    """Resume the automations ``pause_remedy_trigger`` paused (read back from its file), then forget them."""
    from prefect.exceptions import ObjectNotFound

    path = _paused_file(data_dir)
    try:
        ids = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return
    for automation_id in ids:
        try:
            client.resume_automation(automation_id)
        except ObjectNotFound:  # the serve process re-created its triggers meanwhile
            pass
    path.unlink(missing_ok=True)


def _paused_file(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "run" / "paused-automations.json"


def going_run(client, deployment_id):
    """A run of the deployment that is pending or running (a ``make run`` interrupted earlier), or None.

    Watching it instead of starting a second one keeps two replays from racing for the same nights.
    """
    from prefect.client.schemas.filters import (
        DeploymentFilter, DeploymentFilterId, FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    going = client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
            any_=[StateType.PENDING, StateType.RUNNING]))),
        limit=1,
    )
    return going[0] if going else None


def _children(client, run_id, flow_names: dict) -> list[tuple[str, Any]]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.client.schemas.sorting import FlowRunSort

    runs, page = [], None
    while page is None or len(page) == PAGE:
        page = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id])),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=PAGE, offset=len(runs),
        )
        runs += page
    out = []
    for child in runs:
        if child.flow_id not in flow_names:
            flow_names[child.flow_id] = client.read_flow(child.flow_id).name
        out.append((flow_names[child.flow_id], child))
    return out


def _tasks_done(client, flow_run_id) -> int:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, TaskRunFilter, TaskRunFilterName

    runs, page = [], None
    while page is None or len(page) == PAGE:
        page = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="ingest")),
            limit=PAGE, offset=len(runs),
        )
        runs += page
    return sum(1 for r in runs if r.state and r.state.is_final())


def watch(client, run, display: StageProgress, *, poll_s: float = 1.0, pickup_timeout_s: float = PICKUP_TIMEOUT_S):
    """Poll the run until it is final, feeding the display; returns the final flow run."""
    flow_names: dict = {}
    created = time.monotonic()
    while True:
        run = client.read_flow_run(run.id)
        final = bool(run.state and run.state.is_final())
        children = _children(client, run.id, flow_names)
        backfill = next((c for n, c in children if n == "backfill"), None)
        tasks_done = _tasks_done(client, backfill.id) if backfill and not backfill.state.is_final() else None
        display.update(children, tasks_done, final, run_ok=bool(run.state and run.state.is_completed()))
        if final:
            return run
        if run.state and run.state.is_scheduled() and time.monotonic() - created > pickup_timeout_s:
            raise LocalServerError(f"nobody picked the run up within {int(pickup_timeout_s)} s: is the serve process "
                                   "running? (`python -m infra.localserver status`)")
        time.sleep(poll_s)


# -- the summary ------------------------------------------------------------------------------
def print_summary(summary: dict, console: Console, *, run_url: str, ui_url: str, elapsed_s: float) -> None:
    """One screen: champion and metrics, production prompt, live index, tickets, where to look next."""
    from rich.table import Table

    console.rule("[bold]Tandem: the main job")
    metrics = summary.get("champion_metrics") or {}
    shown = ", ".join(f"{k.removeprefix('test_')} {v:.3f}" for k, v in sorted(metrics.items())
                      if k in ("test_auc", "test_ks", "test_brier", "test_pr_auc"))
    trained = summary.get("trained") or {}
    verdict = "training skipped (same partitions)" if trained.get("skipped") else f"gate: {trained.get('decision', '?')}"
    console.print(f"Champion:          [bold green]risk-scorer v{summary.get('champion')}[/] ({shown}; {verdict})")
    answers = summary.get("answers") or []
    prompt = next((a["prompt_version"] for a in answers if a.get("prompt_version")), None)
    release = (summary.get("prompt_release") or {}).get("message", "").split(" (")[0]  # the verdict, not every figure
    console.print(f"Production prompt: [bold]rag-answer v{prompt}[/]" if prompt else "Production prompt: (none)",
                  f"[dim]({release})[/]" if release else "")
    index = next((a["index_version"] for a in answers if a.get("index_version")), None)
    console.print(f"Live index:        docs-live -> [bold]{index or (summary.get('indexed') or {}).get('collection')}[/]")
    parts = summary.get("partitions") or {}
    failed = summary.get("failed_partitions")
    console.print("Partitions:        " + ", ".join(f"{k} {v}" for k, v in parts.items())
                  + (f" [red]({failed} failed)[/]" if failed else ""))
    nights = summary.get("nightly") or []
    evaluated = [n for n in nights if not n.get("skipped")]
    console.print(f"Nights:            {len(nights)} replayed: {len(evaluated)} evaluated now, "
                  f"{len(nights) - len(evaluated)} already done; {len(summary.get('remedies') or [])} remedies run")
    tickets = summary.get("tickets") or []
    if tickets:
        table = Table("ticket", "kind", "asset", "status", "opened", "remedy / resolution", box=None, pad_edge=False)
        for t in tickets[:8]:  # newest first, as the ticket store lists them
            colour = {"open": "red", "acknowledged": "yellow", "resolved": "green"}.get(t["status"], "")
            note = (t.get("resolution") or t.get("remedy") or "").replace("\n", " ")
            table.add_row(f"#{t['id']}", t["kind"], t["asset"], f"[{colour}]{t['status']}[/]", t["opened_night"],
                          note[:70] + ("…" if len(note) > 70 else ""))
        more = f" (newest 8 of {len(tickets)}: `tandem tickets list`)" if len(tickets) > 8 else ""
        console.print(f"Tickets{more}:")
        console.print(table)
    else:
        console.print("Tickets:           none")
    console.print(f"This run:          [cyan]{run_url}[/] ({elapsed_s:.0f} s)", soft_wrap=True)
    console.print(f"Prefect UI:        [cyan]{ui_url}[/]", soft_wrap=True)
    console.print(f"MLflow UI:         [cyan]make mlflow-ui[/] then http://127.0.0.1:5000 "
                  f"[dim]({mask_url(summary.get('mlflow_tracking_uri', ''))})[/]", soft_wrap=True)
    console.print("Server and serve process keep running (schedules fire): [cyan]make stop[/] stops them.")


# -- the command ------------------------------------------------------------------------------
def run_main_job(parameters: dict, *, console: Console, port: int | None = None) -> int:
    """Start (or reuse) the server and the serve process, run ``demo/demo``, show progress and the summary."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from infra.settings import get_settings

    settings = get_settings()
    began = time.monotonic()
    try:
        with console.status("Prefect server") as status:
            server = ensure_server(settings.data_dir, port=port, say=lambda line: status.update(line))
            if server.note and server.started:
                console.print(f"[yellow]{server.note}[/]")
            ensure_serve(settings.data_dir, server, say=lambda line: status.update(line))
            serve = read_record(settings.data_dir, "serve")
            with temporary_settings(updates={PREFECT_API_URL: server.api_url}), get_client(sync_client=True) as client:
                status.update(f"waiting for the deployments (serve process log: {(serve or {}).get('log')})")
                deployment = wait_for_deployment(client, DEPLOYMENT, serve)
    except LocalServerError as exc:
        console.print(f"[red]error:[/] {exc}", soft_wrap=True)
        return EXIT_NOT_STARTED
    console.print(f"Prefect server {server.ui_url} ({'started' if server.started else 'running'}), "
                  f"deployments registered ({time.monotonic() - began:.0f} s)")
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}), get_client(sync_client=True) as client:
        pause_remedy_trigger(client, settings.data_dir)
        run = None
        try:
            run = going_run(client, deployment.id)
            if run is None:
                run = client.create_flow_run_from_deployment(deployment.id, parameters=parameters)
            run_url = f"{server.ui_url}/runs/flow-run/{run.id}"
            going = not (run.state and run.state.is_scheduled())
            console.print(f"a run of {DEPLOYMENT} is already going, watching it: {run_url}" if going
                          else f"started a run of {DEPLOYMENT}: {run_url}", soft_wrap=True)
            progress = Progress(SpinnerColumn(finished_text="[green]✓[/]"), TextColumn("{task.description}"),
                                BarColumn(bar_width=24), MofNCompleteColumn(), TimeElapsedColumn(), console=console)
            with progress:
                display = StageProgress(progress, parameters.get("days", 120), parameters.get("replay_nights", 47))
                try:
                    run = watch(client, run, display)
                except KeyboardInterrupt:
                    console.print(f"stopped watching; the run goes on: {run_url} (the remediate trigger stays paused "
                                  "while it does: the next `make run` resumes it)", soft_wrap=True)
                    return 130
                except (httpx.HTTPError, OSError) as exc:  # the server went away (or stopped answering) mid-run
                    console.print(f"[red]lost the Prefect server at {server.api_url}[/] ({type(exc).__name__}); "
                                  f"the run may still be going: {run_url}", soft_wrap=True)
                    return EXIT_FAILED
        except LocalServerError as exc:
            console.print(f"[red]error:[/] {exc}", soft_wrap=True)
            return EXIT_NOT_STARTED
        finally:
            if run is not None and run.state and run.state.is_final():
                try:
                    resume(client, settings.data_dir)
                except Exception as exc:  # the next make run resumes it (the ids are kept on disk)
                    console.print(f"[yellow]could not resume the remediate trigger ({type(exc).__name__}); "
                                  "the next `make run` does[/]")
    elapsed = time.monotonic() - began
    if not run.state.is_completed():
        console.print(f"[red]the main job ended {run.state.name}[/]: {(run.state.message or '').strip()[:500]}",
                      soft_wrap=True)
        console.print(f"its run, with the failing subflow and its logs: {run_url}; the serve process's log: "
                      f"{(read_record(settings.data_dir, 'serve') or {}).get('log')}", soft_wrap=True)
        return EXIT_FAILED
    try:
        summary = run.state.result()
    except Exception as exc:  # the result lives where the run ran: a remote worker's storage may not be readable here
        console.print(f"completed in {elapsed:.0f} s; its summary could not be read here ({type(exc).__name__}): "
                      f"see the run in the UI, `tandem champion`, `tandem tickets list`: {run_url}", soft_wrap=True)
        return EXIT_OK
    print_summary(summary, console, run_url=run_url, ui_url=server.ui_url, elapsed_s=elapsed)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m infra.mainjob", description="The main job (make run) as a run of "
                                     "the demo deployment on a live Prefect server.")
    parser.add_argument("--days", type=int, default=120, help="days to backfill (default 120)")
    parser.add_argument("--replay-nights", type=int, default=47, help="nights of the nightly loop to replay (default 47)")
    parser.add_argument("--shock-days", type=int, default=45, help="the shock starts this many days before the end")
    parser.add_argument("--port", type=int, default=None,
                        help="port for a new local server (default: PREFECT_SERVER_API_PORT or 4200)")
    args = parser.parse_args(argv)
    parameters = {"days": args.days, "replay_nights": args.replay_nights, "shock_days": args.shock_days}
    # Piped into a file or CI log, rich would assume 80 columns and cut the stage lines: give it 120.
    console = Console() if sys.stdout.isatty() or os.environ.get("COLUMNS") else Console(width=120)
    return run_main_job(parameters, console=console, port=args.port)


if __name__ == "__main__":
    sys.exit(main())
