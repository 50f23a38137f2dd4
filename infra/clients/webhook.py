"""Deliver ticket events (and failed or crashed flow runs, ``tandem.run.*``) to an optional webhook (Slack-compatible or generic JSON).

A webhook URL is a credential: Slack's carries its token in the path
(``https://hooks.slack.com/services/T…/B…/secret``), others in the query or
the user part. So the URL is held as a ``SecretStr``, and whatever this module
logs or returns names the webhook only as ``scheme://host/***``; error texts
from httpx (which quote the URL) are scrubbed before they are logged, and
httpx's own request log lines are scrubbed by a filter while the webhook is
in use.

Delivery never raises into the nightly flow: 5xx answers, 429 and connection
errors are retried with exponential backoff (``backoff_s``, ×2 each retry);
giving up is one logged warning and a ``WebhookResult`` saying so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from infra.masking import MASK, mask_url
from infra.settings import TandemSettings

logger = logging.getLogger(__name__)

WebhookFormat = Literal["slack", "generic"]
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
_SEVERITY_ICON = {"high": ":red_circle:", "medium": ":large_orange_circle:"}


# -- keeping the URL out of every log -------------------------------------------
_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def _scrub(text: str) -> str:
    """``text`` without any registered webhook URL, its path or its query; URL passwords masked."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return mask_url(text)


class _ScrubFilter(logging.Filter):
    """Rewrites httpx's and httpcore's records (``HTTP Request: POST <url> ...``) without the webhook's URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            clean = _scrub(message)
            if clean != message:
                record.msg, record.args = clean, ()
        return True


_FILTER = _ScrubFilter()


def _register(url: str) -> None:
    parts = urlsplit(url)
    with _secrets_lock:
        _secrets.add(url)
        if parts.path not in ("", "/"):
            _secrets.add(parts.path)
        if parts.query:
            _secrets.add(parts.query)
        if parts.password:
            _secrets.add(parts.password)
    for name in ("httpx", "httpcore"):
        log = logging.getLogger(name)
        if _FILTER not in log.filters:
            log.addFilter(_FILTER)


def redacted(url: str) -> str:
    """How the webhook is named in logs: ``https://hooks.slack.com/***`` (no user, path or query)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/{MASK}"


@dataclass(frozen=True)
class WebhookResult:
    """What a delivery did: delivered or not, after how many attempts, the last HTTP status or error (scrubbed)."""

    delivered: bool
    attempts: int
    status: int | None = None
    error: str | None = None


# -- bodies ----------------------------------------------------------------------
def slack_body(event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (the notification line) and ``blocks``."""
    action = event.rsplit(".", 1)[-1]
    icon = _SEVERITY_ICON.get(str(payload.get("severity")), ":white_circle:")
    head = f"{icon} Ticket #{payload.get('ticket_id')} {action}: {payload.get('kind')} for {payload.get('asset')}"
    lines = [f"*{payload.get('title', '')}*"]
    for item in (payload.get("evidence") or [])[:5]:
        if isinstance(item, Mapping) and item.get("summary"):
            lines.append(f"• {item.get('night', '')} {item['summary']}".replace("  ", " "))
    detail = "\n".join(lines)
    context = (f"status {payload.get('status')} · severity {payload.get('severity')} · count {payload.get('count')}"
               + (f" · by {payload['actor']}" if payload.get("actor") else "")
               + (f" · {payload['note']}" if payload.get("note") else ""))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": head[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": detail[:2900]}},
    ]
    if payload.get("suggested_action"):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Suggested action:* {payload['suggested_action']}"[:2900]}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context[:2900]}]})
    return {"text": head, "blocks": blocks}


def slack_run_body(event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack message for a failed or crashed flow run (``tandem.run.failed`` / ``.crashed``)."""
    head = f":red_circle: Flow run {payload.get('run')} ({payload.get('flow')}) {payload.get('state', '').lower()}"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": head[:150]}}]
    if payload.get("message"):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": str(payload["message"])[:2900]}})
    if payload.get("url"):
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{payload['url']}|open the run>"}]})
    return {"text": head, "blocks": blocks}


def generic_body(event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The event as plain JSON: ``{"event": "tandem.ticket.opened", "payload": {...}}``."""
    return {"event": event, "payload": dict(payload)}


class TicketWebhook:
    """POSTs ticket events to one webhook, with retries and exponential backoff.

    Args:
        url: the webhook URL (a credential; kept as ``SecretStr``).
        format: ``"slack"`` or ``"generic"``.
        retries: attempts after the first (on 5xx, 429 and connection errors).
        backoff_s: wait before the first retry; doubles each retry.
        timeout_s: per attempt.
        sleep: how to wait (tests pass a recorder).

    Example:
        >>> hook = TicketWebhook.from_settings(settings)
        >>> if hook: hook.deliver("tandem.ticket.opened", payload.model_dump(mode="json"))
    """

    def __init__(
        self,
        url: SecretStr | str,
        *,
        format: WebhookFormat = "slack",
        retries: int = 3,
        backoff_s: float = 1.0,
        timeout_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = url if isinstance(url, SecretStr) else SecretStr(url)
        raw = self._url.get_secret_value()
        if urlsplit(raw).scheme not in ("http", "https"):
            raise ValueError(f"the ticket webhook URL must be http(s), got {redacted(raw)}")
        if format not in ("slack", "generic"):
            raise ValueError(f"unknown webhook format {format!r}; known: slack, generic")
        _register(raw)
        self.format = format
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: TandemSettings) -> "TicketWebhook | None":
        """The configured webhook, or None when ``TANDEM_MONITORING__WEBHOOK_URL`` is unset."""
        m = settings.monitoring
        if m.webhook_url is None or not m.webhook_url.get_secret_value():
            return None
        return cls(m.webhook_url, format=m.webhook_format, retries=m.webhook_retries,
                   backoff_s=m.webhook_backoff_s, timeout_s=m.webhook_timeout_s)

    def __repr__(self) -> str:
        return f"TicketWebhook({redacted(self._url.get_secret_value())}, format={self.format!r})"

    def body(self, event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON body this webhook's format sends for one event."""
        if self.format == "generic":
            return generic_body(event, payload)
        return slack_run_body(event, payload) if event.startswith("tandem.run.") else slack_body(event, payload)

    def deliver(self, event: str, payload: Mapping[str, Any]) -> WebhookResult:
        """POST one event; retry on 5xx, 429 and connection errors; never raise.

        Args:
            event: the event name (``tandem.ticket.opened``, ...).
            payload: the event's JSON-safe payload (``TicketEventPayload.model_dump(mode="json")``).

        Returns:
            The outcome. Giving up (retries spent, or a 4xx other than 429) is
            also logged as one warning, naming the webhook as ``scheme://host/***``.
        """
        url = self._url.get_secret_value()
        name = redacted(url)
        try:
            body = self.body(event, payload)
        except Exception as exc:  # a malformed payload must not fail the nightly flow either
            logger.warning("ticket webhook %s: %s not sent, its payload could not be formatted (%s)", name, event, type(exc).__name__)
            return WebhookResult(False, 0, None, type(exc).__name__)
        attempts, status, error = 0, None, None
        with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
            for attempt in range(self.retries + 1):
                if attempt:
                    self._sleep(self.backoff_s * 2 ** (attempt - 1))
                attempts += 1
                try:
                    response = client.post(url, json=body)
                except httpx.HTTPError as exc:  # connection refused, timeout, protocol error: retry
                    status, error = None, f"{type(exc).__name__}: {_scrub(str(exc))}"
                    continue
                except Exception as exc:  # anything else is a bug here, not a reason to stop the night
                    status, error = None, f"{type(exc).__name__}: {_scrub(str(exc))}"
                    break
                status = response.status_code
                if status < 300:
                    return WebhookResult(True, attempts, status, None)
                error = f"HTTP {status}"
                if status not in RETRY_STATUSES:
                    break
        logger.warning("ticket webhook %s: gave up on %s after %d attempt(s) (last: %s)", name, event, attempts, error)
        return WebhookResult(False, attempts, status, error)
