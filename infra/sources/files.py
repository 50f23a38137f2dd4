"""A team's own table: CSV or Parquet files from a path or glob, with a declared schema.

The schema YAML (see ``infra/schemas/applications.yaml`` for the built-in one)
names the feature columns and their types, the target, the id and the
event-time column; the event time assigns each row to its date partition
(its UTC date, for time-zone aware values).

Each day reads only the files that can hold it: a file's event-time range
(Parquet row-group statistics, or one read of a CSV's time column) is kept per
file version, so a glob of daily files reads each file in full only for its
own day, and a broken file fails only the days it holds, naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import fsspec
import numpy as np
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


Span = tuple[pd.Timestamp, pd.Timestamp]  # first and last event time (naive UTC), inclusive


@dataclass(frozen=True)
class FileIndex:
    """What one version of a file says about the days it holds, learnt once.

    Attributes:
        spans: event-time ranges: one per Parquet row group, or one for the
            file; None when unknown (the file may hold any day).
        empty: the file holds no rows (0 bytes, a header only): it is no
            day's file and no error.
        problem: why the file cannot be ingested; every day it may hold
            fails with it, other days do not.
        note: what to say about an empty file when a day finds no rows.
    """

    spans: tuple[Span, ...] | None = None
    empty: bool = False
    problem: str | None = None
    note: str | None = None

    def may_hold(self, day_start: pd.Timestamp, day_end: pd.Timestamp) -> bool:
        if self.empty:
            return False
        return self.spans is None or any(low < day_end and high >= day_start for low, high in self.spans)

    def row_groups(self, day_start: pd.Timestamp, day_end: pd.Timestamp) -> list[int] | None:
        """Parquet row groups that may hold the day; None: read them all."""
        if self.spans is None or len(self.spans) <= 1:
            return None
        hits = [i for i, (low, high) in enumerate(self.spans) if low < day_end and high >= day_start]
        return None if len(hits) == len(self.spans) else hits


def _utc_naive(times: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Event times as naive UTC timestamps, and the rows whose value is not a timestamp."""
    if is_datetime64_any_dtype(times.dtype):  # Parquet usually stores real timestamps: no parsing
        when = times
    else:
        when = pd.to_datetime(times, errors="coerce", utc=True)
        bad = when.isna().to_numpy() & times.notna().to_numpy()
        if bad.any():  # the fast path infers one format from the first value; retry per element
            when = pd.to_datetime(times, errors="coerce", utc=True, format="mixed")
    if getattr(when.dt, "tz", None) is not None:
        when = when.dt.tz_convert("UTC").dt.tz_localize(None)
    return when, when.isna().to_numpy() & times.notna().to_numpy()


def _stat_time(value) -> pd.Timestamp | None:
    if not isinstance(value, (datetime, date, pd.Timestamp)):
        return None  # a string or number column: the values must be parsed
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


@lru_cache(maxsize=4096)
def _index_file(path: str, fmt: str, version: str, size: int | None, time_col: str, required: tuple[str, ...]) -> FileIndex:
    """Learn a file's columns and event-time range; cached per file version.

    A backfill over a glob of N daily files asks every file about every day:
    N x N footer reads (or CSV time-column reads) without this cache.
    """
    if size == 0:
        return FileIndex(empty=True, note="the file is empty")
    try:
        if fmt == "parquet":
            meta = _open(path, fmt, lambda fh: pq.ParquetFile(fh).metadata)
            columns = list(meta.schema.names)
            if meta.num_rows == 0:
                return FileIndex(empty=True, note="the file has no rows")
        else:
            columns = list(_open(path, fmt, lambda fh: pd.read_csv(fh, nrows=0)).columns)
            meta = None
    except PartitionRejected as exc:
        if str(exc).endswith("the file is empty"):
            return FileIndex(empty=True, note="the file is empty")
        return FileIndex(problem=str(exc).removeprefix(f"{path}: "))  # no way to tell its days: any day
    missing = [c for c in required if c not in columns]
    problem = f"missing required column(s) {', '.join(map(repr, missing))}" if missing else None
    if time_col not in columns:
        return FileIndex(problem=problem)  # its days cannot be told: it fails any day
    spans = _row_group_spans(meta, columns.index(time_col)) if meta is not None else None
    if spans is not None:
        return FileIndex(spans=spans, problem=problem)
    # CSV, or Parquet without usable statistics: read the time column alone, once per version.
    try:
        if fmt == "parquet":
            times = _open(path, fmt, lambda fh: pq.read_table(fh, columns=[time_col]).to_pandas()[time_col])
        else:
            times = _open(path, fmt, lambda fh: pd.read_csv(fh, usecols=[time_col])[time_col])
    except PartitionRejected as exc:
        return FileIndex(problem=str(exc).removeprefix(f"{path}: "))
    if times.empty:
        return FileIndex(empty=True, note="the file has a header but no rows")
    when, bad = _utc_naive(times)
    if bad.any():
        example = f"e.g. {times[bad].iloc[0]!r} at row {int(np.flatnonzero(bad)[0]) + 1}"
        problem = "; ".join(
            p for p in (problem, f"column {time_col!r} has values that are not timestamps ({example})") if p
        )
    if when.isna().all():  # no row has a usable time: which days it holds cannot be told
        return FileIndex(problem=problem or f"column {time_col!r} is empty in every row")
    return FileIndex(spans=((when.min(), when.max()),), problem=problem)


def _row_group_spans(meta: pq.FileMetaData, column: int) -> tuple[Span, ...] | None:
    """Per-row-group event-time ranges from Parquet statistics; None if any group lacks them."""
    spans = []
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        if group.num_rows == 0:
            continue
        stats = group.column(column).statistics
        if stats is None or not stats.has_min_max:
            return None
        low, high = _stat_time(stats.min), _stat_time(stats.max)
        if low is None or high is None:
            return None
        spans.append((low, high))
    return tuple(spans)


class FileSource:
    """Rows from CSV/Parquet files, partitioned by their event-time column."""

    label_delay_days = 0  # the rows carry their target when it is known

    def __init__(self, *, path: str, schema: DatasetSchema, format: str = "auto") -> None:
        self.path = path
        self.schema = schema
        self.format = format
        self.description = f"files({path})"

    def _files(self) -> list[tuple[str, str, int | None]]:
        """(path, version, size) of every matching file; the version changes when the file does."""
        fs, _ = fsspec.core.url_to_fs(self.path)
        if any(c in self.path for c in "*?["):
            infos = fs.glob(self.path, detail=True)
        else:
            infos = {self.path: fs.info(self.path)} if fs.exists(self.path) else {}
        files = [(f, _version(info), info.get("size")) for f, info in sorted(infos.items()) if info.get("type", "file") == "file"]
        if not files:
            raise PartitionRejected(f"{self.path}: no file matches this path")
        return [(fs.unstrip_protocol(f) if "://" in self.path else f, v, size) for f, v, size in files]

    def _format(self, path: str) -> str:
        if self.format != "auto":
            return self.format
        return "parquet" if Path(path).suffix.lower() in (".parquet", ".pq") else "csv"

    def index(self, path: str, version: str, size: int | None = None) -> FileIndex:
        """The file's event-time range and problems, learnt once per file version."""
        required = (self.schema.id_column, self.schema.event_time_column, *self.schema.feature_names)
        return _index_file(path, self._format(path), version, size, self.schema.event_time_column, required)

    def _rows_on_day(self, path: str, index: FileIndex, day_start: pd.Timestamp, day_end: pd.Timestamp) -> pd.DataFrame:
        fmt = self._format(path)
        if fmt == "parquet":
            groups = index.row_groups(day_start, day_end)
            if groups is None:
                frame = _open(path, fmt, lambda fh: pq.read_table(fh).to_pandas())
            else:  # one file of many days: only the row groups whose statistics overlap the day
                frame = _open(path, fmt, lambda fh: pq.ParquetFile(fh).read_row_groups(groups).to_pandas())
        else:
            frame = _open(path, fmt, lambda fh: pd.read_csv(fh))
        when, _ = _utc_naive(frame[self.schema.event_time_column])
        # A range test on the timestamps: far cheaper than building date objects per row.
        on_day = ((when >= day_start) & (when < day_end)).to_numpy()
        return frame if on_day.all() else frame[on_day].reset_index(drop=True)

    def read(self, ds: date) -> list[SourcePiece]:
        """Rows of every matching file whose event time falls on ``ds``.

        Files whose event-time range cannot hold the day are not read; a file
        with no rows is no day's file. A broken file (a missing column,
        unreadable bytes, values that are not timestamps) fails the days its
        range covers, or every day when its range cannot be told.

        Raises:
            PartitionRejected: a file that may hold the day is broken (the
                message names every such file and why), or no file holds a
                row of the day.
        """
        day_start = pd.Timestamp(ds)
        day_end = day_start + pd.Timedelta(days=1)
        pieces, problems, empty = [], [], []
        for path, version, size in self._files():
            index = self.index(path, version, size)
            if index.empty:
                empty.append(f"{path}: {index.note}")
            elif not index.may_hold(day_start, day_end):
                continue  # another day's file: not read at all
            elif index.problem:
                problems.append(f"{path}: {index.problem}")
            else:
                frame = self._rows_on_day(path, index, day_start, day_end)
                if len(frame):
                    pieces.append(SourcePiece(path, frame))
        if problems:
            raise PartitionRejected("; ".join(problems))
        if not pieces:
            shown = "; ".join(empty[:3]) + ("; ..." if len(empty) > 3 else "")
            raise PartitionRejected(f"{self.description}: no rows for ds={ds}" + (f" (skipped {shown})" if empty else ""))
        return pieces

    def read_labels(self, ds: date) -> None:
        return None
