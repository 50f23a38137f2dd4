"""Markdown model card.

Written in plain sentences as well as tables, so that a retrieval system can
answer questions like "why was version 7 promoted and what is its AUC?" from
the card alone.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Any

import pandas as pd

from models.promotion import Verdict

_TOP_FEATURES = 10
_HASH_KEYS = ("content_hash", "hash", "sha256")


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


def render_model_card(
    *,
    model_name: str,
    version: str,
    run_id: str,
    window: tuple[date, date],
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

    Args:
        model_name: Registered model name, e.g. "risk-scorer".
        version: Registry version, e.g. "7".
        run_id: Training run id.
        window: First and last day of training data (inclusive).
        partitions: One dict per input partition with "ds", "rows" and,
            optionally, "content_hash" (or "hash"/"sha256"; shortened to 12
            characters).
        metrics: Out-of-time test metrics (see
            :func:`models.metrics.classification_metrics`).
        calibration: Output of :func:`models.metrics.calibration_table`.
        segment_auc: Output of :func:`models.metrics.segment_auc`.
        importance: Output of :func:`models.metrics.feature_importance`.
        verdict: The gate verdict, or None if the gate did not run.
        params: Training parameters (flat dict).
        schema_version: Version of the dataset schema.
        trained_at: Training time.

    Returns:
        The card as a Markdown string ending with a newline.
    """
    start, end = window
    # Partitions come in pairs (applications of a day and the labels that matured
    # for it): count application rows and days, not both datasets' rows.
    total_rows = sum(int(p.get("rows", 0) or 0) for p in partitions if p.get("dataset", "applications") != "labels")
    n_days = len({p.get("ds") for p in partitions})
    auc = _fmt_metric(metrics.get("auc"))
    decision = verdict.decision if verdict is not None else "NOT EVALUATED"
    decision_sentence = {
        "PROMOTE": f"Version {version} was promoted to champion.",
        "HOLD": f"Version {version} was held: the existing champion stays.",
        "REJECT": f"Version {version} was rejected by the gate.",
    }.get(decision, f"Version {version} was not evaluated by the promotion gate.")

    out = [f"# Model card: {model_name} version {version}", ""]
    out.append(
        f"{model_name} version {version} was trained on {total_rows:,} applications from {n_days} "
        f"days between {start.isoformat()} and {end.isoformat()}; its out-of-time test AUC is "
        f"{auc} and the gate decision is {decision}. {decision_sentence}"
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
        "## Data",
        "",
        f"Training window: {start.isoformat()} to {end.isoformat()}, {n_days} days, {len(partitions)} partitions, "
        f"{total_rows:,} application rows.",
        "",
        _table(
            ["ds", "rows", "content hash"],
            [[str(p.get("ds", "")), p.get("rows"), _partition_hash(p)] for p in partitions],
        ),
        "",
        "## Metrics",
        "",
        f"Out-of-time test metrics of version {version}: AUC {auc}, KS {_fmt_metric(metrics.get('ks'))}, "
        f"Brier {_fmt_metric(metrics.get('brier'))}.",
        "",
        _table(["metric", "value"], [[k, v] for k, v in metrics.items()]),
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
            f"Decision for version {version}: {verdict.decision}.",
            "",
            f"Reason: {verdict.reason}",
            "",
            _table(
                ["check", "passed", "value", "threshold", "detail"],
                [[c.name, c.passed, c.value, c.threshold, c.detail] for c in verdict.checks],
            ),
        ]
    out += ["", "## Parameters", "", _table(["parameter", "value"], [[k, v] for k, v in params.items()]), ""]
    return "\n".join(out)
