"""The reference stored with each trained model version: build it, log it with the run, load it back.

Artifacts of the version's MLflow run, under ``reference/``:

- ``sample.parquet``: up to 20,000 training rows (feature columns, the
  segment column among them);
- ``scores.parquet``: the out-of-time test part's day, score and label;
- ``profile.json``: the training part's profile (``models.profile``);
- ``registered.json``: the out-of-time AUC, KS, Brier and row count;
- ``calibration.json``: ``{"nights": [...], "values": {check: [...]},
  "params": {...}}``, each check's figure on each reference night (see
  ``models.reference``), for the policy's calibrated levels.

A version trained before references existed has none: :func:`load_reference`
returns None and the nightly checks say so (retrain to add one).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from models.reference import SAMPLE_ROWS, Reference
from models.reference import build_reference as build_reference_parts
from models.schema import DatasetSchema
from models.split import time_split
from infra.clients.mlflow_registry import ModelRegistry
from infra.risk.fit import FitResult
from infra.risk.training_set import TrainingSet

ARTIFACT_DIR = "reference"
_FILES = ("sample.parquet", "scores.parquet", "profile.json", "registered.json", "calibration.json")


def no_reference_note(version: str | None) -> str:
    """The line a check shows when the champion has no stored reference."""
    return f"insufficient: champion v{version} has no stored reference (retrain to add one)"


def build_reference(
    fit: FitResult,
    training_set: TrainingSet,
    schema: DatasetSchema,
    *,
    sample_rows: int = SAMPLE_ROWS,
    seed: int = 0,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> Reference:
    """The reference of a fitted version: its sample, test scores, profile and calibration.

    The time split is deterministic, so the parts are exactly those the fit
    used; the test scores are the fit's own.
    """
    split = time_split(training_set.frame, time_column=schema.event_time_column)
    return build_reference_parts(
        split, fit.booster, schema, test_scores=fit.test_scores, sample_rows=sample_rows, seed=seed, params=params,
    )


def log_reference(registry: ModelRegistry, run_id: str, reference: Reference) -> None:
    """Log the reference as artifacts of the version's run (replacing any from an earlier try)."""
    with tempfile.TemporaryDirectory(prefix="tandem-reference-") as tmp:
        folder = Path(tmp) / ARTIFACT_DIR
        folder.mkdir()
        reference.sample.to_parquet(folder / "sample.parquet", index=False)
        scores = reference.scores.assign(day=pd.to_datetime(reference.scores["day"]))
        scores.to_parquet(folder / "scores.parquet", index=False)
        (folder / "profile.json").write_text(json.dumps(reference.profile))
        (folder / "registered.json").write_text(json.dumps(reference.registered))
        calibration = {"nights": reference.nights, "values": reference.calibration, "params": reference.params}
        (folder / "calibration.json").write_text(json.dumps(calibration, indent=1))
        registry.client.log_artifacts(run_id, str(folder), artifact_path=ARTIFACT_DIR)


def has_reference(registry: ModelRegistry, run_id: str) -> bool:
    """Whether the run logged a complete reference."""
    names = {Path(f.path).name for f in registry.client.list_artifacts(run_id, ARTIFACT_DIR)}
    return all(name in names for name in _FILES)


def load_reference(registry: ModelRegistry, version: str) -> Reference | None:
    """The reference stored with ``version``, or None when it has none (trained before references).

    Raises:
        mlflow.exceptions.MlflowException: No such version.
    """
    run_id = registry.version(str(version)).run_id
    if not has_reference(registry, run_id):
        return None
    with tempfile.TemporaryDirectory(prefix="tandem-reference-") as tmp:
        local = Path(registry.client.download_artifacts(run_id, ARTIFACT_DIR, tmp))
        sample = pd.read_parquet(local / "sample.parquet")
        scores = pd.read_parquet(local / "scores.parquet")
        scores["day"] = pd.to_datetime(scores["day"]).dt.date
        profile = json.loads((local / "profile.json").read_text())
        registered = json.loads((local / "registered.json").read_text())
        calibration = json.loads((local / "calibration.json").read_text())
    return Reference(
        sample=sample, scores=scores, registered=registered, profile=profile,
        calibration=calibration["values"], nights=calibration["nights"], params=calibration.get("params") or {},
        version=str(version),
    )
