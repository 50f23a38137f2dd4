"""The production profile shown in docs/operations.md is real: every name is a setting, and the URLs pick the backends.

Pure: reads the doc's ``env`` block and builds settings from it; starts nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from infra.settings import SettingsInvalid, TandemSettings, check_environment

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
# Variables the profile may show that belong to neither Tandem nor Prefect: the standard AWS chain.
AWS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"}


def profile() -> dict[str, str]:
    """NAME=value lines of the doc's first ``env`` code block."""
    match = re.search(r"```env\n(.*?)```", DOC.read_text("utf-8"), re.S)
    assert match, f"{DOC} shows no ```env block"
    lines = [line.strip() for line in match.group(1).splitlines()]
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_every_variable_of_the_profile_is_known():
    import prefect.settings

    env = profile()
    check_environment({k: v for k, v in env.items() if k.startswith("TANDEM_")}, TandemSettings)
    for name in env:
        if name.startswith("PREFECT_"):
            assert hasattr(prefect.settings, name), f"{name} is not a Prefect setting"
        else:
            assert name.startswith("TANDEM_") or name in AWS, f"{name}: neither Tandem's, Prefect's nor AWS's"


def test_the_profile_moves_every_store(monkeypatch: pytest.MonkeyPatch):
    env = profile()
    for name in [n for n in os.environ if n.startswith("TANDEM_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("TANDEM_"):
            monkeypatch.setenv(name, value)
    settings = TandemSettings()
    assert settings.resolved_ops_db_url.startswith("postgresql://")
    assert settings.resolved_mlflow_tracking_uri.startswith("postgresql://")
    assert settings.resolved_mlflow_artifact_root.startswith("s3://")
    assert settings.resolved_lake_url.startswith("s3://")
    assert settings.qdrant_url and settings.qdrant_url.startswith("http")
    assert env["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://")


def test_a_misspelt_profile_variable_is_refused_by_name():
    with pytest.raises(SettingsInvalid, match="TANDEM_LAKE_URI is not a Tandem setting; did you mean TANDEM_LAKE_URL"):
        check_environment({"TANDEM_LAKE_URI": "s3://b/lake"}, TandemSettings)
