"""The Parquet lake: date partitions written atomically.

Layout: ``<root>/<dataset>/ds=YYYY-MM-DD/part.parquet``. A partition is one
file, written to ``<root>/_staging/`` first and then moved into place, so a
reader sees either the old partition or the new one, never half of one; a
rerun replaces exactly that file. The root is any fsspec URL (a local path by
default, ``s3://bucket/lake`` in production).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def content_hash(data: bytes | memoryview) -> str:
    """SHA-256 of a partition file's bytes.

    Parquet output is deterministic for the same rows, columns and pyarrow
    version, so a rerun on the same input gives the same hash, and the hash
    also verifies what is stored. (A pyarrow upgrade may change it once.)
    """
    return hashlib.sha256(data).hexdigest()


class PartitionUnreadable(RuntimeError):
    """A stored partition cannot be read, or no longer matches the ledger's content hash.

    Not a transient fault: retrying reads the same bytes. Re-ingesting (or
    re-scoring) the day rewrites the file.
    """


@dataclass(frozen=True)
class WrittenPartition:
    dataset: str
    ds: date
    path: str
    rows: int
    content_hash: str


class ParquetLake:
    """Date-partitioned Parquet datasets on any fsspec filesystem.

    With ``expected_hash`` (the factory passes the partition ledger's), every
    read checks the file's bytes against the hash recorded when it was
    committed, so a corrupted or half-copied file is named instead of read.
    """

    def __init__(self, url: str, *, expected_hash: Callable[[str, date], str | None] | None = None) -> None:
        self.url = url.rstrip("/")
        self._fs, self._root = fsspec.core.url_to_fs(self.url)
        self._expected_hash = expected_hash

    def partition_path(self, dataset: str, ds: date) -> str:
        return f"{self._root}/{dataset}/ds={ds.isoformat()}/part.parquet"

    def exists(self, dataset: str, ds: date) -> bool:
        return self._fs.exists(self.partition_path(dataset, ds))

    def write_partition(self, dataset: str, ds: date, df: pd.DataFrame) -> WrittenPartition:
        """Write one partition atomically (aside, then move into place).

        Args:
            dataset: dataset name, e.g. ``applications``.
            ds: the partition date.
            df: the rows; the index is not stored.

        Returns:
            Where it landed, its row count and content hash.
        """
        final = self.partition_path(dataset, ds)
        staging = f"{self._root}/_staging/{dataset.replace('/', '__')}-{ds.isoformat()}-{uuid.uuid4().hex}.parquet"
        self._fs.makedirs(f"{self._root}/_staging", exist_ok=True)
        self._fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        table = pa.Table.from_pandas(df, preserve_index=False)
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer, compression="snappy")
        data = memoryview(buffer.getvalue())  # no copy into a bytes object: hashed and written as is
        try:
            with self._fs.open(staging, "wb") as fh:
                fh.write(data)
            # The commit: a rename on local disks (atomic replace), a single-object
            # copy on object stores (readers see the old or the new object).
            self._fs.mv(staging, final)
        finally:
            if self._fs.exists(staging):
                self._fs.rm(staging)
        return WrittenPartition(dataset, ds, self.unstrip(final), len(df), content_hash(data))

    def read_partition(self, dataset: str, ds: date) -> pd.DataFrame:
        """One partition as a DataFrame.

        Raises:
            FileNotFoundError: no such partition.
            PartitionUnreadable: the file is corrupt or differs from the ledger's hash.
        """
        return self._read(dataset, ds).to_pandas()

    def _read(self, dataset: str, ds: date, columns: list[str] | None = None) -> pa.Table:
        path = self.partition_path(dataset, ds)
        name = f"{dataset}/ds={ds.isoformat()}"
        if not self._fs.exists(path):
            raise FileNotFoundError(f"no partition {name} in the lake at {self.url}")
        expected = self._expected_hash(dataset, ds) if self._expected_hash else None
        try:
            with self._fs.open(path, "rb") as fh:
                if expected is None:
                    return pq.read_table(fh, columns=columns)
                # One read of the bytes serves both the hash and the parse.
                data = fh.read()
        except Exception as exc:  # pyarrow says only "'<Buffer>'" or "Parquet magic bytes not found"
            raise PartitionUnreadable(f"{name} is unreadable: {type(exc).__name__}: {exc} ({self.unstrip(path)})") from exc
        actual = content_hash(data)
        if actual != expected:
            raise PartitionUnreadable(
                f"{name} is unreadable: its content no longer matches the ledger (sha256 {actual[:12]}..., "
                f"recorded {expected[:12]}...; {len(data)} bytes at {self.unstrip(path)}); re-ingest the day"
            )
        try:
            return pq.read_table(pa.BufferReader(data), columns=columns)
        except Exception as exc:  # matches the ledger yet unreadable: written by an incompatible pyarrow
            raise PartitionUnreadable(f"{name} is unreadable: {type(exc).__name__}: {exc} ({self.unstrip(path)})") from exc

    def read_table(self, dataset: str, days: list[date], columns: list[str] | None = None) -> pa.Table:
        """Several partitions as one Arrow table, in ``days`` order.

        Stays in Arrow so a caller converts to pandas once, and only the columns
        it needs (turning 1M string ids into Python objects costs 0.4 s).
        A column that is all null on one day is promoted to the other days' type.
        """
        tables = [self._read(dataset, ds, columns) for ds in days]
        if not tables:
            return pa.table({})
        return pa.concat_tables(tables, promote_options="permissive")

    def list_partitions(self, dataset: str) -> list[date]:
        """The partitions present on storage (the ledger is the source of truth; this is for checks)."""
        base = f"{self._root}/{dataset}"
        if not self._fs.exists(base):
            return []
        days = []
        for entry in self._fs.ls(base, detail=False):
            name = entry.rstrip("/").rsplit("/", 1)[-1]
            if name.startswith("ds=") and self._fs.exists(f"{entry}/part.parquet"):
                days.append(date.fromisoformat(name[3:]))
        return sorted(days)

    def unstrip(self, path: str) -> str:
        """The full URL of a filesystem path (keeps the protocol for object stores)."""
        return self._fs.unstrip_protocol(path) if "://" in self.url else path
