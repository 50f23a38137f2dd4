"""Helpers for the main job (the demo flow): its dates and its closing summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from prefect import task

from infra.factory import build_partition_ledger, build_registry, build_source
from infra.settings import get_settings
from tasks.ingest import LABELS
from tasks.scoring import PREDICTIONS


@dataclass(frozen=True)
class DemoDates:
    start: date
    end: date
    shock_start: date
    score_days: list[date]


def plan_demo(days: int, end: date | None, shock_days: int, score_days: int) -> DemoDates:
    """The demo window ending yesterday, a shock ``shock_days`` before its end."""
    end = end or date.today() - timedelta(days=1)
    return DemoDates(
        start=end - timedelta(days=days - 1),
        end=end,
        shock_start=end - timedelta(days=shock_days - 1),
        score_days=[end - timedelta(days=i) for i in reversed(range(score_days))],
    )


@task(name="summarize-demo")
def summarize_demo(trained: dict, scored: list[dict]) -> dict:
    """What the newcomer should see: champion, metrics, partitions, where things are."""
    settings = get_settings()
    registry, ledger = build_registry(settings), build_partition_ledger(settings)
    champion = registry.alias_version(settings.champion_alias)
    run = registry.client.get_run(registry.version(champion).run_id) if champion else None
    dataset = build_source(settings).schema.name
    counts = {
        name: len(ledger.list(name, status="ok")) for name in (dataset, LABELS, PREDICTIONS)
    }
    return {
        "champion": champion,
        "champion_metrics": {k: v for k, v in (run.data.metrics if run else {}).items() if k.startswith("test_")},
        "trained": trained,
        "scored": scored,
        "partitions": counts,
        "failed_partitions": len(ledger.list(dataset, status="failed")),
        "data_dir": str(settings.data_dir.resolve()),
        "mlflow_tracking_uri": settings.resolved_mlflow_tracking_uri,
        "mlflow_ui": (
            f"mlflow ui --backend-store-uri {settings.resolved_mlflow_tracking_uri} "
            f"--default-artifact-root {settings.resolved_mlflow_artifact_root}"
        ),
    }
