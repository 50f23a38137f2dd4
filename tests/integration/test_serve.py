"""``prefect.yaml`` is the one list of deployments: ``flows/serve.py`` serves exactly what it declares."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prefect.utilities.callables import parameter_schema

from flows import serve

ROOT = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
NIGHTLY = {"ingest-daily": "ingest", "score-daily": "score", "nightly-eval": "nightly-eval", "reindex": "reindex"}


@pytest.fixture(scope="module")
def served() -> dict:
    return {spec["name"]: serve.to_deployment(spec) for spec in serve.deployment_specs()}


def test_serve_builds_every_deployment_of_prefect_yaml_and_names_none_itself(served):
    assert list(served) == [d["name"] for d in SPEC]
    source = (ROOT / "flows" / "serve.py").read_text()
    assert not [d["name"] for d in SPEC if f'"{d["name"]}"' in source or f"'{d['name']}'" in source]


@pytest.mark.parametrize("spec", SPEC, ids=[d["name"] for d in SPEC])
def test_served_deployment_carries_what_prefect_yaml_declares(served, spec):
    deployment = served[spec["name"]]
    assert deployment.entrypoint.endswith(spec["entrypoint"].split(":")[1])
    assert deployment.tags == spec["tags"] and {t.split(":")[0] for t in deployment.tags} == {"asset"}
    assert deployment.description == spec["description"]
    assert deployment.parameters == (spec.get("parameters") or {})
    crons = [(s.schedule.cron, s.schedule.timezone, s.active) for s in deployment.schedules]
    assert crons == [(s["cron"], s["timezone"], s["active"]) for s in spec.get("schedules") or []]
    assert len(deployment.triggers) == len(spec.get("triggers") or [])
    limit = deployment.concurrency_limit
    assert (limit if isinstance(limit, int) or limit is None else limit.limit) == spec.get("concurrency_limit")


def test_nightly_deployments_are_scheduled_and_need_no_date(served):
    for name, flow_name in NIGHTLY.items():
        deployment = served[name]
        assert deployment.flow_name == flow_name
        assert deployment.schedules and all(s.active for s in deployment.schedules), name
        assert not parameter_schema(serve.load_flow(next(d for d in SPEC if d["name"] == name)["entrypoint"])).required


def test_one_train_and_one_reindex_at_a_time(served):
    assert {name for name, d in served.items() if d.concurrency_limit == 1} == {"train", "reindex"}


@pytest.mark.parametrize("spec", SPEC, ids=[d["name"] for d in SPEC])
def test_every_parameter_has_a_description_in_the_ui_form(spec):
    schema = parameter_schema(serve.load_flow(spec["entrypoint"])).model_dump()
    undescribed = [name for name, prop in schema["properties"].items() if not prop.get("description")]
    assert not undescribed, f"{spec['name']}: add these to the flow docstring's Args: section: {undescribed}"


def test_modes_and_scenarios_are_choices():
    from flows.backfill import backfill

    props = parameter_schema(backfill).model_dump()["properties"]
    assert props["mode"]["enum"] == ["missing", "failed", "all"]
    scenario = next(s for s in props["scenario"]["anyOf"] if "enum" in s)
    assert "shock" in scenario["enum"]


def test_serve_refuses_a_key_it_would_drop(tmp_path):
    path = tmp_path / "prefect.yaml"
    path.write_text(yaml.safe_dump({"deployments": [{"name": "x", "entrypoint": "flows/ingest.py:ingest", "job_variables": {}}]}))
    with pytest.raises(ValueError, match="does not serve"):
        serve.deployment_specs(path)


def test_serving_again_resumes_schedules_a_stopped_serve_paused():
    from prefect.client.orchestration import get_client

    spec = next(d for d in SPEC if d["name"] == "nightly-eval")
    deployment_id = serve.to_deployment(spec).apply()
    with get_client(sync_client=True) as client:
        client.pause_deployment(deployment_id)  # what a serve process does to its deployments as it stops
        assert client.read_deployment(deployment_id).paused
        serve.to_deployment(spec).apply()
        assert not client.read_deployment(deployment_id).paused


def test_a_nightly_runs_default_day_is_counted_in_its_deployments_schedule_timezone():
    from datetime import datetime, timezone

    from infra.flow_runs import day_before, deployment_timezone

    # Given ingest-daily deployed with its schedule in a timezone 14 hours ahead of UTC
    spec = {**next(d for d in SPEC if d["name"] == "ingest-daily"), "name": "ingest-daily-kiritimati"}
    spec["schedules"] = [{**spec["schedules"][0], "timezone": "Pacific/Kiritimati"}]
    deployment_id = serve.to_deployment(spec).apply()
    # Then its runs count "yesterday" there: at 12:00 UTC on March 14 it is already March 15 in Kiritimati
    tz = deployment_timezone(str(deployment_id))
    assert tz == "Pacific/Kiritimati"
    assert day_before(datetime(2026, 3, 14, 12, 0, tzinfo=timezone.utc), tz) == datetime(2026, 3, 14).date()
    assert deployment_timezone(None) == "UTC"
