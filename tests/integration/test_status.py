"""`tandem status` on a small data dir: every part of the screen, read from the real stores."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from tests.integration.conftest import configure, reset_settings

DAY0 = date(2026, 1, 1)


@pytest.fixture
def seeded(tmp_path, monkeypatch):
    """Partitions (done, failed, missing), a champion with metrics, a production prompt, a live index pinned
    by a rollback, an open ticket and one night's scorecard."""
    from infra.factory import build_partition_ledger, build_pointer_ledger, build_prompt_registry, build_registry, ops_engine
    from infra.settings import get_settings
    from infra.stores.opsdb import check_results, tickets

    configure(monkeypatch, tmp_path / "tandem")
    settings = get_settings()
    ledger = build_partition_ledger(settings)
    for i in range(20):
        ds = DAY0 + timedelta(days=i)
        if i == 7:
            ledger.record_failure(dataset="applications", ds=ds, error="schema: column income missing", flow_run_id=None)
        elif i != 12:  # day 12 never ingested
            ledger.record_success(dataset="applications", ds=ds, row_count=100, quarantined_count=0, content_hash=f"{i:064x}",
                                  schema_version="1", path=f"applications/ds={ds}", flow_run_id=None)
    for i in range(15):
        ds = DAY0 + timedelta(days=i)
        ledger.record_success(dataset="labels", ds=ds, row_count=90, quarantined_count=0, content_hash=f"{i:064x}",
                              schema_version="1", path=f"labels/ds={ds}", flow_run_id=None)

    registry = build_registry(settings)
    client = registry.client
    run = client.create_run(registry.experiment_id())
    for key, value in {"test_auc": 0.8123, "test_brier": 0.1456, "valid_auc": 0.8}.items():
        client.log_metric(run.info.run_id, key, value)
    client.create_registered_model(settings.model_name)
    mv = client.create_model_version(settings.model_name, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_model_version_tag(settings.model_name, mv.version, "gate.decision", "PROMOTE")
    client.set_registered_model_alias(settings.model_name, settings.champion_alias, mv.version)

    prompts = build_prompt_registry(settings)
    spec = prompts.register("Answer {{question}} from {{context}}.", {}, message="test prompt")
    prompts.set_alias(settings.prompt.production_alias, spec.version)

    pointers = build_pointer_ledger(settings)
    for collection in ("docs-v1", "docs-v2"):
        pointers.move("index:docs-live", new_value=collection, actor="reindex", reason="gate passed", evidence=None, apply=lambda v: None)
    pointers.roll_back("index:docs-live", actor="oncall", reason="bad answers", apply=lambda v: None)

    engine = ops_engine(settings.resolved_ops_db_url)
    now = datetime.now(timezone.utc)
    night = DAY0 + timedelta(days=18)
    with engine.begin() as conn:
        conn.execute(tickets.insert().values(
            kind="retrain", asset="risk-scorer", status="open", severity="high", title="data drift on income for 3 nights",
            evidence=[], suggested_action="retrain", count=3, opened_night=night, last_night=night, opened_at=now, updated_at=now))
        conn.execute(tickets.insert().values(
            kind="re-index", asset="rag", status="resolved", severity="medium", title="stale corpus",
            evidence=[], suggested_action="reindex", count=1, opened_night=night, last_night=night, opened_at=now, updated_at=now))
        for check, status, summary in (("data_drift", "red", "data_drift 0.42 > fail 0.30 [income]"),
                                       ("auc", "green", "auc 0.81"), ("cost", "amber", "cost 1.2 > warn 1.0")):
            conn.execute(check_results.insert().values(
                night=night, check=check, subject="", asset="risk-scorer", status=status, value=0.0, n=100,
                summary=summary, recorded_at=now))
        conn.execute(check_results.insert().values(
            night=night - timedelta(days=1), check="auc", subject="", asset="risk-scorer", status="red", value=0.5, n=100,
            summary="older night", recorded_at=now))
    yield settings
    reset_settings()


def test_gather_reads_every_part(seeded):
    from infra.factory import ops_engine
    from infra.status import gather

    s = gather(seeded, ops_engine(seeded.resolved_ops_db_url), today=date(2026, 6, 1), api_url=None)
    assert s.problems == {}
    assert (s.champion["version"], s.champion["metrics"]["test_auc"]) == ("1", pytest.approx(0.8123))
    assert (s.prompt["name"], s.prompt["version"]) == ("rag-answer", "1")
    assert s.index["collection"] == "docs-v1"  # the rollback's value
    assert [(p["pointer"], p["actor"], p["reason"]) for p in s.pins] == [("index:docs-live", "oncall", "bad answers")]
    assert [(t["kind"], t["count"]) for t in s.tickets] == [("retrain", 3)]  # the resolved one is not shown
    assert s.scorecard["night"] == DAY0 + timedelta(days=18)
    assert s.scorecard["counts"] == {"red": 1, "green": 1, "amber": 1}
    assert [line["check"] for line in s.scorecard["lines"]] == ["cost", "data_drift"]
    # no partition in the 30 days before today: the bars end at the newest partition
    bars = s.bars
    assert (bars.start, bars.end) == (DAY0 + timedelta(days=19) - timedelta(days=29), DAY0 + timedelta(days=19))
    apps = bars.days["applications"]
    assert apps[-20:].count("ok") == 18 and apps[-20:][7] == "failed" and apps[-20:][12] is None
    assert apps[:10] == [None] * 10
    assert bars.days["labels"][-5:] == [None] * 5
    assert s.schedule["reachable"] is False and "PREFECT_API_URL unset" in s.schedule["error"]


def test_bars_end_yesterday_when_recent_days_exist(seeded):
    from infra.factory import ops_engine
    from infra.status import read_bars

    bars = read_bars(ops_engine(seeded.resolved_ops_db_url), today=DAY0 + timedelta(days=25))
    assert bars.end == DAY0 + timedelta(days=24)
    assert bars.days["applications"][-5:] == [None] * 5  # days 20..24 never ingested: missing, shown


def test_next_runs_come_from_the_prefect_api(seeded):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL
    from prefect.states import Scheduled

    from infra.status import read_schedule

    at = datetime.now(timezone.utc) + timedelta(hours=3)
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("nightly-eval")
        deployment_id = client.create_deployment(flow_id=flow_id, name="status-test-nightly")
        client.create_flow_run_from_deployment(deployment_id, state=Scheduled(scheduled_time=at))
    schedule = read_schedule(PREFECT_API_URL.value())
    assert schedule["reachable"] is True
    mine = [r for r in schedule["runs"] if r["deployment"] == "status-test-nightly"]
    assert mine and abs((mine[0]["at"] - at).total_seconds()) < 1
    # a port where nothing listens: one line, no traceback
    assert read_schedule("http://127.0.0.1:9/api", timeout_s=0.5)["error"].startswith("server not reachable")


def test_tandem_status_prints_one_screen(seeded, monkeypatch):
    from infra.cli import app

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    out = CliRunner().invoke(app, ["status"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    text = out.output
    assert "risk-scorer v1  auc 0.8123  brier 0.1456  (gate PROMOTE)" in text
    assert "rag-answer v1 @production" in text
    assert "docs-live -> docs-v1" in text
    assert "PINNED index:docs-live" in text and "oncall (bad answers)" in text
    assert "open tickets (1)" in text and "data drift on income for 3 nights" in text
    assert "last night 2026-01-19: 1 amber  1 green  1 red" in text
    assert "red    risk-scorer  data_drift 0.42 > fail 0.30 [income]" in text
    assert "applications  " + "·" * 10 + "■" * 7 + "×" + "■" * 4 + "·" + "■" * 7 + "  18 done, 1 failed, 11 missing" in text
    assert "next runs: server not reachable" in text
    as_json = CliRunner().invoke(app, ["status", "--json"])
    assert as_json.exit_code == 0 and '"collection": "docs-v1"' in as_json.output
