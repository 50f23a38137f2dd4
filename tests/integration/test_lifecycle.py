"""Train, gate, promote, hold, roll back and score, for real (Prefect + MLflow on SQLite).

The steps build on each other the way a model's life does, so they are one
test (it passes alone and in any order), each step a function of its own.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from flows.backfill import backfill
from flows.score import score
from flows.train import train
from infra.cli import app
from infra.factory import build_lake, build_partition_ledger, build_pointer_ledger, build_registry, model_pointer
from infra.settings import get_settings
from tests.integration.conftest import configure, reset_settings

START = date(2026, 1, 1)
END = START + timedelta(days=29)  # 30 days; labels mature after 5, so 25 are trainable


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    data_dir = tmp_path_factory.mktemp("lifecycle") / "tandem"
    configure(mp, data_dir, TANDEM_SYNTHETIC__ROWS_PER_DAY="600", TANDEM_TRAINING__WINDOW_DAYS="25")
    asyncio.run(backfill(START, END, concurrency=2))
    yield data_dir
    mp.undo()
    reset_settings()


def _champion() -> str | None:
    settings = get_settings()
    return build_registry(settings).alias_version(settings.champion_alias)


def _moves():
    return build_pointer_ledger(get_settings()).history(model_pointer(get_settings()))


def _first_version_meeting_minimums_becomes_champion():
    result = asyncio.run(train())
    assert (result["version"], result["decision"], result["champion"]) == ("1", "PROMOTE", "1")
    assert result["metrics"]["auc"] > 0.7
    assert _champion() == "1"
    moves = _moves()
    assert [(m.old_value, m.new_value) for m in moves] == [(None, "1")]
    assert moves[0].evidence["verdict"]["decision"] == "PROMOTE"
    # the run carries partitions with hashes, the schema, the card; the version carries the verdict
    registry = build_registry(get_settings())
    mv = registry.version("1")
    assert mv.tags["gate.decision"] == "PROMOTE"
    partitions = registry.load_dict(mv.run_id, "partitions.json")
    assert {p["dataset"] for p in partitions} == {"applications", "labels"}
    assert all(len(p["content_hash"]) == 64 for p in partitions)
    card = open(result["model_card"]).read()
    assert "version 1" in card and "PROMOTE" in card


def _retraining_on_the_same_partitions_is_skipped():
    result = asyncio.run(train())
    assert (result["version"], result["skipped"], result["decision"]) == ("1", True, "PROMOTE")
    assert "v1 on these partitions" in result["message"] and "already trained and PROMOTED" in result["message"]
    assert len(build_registry(get_settings()).versions()) == 1


def _worse_challenger_is_held_and_champion_stays(monkeypatch):
    # given a deliberately weak challenger (one shallow tree) that still meets the minimum
    monkeypatch.setenv("TANDEM_TRAINING__NUM_BOOST_ROUND", "1")
    monkeypatch.setenv("TANDEM_TRAINING__MAX_DEPTH", "1")
    monkeypatch.setenv("TANDEM_GATE__MIN_AUC", "0.5")
    reset_settings()
    moves_before = _moves()
    # when trained
    result = asyncio.run(train(force=True))
    # then the gate holds it: champion and ledger unchanged, verdict stored on the version
    assert result["decision"] == "HOLD", result["reason"]
    assert _champion() == "1"
    assert _moves() == moves_before
    assert build_registry(get_settings()).version(result["version"]).tags["gate.decision"] == "HOLD"


def _rollback_restores_previous_champion():
    # given an equally good challenger promoted over version 1
    promoted = asyncio.run(train(force=True))
    assert promoted["decision"] == "PROMOTE", promoted["reason"]
    new = promoted["version"]
    assert _champion() == new
    # when on-call rolls the model back from the command line
    out = CliRunner().invoke(app, ["rollback", "model", "--reason", "bad scores in prod"])
    # then champion is version 1 again and the ledger says who, why, and what was undone
    assert out.exit_code == 0, out.output
    assert _champion() == "1"
    last = _moves()[0]
    assert (last.old_value, last.new_value, last.reason, last.actor) == (new, "1", "bad scores in prod", "pytest")
    assert last.evidence["from"] == new
    # and the CLI shows it to on-call
    history = CliRunner().invoke(app, ["pointers"], env={"COLUMNS": "200"})
    assert history.exit_code == 0 and "bad scores in prod" in history.output
    shown = CliRunner().invoke(app, ["champion"])
    assert shown.exit_code == 0 and "v1" in shown.output and "auc" in shown.output


def _score_writes_predictions_once_per_champion():
    day = END
    [first] = asyncio.run(score(day))
    assert first["status"] == "scored" and first["model_version"] == "1"
    settings = get_settings()
    predictions = build_lake(settings).read_partition("predictions", day)
    applications = build_lake(settings).read_partition("applications", day)
    assert len(predictions) == len(applications) == 600
    assert predictions["applicant_id"].is_unique
    assert predictions["score"].between(0, 1).all()
    assert set(predictions["model_version"]) == {"1"}
    # a rerun with the same input and champion does nothing
    assert [r["status"] for r in asyncio.run(score(day - timedelta(days=1), end=day))] == ["scored", "skipped"]
    assert build_partition_ledger(settings).get("predictions", day).meta["model_version"] == "1"
    listed = CliRunner().invoke(app, ["partitions", "--dataset", "predictions"])
    assert listed.exit_code == 0 and "2 partition(s)" in listed.output


def test_model_lifecycle(lifecycle):
    """Champion, skip, HOLD, a second champion, rollback, scoring: in the order a model lives them."""
    _first_version_meeting_minimums_becomes_champion()
    _retraining_on_the_same_partitions_is_skipped()
    with pytest.MonkeyPatch.context() as mp:
        _worse_challenger_is_held_and_champion_stays(mp)
    reset_settings()
    _rollback_restores_previous_champion()
    _score_writes_predictions_once_per_champion()


def test_rollback_without_history_fails_clearly(tmp_path, monkeypatch):
    configure(monkeypatch, tmp_path / "empty")
    out = CliRunner().invoke(app, ["rollback", "model"])
    assert out.exit_code == 1
    assert "never moved" in out.output
