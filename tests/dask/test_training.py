"""xgboost.dask training across the test cluster's two workers against a one-process fit of the same rows.

Given a synthetic labelled window (40 days, 12,000 rows), when the same
parameters fit it once in this process and once by ``xgboost.dask`` with the
rows split between the two workers, then the out-of-time test AUC of the two
differs by no more than the gate's tolerance (``gate.tolerance``: what a
challenger may lose against a champion and still pass).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from distributed import get_task_stream

from models.synthetic import Scenario, default_probability, generate_applications, synthetic_schema
from models.training import TrainParams
from infra.risk.fit import fit_model
from infra.risk.training_set import TrainingSet
from infra.settings import GateSettings

pytestmark = pytest.mark.dask

SCHEMA = synthetic_schema()
PARAMS = TrainParams(num_boost_round=120, early_stopping_rounds=15, nthread=1)


def _training_set(days: int = 40, rows: int = 300) -> TrainingSet:
    start = date(2026, 3, 1)
    frames = []
    for i in range(days):
        ds = start + timedelta(days=i)
        frame = generate_applications(ds, seed=11, rows=rows, scenario=Scenario())
        rng = np.random.default_rng([11, ds.toordinal()])
        frame["default"] = (rng.random(len(frame)) < default_probability(frame)).astype(int)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    return TrainingSet(frame, start, start + timedelta(days=days - 1), [], len(frame), 0, "fp")


def test_xgboost_dask_matches_one_process_within_the_gate_tolerance(dask_client, dask_cluster):
    # Given one training set and one set of parameters
    training_set = _training_set()
    # When it is fitted here, and across the two workers
    local = fit_model(training_set, SCHEMA, PARAMS)
    with get_task_stream(dask_client) as stream:
        distributed = fit_model(training_set, SCHEMA, PARAMS, dask_client=dask_client)
    # Then the fit ran on both workers (each trains on its own share of the rows)
    # (xgboost.dask submits one training task per worker holding rows; its key starts with "fn-")
    trained_on = {t["worker"] for t in stream.data if str(t["key"]).startswith("fn-")}
    assert trained_on == set(dask_cluster.workers), sorted({(str(t["key"])[:40], t["worker"]) for t in stream.data})
    # and both models saw the same rows and rank the same test rows equally well
    assert distributed.rows == local.rows and distributed.rows["train"] > 5_000
    np.testing.assert_array_equal(distributed.test_y, local.test_y)
    tolerance = GateSettings().tolerance
    print(f"test AUC one process {local.metrics['auc']:.4f}, xgboost.dask {distributed.metrics['auc']:.4f}, tolerance {tolerance}")
    assert abs(distributed.metrics["auc"] - local.metrics["auc"]) <= tolerance
    assert local.metrics["auc"] > 0.7  # a real model, not two coin flips agreeing
    # and the distributed booster carries its early-stopping record like a local one
    assert 0 <= distributed.best_iteration < PARAMS.num_boost_round
    assert distributed.valid_auc == pytest.approx(float(distributed.booster.attr("best_score")))

