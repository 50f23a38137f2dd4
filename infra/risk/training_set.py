"""The training set: the newest matured window, its partitions joined with their labels."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta

import pandas as pd

from models.labels import attach_labels
from models.schema import DatasetSchema
from models.training import TrainParams
from infra.stores.lake import ParquetLake
from infra.stores.ledger import PartitionLedger


class NotEnoughData(ValueError):
    """The ledger does not hold enough matured partitions to train."""


@dataclass
class TrainingSet:
    """Labelled rows of a window and what they came from.

    Attributes:
        frame: Application rows joined with their matured labels.
        start: First day of the window (inclusive).
        end: Last day of the window (inclusive).
        partitions: Every partition read: dataset, ds, rows, content hash.
        applications: Application rows read (before the join with labels).
        unlabeled_rows: Application rows without a matured label (dropped).
        fingerprint: Hash of the partitions (with content hashes) and the schema.
    """

    frame: pd.DataFrame
    start: date
    end: date
    partitions: list[dict]
    applications: int
    unlabeled_rows: int
    fingerprint: str


def resolve_window(
    ledger: PartitionLedger,
    *,
    dataset: str,
    labels_dataset: str,
    label_delay_days: int,
    window_days: int,
    end: date | None = None,
) -> tuple[date, date]:
    """The newest window of application days whose labels have matured.

    A day's labels are matured once the labels partition ``label_delay_days``
    later is in the ledger; ``end`` defaults to the newest such day.

    Raises:
        NotEnoughData: No matured partitions, or fewer than 3 matured days.
    """
    labels = ledger.list(labels_dataset, status="ok")
    apps = ledger.list(dataset, status="ok")
    if not labels or not apps:
        raise NotEnoughData(
            "no matured partitions to train on: the ledger has "
            f"{len(apps)} application and {len(labels)} label partition(s); run a backfill first"
        )
    newest_matured = labels[-1].ds - timedelta(days=label_delay_days)
    end = min(end or newest_matured, newest_matured, apps[-1].ds)
    start = max(end - timedelta(days=window_days - 1), apps[0].ds)
    if (end - start).days + 1 < 3:
        raise NotEnoughData(f"window {start}..{end} has fewer than 3 matured days; ingest more history")
    return start, end


def load_training_set(
    ledger: PartitionLedger,
    lake: ParquetLake,
    schema: DatasetSchema,
    *,
    labels_dataset: str,
    label_delay_days: int,
    start: date,
    end: date,
) -> TrainingSet:
    """Join the window's application partitions with their matured labels.

    Labels are read from ``start`` to ``end + label_delay_days``: where the
    labels of the window's applications can be, and no further, so a day of
    new labels outside the window does not change the training set's
    fingerprint.

    Raises:
        NotEnoughData: No application or label partitions, or no labelled row.
    """
    apps = ledger.list(schema.name, start=start, end=end, status="ok")
    labels = ledger.list(labels_dataset, start=start, end=end + timedelta(days=label_delay_days), status="ok")
    if not apps or not labels:
        raise NotEnoughData(f"no labelled rows in {start}..{end}: {len(apps)} application and {len(labels)} label partition(s)")
    features = lake.read_table(schema.name, [p.ds for p in apps])
    outcomes = lake.read_table(labels_dataset, [p.ds for p in labels], columns=[schema.id_column, schema.target_column])
    frame = attach_labels(features, outcomes, id_column=schema.id_column, target_column=schema.target_column)
    if frame.empty:
        raise NotEnoughData(f"no labelled rows in {start}..{end}")
    used = [
        {"dataset": p.dataset, "ds": p.ds.isoformat(), "rows": p.row_count, "content_hash": p.content_hash}
        for p in [*apps, *labels]
    ]
    fingerprint = hashlib.sha256(
        json.dumps({"partitions": used, "schema": schema.to_dict()}, sort_keys=True).encode()
    ).hexdigest()
    return TrainingSet(frame, start, end, used, features.num_rows, features.num_rows - len(frame), fingerprint)


def training_fingerprint(training_set: TrainingSet, params: TrainParams) -> str:
    """What makes two trainings the same: the partitions (with content hashes), the schema and the parameters."""
    payload = {"data": training_set.fingerprint, "params": asdict(params)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
