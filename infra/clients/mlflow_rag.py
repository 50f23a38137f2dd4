"""MLflow for the RAG side: index manifests and golden-set evaluations.

Two experiments: ``rag-index`` (one run per built collection: its manifest and
gate) and ``rag-eval`` (one run per evaluated (prompt version, index version,
generator, golden set)). Evaluations are looked up by those tags, so a result
is reused while none of them changed.
"""

from __future__ import annotations

from typing import Any

from infra.clients.mlflow_registry import ensure_experiment
from infra.clients.mlflow_store import mlflow_client

INDEX_EXPERIMENT = "rag-index"
EVAL_EXPERIMENT = "rag-eval"


class RagTracking:
    def __init__(self, *, tracking_uri: str, artifact_root: str) -> None:
        self.artifact_root = artifact_root
        self.client = mlflow_client(tracking_uri)

    def _experiment(self, name: str) -> str:
        return ensure_experiment(self.client, name, self.artifact_root, subfolder=name)

    def _log(self, experiment: str, run_name: str, *, tags: dict[str, str], params: dict[str, Any], metrics: dict[str, float], dicts: dict[str, Any]) -> str:
        run = self.client.create_run(self._experiment(experiment), run_name=run_name, tags=tags)
        rid = run.info.run_id
        try:
            for k, v in params.items():
                self.client.log_param(rid, k, v)
            for k, v in metrics.items():
                if v is not None:
                    self.client.log_metric(rid, k, float(v))
            for name, obj in dicts.items():
                self.client.log_dict(rid, obj, name)
        except Exception:
            self.client.set_terminated(rid, status="FAILED")
            raise
        self.client.set_terminated(rid, status="FINISHED")
        return rid

    def log_index(
        self, collection: str, manifest: dict[str, Any], metrics: dict[str, float], passed: bool, *, tags: dict[str, str] | None = None
    ) -> str:
        """One run per collection: the manifest (documents, hashes, chunk counts, settings, gate)."""
        config = manifest.get("config") or {}
        return self._log(
            INDEX_EXPERIMENT,
            collection,
            tags={"collection": collection, "gate": "pass" if passed else "fail", **(tags or {})},
            params={**config, "documents": len(manifest.get("documents", {}))},
            metrics=metrics,
            dicts={"manifest.json": manifest},
        )

    def find_index(self, collection: str) -> str | None:
        """The run id of the newest finished manifest logged for ``collection``, or None."""
        exp = self.client.get_experiment_by_name(INDEX_EXPERIMENT)
        if exp is None:
            return None
        runs = self.client.search_runs(
            [exp.experiment_id],
            filter_string=f"tags.collection = '{collection}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        return runs[0].info.run_id if runs else None

    def find_eval(self, tags: dict[str, str]) -> dict[str, Any] | None:
        """The newest finished evaluation with exactly these tags, as {run_id, metrics}."""
        exp = self.client.get_experiment_by_name(EVAL_EXPERIMENT)
        if exp is None:
            return None
        flt = " and ".join(f"tags.{k} = '{v}'" for k, v in tags.items()) + " and attributes.status = 'FINISHED'"
        runs = self.client.search_runs([exp.experiment_id], filter_string=flt, order_by=["attributes.start_time DESC"], max_results=1)
        if not runs:
            return None
        return {"run_id": runs[0].info.run_id, "metrics": dict(runs[0].data.metrics)}

    def log_eval(self, run_name: str, tags: dict[str, str], metrics: dict[str, float], details: dict[str, Any]) -> str:
        return self._log(EVAL_EXPERIMENT, run_name, tags=tags, params={}, metrics=metrics, dicts={"per_question.json": details})
