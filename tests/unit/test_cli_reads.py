"""`tandem settings|partitions|pointers|champion`: bad settings and typos are one-line errors; secrets masked."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from infra.factory import build_partition_ledger
from infra.settings import get_settings
from tests.unit.conftest import run_cli


# Every test gets a fresh data dir (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("data_dir")
_run = run_cli


def test_settings_masks_database_passwords_and_keys():
    result = _run("settings", TANDEM_OPS_DB_URL="postgresql://tandem:hunter2@db/ops",
                  TANDEM_MLFLOW_TRACKING_URI="postgresql://ml:hunter3@db/mlflow", TANDEM_LLM__API_KEY="sk-live-123")
    assert result.exit_code == 0, result.output
    assert "postgresql://tandem:***@db/ops" in result.output and "postgresql://ml:***@db/mlflow" in result.output
    assert "hunter2" not in result.output and "hunter3" not in result.output and "sk-live-123" not in result.output


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TANDEM_OPSDB_URL": "sqlite:///x.db"}, "TANDEM_OPSDB_URL is not a Tandem setting; did you mean TANDEM_OPS_DB_URL?"),
        ({"TANDEM_BUDGET__PER_TENANT": "{oops"}, "TANDEM_BUDGET__PER_TENANT is not valid JSON"),
        ({"TANDEM_GATE__MIN_AUC": "high"}, "TANDEM_GATE__MIN_AUC: Input should be a valid number"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2_for_any_command(env, expected):
    result = _run("partitions", **env)
    assert result.exit_code == 2
    assert expected in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def _seed_partition() -> None:
    build_partition_ledger(get_settings()).record_success(
        dataset="applications", ds=date(2026, 1, 1), row_count=10, quarantined_count=0, content_hash="ab" * 32,
        schema_version="1", path="lake/applications/ds=2026-01-01", flow_run_id=None,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--dataset", "nosuch"], "--dataset 'nosuch' is not one of applications"),
        (["--status", "faild"], "--status 'faild' is not one of failed, ok; did you mean 'failed'?"),
        (["--start", "2026-02-01", "--end", "2026-01-01"], "--end 2026-01-01 is before --start 2026-02-01"),
        (["--start", "2026-02-30"], "'2026-02-30' is not a date"),
    ],
)
def test_partition_filters_that_cannot_match_are_errors(args, expected):
    _seed_partition()
    result = _run("partitions", *args)
    assert result.exit_code == 2, result.output
    assert expected in result.output


def test_partition_filters_that_match_nothing_today_still_show_an_empty_table():
    _seed_partition()
    result = _run("partitions", "--dataset", "predictions", "--status", "failed")
    assert result.exit_code == 0, result.output
    assert "0 partition(s)" in result.output
    result = _run("partitions", "--dataset", "applications")
    assert "1 partition(s)" in result.output


def test_unknown_pointer_is_an_error_and_shorthands_work():
    result = _run("pointers", "--pointer", "nosuch")
    assert result.exit_code == 2 and "'nosuch' is not a live pointer" in result.output
    assert _run("pointers", "--pointer", "model").exit_code == 0


def test_champion_without_one_says_so_without_creating_mlflow(data_dir: Path):
    result = _run("champion")
    assert result.exit_code == 1 and "no champion for risk-scorer yet" in result.output
    assert not (data_dir / "mlflow.db").exists()
