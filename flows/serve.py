"""Serve every flow as a deployment in this process (embedded alternative to a work pool).

``make serve`` runs this next to ``make ui``; then ``tandem backfill ...`` and
the Prefect UI's "Run" button start runs that execute here.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect import serve
from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger

from flows.backfill import backfill
from flows.demo import demo
from flows.ingest import ingest
from flows.nightly_eval import nightly_eval
from flows.prompt_release import prompt_release
from flows.rag_eval import rag_eval
from flows.reindex import reindex
from flows.remediate import remediate
from flows.score import score
from flows.train import train


def triggers(name: str) -> list[DeploymentEventTrigger]:
    """A deployment's triggers as ``prefect.yaml`` declares them (one place for them)."""
    spec = yaml.safe_load((Path(__file__).resolve().parents[1] / "prefect.yaml").read_text("utf-8"))
    (deployment,) = [d for d in spec["deployments"] if d["name"] == name]
    return [DeploymentEventTrigger.model_validate(t) for t in deployment.get("triggers") or []]


def main() -> None:
    serve(
        ingest.to_deployment(name="ingest"),
        backfill.to_deployment(name="backfill"),
        train.to_deployment(name="train"),
        score.to_deployment(name="score"),
        demo.to_deployment(name="demo"),
        reindex.to_deployment(name="reindex"),
        rag_eval.to_deployment(name="rag-eval"),
        prompt_release.to_deployment(name="prompt-release"),
        nightly_eval.to_deployment(name="nightly-eval"),
        # A ticket event starts its remedy (retrain, reindex, staging prompt gate).
        remediate.to_deployment(name="remediate", triggers=triggers("remediate")),
    )


if __name__ == "__main__":
    main()
