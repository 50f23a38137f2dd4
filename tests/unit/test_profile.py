"""Unit tests for models.profile: per-partition profiles, their sketches and merging."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.profile import (
    PROFILE_VERSION,
    ProfileError,
    check_profile,
    column_quantile,
    incoming_null_counts,
    merge_profiles,
    ordinal_value,
    ordinals,
    profile_frame,
)
from models.schema import DatasetSchema, FeatureSpec

SCHEMA = DatasetSchema(
    name="loans",
    version="3",
    id_column="id",
    event_time_column="ts",
    target_column="default",
    features=(
        FeatureSpec("income", "numeric"),
        FeatureSpec("age", "integer"),
        FeatureSpec("purpose", "categorical", categories=("car", "home")),
    ),
)


def frame(income, age, purpose, **extra) -> pd.DataFrame:
    n = len(income)
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "ts": pd.date_range("2026-03-01 08:00", periods=n, freq="min"),
            "income": income,
            "age": pd.array(age, dtype="Int64"),
            "purpose": pd.Series(purpose, dtype=object),
            **extra,
        }
    )


def bins(column: dict) -> dict[int, int]:
    return {o: c for o, c in column["sketch"]["bins"]}


def test_profile_counts_nulls_categories_and_numeric_summary():
    # Given five rows with a null income, a null age and a null purpose
    df = frame([10.0, np.nan, 30.0, 40.0, 20.0], [20, 30, None, 40, 50], ["car", "home", "car", None, "boat"])
    # When profiled
    profile = profile_frame(df, SCHEMA)
    # Then it counts rows, nulls and categories, and summarises numbers exactly
    assert profile["profile_version"] == PROFILE_VERSION
    assert (profile["dataset"], profile["schema_version"], profile["rows"]) == ("loans", "3", 5)
    income, age, purpose = (profile["columns"][c] for c in ("income", "age", "purpose"))
    assert (income["kind"], income["count"], income["nulls"]) == ("numeric", 4, 1)
    assert (income["min"], income["max"], income["mean"]) == (10.0, 40.0, 25.0)
    assert (age["kind"], age["count"], age["nulls"], age["sum"]) == ("integer", 4, 1, 140.0)
    assert purpose == {
        "kind": "categorical", "count": 4, "nulls": 1, "distinct": 3,
        "categories": {"car": 2, "boat": 1, "home": 1}, "other": 0,
    }
    assert sum(bins(income).values()) == 4
    assert profile["time"] == {"column": "ts", "min": "2026-03-01T08:00:00", "max": "2026-03-01T08:04:00"}
    assert "target" not in profile and "incoming" not in profile
    # And it is plain JSON (no NaN, no numpy types)
    assert json.loads(json.dumps(profile, allow_nan=False)) == profile


def test_quantiles_from_the_sketch_are_within_the_relative_accuracy():
    # Given a skewed column of 50,000 values (income-like, with negatives and zeros mixed in)
    rng = np.random.default_rng(0)
    values = np.concatenate([np.exp(rng.normal(10.8, 0.6, 49_000)), -rng.exponential(50.0, 900), np.zeros(100)])
    df = frame(values, [30] * len(values), ["car"] * len(values))
    column = profile_frame(df, SCHEMA)["columns"]["income"]
    # Then every quantile read back is within 1% of the true one, tails included
    for q in (0.0, 0.001, 0.01, 0.02, 0.25, 0.5, 0.9, 0.999, 1.0):
        true = np.quantile(values, q, method="lower")
        assert column_quantile(column, q) == pytest.approx(true, rel=0.0101, abs=1e-9), q
    # and the sketch stays small
    assert len(column["sketch"]["bins"]) < 600


def test_ordinals_sort_like_the_values_and_decode_within_accuracy():
    values = np.array([-1e6, -2.5, -1e-12, 0.0, 1e-12, 0.004, 1.0, 7.0, 3e9])
    ords = ordinals(values)
    assert (np.diff(ords) >= 0).all()
    assert ords[2] == ords[3] == ords[4] == 0  # below min_indexable: the zero bucket
    for value, ordinal in zip(values, ords):
        if ordinal:
            assert ordinal_value(int(ordinal)) == pytest.approx(value, rel=0.01)


def test_merge_equals_the_profile_of_the_union():
    # Given three days profiled apart
    rng = np.random.default_rng(1)
    days = [
        frame(rng.lognormal(10, 1, n), rng.integers(18, 80, n), rng.choice(["car", "home", "boat"], n))
        for n in (300, 50, 1_000)
    ]
    days[1].loc[3, "income"] = np.nan
    merged = merge_profiles([profile_frame(d, SCHEMA) for d in days])
    # When the same rows are profiled together
    whole = profile_frame(pd.concat(days, ignore_index=True), SCHEMA)
    # Then counts, nulls, categories and sketches agree exactly, the mean up to rounding
    assert merged["rows"] == whole["rows"] == 1_350
    assert merged["merged_from"] == 3
    for name in ("income", "age"):
        m, w = merged["columns"][name], whole["columns"][name]
        assert bins(m) == bins(w)
        assert (m["count"], m["nulls"], m["min"], m["max"]) == (w["count"], w["nulls"], w["min"], w["max"])
        assert m["mean"] == pytest.approx(w["mean"])
    assert merged["columns"]["purpose"]["categories"] == whole["columns"]["purpose"]["categories"]
    assert merged["time"]["min"] == whole["time"]["min"] and merged["time"]["max"] == whole["time"]["max"]
    # and merging is order-independent
    again = merge_profiles([profile_frame(d, SCHEMA) for d in reversed(days)])
    assert bins(again["columns"]["income"]) == bins(merged["columns"]["income"])


def test_categories_beyond_the_cap_are_summed_into_other():
    purposes = ["car"] * 5 + ["home"] * 4 + ["boat"] * 3 + ["plane"] * 2 + ["ufo"]
    df = frame([1.0] * 15, [30] * 15, purposes)
    column = profile_frame(df, SCHEMA, max_categories=2)["columns"]["purpose"]
    assert column["categories"] == {"car": 5, "home": 4}
    assert (column["other"], column["distinct"], column["count"]) == (6, 5, 15)
    # Merging caps again and keeps the total
    merged = merge_profiles([profile_frame(df, SCHEMA, max_categories=2)] * 2, max_categories=1)
    assert merged["columns"]["purpose"]["categories"] == {"car": 10}
    assert merged["columns"]["purpose"]["other"] == 20


def test_a_sketch_over_its_bin_limit_folds_values_near_zero_and_keeps_the_tails():
    # Given values over 14 orders of magnitude, more buckets than a 64-bin sketch may hold
    values = np.logspace(-6, 8, 5_000)
    df = frame(values, [30] * len(values), ["car"] * len(values))
    column = profile_frame(df, SCHEMA, max_bins=64)["columns"]["income"]
    # Then it keeps at most 64 bins, says where it folded, and the upper tail stays accurate
    assert len(column["sketch"]["bins"]) <= 64
    assert column["sketch"]["folded_below"] > 0
    assert column_quantile(column, 0.999) == pytest.approx(np.quantile(values, 0.999, method="lower"), rel=0.0101)
    # and merging two folded sketches keeps the fold and the total
    merged = merge_profiles([profile_frame(df, SCHEMA, max_bins=64)] * 2, max_bins=64)["columns"]["income"]
    assert sum(bins(merged).values()) == 10_000 and len(merged["sketch"]["bins"]) <= 64


def test_pandas_categoricals_nullable_ints_and_a_target_are_profiled():
    df = frame([1.0, 2.0, 3.0], [1, None, 3], ["car", "car", None], default=[1, 0, None])
    df["purpose"] = df["purpose"].astype("category")
    profile = profile_frame(df, SCHEMA)
    assert profile["columns"]["purpose"]["categories"] == {"car": 2}  # no zero-count categories
    assert profile["columns"]["purpose"]["nulls"] == 1
    assert profile["columns"]["age"]["nulls"] == 1
    assert profile["target"] == {"column": "default", "count": 2, "nulls": 1, "sum": 1.0}


def test_non_finite_values_are_counted_apart():
    profile = profile_frame(frame([1.0, np.inf, -np.inf, 2.0], [1, 2, 3, 4], ["car"] * 4), SCHEMA)
    income = profile["columns"]["income"]
    assert (income["count"], income["non_finite"], income["min"], income["max"]) == (4, 2, 1.0, 2.0)
    assert json.dumps(profile, allow_nan=False)


def test_an_empty_frame_gives_an_empty_profile():
    profile = profile_frame(frame([], [], []), SCHEMA)
    assert profile["rows"] == 0 and profile["time"] is None
    assert profile["columns"]["income"]["min"] is None and profile["columns"]["income"]["mean"] is None
    assert column_quantile(profile["columns"]["income"], 0.5) is None


def test_incoming_null_counts_are_kept_and_merged_only_when_every_day_has_them():
    df = frame([1.0, 2.0], [1, 2], ["car", "home"])
    nulls = incoming_null_counts([(10, {"income": 0.2, "age": 0.0}), (5, {"income": 0.4, "age": 0.2})])
    assert nulls == {"income": 4, "age": 1}
    with_incoming = profile_frame(df, SCHEMA, incoming_rows=15, incoming_nulls=nulls)
    assert with_incoming["incoming"] == {"rows": 15, "nulls": {"income": 4, "age": 1}}
    both = merge_profiles([with_incoming, with_incoming])
    assert both["incoming"] == {"rows": 30, "nulls": {"income": 8, "age": 2}}
    assert "incoming" not in merge_profiles([with_incoming, profile_frame(df, SCHEMA)])


def test_missing_feature_column_is_named():
    df = frame([1.0], [1], ["car"]).drop(columns=["age"])
    with pytest.raises(ProfileError, match="loans.*missing feature column.*age"):
        profile_frame(df, SCHEMA)


def test_bad_profiles_are_refused_naming_where():
    good = profile_frame(frame([1.0], [1], ["car"]), SCHEMA)
    with pytest.raises(ProfileError, match="profile_version 99"):
        check_profile({**good, "profile_version": 99})
    with pytest.raises(ProfileError, match=r"merge_profiles: profile #1: expected a profile mapping"):
        merge_profiles([good, "not a profile"])
    with pytest.raises(ProfileError, match="at least one"):
        merge_profiles([])
    other_kind = {**good, "columns": {**good["columns"], "age": good["columns"]["purpose"]}}
    with pytest.raises(ProfileError, match="'age' has different kinds"):
        merge_profiles([good, other_kind])
    with pytest.raises(ProfileError, match="quantile q"):
        column_quantile(good["columns"]["income"], 1.5)
