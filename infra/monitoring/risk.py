"""The risk scorer's night: read what the night left in the ledger, the lake and the registry, and measure every check.

A composition: adapters come in as arguments (the task builds them from
settings), the figures come from the pure checks (``models.drift``,
``models.quality``, through ``models.reference.measure_night``). Nothing here
grades: the policy does (``models.alerting``), with the champion's reference
calibration this returns alongside the measurements.

What the night is measured on:

- freshness: the night's applications, labels and predictions partitions are
  committed (status ok) and the predictions carry the champion's version;
- quarantine share: the applications partition's ledger counts;
- data, segment and prediction drift: the night's applications partition
  against the champion's reference sample, and its predictions against the
  champion's out-of-time test scores (rescored with the champion when the
  partition was scored by another version);
- null-rate jump, unseen categories, out of range: the profile ingest stored
  with the partition against the reference profile;
- AUC / KS / Brier: the labels partitions committed after ``since`` (through
  the night), joined with their applications (``label_delay_days`` earlier)
  and scored by the champion, against its registered out-of-time figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np

from models import drift, quality
from models.features import prepare_features
from models.labels import attach_labels
from models.monitoring import Measurement
from models.reference import CALIBRATED_CHECKS, Reference, measure_night
from models.schema import DatasetSchema
from models.scoring import predict_proba
from infra.clients.mlflow_registry import ModelRegistry
from infra.risk.reference import load_reference, no_reference_note
from infra.stores.lake import ParquetLake
from infra.stores.ledger import PartitionLedger

LABELS = "labels"
PREDICTIONS = "predictions"
_DATA_CHECKS = ("data_drift", "prediction_drift", "segment_drift", "null_rate_jump", "unseen_categories", "out_of_range")
_PERFORMANCE_CHECKS = ("auc_drop", "ks_drop", "brier_rise")


@dataclass
class RiskNight:
    """Every risk check's measurement for one night, and what grading and the scorecard need with them.

    Attributes:
        night: The night measured.
        champion: The champion version measured (None when there is none).
        measurements: One per risk check: freshness, quarantine_share, then
            ``models.reference.CALIBRATED_CHECKS`` in order.
        reports: HTML reports by file name (``data_drift.html``), for the
            flow to keep as artifacts.
        calibration: Check -> the champion's reference nights' figures
            (empty without a reference).
        reference_nights: The reference nights those figures were measured on.
        matured_days: The labels partitions the performance checks used.
    """

    night: date
    champion: str | None
    measurements: list[Measurement]
    reports: dict[str, str] = field(default_factory=dict)
    calibration: dict[str, list[float]] = field(default_factory=dict)
    reference_nights: list[str] = field(default_factory=list)
    matured_days: list[date] = field(default_factory=list)

    def by_check(self) -> dict[str, Measurement]:
        return {m.check: m for m in self.measurements}


def risk_calibration(reference: Reference | None) -> dict[str, list[float]]:
    """Check -> its figure on each of the reference's nights (nights without a figure left out); {} without a reference."""
    return reference.calibration_values() if reference is not None else {}


def _ok(ledger: PartitionLedger, dataset: str, ds: date):
    record = ledger.get(dataset, ds)
    return record if record is not None and record.status == "ok" else None


def _registered_figures(registry: ModelRegistry, version: str, reference: Reference | None) -> dict[str, float] | None:
    """The champion's out-of-time AUC, KS and Brier: from its reference, else from its run's metrics."""
    if reference is not None:
        return reference.registered
    metrics = registry.client.get_run(registry.version(version).run_id).data.metrics
    figures = {k: metrics.get(f"test_{k}") for k in ("auc", "ks", "brier")}
    return figures if all(v is not None for v in figures.values()) else None


def matured_labels(
    ledger: PartitionLedger,
    lake: ParquetLake,
    schema: DatasetSchema,
    booster: Any,
    *,
    night: date,
    since: date | None,
    label_delay_days: int,
    labels_dataset: str = LABELS,
) -> tuple[np.ndarray, np.ndarray, list[date], list[str]]:
    """Labels committed in ``(since, night]`` (the night's alone when ``since`` is None), with the champion's scores.

    Returns:
        (labels, scores, label days used, notes on days skipped).
    """
    start = night if since is None else since + timedelta(days=1)
    days = [p.ds for p in ledger.list(labels_dataset, start=start, end=night, status="ok")]
    ys, scores, used, notes = [], [], [], []
    for day in days:
        app_day = day - timedelta(days=label_delay_days)
        if _ok(ledger, schema.name, app_day) is None:
            notes.append(f"labels of {day}: applications of {app_day} not in the lake")
            continue
        features = lake.read_table(schema.name, [app_day])
        labels = lake.read_table(labels_dataset, [day], columns=[schema.id_column, schema.target_column])
        rows = attach_labels(features, labels, id_column=schema.id_column, target_column=schema.target_column)
        if rows.empty:
            notes.append(f"labels of {day}: no application of {app_day} matched")
            continue
        ys.append(rows[schema.target_column].to_numpy(dtype=np.int64))
        scores.append(predict_proba(booster, prepare_features(rows, schema)))
        used.append(day)
    if not ys:
        return np.empty(0, dtype=np.int64), np.empty(0), used, notes
    return np.concatenate(ys), np.concatenate(scores), used, notes


def measure_risk_night(
    night: date,
    *,
    ledger: PartitionLedger,
    lake: ParquetLake,
    registry: ModelRegistry,
    schema: DatasetSchema,
    champion_alias: str,
    policy_params: Mapping[str, Mapping[str, Any]] | None = None,
    since: date | None = None,
    label_delay_days: int = 0,
    labels_dataset: str = LABELS,
    predictions_dataset: str = PREDICTIONS,
    html: bool = True,
) -> RiskNight:
    """Measure every risk check for ``night``.

    Args:
        night: The night (partition day) to evaluate.
        ledger: The partition ledger (statuses, counts, stored profiles).
        lake: The Parquet lake.
        registry: The model registry (champion, its booster and reference).
        schema: The applications schema.
        champion_alias: The alias of the live model (``champion``).
        policy_params: Per check measurement parameters (the policy's
            ``params``; see ``models.reference.measure_night``).
        since: The last night already evaluated: labels committed after it
            (through ``night``) feed the performance checks; None takes the
            night's own labels partition.
        label_delay_days: Days between an application and its label (the
            source's), to find the applications of a labels partition.
        labels_dataset: The labels dataset's name in the lake.
        predictions_dataset: The predictions dataset's name in the lake.
        html: Keep Evidently's HTML data drift report in ``reports``.

    Returns:
        The night's measurements, reports and the champion's calibration values.
    """
    apps = _ok(ledger, schema.name, night)
    labels = _ok(ledger, labels_dataset, night)
    preds = _ok(ledger, predictions_dataset, night)
    champion = registry.alias_version(champion_alias)
    scored_version = (preds.meta or {}).get("model_version") if preds else None
    out = [
        quality.freshness(
            {schema.name: apps is not None, labels_dataset: labels is not None, predictions_dataset: preds is not None},
            scored_by_champion=(scored_version == champion) if (preds is not None and champion is not None) else None,
            champion_version=champion, scored_version=scored_version,
        )
    ]
    if apps is not None:
        out.append(quality.quarantine_share(apps.row_count or 0, apps.quarantined_count or 0))
    else:
        out.append(Measurement("quarantine_share", None, 0, note=f"no {schema.name} partition for {night}"))
    if champion is None:
        note = f"no '{champion_alias}' model yet"
        out += [Measurement(c, None, 0, note=note) for c in CALIBRATED_CHECKS]
        return RiskNight(night, None, out)

    booster = registry.load_booster(champion)
    reference = load_reference(registry, champion)
    night_df = lake.read_partition(schema.name, night) if apps is not None else None
    night_scores, score_note = None, ""
    if night_df is not None:
        if preds is not None and scored_version == champion:
            night_scores = lake.read_table(predictions_dataset, [night], columns=["score"])["score"].to_numpy()
        else:
            # Prediction drift is about the champion's scores: rescore rather than compare another version's.
            night_scores = predict_proba(booster, prepare_features(night_df, schema))
            score_note = f"scores recomputed with v{champion} (predictions partition: {scored_version or 'missing'})"
    y, matured_scores, matured_days, label_notes = matured_labels(
        ledger, lake, schema, booster, night=night, since=since, label_delay_days=label_delay_days, labels_dataset=labels_dataset,
    )
    matured = (y, matured_scores) if len(y) else None
    reports: dict[str, str] = {}
    if reference is None:
        note = no_reference_note(champion)
        measured = [Measurement(c, None, 0, note=note) for c in _DATA_CHECKS]
        registered = _registered_figures(registry, champion, None)
        if registered is None:
            measured += [Measurement(c, None, 0, note=note) for c in _PERFORMANCE_CHECKS]
        elif matured is None:
            measured += [Measurement(c, None, 0, note="no labels matured since the last evaluation") for c in _PERFORMANCE_CHECKS]
        else:
            # Performance needs only the registered figures, which the run's metrics hold.
            measured += drift.performance_drop(*matured, registered, **dict((policy_params or {}).get("auc_drop") or {}))
    else:
        measured = measure_night(
            night_df, night_scores, reference, schema, matured=matured,
            night_profile=ledger.profile(schema.name, night) if night_df is not None else None,
            params=policy_params, html=html,
        )
    for m in measured:
        if m.check == "data_drift" and "html" in m.evidence:
            evidence = dict(m.evidence)
            reports["data_drift.html"] = evidence.pop("html")
            m = replace(m, evidence=evidence)
        if m.check == "prediction_drift" and score_note:
            m = replace(m, note=f"{m.note}; {score_note}" if m.note else score_note)
        if m.check in _PERFORMANCE_CHECKS:
            days = ", ".join(d.isoformat() for d in matured_days) or "none"
            extra = {"label_days": [d.isoformat() for d in matured_days], "skipped": label_notes}
            m = replace(m, evidence={**m.evidence, **extra}, note=f"{m.note} (labels of {days})")
        out.append(m)
    return RiskNight(
        night, champion, out, reports=reports, calibration=risk_calibration(reference),
        reference_nights=list(reference.nights) if reference is not None else [], matured_days=matured_days,
    )
