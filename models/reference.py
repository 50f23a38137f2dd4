"""A trained model version's reference, and every risk check of one night measured against it (pure).

The reference is what the nightly checks compare a night with, stored with
the model version when it is trained (``infra.risk.reference``):

- ``sample``: up to 20,000 rows of the training part (the feature columns,
  the segment column among them), for the drift tests;
- ``scores``: the out-of-time test scores (with their day and label), for
  prediction drift;
- ``registered``: the out-of-time AUC, KS and Brier the version was
  registered with, for the matured-label performance checks;
- ``profile``: the training part's profile (``models.profile``), for the
  quality checks that drift tests ignore;
- ``calibration``: for each check, its figure on each *reference night* (each
  day of the validation and test parts, which the sample does not contain),
  measured by :func:`measure_night` exactly as a real night is, so the policy
  can set alarm levels from the reference period's own night-to-night
  variability (``models.alerting.calibrate``).

:func:`measure_night` is the one place that measures a risk night from
in-memory inputs: the nightly composition (``infra.monitoring.risk``) calls it
after reading the lake, the calibration calls it on reference nights and the
detection simulation (``bench/detection_risk.py``) on simulated nights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from models import drift, quality
from models.features import prepare_features
from models.metrics import classification_metrics
from models.monitoring import Measurement
from models.profile import profile_frame
from models.schema import DatasetSchema
from models.scoring import predict_proba
from models.split import Split

SAMPLE_ROWS = 20_000
# Checks measured by measure_night and calibrated on reference nights. Freshness
# and quarantine share are about the pipeline, not the data: they have no
# reference-period variability (the training set holds only committed rows).
CALIBRATED_CHECKS: tuple[str, ...] = (
    "data_drift", "prediction_drift", "segment_drift", "null_rate_jump", "unseen_categories", "out_of_range",
    "auc_drop", "ks_drop", "brier_rise",
)


@dataclass
class Reference:
    """What a model version's nightly checks compare a night with.

    Attributes:
        sample: Feature columns of up to ``SAMPLE_ROWS`` training rows.
        scores: The out-of-time test part: ``day`` (date), ``score`` and
            ``label`` per row.
        registered: The out-of-time figures: ``auc``, ``ks``, ``brier``, ``n``.
        profile: ``models.profile.profile_frame`` of the training part.
        calibration: Check -> its figure on each reference night (None where
            a night could not be measured), aligned with ``nights``.
        nights: ISO days of the reference nights.
        params: The measurement parameters the calibration used (per check),
            so a night measured otherwise is seen to be.
        version: The model version (set when loaded from the registry).
    """

    sample: pd.DataFrame
    scores: pd.DataFrame
    registered: dict[str, float]
    profile: dict[str, Any]
    calibration: dict[str, list[float | None]]
    nights: list[str]
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    version: str | None = None
    _prepared: Any = field(default=None, repr=False, compare=False)

    @property
    def test_scores(self) -> np.ndarray:
        return self.scores["score"].to_numpy(dtype=np.float64)

    def prepared(self, schema: DatasetSchema) -> drift.PreparedReference:
        """The sample cleaned once for the column tests (kept for the next night)."""
        if self._prepared is None:
            self._prepared = drift.PreparedReference(self.sample, schema, schema.segment_column)
        return self._prepared

    def calibration_values(self) -> dict[str, list[float]]:
        """Check -> the reference nights' figures, without the nights that gave none."""
        return {check: [float(v) for v in values if v is not None] for check, values in self.calibration.items()}


def reference_sample(frame: pd.DataFrame, schema: DatasetSchema, *, rows: int = SAMPLE_ROWS, seed: int = 0) -> pd.DataFrame:
    """The feature columns of at most ``rows`` rows of ``frame`` (deterministic for ``seed``)."""
    return drift.sample_rows(frame, rows, seed)[schema.feature_names].reset_index(drop=True)


def _param(params: Mapping[str, Mapping[str, Any]] | None, check: str) -> dict[str, Any]:
    return dict((params or {}).get(check) or {})


def measure_night(
    night_df: pd.DataFrame | None,
    night_scores: np.ndarray | None,
    reference: Reference,
    schema: DatasetSchema,
    *,
    matured: tuple[np.ndarray, np.ndarray] | None = None,
    night_profile: Mapping[str, Any] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    html: bool = False,
    reference_scores: np.ndarray | None = None,
) -> list[Measurement]:
    """Every data, prediction and performance check of one night against a reference.

    Args:
        night_df: The night's applications (None: no partition, the data checks
            are None).
        night_scores: The champion's scores of those applications.
        reference: The champion's reference.
        schema: The applications schema.
        matured: ``(labels, champion scores)`` of the applications whose labels
            matured since the last evaluation; None when none did.
        night_profile: The night's stored profile; computed from ``night_df``
            when None.
        params: Per check measurement parameters (the policy's ``params``):
            ``data_drift`` / ``segment_drift`` / ``prediction_drift``:
            ``max_rows``, ``seed``; ``segment_drift``: ``min_rows``;
            ``null_rate_jump`` / ``unseen_categories`` / ``out_of_range``:
            ``min_rows`` (and ``lower_q`` / ``upper_q``); ``auc_drop``:
            ``confidence``, ``n_bootstrap``, ``seed``, ``min_class_rows``
            (shared by ``ks_drop`` and ``brier_rise``).
        html: Keep Evidently's HTML report in the data drift evidence.
        reference_scores: Overrides ``reference.test_scores`` (calibration
            leaves a test day's own scores out).

    Returns:
        One measurement per check of ``CALIBRATED_CHECKS``, in that order.
    """
    out: list[Measurement] = []
    if night_df is None:
        none = "no applications partition tonight"
        out += [Measurement(c, None, 0, note=none) for c in ("data_drift", "prediction_drift", "segment_drift")]
    else:
        prepared = reference.prepared(schema)
        out.append(drift.data_drift(night_df, prepared, schema, html=html, **_param(params, "data_drift")))
        scores = reference.test_scores if reference_scores is None else reference_scores
        if night_scores is None:
            out.append(Measurement("prediction_drift", None, 0, note="no scores tonight"))
        else:
            out.append(drift.prediction_drift(night_scores, scores, **_param(params, "prediction_drift")))
        if schema.segment_column:
            out.append(drift.segment_drift(night_df, prepared, schema, schema.segment_column, **_param(params, "segment_drift")))
        else:
            out.append(Measurement("segment_drift", None, 0, note="the schema declares no segment_column"))
    if night_profile is None and night_df is not None:
        night_profile = profile_frame(night_df, schema)
    if night_profile is None:
        out += [Measurement(c, None, 0, note="no profile tonight") for c in ("null_rate_jump", "unseen_categories", "out_of_range")]
    else:
        out.append(quality.null_rate_jump(night_profile, reference.profile, **_param(params, "null_rate_jump")))
        out.append(quality.unseen_categories(night_profile, reference.profile, **_param(params, "unseen_categories")))
        out.append(quality.out_of_range(night_profile, reference.profile, **_param(params, "out_of_range")))
    if matured is None or len(matured[0]) == 0:
        out += [Measurement(c, None, 0, note="no labels matured since the last evaluation") for c in ("auc_drop", "ks_drop", "brier_rise")]
    else:
        out += drift.performance_drop(matured[0], matured[1], reference.registered, **_param(params, "auc_drop"))
    return out


def _days(frame: pd.DataFrame, schema: DatasetSchema) -> np.ndarray:
    return pd.to_datetime(frame[schema.event_time_column]).dt.date.to_numpy()


def build_reference(
    split: Split,
    booster: xgb.Booster,
    schema: DatasetSchema,
    *,
    test_scores: np.ndarray | None = None,
    sample_rows: int = SAMPLE_ROWS,
    seed: int = 0,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> Reference:
    """A trained version's reference and calibration from its own time split.

    Each day of the validation and test parts is one reference night: its
    rows are compared with the training sample, its scores with the test
    scores (a test day's own scores left out) and its labels with the
    registered figures, through :func:`measure_night`, exactly as a real night
    will be.

    Args:
        split: The version's train / valid / out-of-time test parts (labelled).
        booster: The trained booster.
        schema: The applications schema.
        test_scores: The booster's scores of ``split.test`` (computed when None).
        sample_rows: Rows of the training part kept as the sample.
        seed: Sampling seed.
        params: Per check measurement parameters (as for :func:`measure_night`).

    Returns:
        The reference (``version`` unset).
    """
    if test_scores is None:
        test_scores = predict_proba(booster, prepare_features(split.test, schema))
    test_scores = np.asarray(test_scores, dtype=np.float64)
    test_y = split.test[schema.target_column].to_numpy(dtype=np.int64)
    metrics = classification_metrics(test_y, test_scores)
    registered = {k: float(metrics[k]) for k in ("auc", "ks", "brier", "n")}
    scores = pd.DataFrame({"day": _days(split.test, schema), "score": test_scores, "label": test_y})
    reference = Reference(
        sample=reference_sample(split.train, schema, rows=sample_rows, seed=seed),
        scores=scores,
        registered=registered,
        profile=profile_frame(split.train, schema),
        calibration={},
        nights=[],
        params={k: dict(v) for k, v in (params or {}).items()},
    )
    valid_scores = predict_proba(booster, prepare_features(split.valid, schema))
    calibration: dict[str, list[float | None]] = {c: [] for c in CALIBRATED_CHECKS}
    nights: list[str] = []
    for part, part_scores, is_test in ((split.valid, valid_scores, False), (split.test, test_scores, True)):
        days = _days(part, schema)
        labels = part[schema.target_column].to_numpy(dtype=np.int64)
        for day in sorted(set(days)):
            mask = days == day
            others = test_scores[scores["day"].to_numpy() != day] if is_test else None
            measured = measure_night(
                part.loc[mask].reset_index(drop=True), part_scores[mask], reference, schema,
                matured=(labels[mask], part_scores[mask]), params=params, reference_scores=others,
            )
            for m in measured:
                calibration[m.check].append(None if m.value is None else float(m.value))
            nights.append(day.isoformat() if isinstance(day, date) else str(day))
    reference.calibration = calibration
    reference.nights = nights
    return reference
