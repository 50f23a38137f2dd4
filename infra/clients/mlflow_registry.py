"""MLflow: the training run, the model registry and the ``champion`` alias.

Everything goes through one ``MlflowClient`` bound to the configured tracking
URI (SQLite under the data dir by default, ``postgresql://...`` in production);
the fluent API is pointed at the same URI only inside ``start_run`` calls.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import xgboost as xgb
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from infra.clients.mlflow_store import mlflow_client, ready_store

log = logging.getLogger(__name__)

# Tag (on the run and the version) that makes a registration idempotent across retries.
REGISTRATION_KEY = "registration_key"


def ensure_experiment(client: MlflowClient, name: str, artifact_root: str, subfolder: str | None = None) -> str:
    """The id of experiment ``name``, created with its artifacts under ``artifact_root`` if missing.

    A local root becomes a ``file://`` URI (created first); a concurrent
    process creating the same experiment is not an error.
    """
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = artifact_root
    if "://" not in location:
        Path(location).mkdir(parents=True, exist_ok=True)
        location = Path(location).resolve().as_uri()
    if subfolder:
        location = f"{location}/{subfolder}"
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:  # created by a concurrent process in between
        return client.get_experiment_by_name(name).experiment_id


@lru_cache(maxsize=4)
def _load_booster(tracking_uri: str, model_name: str, version: str) -> xgb.Booster:
    ready_store(tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return mlflow.xgboost.load_model(f"models:/{model_name}/{version}")


@dataclass(frozen=True)
class RegisteredRun:
    run_id: str
    version: str
    model_uri: str


class ModelRegistry:
    """The risk scorer's experiment and registered model in MLflow."""

    def __init__(self, *, tracking_uri: str, artifact_root: str, experiment_name: str, model_name: str) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self.experiment_name = experiment_name
        self.model_name = model_name
        self.client = mlflow_client(tracking_uri)

    # -- experiment and runs -------------------------------------------------
    def experiment_id(self) -> str:
        """The experiment's id, created with an artifact location under the artifact root."""
        return ensure_experiment(self.client, self.experiment_name, self.artifact_root)

    def log_training_run(
        self,
        *,
        booster: xgb.Booster,
        example: pd.DataFrame,
        params: dict[str, Any],
        metrics: dict[str, float],
        dicts: dict[str, Any],
        texts: dict[str, str],
        tags: dict[str, str],
        run_name: str,
        registration_key: str | None = None,
    ) -> RegisteredRun:
        """Log one training run and register its model as a new version, at most once per key.

        Idempotent for a ``registration_key``: a retry (of a task that died
        after the version was created, or after the run logged its model)
        returns the version or registers the logged model; it never creates a
        second version. The version is created with its tags in one call, so a
        version never exists without the key that finds it again.

        Args:
            booster: the trained model.
            example: a few rows of model input (signature and input example).
            params: parameters to log.
            metrics: flat numeric metrics.
            dicts: JSON artifacts, file name -> object (partitions, schema, ...).
            texts: text artifacts, file name -> text (calibration table, ...).
            tags: run tags (also copied onto the model version).
            run_name: the MLflow run name.
            registration_key: identifies this registration across retries;
                None makes a fresh one (no retry protection).

        Returns:
            The run id, the registered version and its model URI.
        """
        key = registration_key or uuid.uuid4().hex
        existing = self.find_version_by_tag(REGISTRATION_KEY, key)
        if existing is not None:
            mv = self.version(existing)
            log.info("registration %s already made version %s: reusing it", key[:12], existing)
            return RegisteredRun(mv.run_id, existing, f"models:/{self.model_name}/{existing}")
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        run_id, model_uri = self._logged_run(key)
        if run_id is None:
            signature = infer_signature(example, booster.inplace_predict(example))
            # The key is a run tag from the run's creation, so a retry finds the run.
            with mlflow.start_run(experiment_id=self.experiment_id(), run_name=run_name, tags={**tags, REGISTRATION_KEY: key}) as run:
                mlflow.log_params(params)
                mlflow.log_metrics(metrics)
                for name, obj in dicts.items():
                    mlflow.log_dict(obj, name)
                for name, text in texts.items():
                    mlflow.log_text(text, name)
                info = mlflow.xgboost.log_model(
                    booster,
                    name="model",
                    signature=signature,
                    input_example=example,
                    model_format="ubj",
                    # Given explicitly: MLflow's inference of requirements starts a
                    # subprocess that reloads the model (6 s of a 1M-row training run).
                    pip_requirements=[f"xgboost=={xgb.__version__}"],
                )
            run_id, model_uri = run.info.run_id, info.model_uri
        else:
            log.info("registration %s: run %s already logged its model; registering it", key[:12], run_id)
        mv = mlflow.register_model(model_uri, self.model_name, tags={**tags, REGISTRATION_KEY: key, "run_id": run_id})
        version = str(mv.version)
        return RegisteredRun(run_id, version, f"models:/{self.model_name}/{version}")

    def _logged_run(self, key: str) -> tuple[str | None, str | None]:
        """A finished run of this registration that logged its model: (run id, model URI), or (None, None)."""
        exp = self.client.get_experiment_by_name(self.experiment_name)
        if exp is None:
            return None, None
        runs = self.client.search_runs(
            [exp.experiment_id], filter_string=f"tags.`{REGISTRATION_KEY}` = '{key}' and attributes.status = 'FINISHED'"
        )
        for run in runs:
            models = self.client.search_logged_models([exp.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'")
            if models:
                return run.info.run_id, f"models:/{models[0].model_id}"
        return None, None

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self.client.log_text(run_id, text, artifact_file)

    def log_dict(self, run_id: str, obj: Any, artifact_file: str) -> None:
        self.client.log_dict(run_id, obj, artifact_file)

    # -- versions and aliases ------------------------------------------------
    def version(self, version: str) -> ModelVersion:
        return self.client.get_model_version(self.model_name, str(version))

    def alias_version(self, alias: str) -> str | None:
        """The version an alias points at, or None if unset (or no model yet)."""
        try:
            return str(self.client.get_model_version_by_alias(self.model_name, alias).version)
        except MlflowException:
            return None

    def set_alias(self, alias: str, version: str | None) -> None:
        if version is None:
            self.client.delete_registered_model_alias(self.model_name, alias)
        else:
            self.client.set_registered_model_alias(self.model_name, alias, str(version))

    def set_version_tags(self, version: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(self.model_name, str(version), key, value)

    def find_version_by_tag(self, key: str, value: str) -> str | None:
        """The newest version whose tag ``key`` equals ``value``."""
        try:
            versions = self.client.search_model_versions(f"name = '{self.model_name}' and tags.`{key}` = '{value}'")
        except MlflowException:
            return None
        matches = [int(v.version) for v in versions if v.tags.get(key) == value]
        return str(max(matches)) if matches else None

    def versions(self) -> list[ModelVersion]:
        """Every registered version of the model, oldest first (empty before the first one)."""
        try:
            found = self.client.search_model_versions(f"name = '{self.model_name}'")
        except MlflowException:
            return []
        return sorted(found, key=lambda v: int(v.version))

    def load_booster(self, version: str) -> xgb.Booster:
        """Load a registered version's booster (native flavor, for in-place prediction).

        Registered versions are immutable, so a loaded booster is kept for the
        process: scoring many partitions loads the model once.
        """
        return _load_booster(self.tracking_uri, self.model_name, str(version))

    def load_dict(self, run_id: str, artifact_file: str) -> Any:
        mlflow.set_tracking_uri(self.tracking_uri)
        return json.loads(mlflow.artifacts.load_text(f"runs:/{run_id}/{artifact_file}"))
