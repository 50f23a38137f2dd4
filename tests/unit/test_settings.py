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
