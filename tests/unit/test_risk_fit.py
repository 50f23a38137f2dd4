"""Unit tests for infra.risk.fit: a registered booster re-evaluated on its training set sees what the fit saw."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from models.synthetic import Scenario, default_probability, generate_applications, synthetic_schema
from models.training import TrainParams
from infra.risk.fit import evaluate_booster, fit_model
from infra.risk.training_set import TrainingSet

SCHEMA = synthetic_schema()
PARAMS = TrainParams(num_boost_round=30, early_stopping_rounds=5, nthread=2)


def _training_set(days: list[date]) -> TrainingSet:
    frames = []
    for ds in days:
        frame = generate_applications(ds, seed=5, rows=200, scenario=Scenario())
        rng = np.random.default_rng(ds.toordinal())
        frame["default"] = (rng.random(len(frame)) < default_probability(frame)).astype(int)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    return TrainingSet(frame, days[0], days[-1], [], len(frame) + 50, 50, "fp")


def test_a_reloaded_booster_is_evaluated_on_the_same_rows_with_the_same_figures():
    # Given a window with a gap (days 5-7 missing) and a fitted model
    days = [date(2026, 2, 1) + timedelta(days=i) for i in range(12) if i not in (4, 5, 6)]
    training_set = _training_set(days)
    fit = fit_model(training_set, SCHEMA, PARAMS)
    # When the registered copy (saved and loaded, as MLflow does) is evaluated again
    reloaded = xgb.Booster(model_file=bytearray(fit.booster.save_raw("ubj")))
    again = evaluate_booster(reloaded, training_set, SCHEMA, PARAMS)
    # Then it sees the same test rows and measures the same figures
    np.testing.assert_array_equal(again.test_y, fit.test_y)
    np.testing.assert_allclose(again.test_scores, fit.test_scores)
    assert again.metrics == pytest.approx(fit.metrics)
    assert (again.best_iteration, again.valid_auc) == (fit.best_iteration, pytest.approx(fit.valid_auc))
    assert again.data == fit.data
    # and the data figures are the rows', not the window's
    assert (fit.data.days_with_data, fit.data.window_days, fit.data.applications, fit.data.labelled_rows) == (9, 12, 1_850, 1_800)
    assert sum(s.rows for s in fit.data.splits.values()) == 1_800
