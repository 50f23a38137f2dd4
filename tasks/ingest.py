"""Ingest tasks: one date partition from the source into the lake and the ledger."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import pandas as pd
from prefect import get_run_logger, task

from models.labels import labels_from_rows, validate_labels
from models.schema import DatasetSchema
from models.validation import PartitionRejected, ValidationResult, validate_frame
from infra.factory import build_lake, build_partition_ledger, build_source
from infra.settings import get_settings
from infra.stores.lake import ParquetLake
from infra.stores.ledger import PartitionLedger
from tasks.common import current_flow_run_id, retry_unless_bad_input

LABELS = "labels"


def quarantine_dataset(schema: DatasetSchema) -> str:
    return f"quarantine/{schema.name}"


@dataclass(frozen=True)
class IngestSummary:
    ds: date
    rows: int
    quarantined: int
    labels: int
    content_hash: str
    path: str
    warnings: tuple[str, ...]


def _validate_pieces(pieces, schema: DatasetSchema, ds: date, where: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    if not pieces:
        raise PartitionRejected(f"{where}: no rows for ds={ds}")
    results: list[ValidationResult] = [validate_frame(p.frame, schema, where=p.where) for p in pieces]
    valid = pd.concat([r.valid for r in results], ignore_index=True)
    quarantined = pd.concat([r.quarantined for r in results], ignore_index=True)
    warnings = [w for r in results for w in r.warnings]
    return valid, quarantined, warnings


def _split_labels(valid: pd.DataFrame, schema: DatasetSchema, ds: date, where: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Rows that already carry their target also feed the labels dataset (file sources)."""
    target = schema.target_column
    if target not in valid.columns:
        return valid, None
    labels = labels_from_rows(valid, id_column=schema.id_column, target_column=target, label_date=ds, where=f"{where} labels")
    return valid.drop(columns=[target]), labels


def commit_partition(
    *, lake: ParquetLake, ledger: PartitionLedger, dataset: str, ds: date, frame: pd.DataFrame,
    schema_version: str, flow_run_id: str | None, quarantined: int = 0, meta: dict | None = None,
):
    """Write one partition atomically, then record it in the ledger."""
    written = lake.write_partition(dataset, ds, frame)
    ledger.record_success(
        dataset=dataset, ds=ds, row_count=written.rows, quarantined_count=quarantined,
        content_hash=written.content_hash, schema_version=schema_version, path=written.path,
        flow_run_id=flow_run_id, meta=meta,
    )
    return written


@task(
    name="ingest-partition",
    task_run_name="ingest ds={ds}",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=retry_unless_bad_input,
)
def ingest_partition(ds: date, scenario: str | None = None, scenario_start: date | None = None) -> dict:
    """Read, validate and commit one day: applications, their quarantine and matured labels.

    The applications partition is written last: it is the ledger's marker that
    the day is done, so a crash before it makes a rerun redo the whole day.

    Raises:
        PartitionRejected: the partition fails as a whole (the message names
            the file and column); lake and ledger keep what they had, and the
            failed attempt is appended to the ledger.
    """
    logger = get_run_logger()
    settings = get_settings()
    source = build_source(settings, scenario=scenario, scenario_start=scenario_start)
    lake, ledger = build_lake(settings), build_partition_ledger(settings)
    schema = source.schema
    run_id = current_flow_run_id()
    try:
        valid, quarantined, warnings = _validate_pieces(source.read(ds), schema, ds, source.description)
        applications, labels = _split_labels(valid, schema, ds, source.description)
        matured = source.read_labels(ds)  # a separate labels feed (the synthetic source) is checked in full
        if matured is not None:
            labels = validate_labels(
                matured, id_column=schema.id_column, target_column=schema.target_column, where=f"labels ds={ds}"
            )
    except PartitionRejected as exc:
        ledger.record_failure(dataset=schema.name, ds=ds, error=str(exc), flow_run_id=run_id)
        logger.error("partition %s ds=%s rejected: %s", schema.name, ds, exc)
        raise

    if len(quarantined):
        logger.warning("ds=%s: %d row(s) quarantined, e.g. %s", ds, len(quarantined), quarantined["_reason"].iloc[0])
    # An empty quarantine is written only to replace one an earlier run left for
    # this day; most days have none, and the write plus its ledger row cost 30 ms.
    if len(quarantined) or ledger.get(quarantine_dataset(schema), ds) is not None:
        commit_partition(
            lake=lake, ledger=ledger, dataset=quarantine_dataset(schema), ds=ds,
            frame=quarantined.astype("string"), schema_version=schema.version, flow_run_id=run_id,
        )
    n_labels = 0
    if labels is not None:
        n_labels = len(labels)
        commit_partition(
            lake=lake, ledger=ledger, dataset=LABELS, ds=ds, frame=labels,
            schema_version=schema.version, flow_run_id=run_id,
        )
    written = commit_partition(
        lake=lake, ledger=ledger, dataset=schema.name, ds=ds, frame=applications,
        schema_version=schema.version, flow_run_id=run_id, quarantined=len(quarantined),
        meta={"source": source.description, "warnings": warnings},
    )
    logger.info(
        "ds=%s: %d rows committed (%d quarantined, %d labels) hash=%s",
        ds, written.rows, len(quarantined), n_labels, written.content_hash[:12],
    )
    return asdict(
        IngestSummary(ds, written.rows, len(quarantined), n_labels, written.content_hash, written.path, tuple(warnings))
    )
