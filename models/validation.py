"""Validation of one incoming partition against a :class:`DatasetSchema`.

Two levels of failure:

* partition level (:class:`PartitionRejected`): the data as a whole cannot be
  trusted (empty, a column missing or of the wrong type, too many nulls);
* row level (quarantine): individual rows break a rule; they are set aside with
  a reason and the rest of the partition goes on.

Every rule is a vectorised boolean mask; reason strings are only built for the
flagged rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api.types import (
    infer_dtype,
    is_bool_dtype,
    is_datetime64_any_dtype,
    is_numeric_dtype,
    is_object_dtype,
    is_string_dtype,
)

from models.schema import DatasetSchema, FeatureSpec

REASON_COLUMN = "_reason"


class PartitionRejected(ValueError):
    """The whole partition fails validation; the message names ``where`` and the column."""


@dataclass
class ValidationResult:
    """Outcome of :func:`validate_frame`.

    Attributes:
        valid: Rows that passed, index reset, columns id (object str), event
            time (datetime64[ns]; tz-aware input is converted to naive UTC),
            the features in schema order (numeric: float64, integer: Int64,
            categorical: object str with None for null) and the target (Int64,
            may hold <NA>) when the input had it.
        quarantined: Rejected rows, index reset, with all their original columns
            (incoming dtypes; object columns mixing types become str, None for
            null) plus "_reason" (str): every broken rule of the row, joined by "; ".
        null_rates: Null rate of every feature over the whole partition.
        warnings: Human-readable notes (dropped columns, quarantine counts,
            unseen categories kept).
        quarantined_by: Rows flagged per column (a row breaking rules on two
            columns counts for both); what a quarantine-share rejection names.
    """

    valid: pd.DataFrame
    quarantined: pd.DataFrame
    null_rates: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    quarantined_by: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Rows that came in: valid plus quarantined."""
        return len(self.valid) + len(self.quarantined)


def check_quarantine_share(
    *, rows: int, quarantined: int, quarantined_by: Mapping[str, int], limit: float, where: str
) -> None:
    """Rejects a partition whose quarantined share is above ``limit``.

    Args:
        rows: Rows of the partition (valid plus quarantined).
        quarantined: Rows quarantined.
        quarantined_by: Rows flagged per column, to name the main culprit.
        limit: The schema's ``max_quarantine_share``.
        where: The file or source name, quoted in the message.

    Raises:
        PartitionRejected: The share is above the limit; the message names the
            column that flagged the most rows and both shares.
    """
    if rows <= 0 or quarantined / rows <= limit:
        return
    column, count = max(quarantined_by.items(), key=lambda kv: kv[1], default=("?", quarantined))
    raise PartitionRejected(
        f"{where}: {quarantined / rows:.1%} of rows quarantined ({quarantined} of {rows}), above "
        f"max_quarantine_share {limit:.1%}; most by column {column!r} ({count} rows, {count / rows:.1%})"
    )


def quarantine_ids_seen(
    valid: pd.DataFrame, hashes: np.ndarray, seen: Mapping[int, object], *, id_column: str, dataset: str
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Sets aside the rows whose id another partition already holds.

    Args:
        valid: Validated rows of one day.
        hashes: Their id hashes (:func:`id_hashes`), row for row.
        seen: id hash -> the day whose committed partition holds it.
        id_column: The schema's id column.
        dataset: The dataset name, quoted in the reason.

    Returns:
        The rows kept, the rows set aside (with a "_reason" naming the
        partition where the id was first seen) and the kept rows' hashes.
    """
    if not seen:
        return valid, valid.iloc[:0].assign(**{REASON_COLUMN: pd.Series(dtype=object)}), hashes
    first = pd.Series(hashes).map(seen)
    taken = first.notna().to_numpy()
    moved = valid[taken].reset_index(drop=True)
    moved[REASON_COLUMN] = (
        f"{id_column} already in {dataset} ds=" + first[taken].astype(str).reset_index(drop=True)
    ).to_numpy(dtype=object)
    return valid[~taken].reset_index(drop=True), moved, hashes[~taken]


def id_hashes(ids: pd.Series, *, dataset: str) -> np.ndarray:
    """A 64-bit hash per id (as int64, what a database BIGINT holds), the key of the id index.

    Salted with the dataset name, so one index holds several datasets' ids
    apart. Stable across processes and pandas versions (SipHash over the
    id's text with a key derived from the dataset). Two different ids share a
    hash with probability about n^2 / 2^65: about 0.4% over a year of 1M ids a day.
    """
    values = ids.astype(str).to_numpy(dtype=object) if not is_object_dtype(ids.dtype) else ids.to_numpy()
    key = hashlib.sha256(dataset.encode()).hexdigest()[:16]
    return pd.util.hash_array(values, hash_key=key, categorize=False).view(np.int64)


def _fmt(value: float) -> str:
    """Formats a bound without a spurious ".0"."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _num_text(values: pd.Series) -> np.ndarray:
    """Formats flagged numeric values, integral ones without ".0"."""
    v = values.to_numpy(dtype=np.float64)
    out = values.astype(str).to_numpy(dtype=object)
    integral = np.isfinite(v) & (v == np.floor(np.where(np.isfinite(v), v, 0.0))) & (np.abs(v) < 1e15)
    if integral.any():
        out[integral] = v[integral].astype(np.int64).astype(str).astype(object)
    return out


def _example(values: pd.Series) -> str:
    return repr(values.iloc[0]) if len(values) else "?"


def _blank_to_null(s: pd.Series) -> pd.Series:
    """Treats empty or whitespace-only strings as null (CSV-style sources)."""
    if is_object_dtype(s.dtype) or is_string_dtype(s.dtype):
        blank = s.astype("string").str.strip().eq("").fillna(False).to_numpy(dtype=bool)
        if blank.any():
            return s.mask(blank)
    return s


def _coerce_numeric(s: pd.Series, column: str, where: str, *, integer: bool) -> pd.Series:
    """Returns ``s`` as float64, or raises if its non-null values are not numbers."""
    if is_bool_dtype(s.dtype) or is_numeric_dtype(s.dtype):
        out = pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index)
    else:
        s = _blank_to_null(s)
        out = pd.to_numeric(s, errors="coerce").astype("float64")
        bad = out.isna().to_numpy() & s.notna().to_numpy()
        if bad.any():
            raise PartitionRejected(
                f"{where}: column {column!r} has non-numeric values, e.g. {_example(s[bad])} "
                f"({int(bad.sum())} rows)"
            )
    if integer:
        values = out.to_numpy()
        finite = np.isfinite(values)
        fractional = finite & (values != np.floor(np.where(finite, values, 0.0)))
        if fractional.any():
            raise PartitionRejected(
                f"{where}: column {column!r} must be integer, found non-integral values, "
                f"e.g. {_example(out[fractional])} ({int(fractional.sum())} rows)"
            )
    return out


def _coerce_time(s: pd.Series, column: str, where: str) -> pd.Series:
    """Returns ``s`` as naive datetime64[ns], or raises if it is not timestamps."""
    if is_datetime64_any_dtype(s.dtype):
        out = s
    elif is_numeric_dtype(s.dtype) or is_bool_dtype(s.dtype):
        # Epoch numbers are ambiguous (s? ms? ns?): refuse rather than guess.
        raise PartitionRejected(
            f"{where}: column {column!r} must hold timestamps, got numeric dtype {s.dtype}"
        )
    else:
        s = _blank_to_null(s)
        out = pd.to_datetime(s, errors="coerce", utc=True)
        bad = out.isna().to_numpy() & s.notna().to_numpy()
        if bad.any():
            # The fast path infers one format from the first value; retry per element.
            out = pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
            bad = out.isna().to_numpy() & s.notna().to_numpy()
        if bad.any():
            raise PartitionRejected(
                f"{where}: column {column!r} has unparsable timestamps, e.g. {_example(s[bad])} "
                f"({int(bad.sum())} rows)"
            )
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out if out.dtype == "datetime64[ns]" else out.astype("datetime64[ns]")


def _as_object_str(s: pd.Series) -> pd.Series:
    """Returns ``s`` as object dtype holding str, with None for null."""
    null = s.isna().to_numpy()
    values = s.to_numpy(dtype=object, copy=True)
    if not (is_object_dtype(s.dtype) and infer_dtype(s, skipna=True) in ("string", "empty")):
        values[~null] = s[~null].astype(str).to_numpy(dtype=object)
    if null.any():
        values[null] = None
    return pd.Series(values, index=s.index, dtype=object)


def _to_int64(s: pd.Series) -> pd.Series:
    """float64 (already checked integral) -> nullable Int64, without pandas' slow per-value checks."""
    values = s.to_numpy()
    null = np.isnan(values)
    data = np.where(null, 0.0, values).astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(data, null), index=s.index)


def _flag(reasons: np.ndarray, mask: np.ndarray, message: str | Callable[[np.ndarray], pd.Series]) -> None:
    """Adds a reason to the rows in ``mask``, after any reason they already have.

    Args:
        reasons: Object array, one slot per row (None = no reason yet); updated in place.
        mask: Rows breaking the rule.
        message: The reason, or a function of the flagged positions returning
            one reason per flagged row (so values are formatted for those rows only).
    """
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return
    if isinstance(message, str):
        new = pd.Series(message, index=range(idx.size), dtype=object)
    else:
        new = pd.Series(np.asarray(message(idx), dtype=object))
    current = pd.Series(reasons[idx], dtype=object)
    has = current.notna().to_numpy()
    if has.any():
        new[has] = current[has] + "; " + new[has]
    reasons[idx] = new.to_numpy()


def validate_frame(
    df: pd.DataFrame,
    schema: DatasetSchema,
    *,
    where: str,
    require_target: bool = False,
    max_quarantine_share: float | None = None,
) -> ValidationResult:
    """Validates one partition against the schema.

    Args:
        df: The incoming rows, as read from the source.
        schema: The dataset schema.
        where: The file or source name, quoted in every rejection message.
        require_target: The target column must be present (labelled data).
        max_quarantine_share: Reject the partition when a larger share of its
            rows is quarantined; None takes the schema's. A caller that adds
            its own quarantine reasons (ids seen on other days) or combines
            several files passes 1.0 and calls :func:`check_quarantine_share`
            on the whole day.

    Returns:
        The valid rows (coerced, schema columns only), the quarantined rows with
        reasons, per-feature null rates and warnings. A null target is valid.

    Raises:
        PartitionRejected: No rows; duplicate column names; a required column
            missing; a column whose non-null values cannot be coerced to its
            kind (non-numeric values, non-integral values in an integer column,
            unparsable or numeric event times); a feature whose null rate
            exceeds its ``max_null_rate``; a quarantined share above
            ``max_quarantine_share`` (naming the column that flagged most).
    """
    if len(df) == 0:
        raise PartitionRejected(f"{where}: no rows")
    if df.columns.has_duplicates:
        dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise PartitionRejected(f"{where}: duplicate column name(s): {', '.join(dupes)}")
    required = [schema.id_column, schema.event_time_column, *schema.feature_names]
    if require_target:
        required.append(schema.target_column)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise PartitionRejected(f"{where}: missing required column(s): {', '.join(missing)}")

    n = len(df)
    index = df.index
    plain_index = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    source = df if plain_index else df.reset_index(drop=True)
    warnings: list[str] = []
    has_target = schema.target_column in source.columns
    schema_columns = [schema.id_column, schema.event_time_column, *schema.feature_names]
    if has_target:
        schema_columns.append(schema.target_column)
    extra = [str(c) for c in source.columns if c not in schema_columns]
    if extra:
        warnings.append(f"{where}: dropped extra column(s): {', '.join(extra)}")

    # Partition level first: a type error rejects the partition before any row
    # is quarantined.
    ids = _as_object_str(source[schema.id_column])
    times = _coerce_time(source[schema.event_time_column], schema.event_time_column, where)
    coerced: dict[str, pd.Series] = {}
    for spec in schema.features:
        col = source[spec.name]
        if spec.kind == "categorical":
            coerced[spec.name] = _as_object_str(col)
        else:
            coerced[spec.name] = _coerce_numeric(col, spec.name, where, integer=spec.kind == "integer")
    target = None
    if has_target:
        target = _coerce_numeric(source[schema.target_column], schema.target_column, where, integer=False)

    nulls = {name: s.isna().to_numpy() for name, s in coerced.items()}
    null_rates = {name: float(mask.mean()) for name, mask in nulls.items()}
    for spec in schema.features:
        if null_rates[spec.name] > spec.max_null_rate:
            raise PartitionRejected(
                f"{where}: column {spec.name!r} null rate {null_rates[spec.name]:.3f} exceeds "
                f"max_null_rate {spec.max_null_rate:.3f}"
            )

    # Row level: one mask per rule; reasons accumulate per flagged row.
    reasons = np.full(n, None, dtype=object)
    by_column: dict[str, int] = {}

    def flag(column: str, mask: np.ndarray, message) -> None:
        count = int(np.count_nonzero(mask))
        if count:
            by_column[column] = by_column.get(column, 0) + count
            _flag(reasons, mask, message)

    id_null = ids.isna().to_numpy() | ids.eq("").to_numpy()
    flag(schema.id_column, id_null, f"null {schema.id_column}")
    flag(schema.event_time_column, times.isna().to_numpy(), f"null {schema.event_time_column}")
    duplicate = ids.duplicated(keep="first").to_numpy() & ~id_null
    flag(schema.id_column, duplicate, f"duplicate {schema.id_column}")

    for spec in schema.features:
        s = coerced[spec.name]
        null = nulls[spec.name]
        if not spec.nullable:
            flag(spec.name, null, f"{spec.name} is null")
        if spec.kind == "categorical":
            _check_category(lambda m, msg, c=spec.name: flag(c, m, msg), s, null, spec, where, warnings)
        else:
            _check_range(lambda m, msg, c=spec.name: flag(c, m, msg), s, spec)

    if target is not None:
        t = target.to_numpy()
        bad_target = ~np.isnan(t) & (t != 0) & (t != 1)
        flag(
            schema.target_column,
            bad_target,
            lambda idx: schema.target_column + "=" + _num_text(target.iloc[idx]) + " not in {0,1}",
        )

    keep = pd.isna(reasons)
    everything = bool(keep.all())
    n_bad = n - int(keep.sum())
    limit = schema.max_quarantine_share if max_quarantine_share is None else max_quarantine_share
    check_quarantine_share(rows=n, quarantined=n_bad, quarantined_by=by_column, limit=limit, where=where)

    def kept(s: pd.Series) -> pd.Series:
        return s if everything else s[keep].reset_index(drop=True)

    columns = {schema.id_column: kept(ids), schema.event_time_column: kept(times)}
    for spec in schema.features:
        s = kept(coerced[spec.name])
        columns[spec.name] = _to_int64(s) if spec.kind == "integer" else s
    if target is not None:
        columns[schema.target_column] = _to_int64(kept(target))
    valid = pd.DataFrame(columns)

    quarantined = _quarantine_frame(source, ~keep, reasons)
    if n_bad:
        warnings.append(f"{where}: quarantined {n_bad} of {n} rows")
        if n_bad == n:
            warnings.append(f"{where}: every row was quarantined")
    return ValidationResult(
        valid=valid, quarantined=quarantined, null_rates=null_rates, warnings=warnings, quarantined_by=by_column
    )


def _check_range(flag: Callable, s: pd.Series, spec: FeatureSpec) -> None:
    values = s.to_numpy()
    finite = np.isfinite(values)

    def text(idx: np.ndarray) -> np.ndarray:
        return _num_text(s.iloc[idx])

    infinite = ~np.isnan(values) & ~finite
    flag(infinite, lambda idx: spec.name + "=" + s.iloc[idx].astype(str) + " is not finite")
    if spec.min is not None:
        flag(finite & (values < spec.min), lambda idx: spec.name + "=" + text(idx) + f" below min {_fmt(spec.min)}")
    if spec.max is not None:
        flag(finite & (values > spec.max), lambda idx: spec.name + "=" + text(idx) + f" above max {_fmt(spec.max)}")


def _check_category(
    flag: Callable,
    s: pd.Series,
    null: np.ndarray,
    spec: FeatureSpec,
    where: str,
    warnings: list[str],
) -> None:
    unknown = ~null & ~s.isin(spec.categories).to_numpy()
    if not unknown.any():
        return
    if spec.unknown_category == "quarantine":
        flag(unknown, lambda idx: spec.name + "=" + s.iloc[idx] + " unknown category")
        return
    seen = sorted(pd.unique(s[unknown]))
    shown = ", ".join(seen[:5]) + (", ..." if len(seen) > 5 else "")
    warnings.append(f"{where}: column {spec.name!r} kept {int(unknown.sum())} rows with unseen categories: {shown}")


def _quarantine_frame(source: pd.DataFrame, rejected: np.ndarray, reasons: np.ndarray) -> pd.DataFrame:
    """Rejected rows as they came in, plus the reason.

    Columns keep their incoming dtype (formatting every value as text is slow and
    loses nothing useful), except object columns mixing types, which become str
    so the frame can be written to Parquet.
    """
    rows = source.loc[rejected].reset_index(drop=True)
    for col in rows.columns:
        if is_object_dtype(rows[col].dtype) and infer_dtype(rows[col], skipna=True) not in ("string", "empty"):
            rows[col] = _as_object_str(rows[col])
    rows[REASON_COLUMN] = pd.Series(reasons[rejected], dtype=object).to_numpy()
    return rows
