"""Unit tests for models.drift and models.reference: each measurement on small synthetic frames."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wasserstein_distance

from models import drift
from models.features import feature_types, prepare_features
from models.reference import CALIBRATED_CHECKS, build_reference, measure_night
from models.split import time_split
from models.synthetic import Scenario, default_probability, generate_applications, synthetic_schema
from models.training import TrainParams, train_booster

SCHEMA = synthetic_schema()
DAY = date(2026, 3, 1)


def _apps(rows: int, day: date = DAY, seed: int = 1, scenario: Scenario = Scenario()) -> pd.DataFrame:
    return generate_applications(day, seed=seed, rows=rows, scenario=scenario)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return _apps(6_000, day=DAY - timedelta(days=10), seed=7)


# -- data drift ---------------------------------------------------------------------


def test_an_identical_distribution_does_not_drift(reference):
    # given a night drawn from the same source as the reference
    night = _apps(2_000)
    # when measured
    m = drift.data_drift(night, reference, SCHEMA)
    # then no column drifts, and every column names Evidently's test
    assert m.check == "data_drift" and m.value == 0.0 and m.n == 2_000
    assert {c["method"] for c in m.evidence["columns"]} == {"Wasserstein distance (normed)", "Jensen-Shannon distance"}
    assert len(m.evidence["columns"]) == len(SCHEMA.features)


def test_a_shifted_column_is_detected(reference):
    # given a night whose income fell by a third and debt-to-income rose (the shock scenario)
    night = _apps(2_000, scenario=Scenario("shock", start=DAY))
    # when measured
    m = drift.data_drift(night, reference, SCHEMA)
    # then exactly those columns drift
    assert set(m.evidence["drifted"]) == {"annual_income", "debt_to_income"}
    assert m.value == pytest.approx(2 / len(SCHEMA.features))
    income = next(c for c in m.evidence["columns"] if c["column"] == "annual_income")
    assert income["score"] > income["threshold"] and income["drifted"]


def test_the_report_and_the_direct_tests_agree_and_the_report_has_html(reference):
    night = _apps(1_500, scenario=Scenario("new-category", start=DAY))
    fast = drift.data_drift(night, reference, SCHEMA)
    with_report = drift.data_drift(night, reference, SCHEMA, html=True)
    assert with_report.value == fast.value and with_report.evidence["drifted"] == ["loan_purpose"]
    for a, b in zip(fast.evidence["columns"], with_report.evidence["columns"]):
        assert (a["column"], a["method"], a["drifted"]) == (b["column"], b["method"], b["drifted"])
        assert a["score"] == pytest.approx(b["score"], rel=1e-9, abs=1e-12)
    assert "<html" in with_report.evidence["html"].lower() and "html" not in fast.evidence


def test_the_fast_wasserstein_equals_scipys(reference):
    night = _apps(1_000, scenario=Scenario("gradual", start=DAY - timedelta(days=30)))
    ref = drift._Column(drift._clean(reference["utilization"], "num"))
    cur = drift._clean(night["utilization"], "num")
    expected = wasserstein_distance(ref.values, cur) / max(float(np.std(ref.values)), 0.001)
    assert drift._wasserstein_normed(ref, cur) == pytest.approx(expected, rel=1e-12)


def test_a_column_all_null_tonight_counts_as_drifted_and_does_not_crash(reference):
    night = _apps(800)
    night["utilization"] = np.nan
    for html in (False, True):
        m = drift.data_drift(night, reference, SCHEMA, html=html)
        column = next(c for c in m.evidence["columns"] if c["column"] == "utilization")
        assert column["drifted"] and column["score"] is None and "no non-null value" in column["note"]


def test_sampling_caps_the_rows_tested_and_is_deterministic(reference):
    night = _apps(3_000)
    a = drift.data_drift(night, reference, SCHEMA, max_rows=1_000, seed=3)
    b = drift.data_drift(night, reference, SCHEMA, max_rows=1_000, seed=3)
    assert a.n == 1_000 and a.evidence["rows"] == {"night": 3_000, "tested": 1_000, "reference": len(reference)}
    assert a.evidence["columns"] == b.evidence["columns"]


def test_an_empty_night_gives_no_figure_and_a_missing_column_is_named(reference):
    assert drift.data_drift(_apps(10).iloc[:0], reference, SCHEMA).value is None
    with pytest.raises(ValueError, match="data_drift: night: missing column.*region"):
        drift.data_drift(_apps(10).drop(columns=["region"]), reference, SCHEMA)


# -- prediction drift -----------------------------------------------------------------


def test_prediction_drift_grows_with_a_shift_of_the_scores():
    rng = np.random.default_rng(0)
    ref = rng.beta(2, 14, 5_000)
    same = drift.prediction_drift(rng.beta(2, 14, 2_000), ref)
    shifted = drift.prediction_drift(np.clip(rng.beta(2, 14, 2_000) + 0.05, 0, 1), ref)
    assert same.check == "prediction_drift" and same.n == 2_000
    assert same.evidence["method"] == "Wasserstein distance (normed)"
    assert same.value < 0.1 < shifted.value
    assert shifted.evidence["night_mean"] > shifted.evidence["reference_mean"]
    assert drift.prediction_drift([], ref).value is None


# -- segment drift --------------------------------------------------------------------


def test_segment_drift_finds_the_one_drifting_segment(reference):
    # given a night where only salaried applicants' incomes collapsed
    night = _apps(3_000)
    salaried = night["employment_type"] == "salaried"
    night.loc[salaried, "annual_income"] *= 0.5
    night.loc[salaried, "debt_to_income"] = np.minimum(night.loc[salaried, "debt_to_income"] + 0.2, 1.5)
    # when measured per segment
    m = drift.segment_drift(night, reference, SCHEMA, min_rows=150)
    # then the worst segment is salaried, with the shifted columns, and the small segments are listed
    assert m.check == "segment_drift" and m.subject is None
    assert m.evidence["worst"] == "salaried"
    assert {"annual_income", "debt_to_income"} <= set(m.evidence["segments"]["salaried"]["drifted"])
    assert m.value == m.evidence["segments"]["salaried"]["share"] > 0
    assert "retired" in m.evidence["skipped"]
    # and the whole-night drift reads the same columns
    assert {"annual_income", "debt_to_income"} <= set(drift.data_drift(night, reference, SCHEMA).evidence["drifted"])


def test_segment_drift_with_too_few_rows_everywhere_is_none(reference):
    m = drift.segment_drift(_apps(100), reference, SCHEMA, min_rows=200)
    assert m.value is None and m.n == 0 and set(m.evidence["skipped"]) >= {"salaried"}


def test_segment_drift_lists_an_unseen_segment_and_needs_a_segment_column(reference):
    night = _apps(1_000)
    night.loc[:99, "employment_type"] = "gig"
    m = drift.segment_drift(night, reference, SCHEMA, min_rows=50)
    assert m.evidence["skipped"]["gig"].startswith("not in the reference")
    plain = SCHEMA.__class__(**{**SCHEMA.__dict__, "segment_column": None})
    with pytest.raises(ValueError, match="segment_column"):
        drift.segment_drift(night, reference, plain)


# -- performance -----------------------------------------------------------------------


def _labelled(rows: int, seed: int, *, strength: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.15).astype(int)
    scores = 1 / (1 + np.exp(-(strength * (y - 0.5) + rng.normal(0, 1, rows) - 1.8)))
    return y, scores


def test_performance_drop_measures_each_figure_against_the_registered_one_with_intervals():
    y, s = _labelled(3_000, 1, strength=2.0)
    registered = {"auc": 0.95, "ks": 0.8, "brier": 0.05}
    auc, ks, brier = drift.performance_drop(y, s, registered, n_bootstrap=150, seed=2)
    assert [m.check for m in (auc, ks, brier)] == ["auc_drop", "ks_drop", "brier_rise"]
    assert all(m.n == 3_000 for m in (auc, ks, brier))
    assert auc.value == pytest.approx(0.95 - auc.evidence["matured"]["value"])
    assert brier.value == pytest.approx(brier.evidence["matured"]["value"] - 0.05)
    for m in (auc, ks, brier):
        matured = m.evidence["matured"]
        assert matured["low"] <= matured["value"] <= matured["high"]
        assert m.evidence["interval"]["low"] <= m.value <= m.evidence["interval"]["high"] + 1e-9
    # a weaker model drops further than a stronger one
    y2, weak = _labelled(3_000, 1, strength=0.8)
    assert drift.performance_drop(y2, weak, registered, n_bootstrap=50)[0].value > auc.value


def test_performance_drop_is_none_for_one_class_or_too_few_labels():
    registered = {"auc": 0.8, "ks": 0.5, "brier": 0.1}
    one_class = drift.performance_drop(np.zeros(500), np.full(500, 0.1), registered)
    assert [m.value for m in one_class] == [None, None, None] and one_class[0].n == 500
    few = drift.performance_drop([1, 0, 0, 1, 0, 0], [0.9, 0.1, 0.2, 0.7, 0.3, 0.1], registered)
    assert all(m.value is None and "too few" in m.note for m in few)
    with pytest.raises(ValueError, match="registered figures lack ks"):
        drift.performance_drop([1, 0], [0.5, 0.5], {"auc": 0.8, "brier": 0.1})


def test_bootstrap_ks_matches_the_observed_ks_without_resampling_noise():
    y, s = _labelled(400, 5, strength=1.5)
    s = np.round(s, 2)  # ties
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, s)
    ks = drift._bootstrap_ks(y, s, n_bootstrap=300, seed=0)
    assert np.median(ks) == pytest.approx(float(np.max(tpr - fpr)), abs=0.05)


# -- the reference and a whole night ------------------------------------------------------


@pytest.fixture(scope="module")
def trained():
    frames = []
    for i in range(12):
        day = DAY - timedelta(days=40 - i)
        frame = _apps(700, day=day, seed=3)
        frame["default"] = (np.random.default_rng(i).random(len(frame)) < default_probability(frame)).astype(int)
        frames.append(frame)
    split = time_split(pd.concat(frames, ignore_index=True), time_column=SCHEMA.event_time_column)
    X = {k: prepare_features(getattr(split, k), SCHEMA) for k in ("train", "valid", "test")}
    model = train_booster(
        X["train"], split.train["default"], X["valid"], split.valid["default"], feature_types=feature_types(SCHEMA),
        params=TrainParams(num_boost_round=40, early_stopping_rounds=10, nthread=1),
    )
    return split, model.booster


def test_build_reference_calibrates_every_check_on_each_valid_and_test_day(trained):
    split, booster = trained
    ref = build_reference(split, booster, SCHEMA, sample_rows=3_000)
    assert len(ref.sample) == 3_000 and list(ref.sample.columns) == SCHEMA.feature_names
    assert ref.nights == ["2026-01-28", "2026-01-29", "2026-01-30", "2026-01-31"]  # 2 valid + 2 test days of 12
    assert set(ref.calibration) == set(CALIBRATED_CHECKS)
    assert all(len(v) == len(ref.nights) for v in ref.calibration.values())
    assert {"auc", "ks", "brier", "n"} == set(ref.registered) and ref.registered["n"] == len(split.test)
    # quiet reference nights: nothing drifts, the performance figures scatter around 0
    assert max(ref.calibration_values()["data_drift"]) <= 2 / len(SCHEMA.features)
    assert all(abs(v) < 0.15 for v in ref.calibration_values()["auc_drop"])


def test_measure_night_returns_every_check_and_none_without_data(trained):
    split, booster = trained
    ref = build_reference(split, booster, SCHEMA, sample_rows=3_000)
    night = _apps(700, scenario=Scenario("missing-surge", start=DAY))
    scores = booster.inplace_predict(prepare_features(night, SCHEMA))
    measured = measure_night(night, scores, ref, SCHEMA)
    assert [m.check for m in measured] == list(CALIBRATED_CHECKS)
    by = {m.check: m for m in measured}
    assert by["null_rate_jump"].value > 0.25  # Evidently ignores nulls; this check does not
    assert by["auc_drop"].value is None and "no labels" in by["auc_drop"].note
    empty = measure_night(None, None, ref, SCHEMA)
    assert all(m.value is None for m in empty)
