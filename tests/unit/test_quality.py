"""Unit tests for models.quality: the data-quality measurements read from profiles."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.monitoring import Measurement
from models.profile import ProfileError, merge_profiles, profile_frame
from models.quality import (
    clip_value,
    freshness,
    null_rate_jump,
    out_of_range,
    quarantine_share,
    unseen_categories,
)
from models.schema import DatasetSchema, FeatureSpec


def schema(*, categorical: bool = True) -> DatasetSchema:
    features = [FeatureSpec("income", "numeric"), FeatureSpec("age", "integer")]
    if categorical:
        features.append(FeatureSpec("purpose", "categorical", categories=("car", "home", "boat")))
    return DatasetSchema(
        name="loans", version="1", id_column="id", event_time_column="ts", target_column="y", features=tuple(features)
    )


def rows(n: int, *, seed: int = 0, income_null: float = 0.02, purposes=("car", "home", "boat"), income_scale: float = 1.0,
         categorical: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.8, 0.5, n) * income_scale
    income[rng.random(n) < income_null] = np.nan
    df = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "income": income, "age": rng.integers(18, 80, n)})
    if categorical:
        df["purpose"] = rng.choice(list(purposes), n).astype(object)
    return df


def profile(df: pd.DataFrame, *, categorical: bool = True) -> dict:
    return profile_frame(df, schema(categorical=categorical))


@pytest.fixture(scope="module")
def reference() -> dict:
    """Thirty quiet days of 500 rows, merged: what the champion was trained on."""
    return merge_profiles([profile(rows(500, seed=day)) for day in range(30)])


def test_null_surge_gives_a_clear_jump_naming_the_column(reference):
    # Given a night where a third of the incomes arrive null (the reference has 2%)
    night = profile(rows(400, seed=100, income_null=0.35))
    # When measured
    m = null_rate_jump(night, reference)
    # Then the jump is about 33 points, on the income column, resting on the night's rows
    assert isinstance(m, Measurement) and m.check == "null_rate_jump"
    assert m.value == pytest.approx(0.33, abs=0.05)
    assert (m.n, m.evidence["column"]) == (400, "income")
    columns = m.evidence["columns"]
    assert [c["column"] for c in columns][0] == "income"
    assert [c["rise"] for c in columns] == sorted((c["rise"] for c in columns), reverse=True)
    assert columns[0]["reference_rate"] == pytest.approx(0.02, abs=0.01)
    assert json.dumps(m.to_dict(), allow_nan=False)


def test_a_quiet_night_shows_no_null_jump(reference):
    m = null_rate_jump(profile(rows(400, seed=101)), reference)
    assert m.value < 0.03


def test_a_new_category_shows_with_its_share_and_clipped_values(reference):
    # Given a night where 20% of rows carry a purpose never seen, one with a long hostile name
    df = rows(500, seed=102)
    df.loc[:79, "purpose"] = "crypto"
    df.loc[80:99, "purpose"] = "x" * 300 + "\n<script>"
    m = unseen_categories(profile(df), reference)
    # Then the share and the top unseen values are named, each clipped and printable
    assert m.value == pytest.approx(100 / 500)
    assert m.evidence["column"] == "purpose"
    values = m.evidence["values"]
    assert values[0] == {"value": "crypto", "rows": 80}
    assert len(values[1]["value"]) <= 40 and "\n" not in values[1]["value"]
    assert "crypto" in m.note
    # And a quiet night has nothing unseen
    assert unseen_categories(profile(rows(500, seed=103)), reference).value == 0.0


def test_out_of_range_share_of_a_shifted_column(reference):
    # Given a night whose incomes fell by 60%: many fall below the reference's 0.1% quantile
    night = profile(rows(1_000, seed=104, income_scale=0.4))
    m = out_of_range(night, reference)
    top = m.evidence["columns"][0]
    assert m.evidence["column"] == "income" == top["column"]
    # Then the share is what the raw rows say (within the sketch's bucket slack)
    ref_low = top["reference_low"]
    raw = rows(1_000, seed=104, income_scale=0.4)["income"].dropna()
    assert m.value == pytest.approx((raw < ref_low).mean(), abs=0.01)
    assert m.value > 0.08 and top["below_share"] == pytest.approx(m.value) and top["above_share"] == 0.0


def test_out_of_range_stays_near_the_tail_mass_on_quiet_nights(reference):
    # On quiet nights the share is about lower_q + 1 - upper_q (0.2%), plus noise
    shares = [out_of_range(profile(rows(2_000, seed=200 + i)), reference).value for i in range(5)]
    assert max(shares) < 0.01


def test_out_of_range_counts_values_above_and_non_finite_ones(reference):
    df = rows(200, seed=105)
    df.loc[:9, "income"] = 1e9
    df.loc[10, "income"] = np.inf
    m = out_of_range(profile(df), reference)
    income = next(c for c in m.evidence["columns"] if c["column"] == "income")
    assert income["non_finite"] == 1
    n = int(df["income"].notna().sum())
    assert income["above_share"] == pytest.approx(10 / n, abs=1e-6)
    assert income["share"] >= round(11 / n, 6)


def test_small_nights_give_no_figure_and_say_why(reference):
    # Given a night of 5 rows
    tiny = profile(rows(5, seed=106))
    for check in (null_rate_jump, unseen_categories, out_of_range):
        m = check(tiny, reference)
        # Then the figure is None (graded insufficient), n says how many rows there were
        assert m.value is None and m.n == 5
        assert "insufficient" in m.note
    # And a few dozen rows already give figures
    small = profile(rows(40, seed=107))
    assert all(check(small, reference).value is not None for check in (null_rate_jump, unseen_categories, out_of_range))


def test_small_night_figures_stay_bounded():
    # Given a small reference (a few hundred rows) and quiet nights of 300 rows
    reference = profile(rows(300, seed=1))
    jumps = [null_rate_jump(profile(rows(300, seed=s)), reference).value for s in range(10, 20)]
    ranges = [out_of_range(profile(rows(300, seed=s)), reference).value for s in range(10, 20)]
    # Then the noise stays small next to a real surge or shift
    assert max(jumps) < 0.05 and max(ranges) < 0.05


def test_a_schema_without_categorical_columns():
    reference = profile(rows(500, categorical=False), categorical=False)
    night = profile(rows(300, seed=9, categorical=False, income_null=0.4), categorical=False)
    unseen = unseen_categories(night, reference)
    assert (unseen.value, unseen.n) == (0.0, 300) and "no categorical column" in unseen.note
    assert null_rate_jump(night, reference).evidence["column"] == "income"
    assert out_of_range(night, reference).value is not None


def test_columns_the_reference_lacks_are_listed_not_compared(reference):
    night = profile(rows(100, seed=10, categorical=False), categorical=False)
    ref_without_income = {**reference, "columns": {k: v for k, v in reference["columns"].items() if k != "income"}}
    m = out_of_range(night, ref_without_income)
    assert m.evidence["not_in_reference"] == ["income"]
    assert [c["column"] for c in m.evidence["columns"]] == ["age"]


def test_bad_inputs_are_refused(reference):
    night = profile(rows(100))
    with pytest.raises(ProfileError, match="night profile"):
        null_rate_jump({"rows": 3}, reference)
    with pytest.raises(ProfileError, match="reference profile"):
        unseen_categories(night, None)
    with pytest.raises(ValueError, match="lower_q"):
        out_of_range(night, reference, lower_q=0.9, upper_q=0.1)
    coarse = profile_frame(rows(100), schema(), relative_accuracy=0.05)
    with pytest.raises(ProfileError, match="accuracy"):
        out_of_range(coarse, reference)


def test_quarantine_share():
    m = quarantine_share(950, 50)
    assert (m.check, m.value, m.n) == ("quarantine_share", 0.05, 1_000)
    assert m.evidence == {"rows": 950, "quarantined": 50}
    assert quarantine_share(0, 0).value is None
    assert quarantine_share(10, 0).value == 0.0
    with pytest.raises(ValueError, match="quarantine_share"):
        quarantine_share(-1, 3)


def test_freshness_counts_what_is_missing():
    # Given the night's labels missing and the predictions made by an old version
    m = freshness(
        {"applications": True, "labels": False, "predictions": True},
        scored_by_champion=False, champion_version="7", scored_version="6",
    )
    # Then two things are missing, each named
    assert (m.check, m.value, m.n) == ("freshness", 2.0, 4)
    assert m.evidence["missing"] == ["labels", "scored by champion"]
    assert "version 6" in m.note and "champion is 7" in m.note
    # A complete night is 0; labels not due yet are not missing
    ok = freshness({"applications": True, "labels": None, "predictions": True}, scored_by_champion=True)
    assert (ok.value, ok.n, ok.evidence["not_due"]) == (0.0, 3, ["labels"])
    # A night with nothing missing but no applications at all is still counted
    assert freshness({"applications": False}).value == 1.0
    # Nothing due: no figure
    assert freshness({"labels": None}).value is None


def test_clip_value():
    assert clip_value("crypto") == "crypto"
    assert clip_value("a\tb\x00c") == "a?b?c"
    clipped = clip_value("y" * 100, 10)
    assert len(clipped) == 10 and clipped.endswith("\u2026")
