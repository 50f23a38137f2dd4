"""Calibrations stored with the version they belong to (issue 11, point 5).

A check's calibrated alarm levels (``models.alerting.Calibration``: mean, σ,
k, floor / ceiling, the resulting warn and fail levels, the number of
reference chunks) are derived once per model or index version and stored
with it, so every later night grades against the same levels until the
version (or the policy entry) changes:

- ``ModelVersionCalibrations``: the risk scorer's, as tags of the champion's
  MLflow model version (``tandem.calibration.<check>``, JSON), visible next
  to the version in the MLflow UI;
- ``IndexCalibrations``: the RAG checks', in the ops database keyed by the
  live index collection (table ``calibrations``).

Both answer the same two calls: ``load(version)`` -> ``{(check, subject):
{"policy": ..., "calibration": {...}}}`` and ``save(version, rows)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infra.stores.opsdb import calibrations

TAG_PREFIX = "tandem.calibration."

Key = tuple[str, "str | None"]
Row = tuple[str, "str | None", str, dict[str, Any]]  # check, subject, policy fingerprint, calibration dict


class CalibrationStore(Protocol):
    def load(self, version: str) -> dict[Key, dict[str, Any]]: ...

    def save(self, version: str, rows: Iterable[Row]) -> None: ...


def _tag(check: str, subject: str | None) -> str:
    return TAG_PREFIX + check + (f".{subject}" if subject else "")


class ModelVersionCalibrations:
    """Calibrations as tags of a registered model's versions (``tandem.calibration.<check>[.<subject>]``)."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry

    def load(self, version: str) -> dict[Key, dict[str, Any]]:
        out: dict[Key, dict[str, Any]] = {}
        for key, value in (self._registry.version(str(version)).tags or {}).items():
            if not key.startswith(TAG_PREFIX):
                continue
            try:
                stored = json.loads(value)
            except ValueError:
                continue  # a hand-edited tag: recalibrate rather than fail the night
            if isinstance(stored, dict) and isinstance(stored.get("calibration"), dict):
                out[(stored["calibration"].get("check") or key.removeprefix(TAG_PREFIX), stored.get("subject"))] = stored
        return out

    def save(self, version: str, rows: Iterable[Row]) -> None:
        tags = {_tag(check, subject): json.dumps({"subject": subject, "policy": policy, "calibration": cal}, default=str)
                for check, subject, policy, cal in rows}
        if tags:
            self._registry.set_version_tags(str(version), tags)


class IndexCalibrations:
    """Calibrations in the ops database, keyed by (asset, version): the RAG checks' by live collection."""

    def __init__(self, engine: Engine, asset: str) -> None:
        self._engine = engine
        self._asset = asset

    def load(self, version: str) -> dict[Key, dict[str, Any]]:
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(calibrations).where(
                (calibrations.c.asset == self._asset) & (calibrations.c.version == str(version))))
            return {(r.check, r.subject or None): {"policy": r.policy, "calibration": dict(r.calibration)} for r in rows}

    def save(self, version: str, rows: Iterable[Row]) -> None:
        now = datetime.now(timezone.utc)
        values = [dict(asset=self._asset, version=str(version), check=check, subject=subject or "", policy=policy,
                       calibration=json.loads(json.dumps(cal, default=str)), stored_at=now)
                  for check, subject, policy, cal in rows]
        if not values:
            return
        with self._engine.begin() as conn:
            for v in values:  # replace: a recalibration (new policy entry) overwrites the old row
                conn.execute(calibrations.delete().where(
                    (calibrations.c.asset == v["asset"]) & (calibrations.c.version == v["version"])
                    & (calibrations.c.check == v["check"]) & (calibrations.c.subject == v["subject"])))
            conn.execute(calibrations.insert(), values)
