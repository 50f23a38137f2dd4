"""The nightly loop for real on the risk side: quiet nights stay quiet, a missing partition opens one `ops`
ticket, a shock opens one `retrain` ticket that waits for labels, then retrains through the gate.

Prefect, MLflow and the ops database run for real on a temporary data dir
(synthetic source, 600 rows a day, labels after 5 days). The steps build on
each other like the nights do, so they are one test, each step a function.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from flows.backfill import backfill
from flows.nightly_eval import nightly_eval
from flows.remediate import remediate
from flows.score import score
from flows.train import train
from infra.settings import get_settings
from infra.stores.opsdb import create_ops_engine
from infra.stores.tickets import CheckHistory, TicketStore
from tests.integration.conftest import configure, reset_settings

START = date(2026, 1, 1)
QUIET_END = START + timedelta(days=34)  # Feb 4: 35 quiet days
SHOCK = QUIET_END + timedelta(days=1)  # Feb 5
SHOCK_END = SHOCK + timedelta(days=7)  # Feb 12


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    data_dir = tmp_path_factory.mktemp("nightly") / "tandem"
    configure(mp, data_dir, TANDEM_SYNTHETIC__ROWS_PER_DAY="600", TANDEM_TRAINING__WINDOW_DAYS="25",
              TANDEM_MONITORING__RETRAIN_MIN_MATURED_DAYS="2")
    asyncio.run(backfill(START, QUIET_END, concurrency=2))
    trained = asyncio.run(train())
    assert trained["champion"] == "1"
    asyncio.run(score(QUIET_END - timedelta(days=4), end=QUIET_END))
    yield data_dir
    mp.undo()
    reset_settings()


def _stores():
    engine = create_ops_engine(get_settings().resolved_ops_db_url)
    return TicketStore(engine), CheckHistory(engine)


def _quiet_nights_open_no_ticket():
    for night in (QUIET_END - timedelta(days=1), QUIET_END):
        out = asyncio.run(nightly_eval(night))
        assert out["skipped"] is False and out["tickets"] == [], out["tickets"]
    tickets, history = _stores()
    assert tickets.list() == []
    results = {r.check: r for r in history.night(QUIET_END)}
    # every risk check is on the scorecard, graded; data drift measured against the stored reference
    assert {"freshness", "data_drift", "prediction_drift", "null_rate_jump", "unseen_categories", "out_of_range",
            "segment_drift", "auc_drop"} <= set(results)
    assert results["freshness"].status == "green"
    assert results["data_drift"].measurement.value is not None and results["data_drift"].status in ("green", "amber")
    assert results["data_drift"].calibration is not None  # levels from the champion's reference nights
    # a second run of the same night is skipped; forced, it re-grades without duplicating rows
    assert asyncio.run(nightly_eval(QUIET_END))["skipped"] is True
    before = len(history.night(QUIET_END))
    asyncio.run(nightly_eval(QUIET_END, force=True))
    assert len(history.night(QUIET_END)) == before


def _missing_partition_opens_one_ops_ticket():
    missing = SHOCK_END + timedelta(days=3)  # never ingested
    asyncio.run(nightly_eval(missing))
    asyncio.run(nightly_eval(missing, force=True))
    tickets, history = _stores()
    ops = tickets.list(kind="ops")
    assert len(ops) == 1 and ops[0].status == "open" and ops[0].count == 1
    freshness = {r.check: r for r in history.night(missing)}["freshness"]
    assert freshness.status == "red" and "applications" in str(freshness.measurement.evidence)
    assert tickets.list(kind="retrain") == []  # a missing night is not drift: the drift checks are insufficient
    return ops[0].id


def _shock_opens_one_retrain_ticket():
    asyncio.run(backfill(SHOCK, SHOCK_END, scenario="shock", scenario_start=SHOCK, concurrency=2))
    asyncio.run(score(SHOCK, end=SHOCK_END))
    opened_on = None
    for i in range(4):
        night = SHOCK + timedelta(days=i)
        out = asyncio.run(nightly_eval(night))
        if any(t["kind"] == "retrain" and t["action"] == "opened" for t in out["tickets"]):
            opened_on = night
            break
    assert opened_on is not None, "no retrain ticket within 4 nights of the shock"
    assert (opened_on - SHOCK).days <= 3
    tickets, _ = _stores()
    (ticket,) = tickets.list(kind="retrain")
    assert ticket.asset == "risk-scorer" and ticket.status == "open"
    assert {e["check"] for e in ticket.evidence} & {"data_drift", "out_of_range", "prediction_drift", "segment_drift"}
    # the next night adds evidence to the same ticket, never a second one
    asyncio.run(nightly_eval(opened_on + timedelta(days=1)))
    (again,) = tickets.list(kind="retrain")
    assert again.id == ticket.id and again.count == ticket.count + 1
    return ticket.id, opened_on + timedelta(days=1)


def _retrain_waits_for_labels_then_goes_through_the_gate(ticket_id: int, night: date):
    waiting = asyncio.run(remediate(ticket_id, night))
    assert waiting["action"] == "wait"
    remedy = waiting["remedy"]
    assert remedy["state"] == "waiting for labels" and remedy["labels"]["matured"] == 0
    assert remedy["due"] == str(SHOCK + timedelta(days=1 + 5))  # 2 shifted days needed, labels after 5
    assert remedy["scheduled_run_id"] is None and "not scheduled" in remedy["schedule"]  # a direct call: no deployment
    ran = asyncio.run(remediate(ticket_id, SHOCK_END))
    assert ran["action"] == "retrain"
    remedy = ran["remedy"]
    assert remedy["train_end"] == str(SHOCK_END - timedelta(days=5))
    assert remedy["decision"] in ("PROMOTE", "HOLD", "REJECT") and remedy["version"] == "2"
    tickets, _ = _stores()
    ticket = tickets.get(ticket_id)
    assert ticket.remedy["decision"] == remedy["decision"]
    assert [h.action for h in tickets.history(ticket_id)].count("remedy") == 2
    # the same night again does not retrain twice
    assert asyncio.run(remediate(ticket_id, SHOCK_END))["action"] == "none"
    return remedy


def test_nightly_loop_on_the_risk_side(nights):
    _quiet_nights_open_no_ticket()
    _missing_partition_opens_one_ops_ticket()
    ticket_id, night = _shock_opens_one_retrain_ticket()
    _retrain_waits_for_labels_then_goes_through_the_gate(ticket_id, night)
