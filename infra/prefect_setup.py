"""What Tandem needs on a Prefect server before its deployments run: the work pool and the crash automation.

``tandem setup-prefect`` (and ``make deploy``, before ``prefect deploy --all``;
``flows/serve.py`` before serving) calls ``ensure_prefect_setup``. Every step is
idempotent: run it again and nothing changes; run it after a settings change and
only what differs is updated.

1. **The work pool** named in ``prefect.yaml`` (``tandem``, type ``process``),
   so ``prefect deploy --all`` works on a fresh server.
2. **Crash zombie runs**: a flow run whose process was killed stops sending
   heartbeats (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds apart: Tandem's
   Makefile and serve process set 60, Prefect's default is 180). This automation
   (Prefect's own recipe, "detect zombie flows") marks a run Crashed when neither
   a heartbeat nor a final state follows its last heartbeat within
   ``crash_after_s`` seconds: 240 by default, four of Tandem's heartbeats and
   more than Prefect's default interval, so a live run on a worker started
   without Tandem's environment is never taken for dead.
   With a ticket webhook configured (``TANDEM_MONITORING__WEBHOOK_URL``), the same
   automation posts the crash to it through a Prefect ``Webhook`` block
   (``tandem-run-failures``), since a killed process runs no hook of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from infra.settings import TandemSettings

PREFECT_YAML = Path(__file__).resolve().parents[1] / "prefect.yaml"
HEARTBEAT_S = 60  # PREFECT_FLOWS_HEARTBEAT_FREQUENCY Tandem runs with (Prefect's minimum is 30, its default 180)
CRASH_AFTER_S = 240  # > Prefect's default 180 s: a run heartbeating at the default is never marked Crashed alive
CRASH_AUTOMATION = "tandem: crash zombie runs"
WEBHOOK_BLOCK = "tandem-run-failures"
# Events that show a run is alive or done: one of them must follow each heartbeat.
ALIVE_OR_DONE = (
    "prefect.flow-run.heartbeat", "prefect.flow-run.Completed", "prefect.flow-run.Failed",
    "prefect.flow-run.Cancelled", "prefect.flow-run.Crashed", "prefect.flow-run.Paused", "prefect.flow-run.Suspended",
)


@dataclass
class SetupReport:
    """What ``ensure_prefect_setup`` did: one line per object (``created``, ``updated`` or ``unchanged``)."""

    lines: list[str] = field(default_factory=list)

    def add(self, what: str, outcome: str) -> None:
        self.lines.append(f"{what}: {outcome}")


def work_pool_name(path: Path = PREFECT_YAML) -> str:
    """The work pool ``prefect.yaml`` deploys to (the first deployment's; they share one)."""
    spec = yaml.safe_load(path.read_text("utf-8"))
    names = {d["work_pool"]["name"] for d in spec["deployments"] if d.get("work_pool")}
    if len(names) != 1:
        raise ValueError(f"prefect.yaml names {len(names)} work pools ({sorted(names)}); Tandem expects one")
    return names.pop()


def ensure_work_pool(client, name: str, pool_type: str = "process") -> str:
    """Create the work pool ``name`` unless it exists. Returns ``created`` or ``unchanged``."""
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.workers.process import ProcessWorker

    try:
        client.read_work_pool(name)
        return "unchanged"
    except ObjectNotFound:
        pass
    template = ProcessWorker.get_default_base_job_template() if pool_type == "process" else {}
    try:
        client.create_work_pool(WorkPoolCreate(name=name, type=pool_type, base_job_template=template))
    except ObjectAlreadyExists:  # another process made it meanwhile
        return "unchanged"
    return "created"


def crash_automation(crash_after_s: int = CRASH_AFTER_S, webhook_block_id: Any = None, webhook_format: str = "slack"):
    """The "crash zombie runs" automation (an ``AutomationCore``), with a webhook action when a block id is given."""
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import CallWebhook, ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    message = f"no heartbeat for {crash_after_s} s: the run's process is gone (marked by the '{CRASH_AUTOMATION}' automation)"
    actions: list = [ChangeFlowRunState(state=StateType.CRASHED, name="Crashed", message=message)]
    if webhook_block_id is not None:
        actions.append(CallWebhook(block_document_id=webhook_block_id, payload=crash_payload_template(webhook_format, crash_after_s)))
    return AutomationCore(
        name=CRASH_AUTOMATION,
        description="Marks a flow run Crashed when its heartbeats stop (its process was killed) and tells the ticket webhook.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect=set(ALIVE_OR_DONE),
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=crash_after_s),
        ),
        actions=actions,
    )


def crash_payload_template(webhook_format: str, crash_after_s: int) -> str:
    """The webhook body (a Jinja template Prefect renders) for a run marked Crashed by the automation."""
    text = f"Flow run {{{{ flow_run.name }}}} crashed: no heartbeat for {crash_after_s} s (its process is gone)"
    if webhook_format == "slack":
        return json.dumps({"text": ":red_circle: " + text})
    return json.dumps({"event": "tandem.run.crashed", "payload": {
        "flow_run_id": "{{ flow_run.id }}", "run": "{{ flow_run.name }}", "state": "Crashed", "message": text}})


def _canonical(value: Any) -> Any:
    """A JSON dump with its sets (dumped as lists in any order) sorted, so equal automations compare equal."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        return sorted(items) if all(isinstance(v, str) for v in items) else items
    return value


def _same(existing, wanted) -> bool:
    keys = {"name", "description", "enabled", "trigger", "actions"}
    return _canonical(existing.model_dump(mode="json", include=keys)) == _canonical(wanted.model_dump(mode="json", include=keys))


def ensure_crash_automation(client, wanted) -> str:
    """Create or update the automation named like ``wanted``. Returns ``created``, ``updated`` or ``unchanged``."""
    found = client.read_automations_by_name(wanted.name)
    if not found:
        client.create_automation(wanted)
        return "created"
    first, *extra = found
    for duplicate in extra:  # two setups raced: keep one
        client.delete_automation(duplicate.id)
    if _same(first, wanted) and not extra:
        return "unchanged"
    client.update_automation(first.id, wanted)
    return "updated"


def ensure_webhook_block(settings: TandemSettings) -> tuple[Any, str]:
    """Save the ticket webhook as the Prefect ``Webhook`` block ``tandem-run-failures``; (None, "none") when unset."""
    m = settings.monitoring
    if m.webhook_url is None or not m.webhook_url.get_secret_value():
        return None, "none (no TANDEM_MONITORING__WEBHOOK_URL)"
    from prefect.blocks.webhook import Webhook

    try:
        existing = Webhook.load(WEBHOOK_BLOCK)
        if existing.url.get_secret_value() == m.webhook_url.get_secret_value():
            return existing._block_document_id, "unchanged"
    except ValueError:  # no such block yet
        existing = None
    block_id = Webhook(method="POST", url=m.webhook_url.get_secret_value()).save(WEBHOOK_BLOCK, overwrite=True)
    return block_id, "created" if existing is None else "updated"


def ensure_prefect_setup(settings: TandemSettings, *, work_pool: bool = True, crash_after_s: int = CRASH_AFTER_S) -> SetupReport:
    """Make sure the server in ``PREFECT_API_URL`` has Tandem's work pool and crash automation.

    Args:
        settings: Tandem's settings (the webhook to notify).
        work_pool: also create the work pool of ``prefect.yaml`` (``flows/serve.py`` needs none).
        crash_after_s: seconds without a heartbeat before a run is marked Crashed.

    Returns:
        What was created, updated or left unchanged.
    """
    from prefect.client.orchestration import get_client

    report = SetupReport()
    with get_client(sync_client=True) as client:
        if work_pool:
            name = work_pool_name()
            report.add(f"work pool {name!r}", ensure_work_pool(client, name))
        block_id, outcome = ensure_webhook_block(settings)
        report.add(f"webhook block {WEBHOOK_BLOCK!r}", outcome)
        wanted = crash_automation(crash_after_s, block_id, settings.monitoring.webhook_format)
        report.add(f"automation {CRASH_AUTOMATION!r}", ensure_crash_automation(client, wanted))
    return report
