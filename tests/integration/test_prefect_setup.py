"""The work pool and the crash automation on a real (test) server; failure messages to the ticket webhook.

The crash test kills a real flow-run process and waits for the server's
automation to mark the run Crashed (with Prefect's minimum heartbeat, 30 s, and
60 s of silence: one to two minutes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client

from infra.prefect_setup import CRASH_AUTOMATION, WEBHOOK_BLOCK, ensure_prefect_setup, work_pool_name
from infra.settings import get_settings
from tests.fakes.webhook_receiver import FakeWebhookReceiver
from tests.integration.conftest import reset_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_automation_left():
    """The crash automation acts on every run of the shared test server: none outlives a test here."""
    yield
    with get_client(sync_client=True) as client:
        for automation in client.read_automations_by_name(CRASH_AUTOMATION):
            client.delete_automation(automation.id)


def _automations():
    with get_client(sync_client=True) as client:
        return client.read_automations_by_name(CRASH_AUTOMATION)


def test_setup_creates_the_pool_and_the_automation_once(tandem):
    # When the setup runs twice
    ensure_prefect_setup(get_settings())
    again = ensure_prefect_setup(get_settings())
    # Then the second run changes nothing, and there is one pool and one automation
    assert all(line.endswith(("unchanged", "(no TANDEM_MONITORING__WEBHOOK_URL)")) for line in again.lines), again.lines
    with get_client(sync_client=True) as client:
        assert client.read_work_pool(work_pool_name()).type == "process"
    [automation] = _automations()
    assert [a.type for a in automation.actions] == ["change-flow-run-state"]
    assert automation.trigger.posture == "Proactive" and automation.trigger.after == {"prefect.flow-run.heartbeat"}


def test_setup_with_a_webhook_adds_the_crash_message_and_follows_a_changed_url(tandem, monkeypatch):
    monkeypatch.setenv("TANDEM_MONITORING__WEBHOOK_URL", "http://127.0.0.1:9/hooks/one")
    reset_settings()
    ensure_prefect_setup(get_settings(), work_pool=False)
    [automation] = _automations()
    assert [a.type for a in automation.actions] == ["change-flow-run-state", "call-webhook"]
    # A changed URL updates the block, not a second automation
    monkeypatch.setenv("TANDEM_MONITORING__WEBHOOK_URL", "http://127.0.0.1:9/hooks/two")
    reset_settings()
    report = ensure_prefect_setup(get_settings(), work_pool=False)
    assert f"webhook block {WEBHOOK_BLOCK!r}: updated" in report.lines
    assert len(_automations()) == 1
    # Without the webhook the automation only marks runs Crashed again
    monkeypatch.delenv("TANDEM_MONITORING__WEBHOOK_URL")
    reset_settings()
    ensure_prefect_setup(get_settings(), work_pool=False)
    assert [a.type for a in _automations()[0].actions] == ["change-flow-run-state"]


def test_a_failed_run_posts_to_the_ticket_webhook(tandem, monkeypatch):
    from flows.ingest import ingest

    with FakeWebhookReceiver() as receiver:
        monkeypatch.setenv("TANDEM_MONITORING__WEBHOOK_URL", receiver.url("/hook"))
        monkeypatch.setenv("TANDEM_MONITORING__WEBHOOK_FORMAT", "generic")
        reset_settings()
        future = date.today() + timedelta(days=400)
        # When a run fails (a day after today is refused)
        state = ingest(future, return_state=True)
        assert state.is_failed()
        # Then the webhook got one message naming the run and why
        [(path, body)] = receiver.requests
    assert body["event"] == "tandem.run.failed"
    assert body["payload"]["run"] == f"ingest {future}"
    assert "after today" in body["payload"]["message"]


SLEEPER = """
import time
from prefect import flow

@flow(name="sleeper")
def sleeper():
    print("running", flush=True)
    time.sleep(600)

sleeper()
"""


def test_a_killed_flow_run_process_ends_crashed_and_the_webhook_is_told(tandem, tmp_path, monkeypatch):
    from prefect.settings import PREFECT_API_URL

    with FakeWebhookReceiver() as receiver:
        # Given the crash automation (60 s without a heartbeat) with the ticket webhook, and a flow run in its own process
        monkeypatch.setenv("TANDEM_MONITORING__WEBHOOK_URL", receiver.url("/hooks/secret-token"))
        monkeypatch.setenv("TANDEM_MONITORING__WEBHOOK_FORMAT", "generic")
        reset_settings()
        ensure_prefect_setup(get_settings(), work_pool=False, crash_after_s=60)
        env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"}
        env.pop("TANDEM_MONITORING__WEBHOOK_URL")  # the run's own failure hook must not be what posts
        log = (tmp_path / "sleeper.log").open("w")
        proc = subprocess.Popen([sys.executable, "-c", SLEEPER], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            run = _wait_for(lambda: _sleeper_run(proc.pid), "the sleeper run to be Running", 120)
            time.sleep(5)  # its first heartbeat is sent as it starts; let the events worker deliver it
        finally:
            # When its process is killed outright (no hook, no final state)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        # Then the automation marks it Crashed, saying why
        crashed = _wait_for(lambda: _crashed(run.id), "the killed run to be marked Crashed", 300)
        assert "no heartbeat" in crashed.state.message
        # and the ticket webhook gets one message naming the run
        _wait_for(lambda: receiver.requests, "the crash message at the webhook", 120)
        time.sleep(3)
        crash_messages = [body for _, body in receiver.requests if body.get("event") == "tandem.run.crashed"]
    assert len(crash_messages) == 1, receiver.requests
    [body] = crash_messages
    assert body["payload"]["flow_run_id"] == str(run.id)
    assert body["payload"]["run"] == run.name and "no heartbeat for 60 s" in body["payload"]["message"]


def _sleeper_run(pid: int):
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["sleeper"])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=["RUNNING"]))),
        )
    return runs[0] if runs else None


def _crashed(run_id):
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    return run if run.state and run.state.is_crashed() else None


def _wait_for(probe, what: str, deadline_s: float):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        found = probe()
        if found:
            return found
        time.sleep(2)
    pytest.fail(f"gave up waiting {deadline_s:.0f} s for {what}")
