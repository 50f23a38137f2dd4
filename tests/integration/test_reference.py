"""The reference stored with a trained version, and a risk night measured against it, for real.

One small data dir (backfill, train, score through the real flows on Prefect,
MLflow on SQLite, the Parquet lake) serves every test here: a train run logs
the reference artifacts and ``load_reference`` reads them back; a version
registered without them loads None and its night says so; and
``measure_risk_night`` measures a scored night, a night without predictions,
and the labels matured since a given night.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from flows.backfill import backfill
from flows.score import score
from flows.train import train
from models.reference import CALIBRATED_CHECKS
from models.training import TrainParams
from infra.factory import build_lake, build_partition_ledger, build_registry, build_source
from infra.monitoring.risk import measure_risk_night, risk_calibration
from infra.risk import gate as risk_gate
from infra.risk.fit import fit_model
from infra.risk.reference import ARTIFACT_DIR, load_reference, no_reference_note
from infra.risk.training_set import load_training_set
from infra.settings import get_settings
from tests.integration.conftest import configure, reset_settings

START = date(2026, 1, 1)
END = START + timedelta(days=27)  # 28 days; labels mature after 5, so 23 are trainable
DELAY = 5


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """Backfilled, trained (v1 champion, with its reference) and the last two days scored."""
    mp = pytest.MonkeyPatch()
    data_dir = tmp_path_factory.mktemp("reference") / "tandem"
    configure(mp, data_dir, TANDEM_SYNTHETIC__ROWS_PER_DAY="500", TANDEM_TRAINING__WINDOW_DAYS="23",
              TANDEM_SYNTHETIC__LABEL_DELAY_DAYS=str(DELAY))
    asyncio.run(backfill(START, END, concurrency=2))
    result = asyncio.run(train())
    assert result["decision"] == "PROMOTE", result["reason"]
    asyncio.run(score(END - timedelta(days=1), end=END))
    yield result
    mp.undo()
    reset_settings()


def _adapters():
    settings = get_settings()
    return dict(
        ledger=build_partition_ledger(settings), lake=build_lake(settings), registry=build_registry(settings),
        schema=build_source(settings).schema, champion_alias=settings.champion_alias,
    )


def test_a_train_run_logs_the_reference_and_load_reference_reads_it_back(scored):
    registry = build_registry(get_settings())
    run_id = registry.version("1").run_id
    names = sorted(a.path for a in registry.client.list_artifacts(run_id, ARTIFACT_DIR))
    assert names == [f"{ARTIFACT_DIR}/{n}" for n in
                     ("calibration.json", "profile.json", "registered.json", "sample.parquet", "scores.parquet")]
    ref = load_reference(registry, "1")
    assert ref is not None and ref.version == "1"
    schema = build_source(get_settings()).schema
    assert list(ref.sample.columns) == schema.feature_names and 0 < len(ref.sample) <= 20_000
    # the out-of-time scores are the test part's; the registered figures are the run's own
    metrics = registry.client.get_run(run_id).data.metrics
    assert ref.registered["auc"] == pytest.approx(metrics["test_auc"]) and ref.registered["n"] == len(ref.scores)
    assert set(ref.scores.columns) == {"day", "score", "label"} and ref.scores["score"].between(0, 1).all()
    # one calibration value per check per reference night (the valid and test days)
    split_days = registry.load_dict(run_id, "split.json")["days"]
    assert ref.nights[0] == split_days["valid"][0] and ref.nights[-1] == split_days["test"][1]
    assert set(ref.calibration) == set(CALIBRATED_CHECKS)
    assert all(len(values) == len(ref.nights) for values in ref.calibration.values())
    assert set(risk_calibration(ref)) == set(CALIBRATED_CHECKS)
    assert ref.profile["rows"] > len(ref.scores)


def test_a_scored_night_is_measured_on_every_risk_check(scored):
    night = measure_risk_night(END, since=END - timedelta(days=2), label_delay_days=DELAY, **_adapters())
    by = night.by_check()
    assert night.champion == "1"
    assert list(by) == ["freshness", "quarantine_share", *CALIBRATED_CHECKS]
    assert by["freshness"].value == 0.0 and by["freshness"].evidence["scored_by_champion"] is True
    assert by["quarantine_share"].value is not None
    for check in ("data_drift", "prediction_drift", "null_rate_jump", "unseen_categories", "out_of_range"):
        assert by[check].value is not None, (check, by[check].note)
    assert by["data_drift"].n == 500 and "html" not in by["data_drift"].evidence
    assert "<html" in night.reports["data_drift.html"].lower()
    # labels of the two nights after `since` matured: applications of END-1-DELAY and END-DELAY
    assert night.matured_days == [END - timedelta(days=1), END]
    assert by["auc_drop"].n == 1_000 and by["auc_drop"].value is not None
    assert by["auc_drop"].evidence["label_days"] == [d.isoformat() for d in night.matured_days]
    assert night.calibration["data_drift"] and len(night.reference_nights) == len(night.calibration["data_drift"])
    # without `since`, the night's own labels
    assert measure_risk_night(END, label_delay_days=DELAY, html=False, **_adapters()).by_check()["auc_drop"].n == 500


def test_a_night_without_predictions_is_a_freshness_failure_and_rescored(scored):
    night = END - timedelta(days=3)  # ingested, never scored
    by = measure_risk_night(night, label_delay_days=DELAY, html=False, **_adapters()).by_check()
    assert by["freshness"].value == 1.0 and by["freshness"].evidence["missing"] == ["predictions"]
    assert by["prediction_drift"].value is not None and "recomputed with v1" in by["prediction_drift"].note
    missing = measure_risk_night(END + timedelta(days=1), label_delay_days=DELAY, html=False, **_adapters()).by_check()
    assert missing["freshness"].value == 3.0
    assert missing["data_drift"].value is None and missing["auc_drop"].value is None


def test_a_version_without_a_reference_loads_none_and_its_night_says_retrain(scored):
    # given a version registered the way versions were before references existed
    settings = get_settings()
    adapters = _adapters()
    registry, schema = adapters["registry"], adapters["schema"]
    training_set = load_training_set(
        adapters["ledger"], adapters["lake"], schema, labels_dataset="labels", label_delay_days=DELAY,
        start=START, end=START + timedelta(days=9),
    )
    fit = fit_model(training_set, schema, TrainParams(num_boost_round=20, early_stopping_rounds=5))
    old = risk_gate.register_challenger(registry, training_set, fit, schema=schema, fingerprint="old", key="old-1", flow_run_id=None)
    assert load_reference(registry, old.version) is None
    # when it is the champion
    registry.set_alias(settings.champion_alias, old.version)
    try:
        by = measure_risk_night(END, label_delay_days=DELAY, html=False, **adapters).by_check()
    finally:
        registry.set_alias(settings.champion_alias, "1")
    # then the drift checks are insufficient, naming the version, and performance still reads the run's figures
    assert by["data_drift"].value is None and by["data_drift"].note == no_reference_note(old.version)
    assert "retrain to add one" in by["segment_drift"].note
    assert by["auc_drop"].value is not None and by["freshness"].evidence["scored_by_champion"] is False
