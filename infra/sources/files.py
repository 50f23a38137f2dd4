"""A team's own table: CSV or Parquet files from a path or glob, with a declared schema.

The schema YAML (see ``infra/schemas/applications.yaml`` for the built-in one)
names the feature columns and their types, the target, the id and the
event-time column; the event time assigns each row to its date partition.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

import fsspec
import pandas as pd
import pyarrow.parquet as pq
from pandas.api.types import is_datetime64_any_dtype
import yaml

from models.schema import DatasetSchema, SchemaError
from models.validation import PartitionRejected
from infra.sources.base import SourcePiece


def load_schema(path: str) -> DatasetSchema:
    """Read a schema YAML file (parsed once per process while the file is unchanged).

    Raises:
        SchemaError: the file is missing, not YAML, or not a valid schema; the
            message names the file.
    """
    try:
        fs, fs_path = fsspec.core.url_to_fs(path)
        info = fs.info(fs_path)
    except FileNotFoundError as exc:
        raise SchemaError(f"{path}: schema file not found") from exc
    # Every ingest task builds its source; parsing the YAML each time cost 35 ms a day.
    return _parse_schema(path, _version(info))


@lru_cache(maxsize=16)
def _parse_schema(path: str, _version: str) -> DatasetSchema:
    try:
        with fsspec.open(path, "r") as fh:
            raw = yaml.safe_load(fh)
    except FileNotFoundError as exc:
        raise SchemaError(f"{path}: schema file not found") from exc
    except yaml.YAMLError as exc:
        raise SchemaError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise SchemaError(f"{path}: a schema must be a mapping, got {type(raw).__name__}")
    try:
        return DatasetSchema.from_dict(raw)
    except SchemaError as exc:
        raise SchemaError(f"{path}: {exc}") from exc


def _version(info: dict) -> str:
    """What tells a changed file apart on local disks and object stores alike."""
    stamp = info.get("mtime") or info.get("LastModified") or info.get("ETag") or info.get("etag") or ""
    return f"{info.get('size')}:{stamp}"


def _open(path: str, fmt: str, reader):
    """Run ``reader(file)`` on an open file; unreadable -> PartitionRejected naming the file."""
    try:
        with fsspec.open(path, "rb") as fh:
            return reader(fh)
    except pd.errors.EmptyDataError as exc:
        raise PartitionRejected(f"{path}: the file is empty") from exc
    except Exception as exc:  # unreadable: not a CSV/Parquet, truncated, wrong encoding...
        raise PartitionRejected(f"{path}: unreadable as {fmt} ({type(exc).__name__}: {exc})") from exc


@lru_cache(maxsize=4096)
def _probe_cached(path: str, fmt: str, _version: str) -> tuple[list[str], pq.FileMetaData | None]:
    if fmt == "parquet":
        meta = _open(path, fmt, lambda fh: pq.ParquetFile(fh).metadata)
        return list(meta.schema.names), meta
    return list(_open(path, fmt, lambda fh: pd.read_csv(fh, nrows=0)).columns), None


class FileSource:
    """Rows from CSV/Parquet files, partitioned by their event-time column."""

    label_delay_days = 0  # the rows carry their target when it is known

    def __init__(self, *, path: str, schema: DatasetSchema, format: str = "auto") -> None:
        self.path = path
        self.schema = schema
        self.format = format
        self.description = f"files({path})"

    def _files(self) -> list[tuple[str, str]]:
        """(path, version) of every matching file; the version changes when the file does."""
        fs, _ = fsspec.core.url_to_fs(self.path)
        if any(c in self.path for c in "*?["):
            infos = fs.glob(self.path, detail=True)
        else:
            infos = {self.path: fs.info(self.path)} if fs.exists(self.path) else {}
        files = [(f, _version(info)) for f, info in sorted(infos.items()) if info.get("type", "file") == "file"]
        if not files:
            raise PartitionRejected(f"{self.path}: no file matches this path")
        return [(fs.unstrip_protocol(f) if "://" in self.path else f, v) for f, v in files]

    def _format(self, path: str) -> str:
        if self.format != "auto":
            return self.format
        return "parquet" if Path(path).suffix.lower() in (".parquet", ".pq") else "csv"

    def _open(self, path: str, reader):
        return _open(path, self._format(path), reader)

    def _read(self, path: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Read a file, or only some of its columns."""
        if self._format(path) == "parquet":
            return self._open(path, lambda fh: pq.read_table(fh, columns=columns).to_pandas())
        return self._open(path, lambda fh: pd.read_csv(fh, usecols=columns))

    def _probe(self, path: str, version: str) -> tuple[list[str], pq.FileMetaData | None]:
        """A file's column names, and for Parquet its metadata (one read of the footer).

        Kept per process while the file is unchanged: a backfill over a glob
        of N daily files probes every file for every day, N x N footer reads.
        """
        return _probe_cached(path, self._format(path), version)

    def _may_hold_day(self, meta: pq.FileMetaData | None, day_start: pd.Timestamp, day_end: pd.Timestamp) -> bool:
        """False only when Parquet row-group statistics prove no row falls on the day."""
        if meta is None or meta.num_rows == 0:
            return True  # CSV, or an empty file the caller reports
        column = meta.schema.names.index(self.schema.event_time_column)
        for i in range(meta.num_row_groups):
            stats = meta.row_group(i).column(column).statistics
            if stats is None or not stats.has_min_max:
                return True
            low, high = pd.Timestamp(stats.min), pd.Timestamp(stats.max)
            if low.tzinfo is not None or high.tzinfo is not None:
                return True  # time-zone aware: compare after parsing, not here
            if low < day_end and high >= day_start:
                return True
        return False

    def read(self, ds: date) -> list[SourcePiece]:
        """Rows of every matching file whose event time falls on ``ds``.

        Each file's header is checked first; Parquet row-group statistics then
        skip files that cannot hold the day, and only the event-time column of
        the rest is read to find it, so a glob over many daily files reads in
        full only the files that hold that day.
        """
        required = [self.schema.id_column, self.schema.event_time_column, *self.schema.feature_names]
        time_col = self.schema.event_time_column
        day_start = pd.Timestamp(ds)
        day_end = day_start + pd.Timedelta(days=1)
        pieces = []
        for path, version in self._files():
            columns, meta = self._probe(path, version)
            missing = [c for c in required if c not in columns]
            if missing:
                raise PartitionRejected(f"{path}: missing required column(s) {', '.join(map(repr, missing))}")
            if not self._may_hold_day(meta, day_start, day_end):
                continue  # a daily file of another day: skip without reading its rows
            # Parquet whose statistics overlap the day almost always holds it (a
            # daily file): read it once. CSV has no statistics: read the time
            # column alone first, and the whole file only if the day is in it.
            frame = self._read(path) if meta is not None else None
            times = (frame if frame is not None else self._read(path, columns=[time_col]))[time_col]
            if times.empty:
                raise PartitionRejected(f"{path}: the file has a header but no rows")
            # Parquet usually stores real timestamps: parsing them again is the slow part.
            when = times if is_datetime64_any_dtype(times) else pd.to_datetime(times, errors="coerce")
            bad = when.isna() & times.notna()
            if bad.any():
                raise PartitionRejected(
                    f"{path}: column {time_col!r} has values that are not timestamps "
                    f"(e.g. {times[bad].iloc[0]!r} at row {int(bad.idxmax()) + 1})"
                )
            # A range test on the timestamps: far cheaper than building date objects per row.
            on_day = ((when >= day_start) & (when < day_end)).to_numpy()
            if on_day.any():
                frame = self._read(path) if frame is None else frame
                pieces.append(SourcePiece(path, frame[on_day].reset_index(drop=True) if not on_day.all() else frame))
        return pieces

    def read_labels(self, ds: date) -> None:
        return None
