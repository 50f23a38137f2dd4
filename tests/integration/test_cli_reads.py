"""`tandem champion` reads MLflow's tables directly (fast) and agrees with MLflow's client."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from infra.cli import app
from infra.clients.mlflow_sql import read_alias, read_alias_with_client
from infra.factory import build_registry
from infra.settings import get_settings


def _register_champion() -> str:
    """A registered version with gate tags and test metrics under `champion`, through MLflow's client."""
    settings = get_settings()
    registry = build_registry(settings)
    client = registry.client
    run = client.create_run(registry.experiment_id())
    for key, value in {"test_auc": 0.7812, "test_brier": 0.1601}.items():
        client.log_metric(run.info.run_id, key, value)
    client.create_registered_model(settings.model_name)
    for _ in range(2):  # v1, v2: the alias points at v2
        mv = client.create_model_version(settings.model_name, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_model_version_tag(settings.model_name, mv.version, "gate.decision", "PROMOTE")
    client.set_model_version_tag(settings.model_name, mv.version, "gate.reason", "non-inferior [within tolerance]")
    client.set_registered_model_alias(settings.model_name, settings.champion_alias, mv.version)
    return str(mv.version)


def test_champion_from_mlflow_tables_matches_the_client(tandem: Path):
    version = _register_champion()
    settings = get_settings()
    args = (settings.resolved_mlflow_tracking_uri, settings.model_name, settings.champion_alias)
    fast, slow = read_alias(*args), read_alias_with_client(*args)
    assert fast == slow and fast.version == version == "2"
    result = CliRunner().invoke(app, ["champion"])
    assert result.exit_code == 0, result.output
    assert "risk-scorer v2" in result.output and "PROMOTE — non-inferior [within tolerance]" in result.output
    assert "auc            0.7812" in result.output
