"""Tasks of the nightly loop: measure both systems, grade and file tickets, publish the scorecard, remedy a ticket.

Thin: each builds its adapters from settings and calls one composition in
``infra/monitoring/`` (or ``models.remedy`` for a remedy's plan).
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from models.monitoring import Measurement
from infra.factory import build_lake, build_partition_ledger, build_registry, build_source, ops_engine
from infra.settings import get_settings
from infra.sources.corpus import OPS_NOTES_PREFIX
from tasks.common import current_flow_run_id, today_utc
from tasks.ingest import LABELS
from tasks.scoring import PREDICTIONS



def _engine(settings):
    return ops_engine(settings.resolved_ops_db_url)


@task(cache_policy=NO_CACHE)
def resolve_night(ds: date | None = None) -> date:
    """The night to evaluate: ``ds``, or the day before the run's scheduled start in its deployment's timezone."""
    from infra.flow_runs import run_day

    return run_day(ds)


@task(cache_policy=NO_CACHE)
def night_done(night: date) -> bool:
    """Whether the night was already evaluated (its checks are in the history)."""
    from infra.stores.tickets import CheckHistory

    return bool(CheckHistory(_engine(get_settings())).night(night))


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def measure_risk(night: date, html: bool = True):
    """Every risk-scorer check's figure for the night (``infra.monitoring.risk.measure_risk_night``).

    ``html``: keep Evidently's HTML data drift report (about 4 s a night on 2 cores); the figures are the same without it.
    """
    from infra.monitoring.policy import policy_from_settings
    from infra.monitoring.risk import measure_risk_night
    from infra.stores.tickets import CheckHistory

    settings = get_settings()
    history = CheckHistory(_engine(settings))
    evaluated = [n for n in history.nights() if n < night]
    source = build_source(settings)
    risk = measure_risk_night(
        night, ledger=build_partition_ledger(settings), lake=build_lake(settings), registry=build_registry(settings),
        schema=source.schema, champion_alias=settings.champion_alias, policy_params=policy_from_settings(settings).params(),
        since=evaluated[-1] if evaluated else None, label_delay_days=source.label_delay_days,
        labels_dataset=LABELS, predictions_dataset=PREDICTIONS, html=html,
    )
    get_run_logger().info("risk-scorer %s: %d checks measured against champion %s", night, len(risk.measurements),
                          f"v{risk.champion}" if risk.champion else "none")
    return risk


@task(cache_policy=NO_CACHE)
def evaluate_golden(night: date) -> dict | None:
    """The golden-set evaluation of docs-live with the production prompt (reused from MLflow while neither changed).

    None when the assistant is not set up yet (no production prompt or live
    index): the answer and retrieval checks are then "insufficient", not red.
    """
    from infra.rag.gateway import NotReady
    from tasks.rag import evaluate_golden_set

    try:
        return evaluate_golden_set.fn()
    except NotReady as exc:
        get_run_logger().warning("golden set not evaluated on %s: %s", night, exc)
        return None


@task(cache_policy=NO_CACHE)
def measure_rag(night: date, golden: dict | None) -> list[Measurement]:
    """Every RAG check's figure for the night (``infra.monitoring.rag.measure_rag_night``)."""
    from infra.factory import build_embedder, build_index_builds, build_prompt_registry, build_request_log, build_vector_index
    from infra.monitoring.policy import policy_from_settings
    from infra.monitoring.rag import corpus_mtimes, live_index_info, measure_rag_night, production_prompt
    from infra.sources.corpus import read_corpus
    from infra.stores.feedback import FeedbackStore
    from infra.stores.model_cards import model_cards_url

    settings = get_settings()
    # What a reindex would read now (the corpus folder and the model cards), so a new model card is staleness too.
    # Scorecards and ticket notes (ops-notes/...) are Tandem's own nightly writing: never counted as stale.
    cards = model_cards_url(settings) if settings.index.include_model_cards else None
    corpus = {d: h for d, h in read_corpus(settings.resolved_corpus_dir, model_cards_url=cards).manifest().items()
              if not d.startswith(OPS_NOTES_PREFIX)}
    info = live_index_info(build_vector_index(settings), build_index_builds(settings))  # the process's cached client
    info = dataclasses.replace(info, documents={d: h for d, h in info.documents.items() if not d.startswith(OPS_NOTES_PREFIX)})
    measurements = measure_rag_night(
        night, request_log=build_request_log(settings), feedback=FeedbackStore(_engine(settings)),
        embedder=build_embedder(settings), index_info=info, corpus=corpus, golden_result=golden,
        prompt=production_prompt(build_prompt_registry(settings), settings.prompt.production_alias),
        corpus_times=corpus_mtimes(settings.resolved_corpus_dir), policy_params=policy_from_settings(settings).params(),
    )
    get_run_logger().info("rag %s: %d checks measured", night, len(measurements))
    return measurements


def _calibration_homes(settings, engine, champion: str | None) -> dict:
    """Where tonight's calibrations are stored: the champion's model version, the live index collection."""
    from infra.factory import build_vector_index
    from infra.monitoring.night import CalibrationHome
    from infra.stores.calibrations import IndexCalibrations, ModelVersionCalibrations
    from models.monitoring import RAG, RISK

    homes = {}
    if champion:
        homes[RISK] = CalibrationHome(str(champion), f"v{champion}", ModelVersionCalibrations(build_registry(settings)))
    collection = build_vector_index(settings).live_collection()  # the process's cached client
    if collection:
        homes[RAG] = CalibrationHome(collection, collection, IndexCalibrations(engine, RAG))
    return homes


@task(cache_policy=NO_CACHE)
def grade_and_file(night: date, measurements: list[Measurement], reference_values: dict[str, list[float]],
                   champion: str | None = None):
    """Grade against the policy's calibrated levels, record the night, open/update/resolve tickets (events + webhook).

    Calibrations are stored with (and reused from) the champion's model version and the live collection.
    """
    from infra.clients.webhook import TicketWebhook
    from infra.monitoring.events import publish
    from infra.monitoring.night import evaluate_night
    from infra.monitoring.policy import policy_from_settings
    from infra.stores.tickets import CheckHistory, TicketStore

    settings = get_settings()
    engine = _engine(settings)
    webhook = TicketWebhook.from_settings(settings)
    outcome = evaluate_night(
        night, measurements, policy_from_settings(settings), reference_values=reference_values,
        history=CheckHistory(engine), tickets=TicketStore(engine),
        notify=lambda action, ticket: publish(action, ticket, webhook=webhook),
        homes=_calibration_homes(settings, engine, champion),
    )
    logger = get_run_logger()
    for change in outcome.changes:
        logger.warning("ticket #%s %s %s (%s): %s", change["id"], change["kind"], change["action"], change["asset"], change["summary"])
    return outcome


@task(cache_policy=NO_CACHE)
def publish_scorecard(outcome, risk, golden: dict | None) -> dict:
    """MLflow runs (one experiment per asset, one run per night), the Prefect markdown artifact, the assistant's copy."""
    from infra.monitoring.scorecard import SCORECARD_ARTIFACT_KEY, publish_night

    settings = get_settings()
    published = publish_night(settings, outcome, reports=risk.reports, champion=risk.champion, golden=golden,
                              flow_run_id=current_flow_run_id())
    create_markdown_artifact(published["markdown"], key=SCORECARD_ARTIFACT_KEY, description=f"Nightly evaluation {outcome.night}")
    return {k: v for k, v in published.items() if k != "markdown"}


# -- remediation -----------------------------------------------------------------
@task(cache_policy=NO_CACHE)
def plan_remedy(ticket_id: int, night: date | None = None):
    """Tonight's remedy for a ticket (``models.remedy.plan_remedy``) from the stores' state."""
    from infra.monitoring.remediation import plan_for_ticket

    plan = plan_for_ticket(get_settings(), ticket_id, night)
    get_run_logger().info("ticket #%s (%s): %s", ticket_id, plan.kind, plan.reason)
    return plan


def _current_deployment() -> str | None:
    """"flow/deployment" of the flow run this task runs in, None outside a deployment (a direct call)."""
    from prefect.context import FlowRunContext
    from prefect.runtime import deployment, flow_run

    # The run's own deployment: a subflow (the main job's replay, itself a run of the `demo`
    # deployment) has none, while prefect.runtime.deployment answers with its parent's.
    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None or ctx.flow_run.deployment_id is None:
        return None
    return f"{flow_run.flow_name}/{deployment.name}"


@task(cache_policy=NO_CACHE)
def record_remedy(plan, result: dict[str, Any] | None = None) -> dict:
    """Attach what the remedy did (and the gate's verdict) to the ticket.

    A retrain waiting for labels is scheduled for its due night as a flow run of
    the deployment this runs in (one per ticket and night); outside a deployment
    the ticket records that nothing was scheduled.
    """
    from infra.monitoring.remediation import record_outcome, schedule_retrain

    schedule = schedule_retrain(plan, _current_deployment())
    if schedule:
        get_run_logger().info("ticket #%s: %s", plan.ticket_id, schedule["schedule"])
    return record_outcome(get_settings(), plan, result, flow_run_id=current_flow_run_id(), schedule=schedule)
