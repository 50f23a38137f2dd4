"""Every deployment in prefect.yaml imports, and its parameters validate."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
# Values for the parameters a deployment leaves to the caller.
REQUIRED = {"ds": "2026-01-01", "start": "2026-01-01", "end": "2026-01-05", "version": 1, "ticket_id": 1}


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_deployment_entrypoint_loads_and_parameters_validate(deployment):
    module_path, flow_name = deployment["entrypoint"].split(":")
    module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
    flow = getattr(module, flow_name)
    params = dict(deployment.get("parameters") or {})
    for name, value in REQUIRED.items():
        if name in flow.parameters.required:
            params.setdefault(name, value)
    validated = flow.validate_parameters(params)
    assert set(flow.parameters.required) <= set(validated)
    assert deployment["name"] in (flow.name, f"{flow.name}-daily")  # ingest-daily, score-daily: the nightly ones


def test_remediate_trigger_parses_and_matches_remedied_ticket_kinds_only():
    from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
    from prefect.events.schemas.events import Event

    (remediate,) = [d for d in DEPLOYMENTS if d["name"] == "remediate"]
    (spec,) = remediate["triggers"]
    trigger = DeploymentEventTrigger.model_validate(spec)

    def event(kind: str) -> Event:
        return Event(event="tandem.ticket.opened", resource={"prefect.resource.id": "tandem.ticket.7", "tandem.ticket.kind": kind},
                     payload={"ticket_id": 7})

    assert trigger.expect == {"tandem.ticket.opened", "tandem.ticket.updated"}
    assert trigger.match.includes([event("retrain").resource])
    assert not trigger.match.includes([event("cost-review").resource])
    assert set(trigger.parameters) == {"ticket_id", "night"}
