"""Run history on-call can read: names, tags and outcome messages of real flow runs on the test server."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from prefect import flow
from prefect.client.orchestration import get_client

from tests.integration.conftest import configure, reset_settings

START = date(2026, 1, 1)
END = START + timedelta(days=19)  # 20 days; labels mature after 5: 15 trainable


def _run(state):
    """The flow run behind a ``return_state=True`` call, read back from the server."""
    with get_client(sync_client=True) as client:
        return client.read_flow_run(state.state_details.flow_run_id)


def test_ingest_run_is_named_and_tagged_for_its_day_and_says_what_it_wrote(tandem):
    from flows.ingest import ingest

    # When one day is ingested
    state = ingest(date(2026, 3, 14), return_state=True)
    # Then the run reads "ingest 2026-03-14", carries the asset and day tags, and its message counts the rows
    run = _run(state)
    assert state.is_completed()
    assert run.name == "ingest 2026-03-14"
    assert {"asset:risk-scorer", "ds:2026-03-14"} <= set(run.tags)
    assert run.state.message.startswith("2026-03-14: 400 rows, ")
    # and a caller of the flow gets the data, not the state
    assert state.result()["rows"] == 400


def test_subflows_that_return_a_state_hand_their_caller_the_data(tandem):
    from flows.backfill import backfill
    from flows.ingest import ingest
    from flows.score import score

    @flow
    async def parent() -> tuple:
        one = ingest(date(2026, 2, 2))
        many = await backfill(date(2026, 2, 1), date(2026, 2, 3))
        return one, many

    # When a parent flow calls a sync and an async subflow that end with Completed(message, data)
    one, many = asyncio.run(parent())
    # Then it gets their data (a dict, a list of rows), as before
    assert isinstance(one, dict) and one["rows"] == 400
    assert [r["outcome"] for r in many] == ["done", "skipped", "done"]
    # and a nightly flow without a date runs for yesterday (UTC, no deployment)
    state = asyncio.run(score(return_state=True))  # fails (no champion here): the name is what counts
    yesterday = datetime.now(timezone.utc).date() - timedelta(days=1)
    assert _run(state).name == f"score {yesterday}"
    assert f"ds:{yesterday}" in _run(state).tags


def _artifacts(run) -> dict:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
    return {a.key: a for a in found}


def test_backfill_run_is_named_for_its_range_and_its_summary_shows_the_ledger_after_it(tandem):
    from flows.backfill import backfill

    # A dry run plans three days
    state = asyncio.run(backfill(date(2026, 1, 1), date(2026, 1, 3), dry_run=True, return_state=True))
    run = _run(state)
    assert run.name == "backfill 2026-01-01..2026-01-03"
    assert "asset:risk-scorer" in run.tags and not any(t.startswith("ds:") for t in run.tags)
    assert run.state.message == "0 done, 0 failed, 3 would run"
    # A real one ingests two of them: the summary says what the ledger holds now, and what the plan saw
    run = _run(asyncio.run(backfill(date(2026, 1, 1), date(2026, 1, 2), return_state=True)))
    assert run.state.message == "2 done, 0 failed"
    rows = json.loads(_artifacts(run)["backfill-summary"].data)
    assert [(r["outcome"], r["ledger"], r["planned_from"]) for r in rows] == [("done", "ok", "missing")] * 2


@pytest.fixture(scope="module")
def trained_twice(tmp_path_factory):
    """A backfill, a train run that promotes, and a second one on the same partitions."""
    from flows.backfill import backfill
    from flows.train import train

    mp = pytest.MonkeyPatch()
    data_dir = tmp_path_factory.mktemp("runs") / "tandem"
    configure(mp, data_dir, TANDEM_TRAINING__WINDOW_DAYS="15", TANDEM_GATE__N_BOOTSTRAP="50")
    asyncio.run(backfill(START, END, concurrency=2))
    first = asyncio.run(train(return_state=True))
    second = asyncio.run(train(return_state=True))
    yield _run(first), _run(second)
    mp.undo()
    reset_settings()


def test_a_promotion_and_a_skipped_retrain_read_differently(trained_twice):
    first, second = trained_twice
    # The first run is named for its window and its message is the verdict with the AUC interval
    window = f"{START}..{START + timedelta(days=14)}"
    assert first.name == f"train {window}"
    assert first.state.message.startswith("PROMOTE v1 (AUC 0.")
    assert first.state.message.count("[") == 1
    # The second trained nothing: its message says so and names the version it matched
    assert second.name == f"train {window}"
    assert second.state.message.startswith("skipped: same partitions as v1 (PROMOTE")
    assert "asset:risk-scorer" in first.tags and "asset:risk-scorer" in second.tags
    # The promoting run carries its model card and a link to its MLflow run
    artifacts = _artifacts(first)
    assert {"model-card", "training-metrics", "mlflow-model-run"} <= set(artifacts)
    assert "/#/experiments/" in artifacts["mlflow-model-run"].data
