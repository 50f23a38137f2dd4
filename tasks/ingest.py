"""Ingest tasks: one date partition from the source into the lake and the ledger."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import pandas as pd
from prefect import get_run_logger, task

from models.labels import labels_from_rows, validate_labels
from models.profile import incoming_null_counts, profile_frame
from models.schema import DatasetSchema
from models.dates import check_range
from models.validation import (
    PartitionRejected,
    ValidationResult,
    check_quarantine_share,
    id_hashes,
    quarantine_ids_seen,
    validate_frame,
)
from infra.factory import build_lake, build_partition_ledger, build_source
from infra.settings import get_settings
from infra.stores.lake import ParquetLake
from infra.stores.ledger import IdsTaken, PartitionLedger
from tasks.common import current_flow_run_id, retry_unless_bad_input, today_utc

LABELS = "labels"
# Two days committing the same new id at once: the loser looks its ids up again
# and commits without them; each round needs yet another concurrent winner.
ID_COMMIT_ATTEMPTS = 5


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
    seen_before: int = 0  # of the quarantined: ids another day's partition already held


def _validate_pieces(pieces, schema: DatasetSchema, ds: date, where: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str], dict[str, int], dict[str, int]]:
    if not pieces:
        raise PartitionRejected(f"{where}: no rows for ds={ds}")
    # The quarantine share is checked over the whole day, ids seen on other days included.
    results: list[ValidationResult] = [
        validate_frame(p.frame, schema, where=p.where, max_quarantine_share=1.0) for p in pieces
    ]
    valid = pd.concat([r.valid for r in results], ignore_index=True)
    quarantined = pd.concat([r.quarantined for r in results], ignore_index=True)
    warnings = [w for r in results for w in r.warnings]
    by_column: dict[str, int] = {}
    for r in results:
        for column, count in r.quarantined_by.items():
            by_column[column] = by_column.get(column, 0) + count
    # Validation's partition-level null rates (before quarantine), kept in the day's profile.
    nulls = incoming_null_counts((r.rows, r.null_rates) for r in results)
    return valid, quarantined, warnings, by_column, nulls


def _set_aside_ids_seen(valid: pd.DataFrame, schema: DatasetSchema, ledger: PartitionLedger, ds: date):
    """Rows whose id another day's committed partition holds go to quarantine (the id index, not the lake)."""
    if not schema.unique_across_days:
        return valid, None, None
    hashes = id_hashes(valid[schema.id_column], dataset=schema.name)
    seen = ledger.ids_seen(schema.name, hashes, excluding=ds)
    return quarantine_ids_seen(valid, hashes, seen, id_column=schema.id_column, dataset=schema.name)


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
    id_hashes=None,
):
    """Write one partition atomically, then record it (and its ids, if given) in the ledger.

    Raises:
        IdsTaken: another day committed one of ``id_hashes`` first; the file
            is written but the ledger still describes the previous commit.
    """
    written = lake.write_partition(dataset, ds, frame)
    ledger.record_success(
        dataset=dataset, ds=ds, row_count=written.rows, quarantined_count=quarantined,
        content_hash=written.content_hash, schema_version=schema_version, path=written.path,
        flow_run_id=flow_run_id, meta=meta, id_hashes=id_hashes,
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
    Its ledger row and its ids in the id index commit in one transaction; rows
    whose id another day already committed are quarantined naming that day
    (the day's own earlier commit does not count, so a rerun is idempotent).

    Raises:
        ImpossibleRange: ``ds`` is after today and the schema does not set
            ``allow_future``; nothing is read or recorded.
        PartitionRejected: the partition fails as a whole (the message names
            the file and column, or the quarantined share); lake and ledger
            keep what they had, and the failed attempt is appended to the ledger.
    """
    logger = get_run_logger()
    settings = get_settings()
    source = build_source(settings, scenario=scenario, scenario_start=scenario_start)
    schema = source.schema
    check_range(ds, today=today_utc(), allow_future=schema.allow_future)  # refused before any work
    lake, ledger = build_lake(settings), build_partition_ledger(settings)
    run_id = current_flow_run_id()
    try:
        pieces = source.read(ds)
        where = pieces[0].where if len(pieces) == 1 else source.description
        day_valid, day_quarantined, warnings, by_column, nulls = _validate_pieces(pieces, schema, ds, source.description)
        matured = source.read_labels(ds)  # a separate labels feed (the synthetic source) is checked in full
        if matured is not None:
            matured = validate_labels(
                matured, id_column=schema.id_column, target_column=schema.target_column, where=f"labels ds={ds}"
            )
        for attempt in range(1, ID_COMMIT_ATTEMPTS + 1):
            valid, seen, hashes = _set_aside_ids_seen(day_valid, schema, ledger, ds)
            quarantined = day_quarantined if seen is None or not len(seen) else pd.concat(
                [day_quarantined, seen], ignore_index=True
            )
            n_seen = 0 if seen is None else len(seen)
            counts = {**by_column, schema.id_column: by_column.get(schema.id_column, 0) + n_seen} if n_seen else by_column
            check_quarantine_share(
                rows=len(day_valid) + len(day_quarantined), quarantined=len(quarantined),
                quarantined_by=counts, limit=schema.max_quarantine_share, where=where,
            )
            applications, labels = _split_labels(valid, schema, ds, source.description)
            if matured is not None:
                labels = matured
            # The committed rows' profile rides in the ledger row, so nightly checks never rescan the lake.
            profile = profile_frame(
                applications, schema, incoming_rows=len(day_valid) + len(day_quarantined), incoming_nulls=nulls
            )
            try:
                written = _commit_day(
                    lake, ledger, schema, ds, applications, quarantined, labels, hashes, run_id,
                    meta={"source": source.description, "warnings": warnings, "profile": profile},
                )
                break
            except IdsTaken:
                if attempt == ID_COMMIT_ATTEMPTS:
                    raise
                logger.warning("ds=%s: another day committed some of these ids meanwhile; checking again", ds)
    except PartitionRejected as exc:
        ledger.record_failure(dataset=schema.name, ds=ds, error=str(exc), flow_run_id=run_id)
        logger.error("partition %s ds=%s rejected: %s", schema.name, ds, exc)
        raise
    except Exception as exc:
        # Not the data's fault (the lake refused the write, the source is down...):
        # recorded too, so `backfill --mode failed` finds the day. A retry that
        # succeeds turns the row to ok; a committed day is never marked failed.
        try:
            ledger.record_failure(dataset=schema.name, ds=ds, error=f"{type(exc).__name__}: {exc}", flow_run_id=run_id)
        except Exception:  # the ops database itself is the problem: the original error matters more
            logger.exception("could not record the failure of %s ds=%s in the ledger", schema.name, ds)
        raise

    if len(quarantined):
        logger.warning("ds=%s: %d row(s) quarantined, e.g. %s", ds, len(quarantined), quarantined["_reason"].iloc[0])
    n_labels = 0 if labels is None else len(labels)
    logger.info(
        "ds=%s: %d rows committed (%d quarantined, %d labels) hash=%s",
        ds, written.rows, len(quarantined), n_labels, written.content_hash[:12],
    )
    return asdict(
        IngestSummary(
            ds, written.rows, len(quarantined), n_labels, written.content_hash, written.path, tuple(warnings), n_seen
        )
    )


def _commit_day(lake, ledger, schema, ds, applications, quarantined, labels, hashes, run_id, *, meta):
    """Quarantine, labels, then applications: the applications row (with the day's ids) marks the day done."""
    # An empty quarantine is written only to replace one an earlier run left for
    # this day; most days have none, and the write plus its ledger row cost 30 ms.
    if len(quarantined) or ledger.get(quarantine_dataset(schema), ds) is not None:
        commit_partition(
            lake=lake, ledger=ledger, dataset=quarantine_dataset(schema), ds=ds,
            frame=quarantined.astype("string"), schema_version=schema.version, flow_run_id=run_id,
        )
    if labels is not None:
        commit_partition(
            lake=lake, ledger=ledger, dataset=LABELS, ds=ds, frame=labels,
            schema_version=schema.version, flow_run_id=run_id,
        )
    return commit_partition(
        lake=lake, ledger=ledger, dataset=schema.name, ds=ds, frame=applications,
        schema_version=schema.version, flow_run_id=run_id, quarantined=len(quarantined),
        meta=meta, id_hashes=hashes,
    )
