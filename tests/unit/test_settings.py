"""Settings: strict, prefixed, derived URLs, nothing done at construction."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from infra.settings import TandemSettings
from models.synthetic import synthetic_schema

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_defaults_live_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TANDEM_DATA_DIR", str(tmp_path / "d"))
    s = TandemSettings()
    assert s.resolved_ops_db_url == f"sqlite:///{tmp_path / 'd' / 'ops.db'}"
    assert s.resolved_mlflow_tracking_uri == f"sqlite:///{tmp_path / 'd' / 'mlflow.db'}"
    assert s.resolved_lake_url == str(tmp_path / "d" / "lake")
    assert not (tmp_path / "d").exists()  # nothing is created by reading settings


def test_urls_pick_production_backends_without_code(monkeypatch):
    monkeypatch.setenv("TANDEM_OPS_DB_URL", "postgresql://u@db/ops")
    monkeypatch.setenv("TANDEM_LAKE_URL", "s3://bucket/lake")
    monkeypatch.setenv("TANDEM_GATE__MIN_AUC", "0.8")
    s = TandemSettings()
    assert (s.resolved_ops_db_url, s.resolved_lake_url, s.gate.min_auc) == ("postgresql://u@db/ops", "s3://bucket/lake", 0.8)


def test_unknown_and_invalid_settings_are_errors(monkeypatch):
    with pytest.raises(ValidationError):
        TandemSettings(not_a_setting=1)
    monkeypatch.setenv("TANDEM_SYNTHETIC__SCENARIO", "earthquake")
    with pytest.raises(ValidationError, match="scenario"):
        TandemSettings()


def test_file_source_needs_a_path_and_a_schema(monkeypatch):
    monkeypatch.setenv("TANDEM_SOURCE", "file")
    with pytest.raises(ValidationError, match="TANDEM_FILE__PATH"):
        TandemSettings()


def test_settings_are_frozen():
    with pytest.raises(ValidationError):
        TandemSettings().model_name = "other"


def test_shipped_schema_yaml_matches_the_synthetic_source():
    shipped = yaml.safe_load((ROOT / "infra" / "schemas" / "applications.yaml").read_text())
    assert shipped == synthetic_schema().to_dict()


# -- strict environment (issue 9, point 18) --------------------------------------
from infra.settings import SettingsInvalid, settings_error_message  # noqa: E402


def test_unknown_top_level_variable_is_named_with_the_closest_setting(monkeypatch):
    monkeypatch.setenv("TANDEM_OPSDB_URL", "postgresql://u@db/ops")
    with pytest.raises(SettingsInvalid, match="TANDEM_OPSDB_URL is not a Tandem setting; did you mean TANDEM_OPS_DB_URL"):
        TandemSettings()


def test_unknown_nested_key_is_named_with_the_closest_setting(monkeypatch):
    monkeypatch.setenv("TANDEM_GATE__MIN_AUCC", "0.8")
    with pytest.raises(SettingsInvalid, match="TANDEM_GATE__MIN_AUCC .*did you mean TANDEM_GATE__MIN_AUC"):
        TandemSettings()


def test_keys_of_a_mapping_setting_and_test_switches_are_not_unknown(monkeypatch):
    monkeypatch.setenv("TANDEM_BUDGET__PER_TENANT__TEAM_A", "500")
    monkeypatch.setenv("TANDEM_REQUIRE_SERVICES", "1")
    monkeypatch.setenv("TANDEM_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1/postgres")
    assert TandemSettings().budget.per_tenant == {"team_a": 500}


@pytest.mark.parametrize(
    ("name", "value", "shape"),
    [
        ("TANDEM_BUDGET__PER_TENANT", "{team-a: 5}", '{"team-a": 50000}'),
        ("TANDEM_LLM__ROUTE_KEYWORDS", "refund,policy", '["refund", "policy"]'),
        ("TANDEM_GATE", "{min_auc: 0.8}", "a JSON object with keys among min_auc"),
    ],
)
def test_malformed_json_names_the_variable_and_the_shape_without_its_value(monkeypatch, name, value, shape):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsInvalid) as caught:
        TandemSettings()
    message = str(caught.value)
    assert message.startswith(f"{name} is not valid JSON") and shape in message
    assert value not in message  # a value may be a secret
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no chained traceback


def test_validation_errors_become_one_line_naming_the_variable(monkeypatch):
    monkeypatch.setenv("TANDEM_GATE__MIN_AUC", "not-a-number")
    monkeypatch.setenv("TANDEM_LLM__API_KEY", "sk-secret")
    monkeypatch.setenv("TANDEM_LLM__TIMEOUT_S", "-1")
    with pytest.raises(ValidationError) as caught:
        TandemSettings()
    line = settings_error_message(caught.value)
    assert "\n" not in line
    assert "TANDEM_GATE__MIN_AUC: Input should be a valid number" in line and "TANDEM_LLM__TIMEOUT_S" in line
    assert "not-a-number" not in line and "sk-secret" not in line
