"""Tickets in the ops database: lifecycle, one open ticket per (kind, asset) under concurrency,
the check history, Prefect events on a real (temporary) server, and the `tandem tickets` commands."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from typer.testing import CliRunner

from models.alerting import decide_tickets, grade
from models.monitoring import Measurement
from infra.monitoring.events import TicketEventPayload, emit_ticket_event, flush_events, ticket_payload, ticket_resource
from infra.monitoring.policy import load_policy
from infra.stores.opsdb import create_ops_engine, tickets
from infra.stores.tickets import CheckHistory, IllegalTransition, TicketNotFound, TicketStore

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 40
NIGHT = date(2026, 3, 10)
POLICY = load_policy()


def results(night_value: float, *, check: str = "unseen_categories", n: int = 2000, subject=None):
    return [grade(Measurement(check, night_value, n, subject=subject, evidence={"column": "employment"}), POLICY[check])]


def decision(value: float = 0.02, night: date = NIGHT, open_tickets=None):
    [d] = decide_tickets(night, results(value), [], open_tickets or {}, {}, POLICY)
    return d


@pytest.fixture
def store(tmp_path: Path) -> TicketStore:
    return TicketStore(create_ops_engine(f"sqlite:///{tmp_path / 'ops.db'}"))


# -- lifecycle -------------------------------------------------------------------------------
def test_open_update_ack_resolve(store: TicketStore):
    ticket, created = store.open_or_update(decision(0.012), NIGHT)
    assert created and ticket.status == "open" and ticket.count == 1 and ticket.severity == "medium"
    assert (ticket.kind, ticket.asset, ticket.opened_night) == ("retrain", "risk-scorer", NIGHT)
    assert ticket.evidence[0]["night"] == NIGHT.isoformat() and ticket.evidence[0]["check"] == "unseen_categories"
    assert store.open_tickets() == {("retrain", "risk-scorer"): ticket.id}

    # the same night again (a rerun) replaces its evidence; the next night adds evidence and a count
    again, created = store.open_or_update(decision(0.013), NIGHT)
    assert not created and again.id == ticket.id and again.count == 1 and len(again.evidence) == 1
    nxt, created = store.open_or_update(decision(0.05, NIGHT + timedelta(days=1)), NIGHT + timedelta(days=1))
    assert not created and nxt.id == ticket.id and nxt.count == 2 and len(nxt.evidence) == 2
    assert nxt.severity == "high" and nxt.last_night == NIGHT + timedelta(days=1)  # severity only rises

    acked = store.ack(ticket.id, "ana", "looking at the employment column")
    assert acked.status == "acknowledged" and acked.acknowledged_by == "ana"
    assert store.open_for("retrain", "risk-scorer").id == ticket.id  # acknowledged still counts as open
    with pytest.raises(IllegalTransition, match=f"ticket {ticket.id} is acknowledged"):
        store.ack(ticket.id, "bo")

    remedied = store.attach_remedy(ticket.id, {"state": "waiting for labels", "matured_days": 3, "needed_days": 7}, "3 of 7 days matured")
    remedied = store.attach_remedy(ticket.id, {"flow_run_id": "abc", "promoted": True}, "gate PROMOTE v4")
    assert remedied.remedy == {"state": "waiting for labels", "matured_days": 3, "needed_days": 7, "flow_run_id": "abc", "promoted": True}

    done = store.resolve(ticket.id, "tandem", "gate promoted v4 and data drift is green", night=NIGHT + timedelta(days=9))
    assert done.status == "resolved" and done.resolved_by == "tandem" and done.resolved_night == NIGHT + timedelta(days=9)
    assert store.last_resolved("retrain", "risk-scorer") == NIGHT + timedelta(days=9)
    assert store.last_resolved_all() == {("retrain", "risk-scorer"): NIGHT + timedelta(days=9)}
    assert store.open_for("retrain", "risk-scorer") is None and store.open_tickets() == {}
    with pytest.raises(IllegalTransition, match="already resolved"):
        store.resolve(ticket.id, "ana", "again")
    with pytest.raises(IllegalTransition, match="is resolved"):
        store.attach_remedy(ticket.id, {"x": 1}, "late")

    assert [h.action for h in store.history(ticket.id)] == ["opened", "updated", "updated", "acknowledged", "remedy", "remedy", "resolved"]
    assert store.history(ticket.id)[3].actor == "ana"

    # after resolution a new failure opens a new ticket
    second, created = store.open_or_update(decision(0.02, NIGHT + timedelta(days=20)), NIGHT + timedelta(days=20))
    assert created and second.id != ticket.id
    assert [t.id for t in store.list()] == [second.id, ticket.id]
    assert [t.id for t in store.list(status="resolved")] == [ticket.id]
    assert [t.id for t in store.list(status="active", kind="retrain", asset="risk-scorer")] == [second.id]
    assert store.list(kind="ops") == []


def test_unknown_ids_and_bad_input_are_clear_errors(store: TicketStore):
    for call in (lambda: store.get(42), lambda: store.ack(42, "a"), lambda: store.resolve(42, "a", "r"), lambda: store.history(42)):
        with pytest.raises(TicketNotFound, match="no ticket 42"):
            call()
    with pytest.raises(ValueError, match="unknown ticket status 'closed'"):
        store.list(status="closed")
    held = decide_tickets(NIGHT, results(0.5, check="data_drift"), [], {}, {}, POLICY, include_held=True)[0]
    with pytest.raises(ValueError, match="held decision"):
        store.open_or_update(held, NIGHT)
    ticket, _ = store.open_or_update(decision(), NIGHT)
    with pytest.raises(ValueError, match="needs a reason"):
        store.resolve(ticket.id, "a", " ")


def test_the_database_refuses_a_second_open_ticket(store: TicketStore):
    ticket, _ = store.open_or_update(decision(), NIGHT)
    row = {c.name: getattr(ticket, c.name) for c in tickets.columns if c.name != "id"}
    with pytest.raises(sa.exc.IntegrityError):
        with store._engine.begin() as conn:
            conn.execute(tickets.insert().values(**row))
    with store._engine.begin() as conn:  # a resolved one beside it is fine
        conn.execute(tickets.insert().values(**{**row, "status": "resolved"}))


# -- concurrency: one open ticket per (kind, asset) ----------------------------------------
RACER = r"""
import sys, time
from datetime import date, timedelta
from models.alerting import decide_tickets, grade
from models.monitoring import Measurement
from infra.monitoring.policy import load_policy
from infra.stores.opsdb import create_ops_engine
from infra.stores.tickets import IllegalTransition, TicketStore

url, tag, rounds, start_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
policy = load_policy()
store = TicketStore(create_ops_engine(url))
created = 0
while time.time() < start_at:
    time.sleep(0.001)
for i in range(rounds):
    night = date(2026, 3, 1) + timedelta(days=i)
    line = grade(Measurement("unseen_categories", 0.02, 2000), policy["unseen_categories"])
    [d] = decide_tickets(night, [line], [], {}, {}, policy)  # both racers believe no ticket is open
    ticket, new = store.open_or_update(d, night)
    created += new
    if i % 2 == 1:  # every other night one of them resolves it, so the next night opens a new one: many openings to race
        try:
            store.resolve(ticket.id, tag, "race", night=night)
        except IllegalTransition:
            pass
print("created", created, flush=True)
"""


def race(url: str, processes: int = 2, rounds: int = ROUNDS) -> tuple[TicketStore, int]:
    store = TicketStore(create_ops_engine(url))  # tables exist before anyone races
    start_at = time.time() + 4  # after every racer has imported
    procs = [subprocess.Popen([sys.executable, "-c", RACER, url, f"p{n}", str(rounds), str(start_at)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in range(processes)]
    created = 0
    for proc in procs:
        out, errors = proc.communicate(timeout=180)
        assert proc.returncode == 0, errors[-3000:]
        created += int(out.split()[-1])
    return store, created


def assert_one_open_at_a_time(store: TicketStore, created: int) -> None:
    all_tickets = store.list(kind="retrain", asset="risk-scorer")
    assert len(all_tickets) == created  # every ticket opened was reported as created by exactly one racer
    assert sum(t.is_open for t in all_tickets) <= 1
    # tickets never overlap: each opened after the previous one was resolved
    ordered = sorted(all_tickets, key=lambda t: t.id)
    for prev, nxt in zip(ordered, ordered[1:]):
        assert prev.status == "resolved" and prev.resolved_at <= nxt.opened_at
    history = [h.action for t in ordered for h in store.history(t.id)]
    assert history.count("opened") == created and history.count("resolved") == created - (1 if ordered[-1].is_open else 0)


def test_two_processes_open_one_ticket_on_sqlite(tmp_path: Path):
    store, created = race(f"sqlite:///{tmp_path / 'ops.db'}")
    assert 1 <= created <= ROUNDS + 1  # each racer resolves every other night: at most ROUNDS resolutions + 1
    assert_one_open_at_a_time(store, created)


def test_two_processes_open_one_ticket_on_postgres(pg_url: str):
    store, created = race(pg_url)
    assert 1 <= created <= ROUNDS + 1  # each racer resolves every other night: at most ROUNDS resolutions + 1
    assert_one_open_at_a_time(store, created)
    with pytest.raises(sa.exc.IntegrityError):  # the partial unique index exists on PostgreSQL too
        open_one = store.open_or_update(decision(0.02, date(2026, 5, 1)), date(2026, 5, 1))[0]
        row = {c.name: getattr(open_one, c.name) for c in tickets.columns if c.name != "id"}
        with store._engine.begin() as conn:
            conn.execute(tickets.insert().values(**row))
    store._engine.dispose()  # the fixture drops the database next


# -- check history ------------------------------------------------------------------------------
def test_check_history_is_idempotent_per_night(tmp_path: Path):
    history = CheckHistory(create_ops_engine(f"sqlite:///{tmp_path / 'ops.db'}"))
    night = results(0.02) + results(2.0, check="tenant_cost", n=100, subject="acme") + results(1.0, check="tenant_cost", n=100, subject="beta")
    assert history.record(NIGHT, night) == 3
    assert history.record(NIGHT, night) == 3  # a rerun replaces
    stored = history.night(NIGHT)
    assert len(stored) == 3
    by_key = {(r.check, r.measurement.subject): r for r in stored}
    assert by_key[("tenant_cost", "acme")].status == "red" and by_key[("tenant_cost", "beta")].status == "green"
    assert by_key[("unseen_categories", None)].measurement.evidence == {"column": "employment"}
    # a rerun without beta leaves no stale beta row; another asset's rows of that night stay
    history.record(NIGHT, results(2.0, check="tenant_cost", n=100, subject="acme"))
    assert {(r.check, r.measurement.subject) for r in history.night(NIGHT)} == {("unseen_categories", None), ("tenant_cost", "acme")}
    for back in range(1, 4):
        history.record(NIGHT - timedelta(days=back), results(0.001 * back))
    recent = history.recent("unseen_categories", before_night=NIGHT, limit=2)
    assert [(p.night, p.status) for p in recent] == [(NIGHT - timedelta(days=1), "green"), (NIGHT - timedelta(days=2), "green")]
    assert len(history.before(NIGHT, nights=2)) == 2 and history.nights()[-1] == NIGHT
    assert history.values("unseen_categories", end=NIGHT) == [0.003, 0.002, 0.001]
    # debounce from the stored history: red tonight after a red night opens a two-night ticket
    history.record(NIGHT - timedelta(days=1), results(0.5, check="data_drift"))
    [d] = decide_tickets(NIGHT, results(0.5, check="data_drift"), history.before(NIGHT), {}, {}, POLICY)
    assert d.action == "open" and d.evidence[0]["streak"] == 2


# -- Prefect events ------------------------------------------------------------------------------
def read_events(name: str, resource_id: str, since, timeout_s: float = 90.0) -> list:
    """Events of ``name`` about ``resource_id`` on the test server (they pass its event pipeline first)."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter

    # Since the test started: ticket ids restart at 1 in every test's ops database, and
    # the session's Prefect server keeps the events of earlier tests.
    flt = EventFilter(event=EventNameFilter(name=[name]), resource=EventResourceFilter(id=[resource_id]),
                      occurred=EventOccurredFilter(since=since))
    deadline = time.time() + timeout_s
    with get_client(sync_client=True) as client:
        while True:
            events = client.read_events(filter=flt, limit=50).events  # the client defaults to 100, the server allows 50
            if events or time.time() > deadline:
                return events
            time.sleep(0.5)


def test_events_reach_the_prefect_server_with_a_validated_payload(store: TicketStore):
    started = datetime.now(timezone.utc)
    ticket, _ = store.open_or_update(decision(0.05), NIGHT)
    assert emit_ticket_event("opened", ticket) is not None
    # On a loaded machine (the whole suite, 2 cores) the events worker was seen still sending after 10 s
    # and the event not readable 40 s later (CI run at db67146; 3/3 passes alone): wait longer, still fail
    # if it never arrives.
    flush_events(timeout_s=30.0)
    [event] = read_events("tandem.ticket.opened", f"tandem.ticket.{ticket.id}", started)
    assert event.resource["tandem.ticket.kind"] == "retrain" and event.resource["tandem.ticket.asset"] == "risk-scorer"
    payload = TicketEventPayload.model_validate(event.payload)
    assert payload.ticket_id == ticket.id and payload.severity == "high" and payload.evidence[0]["check"] == "unseen_categories"
    assert ticket_resource(ticket)["prefect.resource.id"] == f"tandem.ticket.{ticket.id}"


def test_the_payload_model_refuses_bad_values(store: TicketStore):
    ticket, _ = store.open_or_update(decision(), NIGHT)
    good = ticket_payload("opened", ticket).model_dump()
    with pytest.raises(ValidationError):
        TicketEventPayload.model_validate({**good, "kind": "retrian"})
    with pytest.raises(ValidationError):
        TicketEventPayload.model_validate({**good, "surprise": 1})
    assert emit_ticket_event("closed", ticket) is None  # type: ignore[arg-type]  # logged, never raised into the caller


# -- the CLI -----------------------------------------------------------------------------------
def cli(*args: str):
    from infra.cli import app

    return CliRunner().invoke(app, list(args))


def test_tickets_commands(tandem: Path):
    started = datetime.now(timezone.utc)
    from infra.factory import ops_engine
    from infra.settings import get_settings

    store = TicketStore(ops_engine(get_settings().resolved_ops_db_url))
    ticket, _ = store.open_or_update(decision(0.05), NIGHT)

    listed = cli("tickets", "list")
    assert listed.exit_code == 0 and f"{ticket.id}" in listed.stdout and "retrain" in listed.stdout
    as_json = json.loads(cli("tickets", "list", "--status", "open", "--json").stdout)
    assert [t["id"] for t in as_json] == [ticket.id]
    assert cli("tickets", "list", "--kind", "ops").stdout.strip() == "no tickets matching the filters"

    shown = cli("tickets", "show", str(ticket.id))
    assert shown.exit_code == 0
    assert "unseen_categories 0.05 > fail 0.01" in shown.stdout and "Suggested action" in shown.stdout and "opened" in shown.stdout

    acked = cli("tickets", "ack", str(ticket.id), "--note", "on it")
    assert acked.exit_code == 0, acked.output
    assert "acknowledged by pytest" in acked.stdout  # TANDEM_ACTOR from the fixture
    assert "tandem.ticket.acknowledged emitted" in acked.stdout
    resolved = cli("tickets", "resolve", str(ticket.id), "--reason", "false alarm: a new branch code", "--actor", "ana")
    assert resolved.exit_code == 0 and "resolved by ana" in resolved.stdout
    assert store.get(ticket.id).status == "resolved"
    assert [h.action for h in store.history(ticket.id)][-2:] == ["acknowledged", "resolved"]
    [event] = read_events("tandem.ticket.resolved", f"tandem.ticket.{ticket.id}", started)
    assert event.payload["actor"] == "ana" and event.payload["note"] == "false alarm: a new branch code"

    for args in (("show", "999"), ("ack", "999"), ("resolve", "999", "--reason", "x"), ("resolve", str(ticket.id), "--reason", "x"),
                 ("list", "--status", "closed")):
        bad = cli("tickets", *args)
        assert bad.exit_code == 2, args
        assert bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
