"""Unit tests for models.split."""

import pandas as pd
import pytest

from models.split import time_split


def days_frame(n_days, rows_per_day=3):
    ts = pd.date_range("2024-01-01", periods=n_days, freq="D").repeat(rows_per_day)
    ts = ts + pd.to_timedelta(list(range(rows_per_day)) * n_days, unit="h")
    # Shuffle so the split cannot rely on input order.
    return pd.DataFrame({"ts": ts, "x": range(len(ts))}).sample(frac=1.0, random_state=0)


def test_split_is_by_day_disjoint_and_ordered():
    # Given 20 days of rows in random order
    df = days_frame(20)
    # When split 70/15/15
    split = time_split(df, time_column="ts")
    # Then parts hold whole days, in time order, covering everything once
    train_days = set(split.train["ts"].dt.normalize())
    valid_days = set(split.valid["ts"].dt.normalize())
    test_days = set(split.test["ts"].dt.normalize())
    assert (len(train_days), len(valid_days), len(test_days)) == (14, 3, 3)
    assert max(train_days) < min(valid_days) and max(valid_days) < min(test_days)
    assert sorted([*split.train["x"], *split.valid["x"], *split.test["x"]]) == list(range(60))


def test_three_days_give_one_day_each():
    split = time_split(days_frame(3), time_column="ts")
    assert [len(p) for p in (split.train, split.valid, split.test)] == [3, 3, 3]


def test_fewer_than_three_days_is_an_error():
    with pytest.raises(ValueError, match="3 distinct days"):
        time_split(days_frame(2, rows_per_day=10), time_column="ts")


@pytest.mark.parametrize("fractions", [(0.5, 0.3, 0.3), (1.0, 0.0, 0.0), (0.8, 0.2)])
def test_bad_fractions_are_an_error(fractions):
    with pytest.raises(ValueError, match="fraction"):
        time_split(days_frame(10), time_column="ts", fractions=fractions)


def test_part_that_would_be_empty_is_an_error():
    with pytest.raises(ValueError, match="no day for train"):
        time_split(days_frame(3), time_column="ts", fractions=(0.1, 0.5, 0.4))
