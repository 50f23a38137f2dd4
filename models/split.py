"""Out-of-time split by calendar day."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Split:
    """Train / validation / out-of-time test parts of one dataset.

    Attributes:
        train: Rows of the earliest days.
        valid: Rows of the days after train (early stopping).
        test: Rows of the latest days (out-of-time evaluation and the gate).
    """

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame


def time_split(
    df: pd.DataFrame,
    *,
    time_column: str,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
) -> Split:
    """Splits rows by distinct calendar days of ``time_column``, in time order.

    The distinct days are sorted and cut into three consecutive runs whose sizes
    (in days, not rows) follow ``fractions``; no day is in two parts. Valid and
    test get ``round(fraction * days)`` days but at least one each, and train
    gets the rest, so three days always make a 1/1/1 split.

    Args:
        df: Rows to split.
        time_column: A datetime-like column (strings are parsed).
        fractions: Train, valid and test shares of the days; each > 0, sum 1.

    Returns:
        The three parts, each keeping the input's row order, index reset.

    Raises:
        ValueError: The column is missing or has nulls, there are fewer than 3
            distinct days, the fractions do not sum to 1 or one is not
            positive, or a part would be empty.
    """
    if time_column not in df.columns:
        raise ValueError(f"time_split: column {time_column!r} not in frame")
    if len(fractions) != 3 or not math.isclose(sum(fractions), 1.0, abs_tol=1e-9):
        raise ValueError(f"time_split: fractions must be three numbers summing to 1, got {fractions}")
    if any(f <= 0 for f in fractions):
        raise ValueError(f"time_split: every fraction must be > 0 or its part would be empty, got {fractions}")
    days = pd.to_datetime(df[time_column]).dt.normalize()
    if days.isna().any():
        raise ValueError(f"time_split: column {time_column!r} has {int(days.isna().sum())} null values")
    distinct = np.sort(days.unique())
    n_days = len(distinct)
    if n_days < 3:
        raise ValueError(f"time_split: need at least 3 distinct days, got {n_days}")
    n_valid = max(1, round(fractions[1] * n_days))
    n_test = max(1, round(fractions[2] * n_days))
    n_train = n_days - n_valid - n_test
    if n_train < 1:
        raise ValueError(
            f"time_split: {n_days} days leave no day for train with fractions {fractions}"
        )
    first_valid = distinct[n_train]
    first_test = distinct[n_train + n_valid]
    day_values = days.to_numpy()
    train_mask = day_values < first_valid
    test_mask = day_values >= first_test
    valid_mask = ~train_mask & ~test_mask
    return Split(
        train=df.loc[train_mask].reset_index(drop=True),
        valid=df.loc[valid_mask].reset_index(drop=True),
        test=df.loc[test_mask].reset_index(drop=True),
    )
