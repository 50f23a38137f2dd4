"""Drift and matured-label performance measurements of the risk scorer (pure).

Every function returns ``models.monitoring.Measurement``s: a raw figure and
its evidence, never a verdict. The policy (``models.alerting``) grades them
against levels calibrated on the champion's reference nights
(``models.reference.calibrate``), so the same function with the same defaults
must measure both the reference nights and the real ones.

Column tests are Evidently's: for each feature column Evidently's own rule
picks the test by column type, reference size and number of distinct values
(Wasserstein distance (normed) for numeric and Jensen-Shannon distance for
categorical columns once the reference holds more than 1,000 rows; K-S,
chi-square or a z-test below that), with the test's default threshold.
:func:`data_drift` runs a full Evidently ``Report`` (``DataDriftPreset``) when
the HTML report is wanted and reads the figures out of its snapshot; without
it (segments, reference nights, the simulation) the same per-column tests are
called directly from Evidently's registry, which gives identical figures at a
fraction of the cost (the report renders a histogram per column).

Evidently drops nulls before testing, so a column that is null far more often
is not drift here: ``models.quality.null_rate_jump`` watches that.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

from models.monitoring import Measurement
from models.promotion import bootstrap_figures
from models.schema import DatasetSchema

# A night is sampled down to this many rows before the column tests. The
# distance tests Evidently picks for a reference above 1,000 rows estimate an
# effect size (not a p-value), and their sampling noise is dominated by the
# 20,000-row reference sample once the night holds more than ~50,000 rows, so
# sampling a 1M-row night costs no power worth having and keeps the report
# (one histogram per column) to seconds: measured on a 1M-row night, 2 busy
# cores, 2.0 s CPU with the HTML report, 0.1 s without, against 12.9 s CPU
# for Evidently's report on the unsampled night (bench/detection_risk.py --cost).
NIGHT_MAX_ROWS = 50_000
# A segment with fewer rows than this in the night (or the reference) is
# skipped and listed: a distance on a few dozen rows is mostly noise.
SEGMENT_MIN_ROWS = 200
# Performance figures need both classes; an interval needs a few of each.
MIN_CLASS_ROWS = 5
N_BOOTSTRAP = 200

PREDICTION_METHOD = "wasserstein"  # fixed, so the figure is always "larger is worse" whatever the sizes


def _evidently():
    """Evidently's stattest registry and column types (imported on first use: the import takes seconds)."""
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    return get_stattest, ColumnType


@dataclass(frozen=True)
class ColumnDrift:
    """One column's test: Evidently's method, its score (a p-value or a distance) and whether it drifted."""

    column: str
    method: str
    score: float | None
    threshold: float | None
    drifted: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column, "method": self.method,
            "score": None if self.score is None else float(self.score),
            "threshold": None if self.threshold is None else float(self.threshold),
            "drifted": bool(self.drifted), "note": self.note,
        }


def _check_columns(frame: pd.DataFrame, columns: list[str], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{where}: missing column(s) {', '.join(missing)}")


def sample_rows(frame: pd.DataFrame, max_rows: int | None, seed: int) -> pd.DataFrame:
    """At most ``max_rows`` rows drawn without replacement (deterministic for ``seed``), in their original order."""
    if max_rows is None or len(frame) <= max_rows:
        return frame
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows}")
    picked = np.sort(np.random.default_rng(seed).choice(len(frame), size=max_rows, replace=False))
    return frame.iloc[picked]


def _feature_kinds(schema: DatasetSchema, exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """Column -> "num" or "cat", in schema order."""
    return {f.name: ("cat" if f.kind == "categorical" else "num") for f in schema.features if f.name not in exclude}


def _clean(series: pd.Series, kind: str) -> pd.Series:
    """What Evidently tests: non-null values (inf dropped too); categories as strings."""
    if kind == "cat":
        return series.dropna().astype(str)
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    return values.replace([np.inf, -np.inf], np.nan).dropna()


def _segment_keys(series: pd.Series) -> pd.Series:
    return series.astype("string").fillna("<null>")


class PreparedReference:
    """A reference sample cleaned once per column (and per segment), for many nights.

    Calibration measures a dozen reference nights and the simulation 120
    nights against the same sample: cleaning it once per column saves most of
    a column test's cost. The frame itself is kept for the HTML report.

    Args:
        frame: The reference sample.
        schema: Feature columns and kinds.
        segment_column: Also prepare each segment's rows (for :func:`segment_drift`).
    """

    def __init__(self, frame: pd.DataFrame, schema: DatasetSchema, segment_column: str | None = None) -> None:
        kinds = _feature_kinds(schema)
        _check_columns(frame, list(kinds), "reference")
        self.frame = frame
        self.rows = len(frame)
        self.columns = {c: _Column(_clean(frame[c], k)) for c, k in kinds.items()}
        self.segment_column = segment_column
        self.segments: dict[str, tuple[int, dict[str, _Column]]] = {}
        if segment_column:
            _check_columns(frame, [segment_column], "reference")
            keys = _segment_keys(frame[segment_column])
            for key in sorted(keys.unique()):
                part = frame.loc[(keys == key).to_numpy()]
                self.segments[key] = (len(part), {c: _Column(_clean(part[c], k)) for c, k in kinds.items() if c != segment_column})


def prepare_reference(reference: pd.DataFrame | PreparedReference, schema: DatasetSchema, segment_column: str | None = None) -> PreparedReference:
    """``reference`` prepared for the column tests (returned as is when it already is, with the same segments)."""
    if isinstance(reference, PreparedReference) and (segment_column is None or reference.segment_column == segment_column):
        return reference
    frame = reference.frame if isinstance(reference, PreparedReference) else reference
    return PreparedReference(frame, schema, segment_column)


class _Column:
    """A cleaned reference column, with what the Wasserstein test needs computed once."""

    __slots__ = ("values", "_sorted", "_std")

    def __init__(self, values: pd.Series) -> None:
        self.values = values
        self._sorted: np.ndarray | None = None
        self._std: float | None = None

    @property
    def sorted(self) -> np.ndarray:
        if self._sorted is None:
            self._sorted = np.sort(self.values.to_numpy(dtype=np.float64))
        return self._sorted

    @property
    def std(self) -> float:
        if self._std is None:
            self._std = float(np.std(self.values.to_numpy(dtype=np.float64)))
        return self._std


def _wasserstein_normed(reference: _Column, current: pd.Series) -> float:
    """Evidently's "Wasserstein distance (normed)": W1(reference, current) / max(std(reference), 0.001).

    The same arithmetic as ``scipy.stats.wasserstein_distance`` (the area
    between the two empirical CDFs), with the reference sorted once and the
    night's values sorted once per night instead of both sides every call.
    Equal to Evidently's figure to float precision (tested).
    """
    u = reference.sorted
    v = np.sort(current.to_numpy(dtype=np.float64))
    both = np.concatenate((u, v))
    both.sort(kind="mergesort")
    deltas = np.diff(both)
    u_cdf = np.searchsorted(u, both[:-1], "right") / u.size
    v_cdf = np.searchsorted(v, both[:-1], "right") / v.size
    # An elementwise sum, not np.dot: a BLAS call spins its threads for ~2 ms of CPU on 20,000 values.
    return float(np.sum(np.abs(u_cdf - v_cdf) * deltas)) / max(reference.std, 0.001)


def column_drift(
    reference: pd.Series | _Column, current: pd.Series, kind: str, *, column: str, method: str | None = None
) -> ColumnDrift:
    """Evidently's test of one column (the test it would choose, unless ``method`` names one).

    Both sides must already be clean (see ``_clean``). A column with no value
    left in the night (all null) cannot be tested: it counts as drifted, with
    a note, since the model lost the column.
    """
    get_stattest, ColumnType = _evidently()
    ref = reference if isinstance(reference, _Column) else _Column(reference)
    ctype = ColumnType.Categorical if kind == "cat" else ColumnType.Numerical
    if current.empty or ref.values.empty:
        side = "night" if current.empty else "reference"
        return ColumnDrift(column, "", None, None, current.empty, note=f"no non-null value in the {side}")
    test = get_stattest(ref.values, current, ctype, method)
    if test.name == "wasserstein":
        score, threshold = _wasserstein_normed(ref, current), float(test.default_threshold)
        return ColumnDrift(column, test.display_name, score, threshold, score >= threshold)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's small-sample warnings; the figure is still what Evidently reports
        result = test(ref.values, current, ctype, None)
    score = float(result.drift_score)
    return ColumnDrift(column, test.display_name, score if math.isfinite(score) else None, float(result.actual_threshold), bool(result.drifted))


def _columns_drift(night: pd.DataFrame, reference: dict[str, _Column], kinds: dict[str, str]) -> list[ColumnDrift]:
    return [column_drift(reference[c], _clean(night[c], k), k, column=c) for c, k in kinds.items()]


def _report_columns_drift(night: pd.DataFrame, reference: pd.DataFrame, kinds: dict[str, str]) -> tuple[list[ColumnDrift], str]:
    """The same tests through an Evidently ``Report`` (``DataDriftPreset``): per-column results and the HTML."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    empty = {c for c, k in kinds.items() if _clean(night[c], k).empty or _clean(reference[c], k).empty}
    tested = [c for c in kinds if c not in empty]  # Evidently raises on a column with no value left
    definition = DataDefinition(
        numerical_columns=[c for c in tested if kinds[c] == "num"],
        categorical_columns=[c for c in tested if kinds[c] == "cat"],
    )

    def dataset(frame: pd.DataFrame) -> Any:
        data = frame[tested].copy()
        for c in tested:
            if kinds[c] == "cat":
                data[c] = data[c].astype("object").where(data[c].notna(), None)
            else:
                data[c] = pd.to_numeric(data[c], errors="coerce").astype("float64")
        return Dataset.from_pandas(data, data_definition=definition)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([DataDriftPreset(columns=tested)], include_tests=True).run(dataset(night), dataset(reference))
    results = snapshot.dict()
    # Each ValueDrift metric carries its column and the method and threshold
    # Evidently resolved; its value is the drift score; the test bound to it
    # (by metric id) failed when the column drifted.
    failed = {t["metric_config"]["metric_id"] for t in results["tests"] if t["status"] == "FAIL"}
    found: dict[str, ColumnDrift] = {}
    for metric in results["metrics"]:
        config = metric.get("config", {})
        if config.get("type") == "evidently:metric_v2:ValueDrift":
            found[config["column"]] = ColumnDrift(
                config["column"], str(config["method"]), float(metric["value"]), float(config["threshold"]), metric["id"] in failed,
            )
    out = []
    for c in kinds:
        if c in empty:
            current_empty = _clean(night[c], kinds[c]).empty
            out.append(ColumnDrift(c, "", None, None, current_empty, note=f"no non-null value in the {'night' if current_empty else 'reference'}"))
        else:
            out.append(found[c])
    return out, snapshot.get_html_str(as_iframe=False)


def data_drift(
    night_df: pd.DataFrame,
    reference_df: pd.DataFrame | PreparedReference,
    schema: DatasetSchema,
    *,
    max_rows: int | None = NIGHT_MAX_ROWS,
    seed: int = 0,
    html: bool = False,
) -> Measurement:
    """Share of the schema's feature columns whose distribution drifted against the reference sample.

    Args:
        night_df: The night's applications (at least the feature columns).
        reference_df: The champion's reference sample (or it prepared once).
        schema: Which columns are features and of which kind.
        max_rows: The night is sampled down to this many rows first (None:
            all). The tests on a 1M-row night sampled to 50,000 rows are
            distances, not p-values: sampling adds noise of order
            1/sqrt(50,000) to a figure whose threshold is 0.1.
        seed: Sampling seed.
        html: Run an Evidently ``Report`` (``DataDriftPreset``) and return its
            HTML in ``evidence["html"]`` (the figures are the same either way).

    Returns:
        ``data_drift``: value = drifted columns / feature columns; n = night
        rows tested; evidence: ``columns`` (per column method, score,
        threshold, drifted), ``drifted`` (names), ``rows`` (night, tested,
        reference), and ``html`` when asked. Value None for an empty night.

    Raises:
        ValueError: A feature column is missing.
    """
    kinds = _feature_kinds(schema)
    _check_columns(night_df, list(kinds), "data_drift: night")
    reference = prepare_reference(reference_df, schema)
    if len(night_df) == 0:
        return Measurement("data_drift", None, 0, note="no rows in the night")
    night = sample_rows(night_df, max_rows, seed)
    evidence: dict[str, Any] = {}
    if html:
        results, evidence["html"] = _report_columns_drift(night, reference.frame, kinds)
    else:
        results = _columns_drift(night, reference.columns, kinds)
    drifted = [r.column for r in results if r.drifted]
    share = len(drifted) / len(results)
    evidence |= {
        "columns": [r.to_dict() for r in results],
        "drifted": drifted,
        "rows": {"night": len(night_df), "tested": len(night), "reference": reference.rows},
    }
    note = f"{len(drifted)} of {len(results)} columns drifted" + (f": {', '.join(drifted)}" if drifted else "")
    return Measurement("data_drift", share, len(night), evidence=evidence, note=note)


def prediction_drift(
    night_scores: Any,
    reference_scores: Any,
    *,
    method: str = PREDICTION_METHOD,
    max_rows: int | None = NIGHT_MAX_ROWS,
    seed: int = 0,
) -> Measurement:
    """Drift of the night's score distribution against the champion's out-of-time test scores.

    Args:
        night_scores: The night's predicted probabilities.
        reference_scores: The champion's out-of-time test scores.
        method: An Evidently stattest name; the default, the Wasserstein
            distance normed by the reference's standard deviation, is an
            effect size whatever the sample sizes (larger is worse).
        max_rows: The night's scores are sampled down to this many first.
        seed: Sampling seed.

    Returns:
        ``prediction_drift``: value = the drift score; n = night scores
        tested; evidence: method, Evidently's default threshold, whether it
        flagged drift, the mean score of each side. None for no scores.
    """
    night = pd.Series(np.asarray(night_scores, dtype=np.float64).ravel())
    ref = pd.Series(np.asarray(reference_scores, dtype=np.float64).ravel())
    if night.empty or ref.empty:
        return Measurement("prediction_drift", None, len(night), note=f"no {'night' if night.empty else 'reference'} scores")
    night = sample_rows(night.to_frame(), max_rows, seed).iloc[:, 0]
    result = column_drift(_clean(ref, "num"), _clean(night, "num"), "num", column="score", method=method)
    evidence = {
        **result.to_dict(),
        "night_mean": float(night.mean()), "reference_mean": float(ref.mean()),
        "rows": {"tested": len(night), "reference": len(ref)},
    }
    return Measurement("prediction_drift", result.score, len(night), evidence=evidence,
                       note=f"{result.method} {result.score:.4f}" if result.score is not None else result.note)


def segment_drift(
    night_df: pd.DataFrame,
    reference_df: pd.DataFrame | PreparedReference,
    schema: DatasetSchema,
    segment_column: str | None = None,
    *,
    min_rows: int = SEGMENT_MIN_ROWS,
    max_rows: int | None = NIGHT_MAX_ROWS,
    seed: int = 0,
) -> Measurement:
    """The largest share of drifted feature columns within one segment.

    Evidently's group-by drift is broken upstream, so each segment's rows of
    the night are tested against the same segment's rows of the reference,
    column by column with Evidently's tests (the segment column itself is
    left out: it is constant within a segment).

    Args:
        night_df: The night's applications.
        reference_df: The champion's reference sample (or it prepared with
            the same segment column).
        schema: Feature columns and kinds.
        segment_column: Defaults to ``schema.segment_column``.
        min_rows: A segment with fewer rows in the night or the reference is
            skipped and listed in the evidence.
        max_rows: Each segment of the night is sampled down to this many rows.
        seed: Sampling seed.

    Returns:
        ``segment_drift``: value = the largest drifted share over the tested
        segments (None when none could be tested); n = night rows in tested
        segments; subject None; evidence: per segment share, rows and drifted
        columns, the worst segment, the skipped segments and why.

    Raises:
        ValueError: No segment column, or a missing column.
    """
    segment_column = segment_column or schema.segment_column
    if not segment_column:
        raise ValueError("segment_drift: the schema declares no segment_column and none was given")
    kinds = _feature_kinds(schema, exclude=(segment_column,))
    _check_columns(night_df, [*kinds, segment_column], "segment_drift: night")
    reference = prepare_reference(reference_df, schema, segment_column)
    night_keys = _segment_keys(night_df[segment_column])
    night_counts = night_keys.value_counts()
    segments: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    tested_rows = 0
    for key in sorted(set(night_counts.index) | set(reference.segments)):
        n_night = int(night_counts.get(key, 0))
        n_ref, ref_columns = reference.segments.get(key, (0, {}))
        if n_ref == 0:
            skipped[key] = f"not in the reference ({n_night} rows tonight)"
            continue
        if n_night < min_rows or n_ref < min_rows:
            skipped[key] = f"too few rows: {n_night} tonight, {n_ref} in the reference (minimum {min_rows})"
            continue
        night_seg = sample_rows(night_df.loc[(night_keys == key).to_numpy()], max_rows, seed)
        results = _columns_drift(night_seg, ref_columns, kinds)
        drifted = [r.column for r in results if r.drifted]
        segments[key] = {
            "share": len(drifted) / len(results), "rows": n_night, "tested": len(night_seg), "reference_rows": n_ref,
            "drifted": drifted, "columns": [r.to_dict() for r in results],
        }
        tested_rows += len(night_seg)
    evidence: dict[str, Any] = {"segment_column": segment_column, "segments": segments, "skipped": skipped}
    if not segments:
        return Measurement("segment_drift", None, 0, evidence=evidence,
                           note=f"no segment of {segment_column} has {min_rows} rows on both sides")
    worst = max(segments, key=lambda k: (segments[k]["share"], k))
    evidence["worst"] = worst
    share = segments[worst]["share"]
    note = f"{segment_column}={worst}: {len(segments[worst]['drifted'])} of {len(kinds)} columns drifted"
    if skipped:
        note += f"; skipped {', '.join(skipped)}"
    return Measurement("segment_drift", share, tested_rows, evidence=evidence, note=note)


def _sorted_layout(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by descending score, and the last index of each group of tied scores."""
    order = np.argsort(-s, kind="stable")
    ss = s[order]
    ends = np.flatnonzero(np.r_[ss[1:] != ss[:-1], True])
    return order, y[order], ends


def _bootstrap_ks(y: np.ndarray, s: np.ndarray, *, n_bootstrap: int, seed: int) -> np.ndarray:
    """KS (max of TPR - FPR over thresholds) on resampled rows, vectorised over resamples with count weights."""
    n = y.size
    order, ys, ends = _sorted_layout(y, s)
    rng = np.random.default_rng(seed)
    block = max(1, 4_000_000 // n)
    out = []
    for done in range(0, n_bootstrap, block):
        b = min(block, n_bootstrap - done)
        draws = rng.integers(0, n, size=(b, n))
        counts = np.bincount((draws + (np.arange(b) * n)[:, None]).ravel(), minlength=b * n).reshape(b, n)[:, order]
        pos = np.cumsum(counts * ys, axis=1)[:, ends]
        neg = np.cumsum(counts * (1 - ys), axis=1)[:, ends]
        with np.errstate(invalid="ignore", divide="ignore"):
            ks = (pos / pos[:, -1:] - neg / neg[:, -1:]).max(axis=1)
        out.append(ks)
    return np.concatenate(out)


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    alpha = 1.0 - confidence
    low, high = np.quantile(values, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def performance_drop(
    y_true: Any,
    scores: Any,
    registered: dict[str, float],
    *,
    confidence: float = 0.95,
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
    min_class_rows: int = MIN_CLASS_ROWS,
) -> list[Measurement]:
    """The champion's AUC, KS and Brier on matured labels against its registered out-of-time figures.

    Args:
        y_true: 0/1 outcomes of the applications whose labels matured.
        scores: The champion's scores of the same applications.
        registered: The registered out-of-time figures: ``auc``, ``ks``, ``brier``.
        confidence: Two-sided level of the bootstrap intervals.
        n_bootstrap: Resamples (one set serves AUC and Brier; KS has its own).
        seed: Resampling seed.
        min_class_rows: Fewer rows of either class gives value None.

    Returns:
        ``auc_drop`` (registered - matured), ``ks_drop`` (registered -
        matured) and ``brier_rise`` (matured - registered), each with the
        matured figure's interval and the drop's interval in the evidence;
        n = matured labelled rows.

    Raises:
        ValueError: Length mismatch, labels not 0/1, scores outside [0, 1],
            or a registered figure missing.
    """
    missing = [k for k in ("auc", "ks", "brier") if registered.get(k) is None]
    if missing:
        raise ValueError(f"performance_drop: registered figures lack {', '.join(missing)}")
    y = np.asarray(pd.Series(y_true).to_numpy(dtype="float64", na_value=np.nan)).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"performance_drop: {y.size} labels but {s.size} scores")
    if y.size and not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("performance_drop: labels must all be 0 or 1 (no nulls)")
    if s.size and (not np.isfinite(s).all() or s.min() < 0.0 or s.max() > 1.0):
        raise ValueError("performance_drop: scores must be probabilities in [0, 1]")
    positives = int(y.sum())
    negatives = int(y.size - positives)
    base = {"positives": positives, "negatives": negatives, "confidence": confidence, "n_bootstrap": n_bootstrap}
    if min(positives, negatives) < max(1, min_class_rows):
        note = f"too few labels of one class: {positives} defaults, {negatives} non-defaults (minimum {max(1, min_class_rows)} each)"
        return [Measurement(c, None, int(y.size), evidence=dict(base), note=note) for c in ("auc_drop", "ks_drop", "brier_rise")]
    y_int = y.astype(np.int64)
    figures = bootstrap_figures(y_int, s, n_bootstrap=n_bootstrap, confidence=confidence, seed=seed)
    fpr, tpr, _ = roc_curve(y_int, s)
    ks_value = float(np.max(tpr - fpr))
    ks_low, ks_high = _interval(_bootstrap_ks(y_int, s, n_bootstrap=n_bootstrap, seed=seed), confidence)
    matured = {
        "auc": (float(roc_auc_score(y_int, s)), figures["auc"].low, figures["auc"].high),
        "ks": (ks_value, ks_low, ks_high),
        "brier": (float(brier_score_loss(y_int, s)), figures["brier"].low, figures["brier"].high),
    }
    out = []
    for check, key, sign in (("auc_drop", "auc", -1.0), ("ks_drop", "ks", -1.0), ("brier_rise", "brier", 1.0)):
        value, low, high = matured[key]
        reg = float(registered[key])
        drop = sign * (value - reg)
        ends = sorted((sign * (low - reg), sign * (high - reg)))
        evidence = {
            **base, "registered": reg,
            "matured": {"value": value, "low": low, "high": high},
            "interval": {"low": ends[0], "high": ends[1]},
        }
        note = f"matured {key} {value:.4f} [{low:.4f}, {high:.4f}] vs registered {reg:.4f}"
        out.append(Measurement(check, drop, int(y.size), evidence=evidence, note=note))
    return out
