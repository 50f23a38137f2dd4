"""The production manifests (infra/deploy): they parse, and every TANDEM_* variable they set is a Tandem setting.

docker-compose.yml and the Kubernetes files under k8s/ are read as YAML (no
Docker or cluster here). The environment a container gets is collected the way
each tool builds it: Compose's ``environment`` (the shared ``x-tandem-env``
anchor included), Kubernetes' ``env`` and ``envFrom`` (ConfigMap ``data``,
Secret ``stringData``). Every ``TANDEM_*`` name must reach a field of
``TandemSettings`` (groups with ``__``), and the values must build settings.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from infra.settings import SettingsInvalid, TandemSettings, check_environment

DEPLOY = Path(__file__).resolve().parents[2] / "infra" / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
K8S = sorted((DEPLOY / "k8s").glob("*.yaml"))


def _interpolate(value: object) -> str:
    """Compose's ``${VAR:-default}`` with the default (what a trial without .env gets)."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))


def compose_env() -> dict[str, dict[str, str]]:
    """Each Compose service's environment."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    envs = {}
    for name, service in services.items():
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        envs[name] = {k: _interpolate(v) for k, v in env.items()}
    return envs


def k8s_docs() -> list[dict]:
    return [doc for path in K8S for doc in yaml.safe_load_all(path.read_text()) if doc]


def k8s_env() -> dict[str, dict[str, str]]:
    """Each Kubernetes container's environment (``name`` of workload / container)."""
    docs = k8s_docs()
    sources = {
        (doc["kind"], doc["metadata"]["name"]): {**doc.get("data", {}), **doc.get("stringData", {})}
        for doc in docs if doc["kind"] in ("ConfigMap", "Secret")
    }
    envs = {}
    for doc in docs:
        template = doc.get("spec", {}).get("template", {}).get("spec", {})
        for container in template.get("containers", []):
            env: dict[str, str] = {}
            for ref in container.get("envFrom", []):
                kind, ref_name = ("ConfigMap", ref["configMapRef"]["name"]) if "configMapRef" in ref else ("Secret", ref["secretRef"]["name"])
                env.update(sources[(kind, ref_name)])  # a missing ConfigMap/Secret fails here
            for item in container.get("env", []):
                env[item["name"]] = str(item.get("value", "<from a secret>"))
            envs[f"{doc['metadata']['name']}/{container['name']}"] = env
    return envs


def tandem_names(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("TANDEM_")}


def test_every_manifest_parses_and_names_its_objects():
    assert "services" in yaml.safe_load(COMPOSE.read_text())
    docs = k8s_docs()
    assert {d["kind"] for d in docs} >= {"ConfigMap", "Secret", "StatefulSet", "Deployment", "Service", "Job"}
    for doc in docs:
        assert doc["apiVersion"] and doc["metadata"]["name"], doc
        selector = doc.get("spec", {}).get("selector", {}).get("matchLabels")
        if selector:  # a workload's selector must match its pods' labels, or Kubernetes refuses it
            assert selector.items() <= doc["spec"]["template"]["metadata"]["labels"].items(), doc["metadata"]["name"]


def test_both_stacks_run_the_same_services():
    names = {doc["metadata"]["name"] for doc in k8s_docs() if doc["kind"] in ("Deployment", "StatefulSet", "Job")}
    assert set(compose_env()) == names == {
        "postgres", "minio", "create-bucket", "qdrant", "prefect-server", "prefect-worker", "mlflow",
        "dask-scheduler", "dask-worker",
    }


@pytest.mark.parametrize("stack", ["compose", "k8s"])
def test_every_tandem_variable_is_a_setting_and_the_values_build_settings(stack, monkeypatch):
    envs = compose_env() if stack == "compose" else k8s_env()
    tandem = {where: tandem_names(env) for where, env in envs.items() if tandem_names(env)}
    assert tandem, "no container sets TANDEM_* variables"
    for where, env in tandem.items():
        check_environment(env, TandemSettings)  # raises SettingsInvalid naming the variable and the closest setting
        for key in [k for k in os.environ if k.startswith("TANDEM_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = TandemSettings()
        # the production profile: nothing shared lives in the data dir
        assert settings.ops_db_url.startswith("postgresql://") and settings.mlflow_tracking_uri.startswith("postgresql://"), where
        assert settings.lake_url.startswith("s3://") and settings.mlflow_artifact_root.startswith("s3://"), where
        assert settings.qdrant_url and settings.dask_address == "tcp://dask-scheduler:8786", where


@pytest.mark.parametrize("stack", ["compose", "k8s"])
def test_dask_workers_run_with_the_prefect_workers_settings(stack):
    # Dask workers run Tandem's tasks themselves: they must read the same settings as the flow's process
    envs = compose_env() if stack == "compose" else k8s_env()
    worker = next(v for k, v in envs.items() if k.startswith("prefect-worker"))
    dask_worker = next(v for k, v in envs.items() if k.startswith("dask-worker"))
    assert tandem_names(dask_worker) == tandem_names(worker)
    assert {k: v for k, v in dask_worker.items() if k.startswith("AWS_")} == {k: v for k, v in worker.items() if k.startswith("AWS_")}


def test_a_misspelt_variable_would_be_caught():
    # the check above is not vacuous: a typo'd name in a manifest fails it, naming the setting meant
    with pytest.raises(SettingsInvalid, match="TANDEM_DASK_ADDRESS"):
        check_environment({"TANDEM_DASK_ADRESS": "tcp://dask-scheduler:8786"}, TandemSettings)
