"""Terminal reports for people (the main job's closing summary)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from infra.masking import mask_url


def print_demo_summary(summary: dict, console: Console | None = None) -> None:
    console = console or Console()
    trained = summary["trained"]
    console.rule("[bold]Tandem: risk-scorer lifecycle")
    if trained.get("skipped"):
        default = f"version {trained['version']} was already trained on these partitions."
        console.print(f"Training skipped: {trained.get('message') or default}")
    else:
        console.print(f"Trained version {trained['version']}: gate said [bold]{trained['decision']}[/] — {trained['reason']}")
    console.print(f"Champion: [bold green]risk-scorer v{summary['champion']}[/]")
    table = Table("metric (out-of-time test)", "value")
    for key, value in sorted(summary["champion_metrics"].items()):
        table.add_row(key.removeprefix("test_"), f"{value:,.0f}" if key == "test_n" else f"{value:.4f}")
    console.print(table)
    parts = summary["partitions"]
    console.print(
        "Partitions in the ledger: " + ", ".join(f"{name} {count}" for name, count in parts.items())
        + (f" ({summary['failed_partitions']} failed)" if summary["failed_partitions"] else "")
    )
    scored = summary["scored"]
    by_status: dict[str, int] = {}
    for s in scored:
        by_status[s["status"]] = by_status.get(s["status"], 0) + 1
    span = f" ({scored[0]['ds']} .. {scored[-1]['ds']})" if scored else ""
    console.print(f"Scored {len(scored)} day(s){span}: " + ", ".join(f"{n} {status}" for status, n in sorted(by_status.items())))
    if "indexed" in summary:
        _print_rag(summary, console)
    if summary.get("nightly") is not None:
        _print_nightly(summary, console)
    # Masked again here: a summary built elsewhere may carry a URL with a password.
    console.print(f"Data directory: {summary['data_dir']}")
    console.print(f"MLflow store:   {mask_url(summary['mlflow_tracking_uri'])}")
    console.print(f"Open MLflow UI: [cyan]{mask_url(summary['mlflow_ui'])}[/]")
    console.print("Open Prefect UI: [cyan]make ui[/] (run history of these flows)")


def _print_rag(summary: dict, console: Console) -> None:
    console.rule("[bold]Tandem: RAG assistant")
    idx = summary["indexed"]
    plan = idx.get("plan", {})
    if idx.get("up_to_date"):
        console.print(f"Index: docs-live -> [bold]{idx['collection']}[/], up to date ({plan.get('unchanged', 0)} documents, 0 embedded)")
    else:
        if idx.get("released"):
            state = "[green]released[/]"
        elif idx.get("pinned"):
            state = "[yellow]passed the gate, but docs-live is pinned by a rollback (`tandem unpin index`)[/]"
        else:
            state = "[red]held by the retrieval gate[/]"
        console.print(f"Index: built [bold]{idx['collection']}[/] ({', '.join(f'{k} {v}' for k, v in plan.items())}), {state}")
    rel = summary["prompt_release"]
    console.print(f"Prompt: {rel['message']}")
    for a in summary["answers"]:
        console.print(f"\n[bold]Q:[/] {a['question']}")
        console.print(("[red]" if a["refused"] else "") + "A: " + a["answer"].replace("[", "\\[") + ("[/]" if a["refused"] else ""))
        versions = f"prompt v{a['prompt_version']} | index {a['index_version']}" if a["prompt_version"] else "refused before retrieval"
        console.print(
            f"[dim]   {versions} | {a['tokens']} tokens | "
            f"{a['latency_ms']:.0f} ms | cache {'hit' if a['cache_hit'] else 'miss'} | flags {', '.join(a['flags']) or '-'}[/]"
        )
    console.print("\nAsk your own: [cyan].venv/bin/tandem ask \"How do I roll back the index?\"[/]  "
                  "events: [cyan].venv/bin/tandem requests[/]")


def _print_nightly(summary: dict, console: Console) -> None:
    console.rule("[bold]Tandem: nightly loop")
    nights = summary["nightly"]
    run = [n for n in nights if not n.get("skipped")]
    if nights:
        statuses = {}
        for n in run:
            statuses[n.get("status")] = statuses.get(n.get("status"), 0) + 1
        console.print(
            f"Nights {nights[0]['night']} .. {nights[-1]['night']}: {len(run)} evaluated now, "
            f"{len(nights) - len(run)} already done"
            + (" (" + ", ".join(f"{v} {k}" for k, v in sorted(statuses.items())) + ")" if statuses else "")
        )
    tickets = summary.get("tickets") or []
    if not tickets:
        console.print("Tickets: none")
        return
    table = Table("#", "kind", "asset", "status", "opened", "nights", "remedy / resolution", show_lines=False)
    for t in tickets:
        colour = {"open": "red", "acknowledged": "yellow", "resolved": "green"}.get(t["status"], "")
        note = t["resolution"] or t["remedy"] or ""
        table.add_row(str(t["id"]), t["kind"], t["asset"], f"[{colour}]{t['status']}[/]", t["opened_night"], str(t["count"]),
                      note if len(note) <= 140 else note[:139] + "…")
    console.print(table)
    console.print("Scorecards: MLflow experiments nightly-risk-scorer and nightly-rag; tickets: [cyan].venv/bin/tandem tickets list[/]")
