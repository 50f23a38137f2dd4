"""Scoring task: one partition with the current champion, written as a partition of its own."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from models.features import prepare_features
from models.scoring import predict_proba
from infra.factory import build_lake, build_partition_ledger, build_registry, build_source
from infra.settings import get_settings
from tasks.common import current_flow_run_id, retry_unless_bad_input
from tasks.ingest import commit_partition

PREDICTIONS = "predictions"


class NoChampion(RuntimeError):
    """There is no champion model to score with yet."""


@task(
    name="score-partition",
    task_run_name="score ds={ds}",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=retry_unless_bad_input,
)
def score_partition(ds: date, force: bool = False) -> dict:
    """Score one applications partition with ``models:/<name>@champion``.

    Idempotent: the predictions partition is replaced atomically, and skipped
    when it was already scored from the same input (content hash) by the same
    model version.
    """
    logger = get_run_logger()
    settings = get_settings()
    schema = build_source(settings).schema
    registry, ledger, lake = build_registry(settings), build_partition_ledger(settings), build_lake(settings)
    version = registry.alias_version(settings.champion_alias)
    if version is None:
        raise NoChampion(f"no '{settings.champion_alias}' version of {settings.model_name} yet: run the train flow first")
    source = ledger.get(schema.name, ds)
    if source is None or source.status != "ok":
        raise FileNotFoundError(f"partition {schema.name}/ds={ds} is not in the lake (ledger status: "
                                f"{source.status if source else 'missing'}); ingest it first")
    done = ledger.get(PREDICTIONS, ds)
    lineage = {"model_version": version, "input_hash": source.content_hash}
    if not force and done and done.status == "ok" and (done.meta or {}).get("model_version") == version \
            and (done.meta or {}).get("input_hash") == source.content_hash:
        logger.info("ds=%s already scored by version %s from the same input; skipped", ds, version)
        return {"ds": ds, "status": "skipped", "rows": done.row_count, "model_version": version}

    frame = lake.read_partition(schema.name, ds)
    scores = predict_proba(registry.load_booster(version), prepare_features(frame, schema))
    predictions = pd.DataFrame({
        schema.id_column: frame[schema.id_column].to_numpy(),
        "score": scores,
        "model_version": version,
        "scored_at": pd.Timestamp(datetime.now(timezone.utc)),
    })
    written = commit_partition(
        lake=lake, ledger=ledger, dataset=PREDICTIONS, ds=ds, frame=predictions,
        schema_version=schema.version, flow_run_id=current_flow_run_id(), meta=lineage,
    )
    logger.info("ds=%s: %d rows scored by %s v%s (mean score %.4f)", ds, written.rows, settings.model_name, version, scores.mean())
    return {"ds": ds, "status": "scored", "rows": written.rows, "model_version": version, "mean_score": float(scores.mean())}
