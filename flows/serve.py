"""Serve every deployment of ``prefect.yaml`` in this process (the embedded alternative to a work pool).

``prefect.yaml`` is the one list of deployments: ``prefect deploy --all`` reads
it for a work pool, and this module reads the same entries (name, entrypoint,
description, tags, parameters, schedules, triggers, concurrency limit) and
serves them, schedules active. ``make serve`` (or ``make run``) starts it;
then ``tandem backfill ...``, the schedules and the Prefect UI's "Run" button
start runs that execute here, each in a subprocess.

Before serving it makes sure the crash automation exists (``infra.prefect_setup``)
and that flow runs send heartbeats every 60 s, so a run whose process is killed
is marked Crashed about 4 minutes later instead of staying Running.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import yaml

from infra.prefect_setup import HEARTBEAT_S, PREFECT_YAML

# The keys of a prefect.yaml deployment this module turns into a served deployment;
# any other key (a new Prefect feature) is refused rather than silently dropped.
SERVED_KEYS = {"name", "entrypoint", "description", "work_pool", "tags", "parameters", "schedules", "triggers",
               "concurrency_limit"}


def deployment_specs(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """The ``deployments`` of ``prefect.yaml``, each a dict as written there (anchors resolved)."""
    specs = yaml.safe_load(path.read_text("utf-8"))["deployments"]
    for spec in specs:
        unknown = set(spec) - SERVED_KEYS
        if unknown:
            raise ValueError(f"prefect.yaml deployment {spec.get('name')!r}: flows/serve.py does not serve {sorted(unknown)}")
    return specs


def load_flow(entrypoint: str):
    """The flow object of ``path/to/module.py:function`` (imported as a module, like ``python -m``)."""
    module_path, name = entrypoint.split(":")
    module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
    return getattr(module, name)


def schedules(spec: dict[str, Any]) -> list:
    """A deployment's cron schedules as Prefect schedule objects (timezone and ``active`` as written)."""
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import CronSchedule

    out = []
    for item in spec.get("schedules") or []:
        if "cron" not in item:
            raise ValueError(f"prefect.yaml deployment {spec['name']!r}: only cron schedules are served, got {item}")
        cron = CronSchedule(cron=item["cron"], timezone=item.get("timezone") or "UTC")
        out.append(DeploymentScheduleCreate(schedule=cron, active=item.get("active", True),
                                            parameters=item.get("parameters") or {}))
    return out


def triggers(spec: dict[str, Any]) -> list:
    """A deployment's event triggers as ``prefect.yaml`` declares them."""
    from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger

    return [DeploymentEventTrigger.model_validate(t) for t in spec.get("triggers") or []]


def to_deployment(spec: dict[str, Any]):
    """One ``prefect.yaml`` entry as a ``RunnerDeployment`` of its flow."""
    return load_flow(spec["entrypoint"]).to_deployment(
        name=spec["name"],
        description=spec.get("description"),
        tags=list(spec.get("tags") or []),
        parameters=dict(spec.get("parameters") or {}),
        schedules=schedules(spec),
        triggers=triggers(spec),
        concurrency_limit=spec.get("concurrency_limit"),
        # Serving stops with its schedules paused (Prefect's pause_on_shutdown) and a re-serve
        # that says nothing leaves them so: the schedules run whenever the deployments are served.
        paused=False,
    )


def take_over_pool_deployments(deployments) -> list[str]:
    """Delete the server's deployments of these names that a work pool runs (``make deploy``).

    Serving a deployment of the same name does not clear its work pool, so its
    runs would still wait for a pool worker (and fail to find the served code).
    Returns the names taken over.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    taken = []
    with get_client(sync_client=True) as client:
        for deployment in deployments:
            name = f"{deployment.flow_name}/{deployment.name}"
            try:
                existing = client.read_deployment_by_name(name)
            except ObjectNotFound:
                continue
            if existing.work_pool_name:
                client.delete_deployment(existing.id)
                taken.append(name)
    return taken


def main() -> None:
    from prefect import serve

    from infra.prefect_setup import ensure_prefect_setup
    from infra.settings import get_settings

    # Flow runs are subprocesses of this one: they inherit the heartbeat frequency.
    os.environ.setdefault("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", str(HEARTBEAT_S))
    for line in ensure_prefect_setup(get_settings(), work_pool=False).lines:
        print(f"prefect setup: {line}", flush=True)
    deployments = [to_deployment(spec) for spec in deployment_specs()]
    for name in take_over_pool_deployments(deployments):
        print(f"serving {name} here instead of the work pool `make deploy` registered it for", flush=True)
    serve(*deployments)


if __name__ == "__main__":
    main()
