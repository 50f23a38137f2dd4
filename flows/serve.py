"""Serve every flow as a deployment in this process (embedded alternative to a work pool).

``make serve`` runs this next to ``make ui``; then ``tandem backfill ...`` and
the Prefect UI's "Run" button start runs that execute here.
"""

from __future__ import annotations

from prefect import serve

from flows.backfill import backfill
from flows.demo import demo
from flows.ingest import ingest
from flows.prompt_release import prompt_release
from flows.rag_eval import rag_eval
from flows.reindex import reindex
from flows.score import score
from flows.train import train


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
    )


if __name__ == "__main__":
    main()
