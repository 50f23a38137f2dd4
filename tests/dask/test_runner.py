"""Which task runner and training client the settings pick (no cluster needed: nothing connects here)."""

from __future__ import annotations

import pytest
from prefect.task_runners import ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner
from pydantic import ValidationError

from flows.backfill import backfill
from flows.score import score
from infra.compute import build_task_runner, partition_runner, training_client
from infra.settings import TandemSettings

pytestmark = pytest.mark.dask


def test_without_an_address_the_days_run_in_threads_of_the_flow_process():
    runner = build_task_runner(TandemSettings(), max_workers=3)
    assert type(runner) is ThreadPoolTaskRunner and runner._max_workers == 3


def test_with_an_address_the_days_go_to_that_scheduler():
    runner = build_task_runner(TandemSettings(dask_address="tcp://10.0.0.5:8786"), max_workers=3)
    assert isinstance(runner, DaskTaskRunner) and runner.address == "tcp://10.0.0.5:8786"


def test_the_fan_out_flows_pick_their_runner_when_a_run_starts(monkeypatch):
    # Given flows imported with no address set
    from infra.settings import get_settings

    assert backfill.task_runner == partition_runner(8) and score.task_runner == partition_runner(4)
    # When the address is set before a run starts, then the run's runner is Dask's
    monkeypatch.setenv("TANDEM_DASK_ADDRESS", "tcp://10.0.0.5:8786")
    get_settings.cache_clear()
    try:
        assert isinstance(backfill.task_runner.duplicate(), DaskTaskRunner)
        monkeypatch.delenv("TANDEM_DASK_ADDRESS")
        get_settings.cache_clear()
        assert type(score.task_runner.duplicate()) is ThreadPoolTaskRunner
    finally:
        get_settings.cache_clear()


def test_training_stays_local_unless_the_engine_is_dask():
    with training_client(TandemSettings(dask_address="tcp://10.0.0.5:8786")) as client:
        assert client is None


def test_dask_training_without_a_scheduler_is_refused_by_the_settings():
    with pytest.raises(ValidationError, match="TANDEM_TRAINING__ENGINE=dask needs TANDEM_DASK_ADDRESS"):
        TandemSettings(training={"engine": "dask"})
