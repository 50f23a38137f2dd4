"""The ticket webhook against a local HTTP receiver: retries with backoff, both formats, no secret in any log."""

from __future__ import annotations

import logging
import socket
from datetime import date
from pathlib import Path

import pytest
from pydantic import SecretStr

from models.alerting import decide_tickets, grade
from models.monitoring import Measurement
from infra.clients.webhook import TicketWebhook, redacted
from infra.monitoring.events import event_name, publish, ticket_payload
from infra.monitoring.policy import load_policy
from infra.settings import TandemSettings
from infra.stores.opsdb import create_ops_engine
from infra.stores.tickets import TicketStore
from tests.fakes.webhook_receiver import FakeWebhookReceiver

SECRET_PATH = "/services/T0SECRETTEAM/B0SECRETHOOK/xoxb-sup3r-s3cret-t0ken"
SECRET_PARTS = ("T0SECRETTEAM", "B0SECRETHOOK", "xoxb-sup3r-s3cret-t0ken", SECRET_PATH)
NIGHT = date(2026, 3, 10)


@pytest.fixture
def ticket(tmp_path: Path):
    """A real ticket in a real store: a missing partition opened an ops ticket."""
    policy = load_policy()
    line = grade(Measurement("freshness", 1, 3, evidence={"missing": ["labels"]}), policy["freshness"])
    [decision] = decide_tickets(NIGHT, [line], [], {}, {}, policy)
    store = TicketStore(create_ops_engine(f"sqlite:///{tmp_path / 'ops.db'}"))
    return store.open_or_update(decision, NIGHT)[0]


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for part in SECRET_PARTS:
            assert part not in text


def test_slack_delivery_retries_twice_then_succeeds_without_leaking_the_url(ticket, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # httpx logs every request URL at INFO: that must be scrubbed too
    waits: list[float] = []
    payload = ticket_payload("opened", ticket).model_dump(mode="json")
    with FakeWebhookReceiver([500, 500, 200]) as receiver:
        hook = TicketWebhook(SecretStr(receiver.url(SECRET_PATH)), format="slack", retries=3, backoff_s=0.25,
                             timeout_s=5, sleep=waits.append)
        result = hook.deliver(event_name("opened"), payload)
        got = receiver.requests
    assert result.delivered and result.attempts == 3 and result.status == 200
    assert len(got) == 3 and all(path == SECRET_PATH for path, _ in got)  # the real URL was used
    assert waits == [0.25, 0.5]  # exponential backoff
    body = got[-1][1]
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith(f":red_circle: Ticket #{ticket.id} opened: ops for risk-scorer")
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context"]
    assert "freshness 1 > fail 0.5" in body["blocks"][1]["text"]["text"]
    assert "HTTP Request: POST" in caplog.text  # httpx's own line was captured ... and scrubbed
    out, err = capfd.readouterr()
    assert_no_secret(caplog.text, out, err, repr(hook), str(result))


def test_generic_format_is_the_event_and_its_payload(ticket):
    payload = ticket_payload("opened", ticket).model_dump(mode="json")
    with FakeWebhookReceiver([200]) as receiver:
        hook = TicketWebhook(receiver.url("/hook"), format="generic", retries=0)
        assert hook.deliver("tandem.ticket.opened", payload).delivered
        [(path, body)] = receiver.requests
    assert body == {"event": "tandem.ticket.opened", "payload": payload}
    assert body["payload"]["ticket_id"] == ticket.id and body["payload"]["kind"] == "ops"
    assert body["payload"]["evidence"][0]["check"] == "freshness"


def test_giving_up_is_a_warning_never_an_exception(ticket, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    with FakeWebhookReceiver([503]) as receiver:
        hook = TicketWebhook(receiver.url(SECRET_PATH), retries=2, backoff_s=0, sleep=lambda s: None)
        result = publish("opened", ticket, webhook=hook)  # the Prefect event and the webhook, never raising
        assert len(receiver.requests) == 3
    assert not result.delivered and result.attempts == 3 and result.error == "HTTP 503"
    warning = [r for r in caplog.records if r.levelno == logging.WARNING and "gave up" in r.getMessage()]
    assert len(warning) == 1 and redacted(receiver.url(SECRET_PATH)) in warning[0].getMessage()
    out, err = capfd.readouterr()
    assert_no_secret(caplog.text, out, err)


def test_a_4xx_is_not_retried(ticket):
    with FakeWebhookReceiver([404]) as receiver:
        result = TicketWebhook(receiver.url("/hook"), retries=3, sleep=lambda s: None).deliver("tandem.ticket.opened", {})
        assert len(receiver.requests) == 1
    assert not result.delivered and result.status == 404


def test_connection_errors_are_retried_and_scrubbed(ticket, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hook = TicketWebhook(f"http://user:hunter2@127.0.0.1:{port}{SECRET_PATH}?token=qs-s3cret", retries=2,
                         backoff_s=0, timeout_s=2, sleep=lambda s: None)
    result = hook.deliver("tandem.ticket.opened", ticket_payload("opened", ticket).model_dump(mode="json"))
    assert not result.delivered and result.attempts == 3 and result.status is None
    assert result.error.startswith("ConnectError")
    out, err = capfd.readouterr()
    assert_no_secret(caplog.text, out, err, result.error)
    for leaked in ("hunter2", "qs-s3cret"):
        assert leaked not in caplog.text + out + err + result.error


def test_from_settings(monkeypatch):
    assert TicketWebhook.from_settings(TandemSettings()) is None
    settings = TandemSettings(monitoring={"webhook_url": f"https://hooks.example.com{SECRET_PATH}", "webhook_format": "generic",
                                          "webhook_retries": 1})
    hook = TicketWebhook.from_settings(settings)
    assert hook.format == "generic" and hook.retries == 1
    assert_no_secret(repr(hook), repr(settings), settings.model_dump_json())
    with pytest.raises(ValueError, match=r"must be http\(s\), got ftp://hooks.example.com/\*\*\*"):
        TicketWebhook(f"ftp://hooks.example.com{SECRET_PATH}")
