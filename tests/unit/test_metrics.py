"""Unit tests for models.metrics."""

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from models.metrics import calibration_table, classification_metrics, feature_importance, segment_auc


def test_perfect_ranking():
    y = [0, 0, 0, 1, 1]
    s = [0.1, 0.2, 0.3, 0.8, 0.9]
    m = classification_metrics(y, s)
    assert set(m) == {"auc", "ks", "brier", "pr_auc", "positive_rate", "n"}
    assert m["auc"] == 1.0 and m["ks"] == 1.0 and m["pr_auc"] == 1.0
    assert m["positive_rate"] == pytest.approx(0.4)
    assert m["n"] == 5.0
    assert m["brier"] == pytest.approx(np.mean((np.array(s) - np.array(y)) ** 2))
    assert all(isinstance(v, float) for v in m.values())


def test_known_partial_ranking():
    # One of the four (pos, neg) pairs is mis-ordered: AUC 0.75; best threshold separates 1 of 2 positives.
    m = classification_metrics([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.9])
    assert m["auc"] == pytest.approx(0.75)
    assert m["ks"] == pytest.approx(0.5)


def test_single_class_is_an_error():
    with pytest.raises(ValueError, match="single class"):
        classification_metrics([0, 0, 0], [0.1, 0.2, 0.3])


@pytest.mark.parametrize(("y", "s"), [([0, 1], [0.1]), ([0, 2], [0.1, 0.2]), ([0, 1], [0.1, np.nan]), ([0, 1], [0.1, 1.5]), ([], [])])
def test_bad_inputs_are_errors(y, s):
    with pytest.raises(ValueError):
        classification_metrics(y, s)


def test_calibration_table_quantile_bins():
    y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    table = calibration_table(y, s, bins=4)
    assert list(table.columns) == ["bin", "n", "mean_score", "observed_rate"]
    assert table["bin"].tolist() == [1, 2, 3, 4]
    assert table["n"].tolist() == [2, 2, 2, 2]
    assert table["mean_score"].tolist() == pytest.approx([0.15, 0.35, 0.55, 0.75])
    assert table["observed_rate"].tolist() == pytest.approx([0.0, 0.5, 0.5, 1.0])


def test_calibration_table_merges_tied_bins():
    table = calibration_table([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], bins=10)
    assert table["n"].tolist() == [4]


def test_segment_auc_with_one_class_segment():
    y = [0, 1, 0, 1, 0, 0]
    s = [0.1, 0.9, 0.8, 0.2, 0.3, 0.4]
    seg = ["a", "a", "b", "b", "c", None]
    assert segment_auc(y, s, seg) == {"<null>": None, "a": 1.0, "b": 0.0, "c": None}


def test_feature_importance_ranks_the_informative_feature_first():
    # Given a booster trained where only "signal" matters
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "noise": rng.normal(size=600).astype(np.float32),
            "signal": rng.normal(size=600).astype(np.float32),
            "cat": rng.integers(0, 3, 600).astype(np.float32),
        }
    )
    y = (X["signal"] > 0).astype(int)
    dtrain = xgb.DMatrix(X, label=y, feature_types=["q", "q", "c"], enable_categorical=True)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "seed": 0}, dtrain, num_boost_round=5)
    # When importance is computed on a sample
    table = feature_importance(booster, X, feature_types=["q", "q", "c"], max_rows=200, seed=1)
    again = feature_importance(booster, X, feature_types=["q", "q", "c"], max_rows=200, seed=1)
    # Then signal leads, unused features get gain 0, and the result is deterministic
    assert list(table.columns) == ["feature", "gain", "mean_abs_shap"]
    assert table["feature"].iloc[0] == "signal"
    assert set(table["feature"]) == {"noise", "signal", "cat"}
    assert (table["gain"] >= 0).all()
    assert table["mean_abs_shap"].is_monotonic_decreasing
    pd.testing.assert_frame_equal(table, again)
