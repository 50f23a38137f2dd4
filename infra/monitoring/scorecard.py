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
from urllib.parse import urlsplit, urlunsplit

import fsspec
from mlflow.tracking import MlflowClient

from models.monitoring import ASSETS
from models.scorecard import counts, overall, render_scorecard
from infra.clients.mlflow_registry import ensure_experiment
from infra.clients.mlflow_store import mlflow_client
from infra.settings import TandemSettings
from infra.stores.model_cards import ops_notes_url

NIGHT_TAG = "tandem.night"
KEEP_SCORECARDS = 30
SCORECARD_ARTIFACT_KEY = "nightly-scorecard"  # the Prefect markdown artifact's key
MLFLOW_UI_DEFAULT = "http://127.0.0.1:5000"  # what `mlflow ui` serves when tracking is a local file or database
PREFECT_UI_DEFAULT = "http://127.0.0.1:4200"  # what `prefect server start` serves
_METRIC_NAME = re.compile(r"[^A-Za-z0-9_\-. /]")


def _public_base(url: str) -> str:
    """``url`` without credentials, query or trailing slash (a link must never carry a secret)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def mlflow_ui_base(tracking_uri: str) -> str:
    """The MLflow UI's address: the tracking server itself when it is http(s), else ``mlflow ui``'s default."""
    return _public_base(tracking_uri) if tracking_uri.startswith(("http://", "https://")) else MLFLOW_UI_DEFAULT


def mlflow_run_url(tracking_uri: str, experiment_id: str, run_id: str, artifact: str | None = None) -> str:
    """The MLflow UI URL of a run (or of one of its artifacts)."""
    url = f"{mlflow_ui_base(tracking_uri)}/#/experiments/{experiment_id}/runs/{run_id}"
    return f"{url}/artifactPath/{artifact}" if artifact else url


def prefect_ui_base() -> str:
    """The Prefect UI's address: ``PREFECT_UI_URL`` (Prefect derives it from the API URL), else the server's default."""
    from prefect.settings import PREFECT_UI_URL

    value = PREFECT_UI_URL.value()
    return _public_base(str(value)) if value else PREFECT_UI_DEFAULT


def prefect_links(flow_run_id: str | None, ui_base: str | None = None) -> dict[str, str]:
    """Where the Prefect copy of the scorecard is: the artifact by key, and the flow run's artifacts tab."""
    base = ui_base or prefect_ui_base()
    links = {"Prefect scorecard artifact (latest night)": f"{base}/artifacts/key/{SCORECARD_ARTIFACT_KEY}"}
    if flow_run_id:
        links["Prefect flow run (artifacts)"] = f"{base}/runs/flow-run/{flow_run_id}?tab=Artifacts"
    return links


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


def _opening_reason(ticket: dict[str, Any]) -> str:
    """Why the ticket opened, from its opening night's evidence: "data_drift was red (data_drift 0.31 > fail 0.12 ...)"."""
    evidence = ticket.get("evidence") or []
    first = [e for e in evidence if e.get("night") == ticket.get("opened_night")] or evidence[:1]
    if not first:
        return f"its checks were red ({ticket['title']})"
    checks = list(dict.fromkeys(e.get("check") for e in first if e.get("check")))
    names = " and ".join(checks) if len(checks) <= 2 else ", ".join(checks[:-1]) + f" and {checks[-1]}"
    summaries = "; ".join(str(e.get("summary")) for e in first if e.get("summary"))
    return f"{names} {'were' if len(checks) > 1 else 'was'} red" + (f" ({summaries})" if summaries else "")


def ticket_note(ticket: dict[str, Any]) -> str:
    """A ticket as a short Markdown document for the assistant to index.

    The first sentence answers "why was the <kind> ticket opened?" plainly;
    the status, remedy and evidence follow.
    """
    kind, tid = ticket["kind"], ticket["id"]
    lines = [
        f"# Ticket #{tid}: {kind} ticket for {ticket['asset']} ({ticket['status']})",
        "",
        f"The {kind} ticket #{tid} was opened on the night of {ticket['opened_night']} because {_opening_reason(ticket)}.",
        "",
        f"The {kind} ticket #{tid} is {ticket['status']} (severity {ticket['severity']}); failing nights recorded: "
        f"{ticket['count']}, the last on {ticket['last_night']}.",
        "",
        f"Suggested action for the {kind} ticket: {ticket['suggested_action']}",
    ]
    remedy = ticket.get("remedy") or {}
    if remedy:
        text = remedy.get("summary") or remedy.get("note") or json.dumps(remedy, default=str)[:600]
        lines += ["", f"Remedy of the {kind} ticket #{tid}: {text}"]
    if ticket.get("resolution"):
        lines += ["", f"The {kind} ticket #{tid} was resolved: {ticket['resolution']}"]
    evidence = ticket.get("evidence") or []
    if evidence:
        lines += ["", "## Evidence (newest last)", ""]
        for e in evidence[-10:]:
            lines.append(f"- Night {e.get('night')}: {e.get('summary')}" + (f" ({e.get('note')})" if e.get("note") else ""))
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
    client = mlflow_client(settings.resolved_mlflow_tracking_uri)
    runs: dict[str, str] = {}
    experiments: dict[str, str] = {}
    for asset in ASSETS:
        rows = [r for r in outcome.results if r.asset == asset]
        if not rows:
            continue
        exp = ensure_experiment(client, experiment_name(settings, asset), settings.resolved_mlflow_artifact_root, "nightly")
        run_id = _night_run(client, exp, night, flow_run_id)
        runs[asset], experiments[asset] = run_id, exp
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
    tracking = settings.resolved_mlflow_tracking_uri
    links = {f"MLflow run ({asset})": mlflow_run_url(tracking, experiments[asset], run_id) for asset, run_id in runs.items()}
    for name in reports:
        if "risk-scorer" in runs:
            links[f"Evidently report {name}"] = mlflow_run_url(tracking, experiments["risk-scorer"], runs["risk-scorer"], f"reports/{name}")
    links.update(prefect_links(flow_run_id))
    markdown = render_scorecard(outcome.night, outcome.results, versions=versions, tickets=outcome.changes, links=links)
    store = TicketStore(ops_engine(settings.resolved_ops_db_url))
    changed = [store.get(c["id"]).to_dict() for c in outcome.changes]
    notes = write_ops_notes(settings, night, markdown, changed)
    for asset, run_id in runs.items():
        client.log_text(run_id, markdown, "scorecard.md")
        client.set_terminated(run_id)
    return {"markdown": markdown, "status": overall(outcome.results), "counts": counts(outcome.results), "runs": runs,
            "notes": notes}
