"""Markdown model card.

Written in plain sentences as well as tables, so that a retrieval system can
answer questions like "why was version 7 promoted and what is its AUC?" from
the card alone.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from models.promotion import Verdict
from models.split import Split

_TOP_FEATURES = 10
_HASH_KEYS = ("content_hash", "hash", "sha256")


@dataclass(frozen=True)
class SplitFigures:
    """One part of the time split, as trained on.

    Attributes:
        rows: Labelled rows.
        positives: Rows whose target is 1.
        days: Distinct days with rows.
        first_day: First day with rows (None when empty).
        last_day: Last day with rows (None when empty).
    """

    rows: int
    positives: int
    days: int
    first_day: date | None
    last_day: date | None


@dataclass(frozen=True)
class DataFigures:
    """What a model was actually trained on, counted from the training set itself.

    The ledger's window says which days *could* hold data; these figures say
    which did, so a window with gaps or unlabelled days is described exactly.

    Attributes:
        window: First and last day requested (inclusive).
        applications: Application rows read from the window's partitions.
        labelled_rows: Rows with a matured label (what was trained and tested on).
        days_with_data: Distinct days among the labelled rows.
        first_day: First day with labelled rows.
        last_day: Last day with labelled rows.
        splits: ``train``, ``valid`` and ``test`` figures.
    """

    window: tuple[date, date]
    applications: int
    labelled_rows: int
    days_with_data: int
    first_day: date
    last_day: date
    splits: dict[str, SplitFigures]

    @property
    def window_days(self) -> int:
        """Calendar days in the requested window."""
        return (self.window[1] - self.window[0]).days + 1

    def to_dict(self) -> dict[str, Any]:
        """Returns the figures as a JSON-friendly dict (dates as ISO strings)."""
        return json.loads(json.dumps(asdict(self), default=str))


def _days(frame: pd.DataFrame, time_column: str) -> pd.Series:
    return pd.to_datetime(frame[time_column]).dt.normalize()


def _split_figures(frame: pd.DataFrame, time_column: str, target_column: str) -> SplitFigures:
    days = _days(frame, time_column)
    return SplitFigures(
        rows=len(frame),
        positives=int(frame[target_column].sum()),
        days=int(days.nunique()),
        first_day=days.min().date() if len(frame) else None,
        last_day=days.max().date() if len(frame) else None,
    )


def data_figures(
    frame: pd.DataFrame,
    split: Split,
    *,
    applications: int,
    window: tuple[date, date],
    time_column: str,
    target_column: str,
) -> DataFigures:
    """Counts what the model was trained on, from the labelled rows and their split.

    Args:
        frame: The labelled rows (applications joined with matured labels).
        split: The time split of ``frame`` used for training.
        applications: Application rows read before the join with labels.
        window: The requested window (first and last day, inclusive).
        time_column: The event-time column.
        target_column: The 0/1 target column.

    Returns:
        The figures for the model card.

    Raises:
        ValueError: ``frame`` has no rows.
    """
    if frame.empty:
        raise ValueError("data_figures: the training set has no labelled rows")
    days = _days(frame, time_column)
    return DataFigures(
        window=window,
        applications=int(applications),
        labelled_rows=len(frame),
        days_with_data=int(days.nunique()),
        first_day=days.min().date(),
        last_day=days.max().date(),
        splits={name: _split_figures(getattr(split, name), time_column, target_column) for name in ("train", "valid", "test")},
    )


def _cell(value: Any) -> str:
    """Formats one table cell: numbers to 4 decimals, pipes escaped."""
    if value is None:
        text = "n/a"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = "n/a" if math.isnan(value) else (str(int(value)) if value.is_integer() and abs(value) >= 1 else f"{value:.4f}")
    elif isinstance(value, (dict, list, tuple)):
        text = json.dumps(value, sort_keys=True, default=str)
    elif isinstance(value, (datetime, date, pd.Timestamp)):
        text = value.isoformat()
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _frame_table(frame: pd.DataFrame) -> str:
    rows = [[v.item() if hasattr(v, "item") else v for v in row] for row in frame.itertuples(index=False)]
    return _table([str(c) for c in frame.columns], rows)


def _partition_hash(partition: dict) -> str | None:
    for key in _HASH_KEYS:
        if partition.get(key):
            return str(partition[key])[:12]
    return None


def _fmt_metric(value: Any) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{float(value):.4f}"


def _metric_rows(metrics: dict[str, float], verdict: Verdict | None) -> list[list[Any]]:
    figures = verdict.figures if verdict is not None else {}
    rows = []
    for key, value in metrics.items():
        figure = figures.get(key)
        rows.append([key, value, figure.low if figure else None, figure.high if figure else None])
    return rows


def _with_interval(name: str, metrics: dict[str, float], verdict: Verdict | None) -> str:
    figure = verdict.figures.get(name) if verdict is not None else None
    return str(figure) if figure is not None else _fmt_metric(metrics.get(name))


def render_model_card(
    *,
    model_name: str,
    version: str,
    run_id: str,
    data: DataFigures,
    partitions: list[dict],
    metrics: dict[str, float],
    calibration: pd.DataFrame,
    segment_auc: dict,
    importance: pd.DataFrame,
    verdict: Verdict | None,
    params: dict,
    schema_version: str,
    trained_at: datetime,
) -> str:
    """Renders the model card as Markdown.

    Every count on the card comes from ``data`` (the training set actually
    used), never from the window's length or the ledger: a window with gaps
    says how many days held data. Metrics come before the partition table.

    Args:
        model_name: Registered model name, e.g. "risk-scorer".
        version: Registry version, e.g. "7".
        run_id: Training run id.
        data: What the model was trained on (see :func:`data_figures`).
        partitions: One dict per input partition with "dataset", "ds", "rows"
            and, optionally, "content_hash" (or "hash"/"sha256"; shortened to
            12 characters).
        metrics: Out-of-time test metrics (see
            :func:`models.metrics.classification_metrics`).
        calibration: Output of :func:`models.metrics.calibration_table`.
        segment_auc: Output of :func:`models.metrics.segment_auc`.
        importance: Output of :func:`models.metrics.feature_importance`.
        verdict: The gate verdict (its figures give the metrics' intervals),
            or None if the gate did not run.
        params: Training parameters (flat dict).
        schema_version: Version of the dataset schema.
        trained_at: Training time.

    Returns:
        The card as a Markdown string ending with a newline.
    """
    start, end = data.window
    auc = _with_interval("auc", metrics, verdict)
    test = data.splits.get("test")
    decision = verdict.decision if verdict is not None else "NOT EVALUATED"
    decision_sentence = {
        "PROMOTE": f"Version {version} was promoted to champion.",
        "HOLD": f"Version {version} was held: the existing champion stays.",
        "REJECT": f"Version {version} was rejected by the gate.",
    }.get(decision, f"Version {version} was not evaluated by the promotion gate.")
    empty_days = data.window_days - data.days_with_data
    gaps = f"; {empty_days} of its {data.window_days} days had no labelled data" if empty_days > 0 else ""
    interval_note = (
        f" (with its {verdict.policy['confidence']:.0%} bootstrap interval)"
        if verdict is not None and verdict.figures and verdict.policy else ""
    )

    out = [f"# Model card: {model_name} version {version}", ""]
    out.append(
        f"{model_name} version {version} was trained on {data.labelled_rows:,} labelled applications "
        f"({data.applications:,} applications read) from {data.days_with_data} days with data between "
        f"{data.first_day.isoformat()} and {data.last_day.isoformat()} (window {start.isoformat()} to "
        f"{end.isoformat()}{gaps}); its out-of-time test AUC{interval_note} is {auc} on "
        f"{test.rows if test else 0:,} test rows and the gate decision is {decision}. {decision_sentence}"
    )
    out += [
        "",
        f"- Model: {model_name}",
        f"- Version: {version}",
        f"- Run id: {run_id}",
        f"- Trained at: {trained_at.isoformat()}",
        f"- Schema version: {schema_version}",
        f"- Decision: {decision}",
        f"- Test AUC: {auc}",
        "",
        "## Metrics",
        "",
        f"Out-of-time test metrics of version {version}: AUC {auc}, KS {_fmt_metric(metrics.get('ks'))}, "
        f"Brier {_with_interval('brier', metrics, verdict)}.",
        "",
        _table(["metric", "value", "interval low", "interval high"], _metric_rows(metrics, verdict)),
        "",
        "## Data",
        "",
        f"Requested window: {start.isoformat()} to {end.isoformat()} ({data.window_days} days). Trained on "
        f"{data.days_with_data} days with data, {data.applications:,} application rows read, "
        f"{data.labelled_rows:,} with a matured label"
        + (f" ({data.applications - data.labelled_rows:,} unlabelled rows dropped)." if data.applications > data.labelled_rows else "."),
        "",
        _table(
            ["split", "days with data", "first day", "last day", "rows", "positives", "positive rate"],
            [
                [name, f.days, f.first_day, f.last_day, f.rows, f.positives, (f.positives / f.rows) if f.rows else None]
                for name, f in data.splits.items()
            ],
        ),
        "",
        f"Input partitions ({len(partitions)}: application days and the label partitions their labels came from):",
        "",
        _table(
            ["dataset", "ds", "rows", "content hash"],
            [[p.get("dataset", ""), str(p.get("ds", "")), p.get("rows"), _partition_hash(p)] for p in partitions],
        ),
        "",
        "## Calibration",
        "",
        _frame_table(calibration) if len(calibration) else "No calibration table.",
        "",
        "## AUC per segment",
        "",
        _table(
            ["segment", "AUC"],
            [[k, "n/a (one class)" if v is None else float(v)] for k, v in segment_auc.items()],
        )
        if segment_auc
        else "No segments.",
        "",
        f"## Feature importance (top {_TOP_FEATURES})",
        "",
    ]
    top = importance.head(_TOP_FEATURES)
    out.append(
        _table(
            ["feature", "gain", "mean abs SHAP"],
            [[r["feature"], float(r["gain"]), float(r["mean_abs_shap"])] for _, r in top.iterrows()],
        )
        if len(top)
        else "No feature importance."
    )
    out += ["", "## Gate verdict", ""]
    if verdict is None:
        out.append(f"The promotion gate was not run for version {version}.")
    else:
        out += [
            f"Decision for version {version}: {verdict.decision}" + (f" ({verdict.code})." if verdict.code else "."),
            "",
            f"Reason: {verdict.reason}",
            "",
            _table(
                ["check", "outcome", "value", "interval low", "interval high", "threshold", "detail"],
                [[c.name, c.outcome, c.value, c.low, c.high, c.threshold, c.detail] for c in verdict.checks],
            ),
        ]
    out += ["", "## Parameters", "", _table(["parameter", "value"], [[k, v] for k, v in params.items()]), ""]
    return "\n".join(out)
