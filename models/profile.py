"""Per-partition data profiles: what nightly quality checks read instead of the raw rows.

A profile is a small JSON-safe dict computed once, at ingest, from the rows a
partition commits, and stored with the partition's ledger row. The nightly
checks (``models.quality``) compare the night's profile with a reference
profile (``profile_frame`` of the champion's reference sample, or
``merge_profiles`` of a window of days), so they never rescan the lake.

Shape (``profile_version`` 1)::

    {"profile_version": 1, "dataset": "applications", "schema_version": "1",
     "rows": 2000,
     "time": {"column": "application_ts", "min": "2026-03-01T00:00:03", "max": "..."},
     "columns": {
        "age": {"kind": "integer", "count": 2000, "nulls": 0, "non_finite": 0,
                "min": 18.0, "max": 80.0, "sum": 82000.0, "mean": 41.0,
                "sketch": {"relative_accuracy": 0.01, "min_indexable": 1e-09,
                           "bins": [[ordinal, count], ...]}},
        "loan_purpose": {"kind": "categorical", "count": 2000, "nulls": 0,
                         "distinct": 6, "categories": {"car": 361, ...}, "other": 0},
        ...},
     "target": {"column": "default", "count": 2000, "nulls": 0, "sum": 221.0},  # only when present
     "incoming": {"rows": 2010, "nulls": {"age": 3, ...}}}                          # only when given

``count`` is the non-null values of a column (non-finite ones included for a
numeric column), so ``count + nulls`` is the rows the column was seen on, and
merged profiles keep correct rates even when a column exists on some days only.

**Why a log-bucketed histogram for numeric columns.** The checks need "the
share of tonight's values outside the reference's [q0.001, q0.999]" and
reference profiles merged over many days. A list of 101 quantiles resolves
only 1% of the mass (the 0.1% tails are invisible) and merges only
approximately; a fixed-bin histogram needs its bin edges known in advance for
every column and is coarse in the tails of skewed columns (income). The
bucketing of DDSketch (Masson, Rim & Lee, VLDB 2019) has neither problem:
a value ``x`` goes to bucket ``ceil(log_gamma |x|)`` with
``gamma = (1 + a) / (1 - a)``, so every quantile read back is within a relative
error ``a`` (1% by default) of the true one, tails included; two sketches
merge exactly by adding counts bucket by bucket (in any order, with the same
result as sketching the union); and a column needs ~``ln(max/min) / 2a``
buckets (income from 6,000 to 3M: ~310). The ``ddsketch`` package adds values
one Python call at a time (seconds per million-row column); the same mapping
is vectorised here with numpy (``bincount``: linear time).

Buckets are stored as signed *ordinals* that sort like the values they hold:
0 for zero (``|x| < min_indexable``), ``+(k + offset)`` for positive ``x``
in bucket ``k``, ``-(k + offset)`` for negative ones. So "values below the
reference's lower quantile" is "bins with a smaller ordinal".

Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.schema import DatasetSchema

PROFILE_VERSION = 1
RELATIVE_ACCURACY = 0.01
MIN_INDEXABLE = 1e-9  # |x| below this counts as zero: keeps the ordinal range bounded
MAX_CATEGORIES = 200
# A sketch keeps at most this many bins; beyond it the buckets nearest zero are
# folded together (DDSketch's "collapsing lowest" store): the tails, where
# out-of-range values live, keep their resolution. 2,048 bins at 1% cover
# nine orders of magnitude, so real columns never reach it.
MAX_BINS = 2048


class ProfileError(ValueError):
    """A profile (or the frame to profile) is not what the caller promised; the message says where."""


# -- the sketch ----------------------------------------------------------------


def _gamma(relative_accuracy: float) -> float:
    return (1.0 + relative_accuracy) / (1.0 - relative_accuracy)


def _offset(relative_accuracy: float, min_indexable: float) -> int:
    """Added to a bucket key so every indexable key becomes an ordinal >= 1."""
    k_min = math.ceil(math.log(min_indexable) / math.log(_gamma(relative_accuracy)))
    return 1 - k_min


def ordinals(values: np.ndarray, *, relative_accuracy: float = RELATIVE_ACCURACY,
             min_indexable: float = MIN_INDEXABLE) -> np.ndarray:
    """Maps finite values to their bucket ordinals (int64, monotone in the value).

    Args:
        values: finite float64 values.
        relative_accuracy: the sketch's relative accuracy ``a`` in (0, 1).
        min_indexable: magnitudes below this go to the zero bucket (ordinal 0).

    Returns:
        One ordinal per value: 0 for (near) zero, ``sign(x) * (key + offset)`` otherwise.
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.zeros(values.shape, dtype=np.int64)
    magnitude = np.abs(values)
    indexable = magnitude >= min_indexable
    if indexable.any():
        keys = np.ceil(np.log(magnitude[indexable]) / math.log(_gamma(relative_accuracy))).astype(np.int64)
        out[indexable] = np.sign(values[indexable]).astype(np.int64) * (keys + _offset(relative_accuracy, min_indexable))
    return out


def ordinal_value(ordinal: int, *, relative_accuracy: float = RELATIVE_ACCURACY,
                  min_indexable: float = MIN_INDEXABLE) -> float:
    """The value a bucket stands for: within ``relative_accuracy`` of every value it holds."""
    if ordinal == 0:
        return 0.0
    gamma = _gamma(relative_accuracy)
    key = abs(int(ordinal)) - _offset(relative_accuracy, min_indexable)
    # Bucket `key` holds (gamma^(key-1), gamma^key]; this point is within `a` of both ends.
    value = 2.0 * gamma**key / (gamma + 1.0)
    return math.copysign(value, ordinal)


def _fold(ords: np.ndarray, floor: int | None) -> np.ndarray:
    """Moves every non-zero ordinal of magnitude below ``floor`` to ``+-floor`` (same sign)."""
    if not floor:
        return ords
    return np.where(ords == 0, 0, np.sign(ords) * np.maximum(np.abs(ords), floor))


def _collapse(ords: np.ndarray, counts: np.ndarray, max_bins: int, floor: int | None = None):
    """Folds the buckets nearest zero together until at most ``max_bins`` remain.

    Returns:
        ``(ordinals, counts, floor)``: ``floor`` is the smallest magnitude kept
        apart (None when nothing was folded); a sketch compared with this one
        must be folded the same way first (``_fold``).
    """
    if floor:
        ords, counts = _bin(_fold(ords, floor), counts.astype(np.float64))
    if len(ords) <= max_bins:
        return ords, counts, floor
    magnitudes = np.unique(np.abs(ords[ords != 0]))
    keep = max(1, max_bins // 2 - 1)  # each magnitude can hold a positive and a negative bin
    floor = int(magnitudes[-keep])
    ords, counts = _bin(_fold(ords, floor), counts.astype(np.float64))
    return ords, counts, floor


def _bin(ords: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ordinals and their summed counts (linear time: ``bincount`` over the range)."""
    if len(ords) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    low = int(ords.min())
    summed = np.bincount(ords - low, weights=weights)
    present = np.flatnonzero(summed)
    return present.astype(np.int64) + low, np.rint(summed[present]).astype(np.int64)


def _sketch(values: np.ndarray, *, relative_accuracy: float, min_indexable: float, max_bins: int) -> dict[str, Any]:
    ords, counts = _bin(ordinals(values, relative_accuracy=relative_accuracy, min_indexable=min_indexable))
    return _sketch_dict(*_collapse(ords, counts, max_bins), relative_accuracy, min_indexable)


def _sketch_dict(ords, counts, floor: int | None, relative_accuracy: float, min_indexable: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "relative_accuracy": relative_accuracy,
        "min_indexable": min_indexable,
        "bins": [[int(o), int(c)] for o, c in zip(ords, counts)],
    }
    if floor:
        out["folded_below"] = int(floor)  # |ordinal| < this was folded into +-this
    return out


def fold_ordinals(ords: np.ndarray, sketch: Mapping[str, Any]) -> np.ndarray:
    """Another sketch's ordinals folded as ``sketch``'s were, so the two compare bin by bin."""
    return _fold(np.asarray(ords, dtype=np.int64), sketch.get("folded_below"))


def sketch_arrays(sketch: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A stored sketch's ordinals (ascending) and counts as int64 arrays."""
    bins = sketch.get("bins") or []
    if not bins:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    array = np.asarray(bins, dtype=np.int64).reshape(-1, 2)
    return array[:, 0], array[:, 1]


def sketch_rank_ordinal(sketch: Mapping[str, Any], q: float) -> int | None:
    """The ordinal of the bucket holding the ``q``-quantile's rank (DDSketch's rank rule).

    Returns:
        The ordinal, or None for an empty sketch.
    """
    ords, counts = sketch_arrays(sketch)
    total = int(counts.sum())
    if total == 0:
        return None
    rank = q * (total - 1)
    index = int(np.searchsorted(np.cumsum(counts), rank, side="right"))
    return int(ords[min(index, len(ords) - 1)])


def column_quantile(column: Mapping[str, Any], q: float) -> float | None:
    """The ``q``-quantile of a numeric column's profile (relative error <= its sketch's accuracy).

    Clamped to the column's exact min and max, so ``q=0`` and ``q=1`` read them back.

    Returns:
        The estimate, or None when the column has no finite value.
    """
    if not 0.0 <= q <= 1.0:
        raise ProfileError(f"quantile q must be in [0, 1], got {q!r}")
    sketch = column.get("sketch") or {}
    ordinal = sketch_rank_ordinal(sketch, q)
    if ordinal is None:
        return None
    value = ordinal_value(
        ordinal, relative_accuracy=sketch["relative_accuracy"], min_indexable=sketch["min_indexable"]
    )
    low, high = column.get("min"), column.get("max")
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return value


# -- profiling a frame -----------------------------------------------------------


def _numeric_profile(
    s: pd.Series, kind: str, *, relative_accuracy: float, min_indexable: float, max_bins: int
) -> dict[str, Any]:
    if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object:
        s = pd.to_numeric(s, errors="coerce")
    values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    null = np.isnan(values)
    present = values[~null]
    finite = present[np.isfinite(present)]
    out: dict[str, Any] = {
        "kind": kind,
        "count": int(present.size),
        "nulls": int(null.sum()),
        "non_finite": int(present.size - finite.size),
        "min": float(finite.min()) if finite.size else None,
        "max": float(finite.max()) if finite.size else None,
        "sum": float(finite.sum()) if finite.size else 0.0,
    }
    out["mean"] = out["sum"] / finite.size if finite.size else None
    out["sketch"] = _sketch(finite, relative_accuracy=relative_accuracy, min_indexable=min_indexable, max_bins=max_bins)
    return out


def _capped(counts: Mapping[str, int], other: int, max_categories: int) -> tuple[dict[str, int], int]:
    """The ``max_categories`` most frequent categories (ties by name) and the rest as ``other``."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ranked[:max_categories])
    return kept, int(other + sum(c for _, c in ranked[max_categories:]))


def _categorical_profile(s: pd.Series, *, max_categories: int) -> dict[str, Any]:
    # One hashing pass: value_counts with the nulls as a key (a separate isna()
    # on an object column costs as much as the counting itself).
    counts = s.value_counts(dropna=False, sort=False)
    raw: dict[str, int] = {}
    nulls = 0
    for key, value in counts.items():
        if not value:  # a pandas categorical lists its unused categories too
            continue
        if key is None or (isinstance(key, float) and math.isnan(key)) or key is pd.NA or key is pd.NaT:
            nulls += int(value)
        else:  # str(): keys of a JSON object; 1 and "1" become one category, as in a CSV
            raw[str(key)] = raw.get(str(key), 0) + int(value)
    kept, other = _capped(raw, 0, max_categories)
    return {
        "kind": "categorical",
        "count": int(len(s) - nulls),
        "nulls": int(nulls),
        "distinct": len(raw),
        "categories": kept,
        "other": other,
    }


def profile_frame(
    df: pd.DataFrame,
    schema: DatasetSchema,
    *,
    incoming_rows: int | None = None,
    incoming_nulls: Mapping[str, int] | None = None,
    max_categories: int = MAX_CATEGORIES,
    relative_accuracy: float = RELATIVE_ACCURACY,
    max_bins: int = MAX_BINS,
) -> dict[str, Any]:
    """Profiles the rows of one partition (or of a reference sample).

    Args:
        df: the rows; every schema feature must be a column. Categorical
            features may be str/object or pandas categoricals; numeric and
            integer ones any numeric dtype (nullable Int64 included). The
            event time and target columns are profiled when present.
        schema: which columns are features, of which kind, and which are the
            event time and the target.
        incoming_rows: rows that arrived before quarantine (valid plus
            quarantined), with ``incoming_nulls``; kept as ``incoming``.
        incoming_nulls: per-feature null counts over those incoming rows
            (validation's partition-level null rates, which ingest used to drop).
        max_categories: distinct categories kept per categorical column; the
            rarer ones are summed into ``other``.
        relative_accuracy: of the numeric sketches (quantiles within this
            relative error).
        max_bins: bins kept per numeric sketch.

    Returns:
        The profile (JSON-safe; see the module docstring for its shape).

    Raises:
        ProfileError: a feature column is missing, or a parameter is out of range.
    """
    if not isinstance(df, pd.DataFrame):
        raise ProfileError(f"profile_frame: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [name for name in schema.feature_names if name not in df.columns]
    if missing:
        raise ProfileError(f"profile_frame ({schema.name}): missing feature column(s): {', '.join(missing)}")
    if not 0.0 < relative_accuracy < 1.0:
        raise ProfileError(f"profile_frame: relative_accuracy must be in (0, 1), got {relative_accuracy!r}")
    if max_categories < 1 or max_bins < 4:
        raise ProfileError(f"profile_frame: max_categories must be >= 1 and max_bins >= 4, got {max_categories}, {max_bins}")
    columns: dict[str, Any] = {}
    for spec in schema.features:
        s = df[spec.name]
        if spec.kind == "categorical":
            columns[spec.name] = _categorical_profile(s, max_categories=max_categories)
        else:
            columns[spec.name] = _numeric_profile(
                s, spec.kind, relative_accuracy=relative_accuracy, min_indexable=MIN_INDEXABLE, max_bins=max_bins
            )
    profile: dict[str, Any] = {
        "profile_version": PROFILE_VERSION,
        "dataset": schema.name,
        "schema_version": schema.version,
        "rows": int(len(df)),
        "time": _time_range(df, schema.event_time_column),
        "columns": columns,
    }
    if schema.target_column in df.columns:
        target = pd.to_numeric(df[schema.target_column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        known = target[~np.isnan(target)]
        profile["target"] = {
            "column": schema.target_column, "count": int(known.size),
            "nulls": int(target.size - known.size), "sum": float(known.sum()),
        }
    if incoming_rows is not None:
        nulls = {k: int(v) for k, v in (incoming_nulls or {}).items()}
        profile["incoming"] = {"rows": int(incoming_rows), "nulls": nulls}
    return profile


def _time_range(df: pd.DataFrame, column: str) -> dict[str, Any] | None:
    if column not in df.columns or len(df) == 0:
        return None
    times = pd.to_datetime(df[column], errors="coerce")
    low, high = times.min(), times.max()
    if pd.isna(low):
        return None
    return {"column": column, "min": low.isoformat(), "max": high.isoformat()}


def incoming_null_counts(null_rates: Iterable[tuple[int, Mapping[str, float]]]) -> dict[str, int]:
    """Per-column null counts over several validated pieces, from validation's null rates.

    Args:
        null_rates: ``(rows, {column: null rate})`` per piece (``ValidationResult.rows``
            and ``.null_rates``).

    Returns:
        column -> null count summed over the pieces.
    """
    out: dict[str, int] = {}
    for rows, rates in null_rates:
        for column, rate in rates.items():
            out[column] = out.get(column, 0) + int(round(rate * rows))
    return out


# -- merging ---------------------------------------------------------------------


def check_profile(profile: Any, *, where: str = "profile") -> Mapping[str, Any]:
    """Checks that ``profile`` is a profile this code can read.

    Raises:
        ProfileError: not a mapping, another ``profile_version``, or missing
            ``rows`` / ``columns``; the message starts with ``where``.
    """
    if not isinstance(profile, Mapping):
        raise ProfileError(f"{where}: expected a profile mapping, got {type(profile).__name__}")
    version = profile.get("profile_version")
    if version != PROFILE_VERSION:
        raise ProfileError(f"{where}: profile_version {version!r} is not supported (expected {PROFILE_VERSION})")
    if not isinstance(profile.get("rows"), int) or not isinstance(profile.get("columns"), Mapping):
        raise ProfileError(f"{where}: a profile needs an integer 'rows' and a 'columns' mapping")
    return profile


def _merge_numeric(parts: Sequence[Mapping[str, Any]], kind: str, where: str, max_bins: int) -> dict[str, Any]:
    accuracies = {(p["sketch"]["relative_accuracy"], p["sketch"]["min_indexable"]) for p in parts}
    if len(accuracies) != 1:
        raise ProfileError(f"{where}: sketches with different accuracies cannot be merged: {sorted(accuracies)}")
    (accuracy, min_indexable), = accuracies
    arrays = [sketch_arrays(p["sketch"]) for p in parts]
    ords = np.concatenate([a for a, _ in arrays]) if arrays else np.empty(0, dtype=np.int64)
    counts = np.concatenate([c for _, c in arrays]) if arrays else np.empty(0, dtype=np.int64)
    floors = [p["sketch"].get("folded_below") or 0 for p in parts]
    ords, counts, floor = _collapse(*_bin(ords, counts.astype(np.float64)), max_bins, max(floors, default=0) or None)
    lows = [p["min"] for p in parts if p.get("min") is not None]
    highs = [p["max"] for p in parts if p.get("max") is not None]
    finite = sum(p["count"] - p.get("non_finite", 0) for p in parts)
    total = float(sum(p.get("sum", 0.0) for p in parts))
    return {
        "kind": kind,
        "count": int(sum(p["count"] for p in parts)),
        "nulls": int(sum(p["nulls"] for p in parts)),
        "non_finite": int(sum(p.get("non_finite", 0) for p in parts)),
        "min": min(lows) if lows else None,
        "max": max(highs) if highs else None,
        "sum": total,
        "mean": total / finite if finite else None,
        "sketch": _sketch_dict(ords, counts, floor, accuracy, min_indexable),
    }


def _merge_categorical(parts: Sequence[Mapping[str, Any]], max_categories: int) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for p in parts:
        for category, count in p["categories"].items():
            counts[category] = counts.get(category, 0) + int(count)
    kept, other = _capped(counts, sum(int(p.get("other", 0)) for p in parts), max_categories)
    return {
        "kind": "categorical",
        "count": int(sum(p["count"] for p in parts)),
        "nulls": int(sum(p["nulls"] for p in parts)),
        # A lower bound once any part was capped: its `other` hides how many values it held.
        "distinct": max(len(counts), max((int(p.get("distinct", 0)) for p in parts), default=0)),
        "categories": kept,
        "other": other,
    }


def merge_profiles(
    profiles: Iterable[Mapping[str, Any]], *, max_categories: int = MAX_CATEGORIES, max_bins: int = MAX_BINS
) -> dict[str, Any]:
    """Combines profiles of several partitions (a reference window) into one.

    Counts, nulls, sums and sketches add up exactly (the sketch of the merge
    equals the sketch of the union of the rows); categories are capped again
    at ``max_categories``. A column present in some profiles only is merged
    over those (its ``count + nulls`` says how many rows saw it).

    Args:
        profiles: at least one profile of the same ``profile_version``.
        max_categories: distinct categories kept per categorical column.
        max_bins: bins kept per numeric sketch.

    Returns:
        The merged profile; ``merged_from`` counts the inputs. ``incoming``
        is kept only when every input has it; ``time`` spans all inputs.

    Raises:
        ProfileError: no profiles, an unreadable one, a column whose kind
            differs between profiles, or sketches of different accuracies.
    """
    profiles = [check_profile(p, where=f"merge_profiles: profile #{i}") for i, p in enumerate(profiles)]
    if not profiles:
        raise ProfileError("merge_profiles: needs at least one profile")
    names: list[str] = []
    for p in profiles:
        names.extend(n for n in p["columns"] if n not in names)
    columns: dict[str, Any] = {}
    for name in names:
        parts = [p["columns"][name] for p in profiles if name in p["columns"]]
        kinds = {part["kind"] for part in parts}
        if len(kinds) != 1:
            raise ProfileError(f"merge_profiles: column {name!r} has different kinds: {', '.join(sorted(kinds))}")
        kind = kinds.pop()
        if kind == "categorical":
            columns[name] = _merge_categorical(parts, max_categories)
        else:
            columns[name] = _merge_numeric(parts, kind, f"merge_profiles: column {name!r}", max_bins)
    first = profiles[0]
    merged: dict[str, Any] = {
        "profile_version": PROFILE_VERSION,
        "dataset": first.get("dataset"),
        "schema_version": first.get("schema_version"),
        "rows": int(sum(p["rows"] for p in profiles)),
        "time": _merge_times([p.get("time") for p in profiles]),
        "columns": columns,
        "merged_from": int(sum(p.get("merged_from", 1) for p in profiles)),
    }
    targets = [p["target"] for p in profiles if p.get("target")]
    if targets:
        merged["target"] = {
            "column": targets[0]["column"],
            "count": int(sum(t["count"] for t in targets)),
            "nulls": int(sum(t["nulls"] for t in targets)),
            "sum": float(sum(t["sum"] for t in targets)),
        }
    if all(p.get("incoming") for p in profiles):
        nulls: dict[str, int] = {}
        for p in profiles:
            for column, count in p["incoming"]["nulls"].items():
                nulls[column] = nulls.get(column, 0) + int(count)
        merged["incoming"] = {"rows": int(sum(p["incoming"]["rows"] for p in profiles)), "nulls": nulls}
    return merged


def _merge_times(times: list[Mapping[str, Any] | None]) -> dict[str, Any] | None:
    known = [t for t in times if t]
    if not known:
        return None
    # ISO strings of naive timestamps sort like the timestamps they spell.
    return {"column": known[0]["column"], "min": min(t["min"] for t in known), "max": max(t["max"] for t in known)}
