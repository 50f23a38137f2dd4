"""A retrain waiting for labels is scheduled for the night they will have matured (issue 11, point 7):
a scheduled flow run of the remediation's deployment, one per ticket and due night (reruns find it), recorded on
the ticket; outside a deployment the ticket says nothing was scheduled."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from models.alerting import TicketDecision
from models.remedy import RemedyPlan, schedule_for
from infra.factory import ops_engine
from infra.monitoring.remediation import create_scheduled_run, record_outcome, schedule_retrain
from infra.settings import get_settings
from infra.stores.tickets import TicketStore

NIGHT = date(2026, 3, 10)
DUE = date(2026, 3, 16)


def waiting(ticket_id: int = 7, due: date = DUE) -> RemedyPlan:
    labels = {"matured": 1, "total": 4, "needed": 3, "ready": False, "due": due, "shift_start": "2026-03-07"}
    return RemedyPlan(ticket_id, "retrain", "wait", f"waiting for labels: 1 of 4 shifted days matured; retrain due on {due}",
                      NIGHT, labels=labels)


def test_only_a_waiting_retrain_is_scheduled_the_day_after_its_due_night():
    when = schedule_for(waiting())
    assert when.night == DUE and when.scheduled_time == datetime(2026, 3, 17, 3, 0, tzinfo=timezone.utc)
    assert when.parameters() == {"ticket_id": 7, "night": "2026-03-16"}
    assert when.idempotency_key == "tandem-remedy-7-2026-03-16"
    assert schedule_for(waiting(ticket_id=8)).idempotency_key != when.idempotency_key
    ready = RemedyPlan(7, "retrain", "retrain", "go", NIGHT, train_end=NIGHT, labels={"due": NIGHT, "ready": True})
    assert schedule_for(ready) is None
    assert schedule_retrain(ready, "remediate/remediate") == {}


@pytest.fixture
def deployment() -> str:
    name = f"remedy-test-{uuid.uuid4().hex[:8]}"
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("remediate")
        client.create_deployment(flow_id=flow_id, name=name, entrypoint="flows/remediate.py:remediate")
    return f"remediate/{name}"


FUTURE_DUE = date.today() + timedelta(days=20)  # a run is scheduled only for a due night still ahead


def test_the_scheduled_run_is_created_once_per_ticket_and_due_night(deployment):
    first = schedule_retrain(waiting(due=FUTURE_DUE), deployment)
    again = schedule_retrain(waiting(due=FUTURE_DUE), deployment)  # the next night's ticket update re-runs the remedy
    later = schedule_retrain(waiting(due=FUTURE_DUE + timedelta(days=2)), deployment)

    assert first["scheduled_run_id"] == again["scheduled_run_id"] != later["scheduled_run_id"]
    start = FUTURE_DUE + timedelta(days=1)
    assert f"{start} 03:00 UTC" in first["schedule"] and first["scheduled_for"] == FUTURE_DUE.isoformat()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(uuid.UUID(first["scheduled_run_id"]))
    assert run.state.type.value == "SCHEDULED"
    assert run.expected_start_time == datetime(start.year, start.month, start.day, 3, 0, tzinfo=timezone.utc)
    assert run.parameters == {"ticket_id": 7, "night": FUTURE_DUE.isoformat()}
    with pytest.raises(ObjectNotFound):
        create_scheduled_run("remediate/no-such-deployment", schedule_for(waiting()))


def test_a_due_night_already_past_is_not_scheduled(deployment):
    # a replay of past nights (the main job) must not start remediations at once beside itself
    past = schedule_retrain(waiting(due=date.today() - timedelta(days=3)), deployment)
    assert past["scheduled_run_id"] is None and "has already passed" in past["schedule"]


def test_the_ticket_records_the_scheduled_run_or_that_none_was_scheduled(tandem, deployment):
    settings = get_settings()
    store = TicketStore(ops_engine(settings.resolved_ops_db_url))
    decision = TicketDecision(kind="retrain", asset="risk-scorer", action="open", severity="medium", title="data_drift red",
                              evidence=[{"check": "data_drift", "streak": 2}], suggested_action="retrain")
    ticket, _ = store.open_or_update(decision, NIGHT)
    plan = waiting(ticket.id, due=FUTURE_DUE)

    outside = record_outcome(settings, plan, None, schedule=schedule_retrain(plan, None))
    assert outside["state"] == "waiting for labels" and outside["scheduled_run_id"] is None
    assert "not scheduled" in outside["summary"] and "outside a Prefect deployment" in outside["schedule"]

    inside = record_outcome(settings, plan, None, schedule=schedule_retrain(plan, deployment))
    assert inside["scheduled_run_id"] and inside["scheduled_for"] == FUTURE_DUE.isoformat()
    assert store.get(ticket.id).remedy["scheduled_run_id"] == inside["scheduled_run_id"]
    assert "retrain scheduled" in store.history(ticket.id)[-1].note
