"""Publish a night's scorecard: MLflow (one experiment per asset, one run per night) and the assistant's copy.

Every figure goes to MLflow as a metric of the night's run (``<check>`` or
``<check>.<subject>``), with the scorecard Markdown, the graded results as
JSON and the drift reports as artifacts. A rerun of a night reuses its run
(tag ``tandem.night``), so there is one run per night and asset.

The scorecard and every ticket changed tonight are also written as Markdown
under ``<lake>/_ops_notes/``, which the reindex flow adds to the corpus
(doc ids ``ops-notes/...``), so on-call can ask the assistant "why was the
retrain ticket opened?" and get an answer citing them. Only the newest
``KEEP_SCORECARDS`` scorecards stay there.
"""

from __future__ import annotations

import json
import re
from typing import Any

import fsspec
from mlflow.tracking import MlflowClient

from models.monitoring import ASSETS
from models.scorecard import counts, overall, render_scorecard
from infra.clients.mlflow_registry import ensure_experiment
from infra.masking import mask_url
from infra.settings import TandemSettings
from infra.stores.model_cards import ops_notes_url

NIGHT_TAG = "tandem.night"
KEEP_SCORECARDS = 30
_METRIC_NAME = re.compile(r"[^A-Za-z0-9_\-. /]")


def experiment_name(settings: TandemSettings, asset: str) -> str:
    return f"nightly-{asset}"


def _night_run(client: MlflowClient, experiment_id: str, night: str, flow_run_id: str | None) -> str:
    found = client.search_runs([experiment_id], filter_string=f"tags.`{NIGHT_TAG}` = '{night}'", max_results=1)
    if found:
        return found[0].info.run_id
    tags = {NIGHT_TAG: night, "mlflow.runName": f"night {night}"}
    if flow_run_id:
        tags["prefect.flow_run_id"] = flow_run_id
    return client.create_run(experiment_id, tags=tags, run_name=f"night {night}").info.run_id


def _metric_name(check: str, subject: str | None) -> str:
    return _METRIC_NAME.sub("_", f"{check}.{subject}" if subject else check)[:250]


def ticket_note(ticket: dict[str, Any]) -> str:
    """A ticket as a short Markdown document for the assistant to index."""
    lines = [
        f"# Ticket #{ticket['id']}: {ticket['kind']} for {ticket['asset']}",
        "",
        f"Status: {ticket['status']}. Severity: {ticket['severity']}. Opened on the night of {ticket['opened_night']}; "
        f"last failing night {ticket['last_night']}; failing nights recorded: {ticket['count']}.",
        "",
        f"Why it was opened: {ticket['title']}.",
        "",
        f"Suggested action: {ticket['suggested_action']}",
    ]
    evidence = ticket.get("evidence") or []
    if evidence:
        lines += ["", "## Evidence (newest last)", ""]
        for e in evidence[-10:]:
            lines.append(f"- Night {e.get('night')}: {e.get('summary')}" + (f" ({e.get('note')})" if e.get("note") else ""))
    remedy = ticket.get("remedy") or {}
    if remedy:
        lines += ["", "## Remedy", "", f"{remedy.get('summary') or json.dumps(remedy, default=str)[:600]}"]
    if ticket.get("resolution"):
        lines += ["", f"Resolved: {ticket['resolution']}"]
    return "\n".join(lines) + "\n"


def write_ops_notes(settings: TandemSettings, night: str, markdown: str, tickets: list[dict[str, Any]]) -> list[str]:
    """Write the scorecard and the changed tickets under ``_ops_notes`` (replacing earlier copies); prune old scorecards."""
    fs, base = fsspec.core.url_to_fs(ops_notes_url(settings))
    fs.makedirs(base, exist_ok=True)
    written = []
    for name, text in [(f"scorecard-{night}.md", markdown)] + [(f"ticket-{t['id']}.md", ticket_note(t)) for t in tickets]:
        path = f"{base}/{name}"
        with fs.open(path + ".tmp", "w") as fh:
            fh.write(text)
        fs.mv(path + ".tmp", path)
        written.append(path)
    cards = sorted(p for p in fs.ls(base, detail=False) if p.rsplit("/", 1)[-1].startswith("scorecard-") and p.endswith(".md"))
    for old in cards[:-KEEP_SCORECARDS]:
        fs.rm(old)
    return written


def publish_night(
    settings: TandemSettings,
    outcome: Any,
    *,
    reports: dict[str, str],
    champion: str | None,
    golden: dict | None,
    flow_run_id: str | None = None,
) -> dict[str, Any]:
    """Log the night to MLflow and write the assistant's copy.

    Args:
        settings: where MLflow and the lake are.
        outcome: the night's ``NightOutcome``.
        reports: HTML reports by file name (the risk side's drift report).
        champion: the champion version evaluated.
        golden: tonight's golden-set evaluation summary (prompt version, collection), or None.
        flow_run_id: the nightly flow run, tagged on the MLflow runs.

    Returns:
        markdown (the scorecard), status, counts, runs (asset -> MLflow run id), notes (paths written).
    """
    from infra.stores.tickets import TicketStore
    from infra.factory import ops_engine

    night = outcome.night.isoformat()
    client = MlflowClient(settings.resolved_mlflow_tracking_uri)
    runs: dict[str, str] = {}
    for asset in ASSETS:
        rows = [r for r in outcome.results if r.asset == asset]
        if not rows:
            continue
        exp = ensure_experiment(client, experiment_name(settings, asset), settings.resolved_mlflow_artifact_root, "nightly")
        run_id = _night_run(client, exp, night, flow_run_id)
        runs[asset] = run_id
        for r in rows:
            if r.measurement.value is not None:
                client.log_metric(run_id, _metric_name(r.check, r.measurement.subject), float(r.measurement.value))
        status_counts = counts(rows)
        for status, n in status_counts.items():
            client.log_metric(run_id, f"checks_{status}", n)
        client.set_tag(run_id, "tandem.status", overall(rows))
        client.log_dict(run_id, [r.to_dict() for r in rows], "checks.json")
        if asset == "risk-scorer":
            for name, html in reports.items():
                client.log_text(run_id, html, f"reports/{name}")
    versions = {}
    if champion:
        versions["risk-scorer champion"] = f"v{champion}"
    if golden:
        versions["prompt"] = f"production v{golden.get('prompt_version')}"
        versions["index"] = f"docs-live -> {golden.get('collection')}"
    tracking = mask_url(settings.resolved_mlflow_tracking_uri)
    links = {f"MLflow run ({asset})": f"{tracking} experiment nightly-{asset}, run id {run_id}" for asset, run_id in runs.items()}
    if reports:
        links["Evidently data drift report"] = f"artifact reports/{next(iter(reports))} of the risk-scorer run"
    markdown = render_scorecard(outcome.night, outcome.results, versions=versions, tickets=outcome.changes, links=links)
    store = TicketStore(ops_engine(settings.resolved_ops_db_url))
    changed = [store.get(c["id"]).to_dict() for c in outcome.changes]
    notes = write_ops_notes(settings, night, markdown, changed)
    for asset, run_id in runs.items():
        client.log_text(run_id, markdown, "scorecard.md")
        client.set_terminated(run_id)
    return {"markdown": markdown, "status": overall(outcome.results), "counts": counts(outcome.results), "runs": runs,
            "notes": notes}
