"""Benchmarks: what Tandem's orchestration and bookkeeping cost over the raw library calls.

Run with ``make bench`` (``BENCH_ROWS`` rows, default 1,000,000, spread over
``BENCH_DAYS`` daily Parquet files, default 10). Prints a table of wall times,
rows/s and ratios; asserts nothing (speed is measured here, not in tests).

Three comparisons, each on the same rows:

* ingest: the ``backfill`` flow over the daily files (header and time-column
  probe, validation, quarantine, atomic write, content hash, ledger, Prefect
  task runs) vs raw ``pyarrow`` read + write of the same files;
* training: the ``train`` flow (training-set join, split, fit, test metrics,
  SHAP importance, MLflow log + register, gate, model card) vs raw
  ``xgboost.train`` with the same parameters on the same arrays;
* scoring: the ``score`` flow per day (read, features, in-place predict,
  write predictions, ledger) vs raw ``inplace_predict`` on the same matrix,
  and vs raw read + predict + write.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
DAYS = int(os.environ.get("BENCH_DAYS", "10"))
START = date(2026, 1, 1)


def _setup_env(work: Path) -> None:
    os.environ.update(
        TANDEM_DATA_DIR=str(work / "tandem"),
        PREFECT_HOME=str(work / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        GIT_PYTHON_REFRESH="quiet",
        MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false",
        TANDEM_SOURCE="file",
        TANDEM_FILE__PATH=str(work / "source" / "*.parquet"),
        TANDEM_FILE__SCHEMA_PATH=str(ROOT / "infra" / "schemas" / "applications.yaml"),
    )
    (work / "prefect").mkdir(parents=True)
    (work / "source").mkdir()


def _make_source(work: Path) -> list[date]:
    import numpy as np

    from models.synthetic import default_probability, generate_applications

    days = [START + timedelta(days=i) for i in range(DAYS)]
    for ds in days:
        frame = generate_applications(ds, seed=11, rows=ROWS // DAYS)
        rng = np.random.default_rng([11, ds.toordinal()])
        frame["default"] = (rng.random(len(frame)) < default_probability(frame)).astype(int)
        frame.to_parquet(work / "source" / f"{ds}.parquet", index=False)
    return days


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def bench_ingest(work: Path, days: list[date]) -> list[tuple]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flows.backfill import backfill

    raw_dir = work / "raw"
    raw_dir.mkdir()

    def raw():
        for ds in days:
            table = pq.read_table(work / "source" / f"{ds}.parquet")
            pq.write_table(table, raw_dir / f"{ds}.parquet", compression="snappy")

    raw_s, _ = _timed(raw)

    from infra.factory import build_source
    from infra.settings import get_settings
    from models.validation import validate_frame

    schema = build_source(get_settings()).schema
    same_dir = work / "same"
    same_dir.mkdir()

    def same_calls():
        # Tandem's library work for a day (read, validate, write applications and labels)
            # without Prefect, the ledger, hashing or the atomic move.
        for ds in days:
            frame = pq.read_table(work / "source" / f"{ds}.parquet").to_pandas()
            valid = validate_frame(frame, schema, where=str(ds)).valid
            labels = valid[[schema.id_column, schema.target_column]]
            for name, part in (("apps", valid.drop(columns=[schema.target_column])), ("labels", labels)):
                pq.write_table(pa.Table.from_pandas(part, preserve_index=False), same_dir / f"{name}-{ds}.parquet", compression="snappy")

    same_s, _ = _timed(same_calls)
    tandem_s, rows = _timed(lambda: backfill(days[0], days[-1], concurrency=2))
    assert all(r["outcome"] == "done" for r in rows), rows
    rerun_s, _ = _timed(lambda: backfill(days[0], days[-1], concurrency=2))
    return [
        ("ingest: raw pyarrow read+write", raw_s, ROWS),
        ("ingest: same calls, no orchestration", same_s, ROWS),
        ("ingest: tandem backfill flow", tandem_s, ROWS),
        ("ingest: rerun (all skipped)", rerun_s, 0),
    ]


def bench_training(days: list[date]) -> tuple[list[tuple], dict]:
    import numpy as np
    import xgboost as xgb

    from flows.train import train
    from infra.factory import build_lake, build_source
    from infra.settings import get_settings
    from models.features import feature_types, prepare_features
    from models.split import time_split
    from tasks.training import train_params

    settings = get_settings()
    schema = build_source(settings).schema
    lake = build_lake(settings)
    params = train_params(settings)
    tandem_s, result = _timed(lambda: train())

    # Raw: the same arrays, the same parameters and early stopping, nothing else.
    frame = lake.read_partitions(schema.name, days).merge(
        lake.read_partitions("labels", days)[[schema.id_column, schema.target_column]], on=schema.id_column
    )
    split = time_split(frame, time_column=schema.event_time_column)
    ftypes = feature_types(schema)
    dtrain = xgb.DMatrix(prepare_features(split.train, schema), label=split.train[schema.target_column].to_numpy(np.int8),
                         feature_types=ftypes, enable_categorical=True)
    dvalid = xgb.DMatrix(prepare_features(split.valid, schema), label=split.valid[schema.target_column].to_numpy(np.int8),
                         feature_types=ftypes, enable_categorical=True)
    raw_s, booster = _timed(lambda: xgb.train(
        params.xgb_params(), dtrain, num_boost_round=params.num_boost_round,
        evals=[(dvalid, "valid")], early_stopping_rounds=params.early_stopping_rounds, verbose_eval=False,
    ))
    return [
        ("train: raw xgboost.train", raw_s, len(split.train)),
        ("train: tandem train flow", tandem_s, len(split.train)),
    ], {"version": result["version"], "auc": result["metrics"]["auc"], "raw_best_iteration": booster.best_iteration}


def bench_scoring(work: Path, days: list[date], version: str) -> list[tuple]:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flows.score import score
    from infra.factory import build_lake, build_registry, build_source
    from infra.settings import get_settings
    from models.features import prepare_features

    settings = get_settings()
    schema = build_source(settings).schema
    lake = build_lake(settings)
    booster = build_registry(settings).load_booster(version)
    frames = [lake.read_partition(schema.name, ds) for ds in days]
    X = prepare_features(pd.concat(frames, ignore_index=True), schema)
    X.to_numpy()  # materialise once, outside the timing
    predict_s, _ = _timed(lambda: booster.inplace_predict(X))

    out = work / "raw_predictions"
    out.mkdir()

    def raw_io():
        for ds in days:
            frame = lake.read_partition(schema.name, ds)
            scores = booster.inplace_predict(prepare_features(frame, schema))
            pq.write_table(pa.table({"applicant_id": frame["applicant_id"], "score": scores}), out / f"{ds}.parquet")

    raw_io_s, _ = _timed(raw_io)
    tandem_s, _ = _timed(lambda: score(days[0], end=days[-1]))
    return [
        ("score: raw inplace_predict only", predict_s, ROWS),
        ("score: same calls, no orchestration", raw_io_s, ROWS),
        ("score: tandem score flow (all days)", tandem_s, ROWS),
    ]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        work = Path(tmp)
        _setup_env(work)
        print(f"Tandem benchmarks: {ROWS:,} rows over {DAYS} daily files, {os.cpu_count()} CPU(s)")
        gen_s, days = _timed(lambda: _make_source(work))
        print(f"(generated the source files in {gen_s:.1f} s)")

        from prefect import flow

        @flow
        def warm_up() -> None:
            """Start Prefect's ephemeral server outside the timings."""

        warm_s, _ = _timed(warm_up)
        print(f"(Prefect server start + first flow: {warm_s:.1f} s, excluded)")
        from infra.factory import build_registry
        from infra.settings import get_settings

        mlflow_s, _ = _timed(lambda: build_registry(get_settings()).experiment_id())
        print(f"(MLflow database creation, once per install: {mlflow_s:.1f} s, excluded)")

        rows = bench_ingest(work, days)
        train_rows, info = bench_training(days)
        rows += train_rows
        rows += bench_scoring(work, days, info["version"])

        print()
        print(f"{'step':38} {'seconds':>8} {'rows/s':>11} {'vs raw':>7} {'vs same calls':>14}")
        first, same = {}, {}
        for name, seconds, n in rows:
            kind = name.split(":")[0]
            first.setdefault(kind, seconds)
            if "same calls" in name:
                same[kind] = seconds
            rate = f"{n / seconds:,.0f}" if n and seconds else "-"
            vs_same = f"{seconds / same[kind]:.2f}x" if kind in same else ""
            print(f"{name:38} {seconds:8.2f} {rate:>11} {seconds / first[kind]:6.2f}x {vs_same:>14}")
        print()
        print(f"model v{info['version']}: test AUC {info['auc']:.4f}; raw best iteration {info['raw_best_iteration']}")
        print("'vs raw': against the first line of each group (the bare library call);")
        print("'vs same calls': against the same library work without Prefect, ledgers, hashing and atomic moves;")
        print("target: Tandem's orchestration and bookkeeping add at most 15% (<= 1.15x)")


if __name__ == "__main__":
    main()
