"""``tandem status``: one screen of what is live and how the nights went.

Champion and its metrics, the production prompt, the live index, pins, open
tickets, the last night's scorecard, a partition bar of the last 30 days per
dataset (done / failed / missing) and the next scheduled runs. Registered on
the main app in ``infra.cli``; it reads the stores directly (``infra.status``)
and imports neither MLflow nor Prefect, so it answers in about a second.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console()

# Partition bar: one cell per day, like Dagster's partition view.
CELLS = {"ok": ("■", "green"), "failed": ("×", "red"), None: ("·", "bright_black")}  # failed differs without colour too
STATUS_STYLE = {"green": "green", "amber": "yellow", "red": "red", "insufficient": "bright_black"}


def _api_url(data_dir) -> str:
    """``PREFECT_API_URL``, else the server ``make run`` started for this data dir, else the default local one."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    try:
        from infra.localserver import recorded_api_url

        recorded = recorded_api_url(data_dir)
    except Exception:  # no record, or no psutil: fall back to the default port
        recorded = None
    from infra.runs import local_api_url

    return recorded or local_api_url()


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """One screen: champion, production prompt, live index, pins, open tickets, last night, partitions, next runs."""
    from infra.factory import ops_engine
    from infra.settings import get_settings
    from infra.status import gather

    settings = get_settings()
    data = gather(settings, ops_engine(settings.resolved_ops_db_url), today=date.today(), api_url=_api_url(settings.data_dir))
    if as_json:
        from dataclasses import asdict

        console.print_json(json.dumps(asdict(data), default=str))
        return
    render(data, settings)


def render(s, settings) -> None:
    """Print the screen for a gathered ``infra.status.Status``."""
    _live(s, settings)
    _pins_and_tickets(s)
    _scorecard(s)
    _bars(s)
    _schedule(s)


def _live(s, settings) -> None:
    table = Table(title="live", title_justify="left", show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    if s.champion:
        c = s.champion
        metrics = "  ".join(f"{k.removeprefix('test_')} {v:.4f}" for k, v in sorted(c["metrics"].items())
                            if k.startswith("test_") and k.removeprefix("test_") in ("auc", "brier", "ks", "log_loss", "pr_auc"))
        gate = c["tags"].get("gate.decision") or "-"
        who = f"; human: {c['tags']['human.actor']}" if c["tags"].get("human.actor") else ""
        table.add_row("champion", Text(f"{settings.model_name} v{c['version']}  {metrics}  (gate {gate}{who})"))
    else:
        table.add_row("champion", Text(s.problems.get("champion") or "none yet: run the train flow", style="yellow"))
    if s.prompt:
        p = s.prompt
        table.add_row("prompt", Text(f"{p['name']} v{p['version']} @{p['alias']}  (gate {p['tags'].get('gate', '-')})"))
    else:
        table.add_row("prompt", Text(s.problems.get("prompt") or f"no {settings.prompt.production_alias} prompt yet", style="yellow"))
    if s.index and s.index["collection"]:
        i = s.index
        table.add_row("index", Text(f"{settings.index.live_alias} -> {i['collection']}  (since {i['moved_at']:%Y-%m-%d %H:%M} UTC, by {i['actor']})"))
    else:
        table.add_row("index", Text(s.problems.get("index") or f"{settings.index.live_alias} points at no collection yet", style="yellow"))
    console.print(table)


def _pins_and_tickets(s) -> None:
    for p in s.pins:
        since = f" since {p['since']:%Y-%m-%d %H:%M}" if p["since"] else ""
        console.print(Text(f"PINNED {p['pointer']}{since} by {p['actor']} ({p['reason']}): `tandem unpin` lifts it", style="yellow"))
    if not s.pins:
        console.print(Text("pins: none", style="dim"))
    if not s.tickets:
        console.print(Text("open tickets: none" if "tickets" not in s.problems else f"tickets: {s.problems['tickets']}", style="dim"))
        return
    table = Table("#", "kind", "asset", "status", "severity", "nights", "since", "title", title=f"open tickets ({len(s.tickets)})",
                  title_justify="left")
    for t in s.tickets:
        table.add_row(str(t["id"]), t["kind"], t["asset"], t["status"], Text(t["severity"], style="red" if t["severity"] == "high" else "yellow"),
                      str(t["count"]), str(t["opened_night"]), Text(t["title"][:70]))
    console.print(table)


def _scorecard(s) -> None:
    card = s.scorecard
    if card is None:
        console.print(Text("last night: no scorecard yet (the nightly-eval flow writes it)", style="dim"))
        return
    counts = "  ".join(f"[{STATUS_STYLE.get(k, 'white')}]{v} {k}[/]" for k, v in sorted(card["counts"].items()))
    console.print(f"[bold]last night {card['night']}[/]: {counts}")
    for line in card["lines"][:8]:
        style = STATUS_STYLE.get(line["status"], "white")
        console.print(Text(f"  {line['status']:6} {line['asset']:12} {line['summary']}"[:160], style=style))
    if len(card["lines"]) > 8:
        console.print(Text(f"  ... {len(card['lines']) - 8} more: `tandem tickets list`, the nightly scorecard artifact", style="dim"))


def _bars(s) -> None:
    bars = s.bars
    if bars is None:
        console.print(Text("partitions: none yet (ingest or backfill some days)", style="dim"))
        return
    console.print(f"[bold]partitions[/] {bars.start} .. {bars.end}  ([green]■[/] done  [red]×[/] failed  [bright_black]·[/] missing)")
    width = max(len(name) for name in bars.days)
    for name, days in bars.days.items():
        line = Text(f"  {name:<{width}}  ")
        for day in days:
            char, style = CELLS.get(day, CELLS[None])
            line.append(char, style=style)
        done, failed = sum(d == "ok" for d in days), sum(d == "failed" for d in days)
        line.append(f"  {done} done, {failed} failed, {len(days) - done - failed} missing", style="dim")
        console.print(line)


def _schedule(s) -> None:
    sched = s.schedule or {}
    if not sched.get("reachable"):
        console.print(Text(f"next runs: {sched.get('error') or 'server not reachable'}" +
                           (f" at {sched['api_url']}" if sched.get("api_url") else ""), style="dim"), soft_wrap=True)
        return
    if not sched["runs"]:
        console.print(Text(f"next runs: none scheduled ({sched['api_url']})", style="dim"))
        return
    now = datetime.now(timezone.utc)
    parts = []
    for r in sched["runs"]:
        at = r["at"]
        when = f"{at:%Y-%m-%d %H:%M} UTC (in {_in(at - now)})" if at else "?"
        parts.append(f"{r['deployment']}: {when}")
    console.print("[bold]next runs[/]: " + "; ".join(parts), soft_wrap=True)


def _in(delta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds >= 86_400:
        return f"{seconds // 86_400}d {seconds % 86_400 // 3600}h"
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 60}m"
