"""The file source on real files: each day reads only the files that can hold it."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from infra.sources import files
from infra.sources.files import FileSource
from models.synthetic import synthetic_schema
from models.validation import PartitionRejected
from tests.integration.helpers import labelled_rows

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


def _source(pattern) -> FileSource:
    return FileSource(path=str(pattern), schema=synthetic_schema())


def test_a_broken_file_fails_only_the_days_it_holds_naming_the_file(tmp_path):
    # given daily CSVs: D1 good, D2 missing a column, and an empty and a header-only file
    labelled_rows([D1], rows=20).to_csv(tmp_path / "d1.csv", index=False)
    broken = tmp_path / "d2.csv"
    labelled_rows([D2], rows=20).drop(columns=["region"]).to_csv(broken, index=False)
    (tmp_path / "empty.csv").write_text("")
    labelled_rows([D3], rows=5).iloc[:0].to_csv(tmp_path / "header-only.csv", index=False)
    source = _source(tmp_path / "*.csv")
    # when D1 is read, then it gets its rows from its own file only
    pieces = source.read(D1)
    assert [(p.where, len(p.frame)) for p in pieces] == [(str(tmp_path / "d1.csv"), 20)]
    # when D2 is read, then it fails naming the broken file and the column
    with pytest.raises(PartitionRejected, match=rf"^{broken}: missing required column\(s\) 'region'$"):
        source.read(D2)
    # when a day no file holds is read, then the empty files are mentioned, not blamed
    with pytest.raises(PartitionRejected, match=r"no rows for ds=2026-03-03 \(skipped .*empty\.csv: the file is empty; .*header-only\.csv: the file has a header but no rows\)"):
        source.read(D3)


def test_a_file_whose_days_cannot_be_told_fails_every_day(tmp_path):
    # given a good file and one that is not a Parquet file at all
    labelled_rows([D1], rows=10).to_parquet(tmp_path / "good.parquet")
    (tmp_path / "garbage.parquet").write_bytes(b"PAR1 this is not parquet")
    # then no day can be trusted to be complete: each fails naming the file
    with pytest.raises(PartitionRejected, match=r"garbage\.parquet: unreadable as parquet"):
        _source(tmp_path / "*.parquet").read(D1)


def test_csv_time_ranges_are_learnt_once_per_file_version(tmp_path, monkeypatch):
    # given three daily CSVs
    for day in (D1, D2, D3):
        labelled_rows([day], rows=10).to_csv(tmp_path / f"{day}.csv", index=False)
    source = _source(tmp_path / "*.csv")
    files._index_file.cache_clear()
    reads = []
    real_read_csv = pd.read_csv
    monkeypatch.setattr(files.pd, "read_csv", lambda fh, **kw: reads.append(kw) or real_read_csv(fh, **kw))
    # when every day is read
    for day in (D1, D2, D3):
        assert len(source.read(day)[0].frame) == 10
    # then each file's time column was read once, and only its own day read it in full
    time_reads = [kw for kw in reads if kw.get("usecols")]
    full_reads = [kw for kw in reads if not kw]
    assert (len(time_reads), len(full_reads)) == (3, 3)
    # when one file changes, then only it is looked at again
    labelled_rows([D2], rows=12).to_csv(tmp_path / f"{D2}.csv", index=False)
    reads.clear()
    assert len(source.read(D2)[0].frame) == 12
    assert len([kw for kw in reads if kw.get("usecols")]) == 1


def test_parquet_reads_only_the_row_groups_of_the_day(tmp_path):
    # given one Parquet file of three days, one row group per day
    frame = labelled_rows([D1, D2, D3], rows=50)
    path = tmp_path / "all.parquet"
    frame.to_parquet(path, row_group_size=50)
    source = _source(path)
    # then each day gets exactly its rows, located from the row-group statistics
    index = source.index(str(path), "v1")
    assert index.spans is not None and len(index.spans) == 3
    start = pd.Timestamp(D2)
    assert index.row_groups(start, start + pd.Timedelta(days=1)) == [1]
    got = source.read(D2)[0].frame
    assert len(got) == 50 and (got["application_ts"].dt.date == D2).all()


def test_time_zone_aware_event_times_fall_on_their_utc_day(tmp_path):
    # given a CSV whose times carry an offset: 2026-03-02 01:30+02:00 is 2026-03-01 23:30 UTC
    frame = labelled_rows([D1], rows=3)
    frame["application_ts"] = ["2026-03-01T10:00:00+00:00", "2026-03-02T01:30:00+02:00", "2026-03-02T12:00:00+00:00"]
    frame.to_csv(tmp_path / "tz.csv", index=False)
    source = _source(tmp_path / "tz.csv")
    assert len(source.read(D1)[0].frame) == 2
    assert len(source.read(D2)[0].frame) == 1
