"""Calibrations stored with the version they belong to (issue 11, point 5): the risk scorer's as tags of its
MLflow model version, the RAG checks' in the ops database by live collection; reused while the version and
the policy entry are unchanged, and named on the scorecard line."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from models.alerting import Policy
from models.monitoring import Measurement
from models.scorecard import render_scorecard
from infra.clients.mlflow_registry import ModelRegistry
from infra.monitoring.night import RAG_FINAL_VALUES, CalibrationHome, grade_night
from infra.monitoring.policy import load_policy
from infra.stores.calibrations import IndexCalibrations, ModelVersionCalibrations
from infra.stores.opsdb import create_ops_engine
from infra.stores.tickets import CheckHistory

NIGHT = date(2026, 3, 10)
POLICY = load_policy()
QUIET = [0.0, 0.0769, 0.0, 0.0769, 0.0, 0.0, 0.0769, 0.0]  # data_drift on the reference nights


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    reg = ModelRegistry(tracking_uri=uri, artifact_root=str(tmp_path / "artifacts"), experiment_name="risk", model_name="risk-scorer")
    client = MlflowClient(uri, registry_uri=uri)
    client.create_registered_model("risk-scorer")
    for _ in range(2):
        client.create_model_version("risk-scorer", source=str(tmp_path / "model"))
    return reg


@pytest.fixture
def history(tmp_path: Path) -> CheckHistory:
    return CheckHistory(create_ops_engine(f"sqlite:///{tmp_path / 'ops.db'}"))


def _policy_with(check: str, **change) -> Policy:
    return replace(POLICY, checks={**POLICY.checks, check: replace(POLICY[check], **change)})


def test_risk_levels_are_stored_on_the_model_version_and_reused_while_it_is_the_champion(registry, history):
    home = CalibrationHome("1", "v1", ModelVersionCalibrations(registry))
    drift = [Measurement("data_drift", 0.08, 2000)]

    [first] = grade_night(NIGHT, drift, POLICY, reference_values={"data_drift": QUIET}, history=history, homes={"risk-scorer": home})

    tags = registry.version("1").tags
    assert "tandem.calibration.data_drift" in tags
    assert first.calibration["version"] == "v1" and first.calibration["calibrated"] and first.calibration["n"] == len(QUIET)
    # The next night reuses the stored levels, whatever reference values come in.
    [again] = grade_night(NIGHT + timedelta(days=1), drift, POLICY, reference_values={"data_drift": [0.5, 0.6, 0.7]},
                          history=history, homes={"risk-scorer": home})
    assert (again.warn, again.fail) == (first.warn, first.fail) and again.calibration["version"] == "v1"
    # Another version (a new champion) calibrates anew and stores its own; version 1's stay.
    other = CalibrationHome("2", "v2", ModelVersionCalibrations(registry))
    [new] = grade_night(NIGHT, drift, POLICY, reference_values={"data_drift": [0.3, 0.35, 0.4]}, history=history,
                        homes={"risk-scorer": other})
    assert new.fail > first.fail and new.calibration["version"] == "v2"
    assert registry.version("1").tags["tandem.calibration.data_drift"] != registry.version("2").tags["tandem.calibration.data_drift"]
    # A changed policy entry (k, floor, ceiling) recalibrates instead of reusing stale levels.
    stricter = _policy_with("data_drift", floor=0.3)
    [redone] = grade_night(NIGHT, drift, stricter, reference_values={"data_drift": QUIET}, history=history, homes={"risk-scorer": home})
    assert redone.fail >= 0.3 > first.fail
    # The scorecard line says where its levels come from.
    markdown = render_scorecard(NIGHT, [first])
    assert "calibrated on v1" in markdown and f"n={len(QUIET)}" in markdown


def test_a_champion_without_reference_nights_keeps_fixed_levels_and_stores_nothing(registry, history):
    home = CalibrationHome("1", "v1", ModelVersionCalibrations(registry))
    [line] = grade_night(NIGHT, [Measurement("data_drift", 0.08, 2000)], POLICY, reference_values={}, history=history,
                         homes={"risk-scorer": home})
    assert not line.calibration["calibrated"] and (line.warn, line.fail) == (POLICY["data_drift"].warn, POLICY["data_drift"].fail)
    assert not any(k.startswith("tandem.calibration.") for k in registry.version("1").tags)
    assert "fixed" in render_scorecard(NIGHT, [line])


def test_rag_levels_are_stored_with_the_live_collection_once_the_reference_window_is_full(tmp_path, history):
    engine = create_ops_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    store = IndexCalibrations(engine, "rag")
    home = {"rag": CalibrationHome("docs-v1", "docs-v1", store)}

    def night_of(day: date, value: float):
        return grade_night(day, [Measurement("query_drift", value, 200)], POLICY, reference_values={}, history=history, homes=home)

    first = NIGHT - timedelta(days=60)
    day = first
    stored_on = None
    while day < NIGHT:
        [line] = night_of(day, 0.52 + 0.01 * (day.toordinal() % 3))
        history.record(day, [line])
        if stored_on is None and store.load("docs-v1"):
            stored_on = day
            assert line.calibration["n"] >= RAG_FINAL_VALUES and line.calibration["version"] == "docs-v1"
        elif stored_on is None and line.calibration["calibrated"]:
            assert "provisional" in line.calibration["note"]  # recomputed each night until the window is full
        day += timedelta(days=1)
    assert stored_on is not None
    [(key, row)] = store.load("docs-v1").items()
    assert key == ("query_drift", None) and row["calibration"]["calibrated"]
    # Later nights reuse the stored levels even though the window has moved on; another collection does not see them.
    [tonight] = night_of(NIGHT, 0.9)
    assert (tonight.warn, tonight.fail) == (row["calibration"]["warn"], row["calibration"]["fail"]) and tonight.status == "red"
    assert store.load("docs-v2") == {} and IndexCalibrations(engine, "risk-scorer").load("docs-v1") == {}
