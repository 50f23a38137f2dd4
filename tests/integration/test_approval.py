"""A person's approval of a held promotion: the train run pauses, the test answers the form, the ledger records it.

The train flow runs for real as a run of a deployment on the test server (only
those pause), in a thread of this process; the test waits for the run to be
Paused and resumes it with ``resume_flow_run(run_id, run_input=...)``, as the
Prefect UI's Resume form does.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import date, timedelta

import pytest
from prefect.client.orchestration import get_client
from prefect.flow_engine import run_flow
from prefect.flow_runs import resume_flow_run

from tests.integration.conftest import configure, reset_settings

START = date(2026, 1, 1)


def _set(monkeypatch, **env) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    reset_settings()


def _deployment_run(train, **parameters):
    """A flow run of a ``train`` deployment on the test server (Scheduled, not yet running)."""
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("train")
        deployment_id = client.create_deployment(flow_id=flow_id, name="approval-test")
        return client.create_flow_run_from_deployment(deployment_id, parameters=parameters)


class Running:
    """Runs a deployment's flow run in a thread of this process; ``paused()`` waits until the server says it is paused."""

    def __init__(self, flow, flow_run) -> None:
        self.flow_run, self.state, self.error = flow_run, None, None
        self.thread = threading.Thread(target=self._run, args=(flow,), daemon=True)
        self.thread.start()

    def _run(self, flow) -> None:
        try:
            state = run_flow(flow, flow_run=self.flow_run, parameters=self.flow_run.parameters, return_type="state")
            self.state = asyncio.run(state) if asyncio.iscoroutine(state) else state  # async flows return a coroutine
        except BaseException as exc:  # shown by the test
            self.error = exc

    def paused(self, wait_s: float = 300) -> bool:
        deadline = time.monotonic() + wait_s
        with get_client(sync_client=True) as client:
            while self.thread.is_alive() and time.monotonic() < deadline:
                state = client.read_flow_run(self.flow_run.id).state
                if state is not None and state.is_paused():
                    return True
                time.sleep(0.5)
        return False

    def result(self) -> dict:
        self.thread.join(600)
        assert self.error is None, self.error
        return self.state.result(raise_on_failure=False) if self.state.is_completed() else {"state": self.state}


@pytest.fixture
def held(tmp_path, monkeypatch):
    """A champion v1, and a gate that holds the next challenger ``inconclusive`` (its AUC is the minimum)."""
    from flows.backfill import backfill
    from flows.train import train

    configure(monkeypatch, tmp_path / "tandem", TANDEM_APPROVAL__POLL_S="0.5")
    asyncio.run(backfill(START, START + timedelta(days=29), concurrency=2))
    _set(monkeypatch, TANDEM_GATE__MIN_AUC=0.5)
    first = asyncio.run(train())
    assert (first["version"], first["decision"]) == ("1", "PROMOTE"), first["reason"]
    _set(monkeypatch, TANDEM_GATE__MIN_AUC=round(first["auc"]["value"], 6))
    yield train
    reset_settings()


def _last_move():
    from infra.factory import build_pointer_ledger, model_pointer
    from infra.settings import get_settings

    return build_pointer_ledger(get_settings()).history(model_pointer(get_settings()), limit=1)[0]


def _champion() -> str | None:
    from infra.factory import build_registry
    from infra.settings import get_settings

    return build_registry(get_settings()).alias_version("champion")


def test_a_held_challenger_waits_for_a_person_who_rejects_then_approves(held):
    train = held
    # Given a direct call (not a deployment run): nobody is asked, the HOLD stays and the outcome says so
    direct = asyncio.run(train(force=True))
    assert (direct["decision"], direct["code"], direct["champion"]) == ("HOLD", "inconclusive", "1"), direct["reason"]
    assert direct["approval"]["outcome"] == "not asked"
    assert "no approval asked (this run was not started from a deployment" in direct["message"]
    assert "`tandem promote model 2 --reason ...`" in direct["message"]

    # When a deployment run holds v3 and a person rejects it in the form
    run = Running(train, _deployment_run(train, force=True))
    assert run.paused(), f"the run never paused: {run.error or run.state}"
    resume_flow_run(run.flow_run.id, run_input={"approve": False, "reason": "wait for more labels", "approver": "bob"})
    rejected = run.result()
    # Then champion stays, and the ledger records bob's decision as a row that moved nothing
    assert (rejected["version"], rejected["champion"], rejected["approval"]["outcome"]) == ("3", "1", "rejected")
    assert "rejected by bob (wait for more labels): champion stays v1" in rejected["message"]
    assert _champion() == "1"
    move = _last_move()
    assert (move.old_value, move.new_value, move.actor) == ("1", "1", "bob")
    assert move.reason == "human decision: rejected v3 (gate HOLD (inconclusive)): wait for more labels"
    assert move.evidence["approval"]["flow_run_id"] == str(run.flow_run.id)

    # When the next deployment run holds v4 and a person approves it
    run = Running(train, _deployment_run(train, force=True))
    assert run.paused(), f"the run never paused: {run.error or run.state}"
    resume_flow_run(run.flow_run.id, run_input={"approve": True, "reason": "AUC equal to raw XGBoost", "approver": "alice"})
    approved = run.result()
    # Then champion moves to v4 as a human decision with alice as the actor, her reason and the approval as evidence
    assert (approved["version"], approved["champion"], approved["approval"]["outcome"]) == ("4", "4", "approved")
    assert _champion() == "4"
    move = _last_move()
    assert (move.old_value, move.new_value, move.actor) == ("1", "4", "alice")
    assert move.reason == "human decision over gate HOLD: AUC equal to raw XGBoost"
    assert move.evidence["decision"] == "human decision" and move.evidence["verdict"]["code"] == "inconclusive"
    assert move.evidence["approval"]["approver"] == "alice"
    from infra.factory import build_pointer_ledger
    from infra.settings import get_settings

    assert build_pointer_ledger(get_settings()).verify_chain().intact


def test_no_answer_in_time_moves_nothing_and_is_recorded(held, monkeypatch):
    train = held
    _set(monkeypatch, TANDEM_APPROVAL__TIMEOUT_S=2)
    run = Running(train, _deployment_run(train, force=True))
    run.thread.join(600)
    assert run.error is None, run.error
    assert _champion() == "1"
    move = _last_move()
    assert (move.old_value, move.new_value, move.actor) == ("1", "1", "tandem")
    assert move.reason == "approval for v2 (gate HOLD (inconclusive)) timed out after 2 s: nothing moved"
    assert move.evidence["approval"]["outcome"] == "timed out"
    with get_client(sync_client=True) as client:
        final = client.read_flow_run(run.flow_run.id).state
    assert final.is_failed() and "never resumed" in (final.message or ""), final


def test_a_prompt_release_waits_for_sign_off_and_records_the_approver(tmp_path, monkeypatch):
    """The prompt side's approval step on a real prompt registry (the golden-set gate itself is tested elsewhere)."""
    from prefect import flow

    from infra.factory import build_pointer_ledger, build_prompt_registry, prompt_pointer
    from infra.settings import get_settings
    from tasks.approval import approve_prompt

    configure(monkeypatch, tmp_path / "tandem", TANDEM_APPROVAL__POLL_S="0.5", TANDEM_PROMPT__REQUIRE_APPROVAL="true")
    registry = build_prompt_registry(get_settings())
    v1 = registry.register("Answer {{question}} from {{context}}.", {}, message="first").version
    v2 = registry.register("Answer {{question}} briefly from {{context}}.", {}, message="second").version
    registry.set_alias("production", v1)

    @flow(name="prompt-approval-test")
    def gate_passed(release: dict) -> dict:
        return approve_prompt(release)

    release = {"version": v2, "collection": "docs-v1", "previous": v1, "gate": {"passed": True}, "moved": False, "pinned": False,
               "awaiting_approval": True, "message": "HOLD", "evidence": {"gate": {"passed": True}, "collection": "docs-v1"}}
    with get_client(sync_client=True) as client:
        deployment_id = client.create_deployment(flow_id=client.create_flow_from_name("prompt-approval-test"), name="t")
        flow_run = client.create_flow_run_from_deployment(deployment_id, parameters={"release": release})
    run = Running(gate_passed, flow_run)
    assert run.paused(), f"the run never paused: {run.error or run.state}"
    resume_flow_run(flow_run.id, run_input={"approve": True, "reason": "legal signed off", "approver": "carol"})
    done = run.result()
    assert done["moved"] is True and done["approval"]["approver"] == "carol", done
    assert registry.alias_version("production") == v2
    move = build_pointer_ledger(get_settings()).history(prompt_pointer(get_settings()), limit=1)[0]
    assert (move.old_value, move.new_value, move.actor) == (str(v1), str(v2), "carol")
    assert move.reason == f"human decision: approved v{v2}: legal signed off"
    assert move.evidence["collection"] == "docs-v1" and move.evidence["approval"]["outcome"] == "approved"
    reset_settings()
