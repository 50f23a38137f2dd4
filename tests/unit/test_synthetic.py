"""Unit tests for models.synthetic."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from models.synthetic import (
    SCENARIOS,
    Scenario,
    default_probability,
    generate_applications,
    generate_labels,
    synthetic_schema,
)
from models.schema import DatasetSchema
from models.validation import validate_frame

DAY = date(2024, 3, 10)
ROWS = 20_000


def test_same_seed_and_day_give_identical_frames():
    a = generate_applications(DAY, seed=11, rows=500)
    b = generate_applications(DAY, seed=11, rows=500)
    pd.testing.assert_frame_equal(a, b)


def test_different_day_or_seed_gives_different_data():
    a = generate_applications(DAY, seed=11, rows=500)
    other_day = generate_applications(DAY + timedelta(days=1), seed=11, rows=500)
    other_seed = generate_applications(DAY, seed=12, rows=500)
    assert not np.allclose(a["debt_to_income"], other_day["debt_to_income"])
    assert not np.allclose(a["debt_to_income"], other_seed["debt_to_income"])
    assert set(a["applicant_id"]).isdisjoint(other_day["applicant_id"])


def test_columns_types_and_ranges():
    # Given one day of applications
    df = generate_applications(DAY, seed=1, rows=ROWS)
    schema = synthetic_schema()
    # Then it has the id, the time, every schema feature and no target
    assert list(df.columns) == ["applicant_id", "application_ts", *schema.feature_names]
    assert "default" not in df.columns
    assert df["applicant_id"].is_unique
    assert df["applicant_id"].iloc[7] == "A20240310-000007"
    assert df["application_ts"].dtype == "datetime64[ns]"
    assert (df["application_ts"].dt.normalize() == pd.Timestamp(DAY)).all()
    assert df["age"].between(18, 80).all() and df["age"].dtype == np.int64
    assert set(df["loan_term_months"].unique()) == {36, 60}
    assert df["utilization"].dropna().between(0, 1).all()
    assert df["debt_to_income"].between(0, 1.5).all()
    assert df["annual_income"].isna().mean() == pytest.approx(0.03, abs=0.01)
    assert df["utilization"].isna().mean() == pytest.approx(0.05, abs=0.01)
    income = df["annual_income"].dropna()
    assert income.mean() > income.median()  # right-skewed
    for col in ("employment_type", "home_ownership", "loan_purpose", "region"):
        assert df[col].dtype == object
        assert set(df[col]) == set(schema.feature(col).categories)


@pytest.mark.parametrize("name", [s for s in SCENARIOS if s != "new-category"])
def test_schema_accepts_everything_generated(name):
    scenario = Scenario(name, start=DAY - timedelta(days=20)) if name != "none" else Scenario()
    df = generate_applications(DAY, seed=2, rows=5_000, scenario=scenario)
    result = validate_frame(df, synthetic_schema(), where="synthetic")
    assert len(result.quarantined) == 0
    assert len(result.valid) == 5_000


def test_scenario_has_no_effect_before_start():
    scenario = Scenario("shock", start=DAY + timedelta(days=1))
    before = generate_applications(DAY, seed=3, rows=2_000, scenario=scenario)
    pd.testing.assert_frame_equal(before, generate_applications(DAY, seed=3, rows=2_000))


def test_shock_lowers_income_and_raises_dti():
    base = generate_applications(DAY, seed=3, rows=ROWS)
    shocked = generate_applications(DAY, seed=3, rows=ROWS, scenario=Scenario("shock", start=DAY))
    ratio = shocked["annual_income"].mean() / base["annual_income"].mean()
    assert ratio == pytest.approx(1 - 0.35, abs=0.01)
    assert (shocked["debt_to_income"] - base["debt_to_income"]).mean() == pytest.approx(0.12, abs=0.01)


def test_gradual_shift_grows_with_days_since_start():
    scenario = Scenario("gradual", start=DAY)
    base = generate_applications(DAY + timedelta(days=9), seed=4, rows=ROWS)
    drifted = generate_applications(DAY + timedelta(days=9), seed=4, rows=ROWS, scenario=scenario)
    first_day = generate_applications(DAY, seed=4, rows=ROWS, scenario=scenario)
    first_base = generate_applications(DAY, seed=4, rows=ROWS)
    shift_day10 = drifted["utilization"].mean() - base["utilization"].mean()
    shift_day1 = first_day["utilization"].mean() - first_base["utilization"].mean()
    assert shift_day10 == pytest.approx(10 * 0.004, abs=0.006)
    assert shift_day1 < shift_day10


def test_new_category_appears_with_its_share():
    df = generate_applications(DAY, seed=5, rows=ROWS, scenario=Scenario("new-category", start=DAY))
    assert (df["loan_purpose"] == "crypto").mean() == pytest.approx(0.15, abs=0.015)


def test_missing_surge_null_rate():
    df = generate_applications(DAY, seed=6, rows=ROWS, scenario=Scenario("missing-surge", start=DAY))
    assert df["annual_income"].isna().mean() == pytest.approx(0.35, abs=0.015)
    assert df["utilization"].isna().mean() == pytest.approx(0.05, abs=0.01)


def test_unknown_scenario_lists_valid_names():
    with pytest.raises(ValueError, match="missing-surge"):
        Scenario("earthquake", start=DAY)


def test_scenario_needs_start():
    with pytest.raises(ValueError, match="start"):
        Scenario("shock")


def test_labels_belong_to_applications_of_ds_minus_delay():
    # Given labels that mature on ds
    labels = generate_labels(DAY, seed=7, rows=1_000, label_delay_days=30)
    apps = generate_applications(DAY - timedelta(days=30), seed=7, rows=1_000)
    # Then they are exactly the applications of ds - 30
    assert list(labels.columns) == ["applicant_id", "default", "application_date", "label_date"]
    assert labels["applicant_id"].tolist() == apps["applicant_id"].tolist()
    assert (labels["application_date"] == pd.Timestamp(DAY - timedelta(days=30))).all()
    assert (labels["label_date"] == pd.Timestamp(DAY)).all()
    assert labels["application_date"].dtype == "datetime64[ns]"
    assert set(labels["default"].unique()) <= {0, 1}


def test_labels_are_deterministic_and_independent_of_delay():
    a = generate_labels(DAY, seed=7, rows=1_000, label_delay_days=30)
    b = generate_labels(DAY + timedelta(days=5), seed=7, rows=1_000, label_delay_days=35)
    assert a["default"].tolist() == b["default"].tolist()


def test_base_default_rate_in_range_and_features_carry_signal():
    labels = generate_labels(DAY, seed=8, rows=ROWS)
    apps = generate_applications(DAY - timedelta(days=30), seed=8, rows=ROWS)
    rate = labels["default"].mean()
    assert 0.08 <= rate <= 0.15
    p = default_probability(apps)
    assert p.dtype == np.float64 and ((p > 0) & (p < 1)).all()
    # Higher true risk really means more defaults.
    high = labels["default"][p > np.quantile(p, 0.8)].mean()
    low = labels["default"][p < np.quantile(p, 0.2)].mean()
    assert high > 4 * low


def test_shock_raises_default_rate_with_same_risk_function():
    scenario = Scenario("shock", start=DAY - timedelta(days=40))
    base = generate_labels(DAY, seed=9, rows=ROWS)["default"].mean()
    shocked = generate_labels(DAY, seed=9, rows=ROWS, scenario=scenario)["default"].mean()
    assert shocked > base


def test_synthetic_schema_contract():
    schema = synthetic_schema()
    assert (schema.name, schema.version, schema.id_column, schema.event_time_column) == (
        "applications",
        "1",
        "applicant_id",
        "application_ts",
    )
    assert (schema.target_column, schema.segment_column) == ("default", "employment_type")
    assert schema.feature("loan_purpose").unknown_category == "keep"
    assert schema.feature("annual_income").max_null_rate == 0.5
    assert schema.feature("utilization").max_null_rate == 0.5
    assert DatasetSchema.from_dict(schema.to_dict()) == schema


def test_new_category_passes_validation_and_is_kept():
    df = generate_applications(DAY, seed=5, rows=2_000, scenario=Scenario("new-category", start=DAY))
    result = validate_frame(df, synthetic_schema(), where="synthetic")
    assert len(result.quarantined) == 0
    assert (result.valid["loan_purpose"] == "crypto").any()


# -- concept: the relationship changes, the features do not --------------------


def _auc(y, score) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


def test_concept_leaves_the_features_exactly_as_none():
    # Given a concept change that started ten days ago
    scenario = Scenario("concept", start=DAY - timedelta(days=10))
    # Then a concept day's applications are the "none" scenario's, column for column
    pd.testing.assert_frame_equal(
        generate_applications(DAY, seed=12, rows=3_000, scenario=scenario),
        generate_applications(DAY, seed=12, rows=3_000),
    )


def test_concept_labels_follow_a_new_relationship_that_a_model_trained_before_misses():
    # Given labels maturing after a concept change, for applications made after its start
    delay = 30
    start = DAY - timedelta(days=delay)
    scenario = Scenario("concept", start=start)
    apps = generate_applications(start, seed=13, rows=ROWS)  # the same features under both scenarios
    old = generate_labels(DAY, seed=13, rows=ROWS, label_delay_days=delay)["default"]
    new = generate_labels(DAY, seed=13, rows=ROWS, scenario=scenario, label_delay_days=delay)["default"]
    # Then the labels differ while the base rate stays about the same
    assert (old != new).mean() > 0.05
    assert new.mean() == pytest.approx(old.mean(), abs=0.02)
    # And the best model trained before the start (the old true risk) ranks the new labels far worse
    before_score = default_probability(apps)
    auc_before, auc_after = _auc(old, before_score), _auc(new, before_score)
    assert auc_before > 0.78
    assert auc_before - auc_after > 0.15
    # while the new relationship itself is learnable (a retrain can win the AUC back)
    assert _auc(new, default_probability(apps, concept_weight=1.0)) > 0.75


def test_concept_labels_before_the_start_are_unchanged():
    # Labels that mature after the start but belong to applications made before it
    scenario = Scenario("concept", start=DAY - timedelta(days=5))
    labels = generate_labels(DAY, seed=14, rows=2_000, scenario=scenario, label_delay_days=30)
    pd.testing.assert_frame_equal(labels, generate_labels(DAY, seed=14, rows=2_000, label_delay_days=30))


def test_concept_weight_blends_and_is_checked():
    apps = generate_applications(DAY, seed=15, rows=2_000)
    half = default_probability(apps, concept_weight=0.5)
    full = default_probability(apps, concept_weight=1.0)
    base = default_probability(apps)
    assert not np.allclose(half, base) and not np.allclose(half, full)
    with pytest.raises(ValueError, match="concept_weight"):
        default_probability(apps, concept_weight=1.5)
    with pytest.raises(ValueError, match="concept_weight"):
        Scenario("concept", start=DAY, concept_weight=-0.1)
