"""Benchmarks: what Tandem's orchestration and bookkeeping cost over the raw library calls.

Run with ``make bench`` (``BENCH_ROWS`` rows, default 1,000,000, spread over
``BENCH_DAYS`` daily Parquet files, default 10; each step ``BENCH_REPEATS``
times, default 7, training ``BENCH_TRAIN_REPEATS`` times, default 3, interleaved
with its baselines). Prints a table of median
wall times, their spread, rows/s and ratios; asserts nothing (speed is
measured here, not in tests).

Three groups, each on the same rows, each with three lines:

* raw: the bare library call the issue names (``pyarrow`` read + write,
  ``xgboost.train`` on ready ``DMatrix``es, ``inplace_predict`` on a ready matrix);
* same calls: every library call Tandem's step makes (reading, validation or
  evaluation, writing), in one plain loop, without Prefect, ledgers, MLflow,
  hashing or atomic moves;
* tandem: the flow as ``make run`` runs it (ephemeral Prefect server).

"tandem vs same calls" is what orchestration and bookkeeping cost (the target:
at most 1.15x); "vs raw" also counts the work Tandem does on purpose
(validation, test-set metrics, SHAP).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import Timings, isolated_env, timed  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
DAYS = int(os.environ.get("BENCH_DAYS", "10"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
TRAIN_REPEATS = int(os.environ.get("BENCH_TRAIN_REPEATS", "3"))  # a training round takes a minute
START = date(2026, 1, 1)


def _setup_env(work: Path) -> None:
    isolated_env(
        work,
        TANDEM_SOURCE="file",
        TANDEM_FILE__PATH=str(work / "source" / "*.parquet"),
        TANDEM_FILE__SCHEMA_PATH=str(ROOT / "infra" / "schemas" / "applications.yaml"),
    )
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


def bench_ingest(work: Path, days: list[date], t: Timings) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flows.backfill import backfill
    from infra.factory import build_source
    from infra.settings import get_settings
    from models.validation import validate_frame

    schema = build_source(get_settings()).schema
    raw_dir, same_dir = work / "raw", work / "same"
    raw_dir.mkdir()
    same_dir.mkdir()

    def raw():
        for ds in days:
            table = pq.read_table(work / "source" / f"{ds}.parquet")
            pq.write_table(table, raw_dir / f"{ds}.parquet", compression="snappy")

    def same_calls():
        # Tandem's library work for a day (read, validate, write applications and
        # labels) without Prefect, the ledger, hashing or the atomic move.
        for ds in days:
            frame = pq.read_table(work / "source" / f"{ds}.parquet").to_pandas()
            valid = validate_frame(frame, schema, where=str(ds)).valid
            labels = valid[[schema.id_column, schema.target_column]]
            for name, part in (("apps", valid.drop(columns=[schema.target_column])), ("labels", labels)):
                pq.write_table(pa.Table.from_pandas(part, preserve_index=False), same_dir / f"{name}-{ds}.parquet", compression="snappy")

    for i in range(REPEATS):
        t.run("raw", raw)
        t.run("same", same_calls)
        # The first round ingests missing days; later rounds re-ingest every day
        # (mode=all: the same reads, checks and writes, replacing each partition).
        rows = t.run("tandem", lambda: asyncio.run(backfill(days[0], days[-1], mode="missing" if i == 0 else "all", concurrency=2)))
        assert all(r["outcome"] == "done" for r in rows), rows
    rerun_s, _ = timed(lambda: asyncio.run(backfill(days[0], days[-1], concurrency=2)))
    return {"rows": ROWS, "rerun_s": rerun_s}


def bench_training(days: list[date], t: Timings) -> dict:
    import numpy as np
    import xgboost as xgb

    from flows.train import train
    from infra.factory import build_lake, build_registry, build_source
    from infra.settings import get_settings
    from models.features import feature_types, prepare_features
    from models.labels import attach_labels
    from models.metrics import calibration_table, classification_metrics, feature_importance, segment_auc
    from models.promotion import decide
    from models.scoring import predict_proba
    from models.split import time_split
    from models.training import train_booster
    from tasks.ingest import LABELS
    from infra.risk.fit import SHAP_ROWS, train_params
    from infra.risk.gate import gate_policy

    settings = get_settings()
    schema = build_source(settings).schema
    lake = build_lake(settings)
    params = train_params(settings)
    ftypes = feature_types(schema)
    target = schema.target_column

    def load():
        features = lake.read_table(schema.name, days)
        labels = lake.read_table(LABELS, days, columns=[schema.id_column, target])
        return time_split(attach_labels(features, labels, id_column=schema.id_column, target_column=target),
                          time_column=schema.event_time_column)

    split = load()
    matrices = {name: (prepare_features(part, schema), part[target].to_numpy(np.int8))
                for name, part in (("train", split.train), ("valid", split.valid), ("test", split.test))}
    dtrain, dvalid = (xgb.DMatrix(matrices[n][0], label=matrices[n][1], feature_types=ftypes, enable_categorical=True)
                      for n in ("train", "valid"))

    def raw():
        return xgb.train(
            params.xgb_params(), dtrain, num_boost_round=params.num_boost_round,
            evals=[(dvalid, "valid")], early_stopping_rounds=params.early_stopping_rounds, verbose_eval=False,
        )

    previous = []  # the flow's champion in the next round is this round's model

    def same_calls():
        # The flow's library work: read and join, split, DMatrix + train,
        # test-set predictions, metrics, per-segment AUC, SHAP and, once a
        # champion exists, its predictions and the paired bootstrap; no Prefect, no MLflow.
        part = load()
        X = {n: prepare_features(getattr(part, n), schema) for n in ("train", "valid", "test")}
        y = {n: getattr(part, n)[target].to_numpy(np.int8) for n in ("train", "valid", "test")}
        model = train_booster(X["train"], y["train"], X["valid"], y["valid"], feature_types=ftypes, params=params)
        scores = predict_proba(model.booster, X["test"])
        classification_metrics(y["test"], scores)
        calibration_table(y["test"], scores)
        segment_auc(y["test"], scores, part.test[schema.segment_column].astype("string").fillna("<null>").to_numpy())
        feature_importance(model.booster, X["test"], feature_types=ftypes, max_rows=SHAP_ROWS)
        champion_scores = predict_proba(previous[-1].booster, X["test"]) if previous else None
        decide(y["test"], scores, champion_scores, policy=gate_policy(settings))
        previous.append(model)
        return model

    for _ in range(TRAIN_REPEATS):
        booster = t.run("raw", raw)
        t.run("same", same_calls)
        result = t.run("tandem", lambda: asyncio.run(train(force=True)))
    champion = build_registry(settings).alias_version(settings.champion_alias)
    return {"rows": len(split.train), "version": result["version"], "champion": champion,
            "auc": result["metrics"]["auc"], "raw_best_iteration": booster.best_iteration}


def bench_scoring(work: Path, days: list[date], version: str, t: Timings) -> dict:
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
    X = prepare_features(pd.concat([lake.read_partition(schema.name, ds) for ds in days], ignore_index=True), schema)
    X.to_numpy()  # materialise once, outside the timing
    out = work / "raw_predictions"
    out.mkdir()

    def same_calls():
        for ds in days:
            frame = lake.read_partition(schema.name, ds)
            scores = booster.inplace_predict(prepare_features(frame, schema))
            pq.write_table(pa.table({"applicant_id": frame["applicant_id"], "score": scores}), out / f"{ds}.parquet")

    for i in range(REPEATS):
        t.run("raw", lambda: booster.inplace_predict(X))
        t.run("same", same_calls)
        # force: a rerun would skip the days already scored by this champion.
        t.run("tandem", lambda: asyncio.run(score(days[0], end=days[-1], force=i > 0)))
    return {"rows": ROWS}


GROUPS = {
    "ingest": ("raw pyarrow read+write", "same calls, no orchestration", "tandem backfill flow"),
    "train": ("raw xgboost.train", "same calls, no orchestration", "tandem train flow"),
    "score": ("raw inplace_predict", "same calls, no orchestration", "tandem score flow (all days)"),
}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        work = Path(tmp)
        _setup_env(work)
        print(f"Tandem benchmarks: {ROWS:,} rows over {DAYS} daily files, {os.cpu_count()} CPU(s), "
              f"median of {REPEATS} run(s) per line ({TRAIN_REPEATS} for training)")
        gen_s, days = timed(lambda: _make_source(work))
        print(f"(generated the source files in {gen_s:.1f} s)")

        from prefect import flow

        @flow
        def warm_up() -> None:
            """Start Prefect's ephemeral server outside the timings."""

        warm_s, _ = timed(warm_up)
        print(f"(Prefect server start + first flow: {warm_s:.1f} s, excluded)")
        from infra.factory import build_registry
        from infra.settings import get_settings

        mlflow_s, _ = timed(lambda: build_registry(get_settings()).experiment_id())
        print(f"(MLflow database creation, once per install: {mlflow_s:.1f} s, excluded)")

        timings = {group: Timings() for group in GROUPS}
        ingest = bench_ingest(work, days, timings["ingest"])
        training = bench_training(days, timings["train"])
        scoring = bench_scoring(work, days, training["champion"], timings["score"])
        rows = {"ingest": ingest["rows"], "train": training["rows"], "score": scoring["rows"]}

        print()
        print(f"{'step':40} {'median s':>8} {'spread':>12} {'rows/s':>11} {'vs raw':>7} {'vs same calls':>14} {'paired':>7}")
        for group, labels in GROUPS.items():
            t = timings[group]
            for key, label in zip(("raw", "same", "tandem"), labels):
                seconds = t.median(key)
                vs_same = f"{seconds / t.median('same'):.2f}x" if key != "raw" else ""
                paired = f"{t.paired_ratio(key, 'same'):.2f}x" if key == "tandem" else ""
                print(f"{group + ': ' + label:40} {seconds:8.2f} {t.spread(key):>12} {rows[group] / seconds:11,.0f} "
                      f"{seconds / t.median('raw'):6.2f}x {vs_same:>14} {paired:>7}")
        print(f"{'ingest: rerun (all skipped)':40} {ingest['rerun_s']:8.2f}")
        print()
        print(f"model v{training['version']} (champion v{training['champion']}): test AUC {training['auc']:.4f}; "
              f"raw best iteration {training['raw_best_iteration']}")
        print("'vs raw': against the bare library call; 'vs same calls': against every library call the step makes,")
        print("without Prefect, ledgers, MLflow, hashing and atomic moves (ratio of the medians); 'paired': the median")
        print("of each round's tandem / same-calls ratio (the two ran back to back, so machine drift mostly cancels).")
        print("target: Tandem's orchestration and bookkeeping add at most 15% ('vs same calls' and 'paired' <= 1.15x)")


if __name__ == "__main__":
    main()
