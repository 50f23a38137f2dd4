"""Unit tests for models.training and models.scoring."""

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from models.scoring import predict_proba
from models.training import TrainParams, train_booster

TYPES = ["q", "q", "c"]
FAST = TrainParams(num_boost_round=60, early_stopping_rounds=10, max_depth=3, learning_rate=0.3, nthread=2)


def easy_data(n, seed):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "x1": rng.normal(size=n).astype(np.float32),
            "x2": rng.normal(size=n).astype(np.float32),
            "kind": rng.integers(0, 3, n).astype(np.float32),
        }
    )
    X.loc[X.index[::17], "x2"] = np.nan
    logit = 1.5 * X["x1"] + 1.0 * (X["kind"] == 2) - 1.0
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return X, y


def test_xgb_params_shape():
    params = TrainParams().xgb_params()
    assert params["tree_method"] == "hist"
    assert params["objective"] == "binary:logistic"
    assert params["eval_metric"] == ["logloss", "auc"]
    assert params["max_cat_to_onehot"] == 1
    assert params["eta"] == 0.08 and params["seed"] == 42
    assert "nthread" not in params
    assert TrainParams(nthread=2).xgb_params()["nthread"] == 2


def test_tiny_training_run_learns_and_scores_consistently():
    # Given easy synthetic data
    Xtr, ytr = easy_data(2000, 0)
    Xva, yva = easy_data(500, 1)
    Xte, yte = easy_data(1000, 2)
    # When trained
    model = train_booster(Xtr, ytr, Xva, yva, feature_types=TYPES, params=FAST)
    # Then it learns, records its best round, and predict_proba matches predict on a DMatrix
    assert 0 <= model.best_iteration < FAST.num_boost_round
    assert model.booster.attr("best_iteration") == str(model.best_iteration)
    assert model.best_score == pytest.approx(model.evals_result["valid"]["auc"][model.best_iteration])
    p = predict_proba(model.booster, Xte)
    assert p.dtype == np.float64 and p.shape == (1000,)
    assert roc_auc_score(yte, p) > 0.7
    dtest = xgb.DMatrix(Xte, feature_types=TYPES, enable_categorical=True)
    expected = model.booster.predict(dtest, iteration_range=(0, model.best_iteration + 1))
    np.testing.assert_allclose(p, expected, rtol=1e-6)


def test_best_iteration_survives_save_and_load():
    Xtr, ytr = easy_data(800, 3)
    Xva, yva = easy_data(300, 4)
    model = train_booster(Xtr, ytr, Xva, yva, feature_types=TYPES, params=FAST)
    loaded = xgb.Booster()
    loaded.load_model(bytearray(model.booster.save_raw("json")))
    np.testing.assert_allclose(predict_proba(loaded, Xva), predict_proba(model.booster, Xva))


def test_training_is_deterministic():
    Xtr, ytr = easy_data(800, 5)
    Xva, yva = easy_data(300, 6)
    a = train_booster(Xtr, ytr, Xva, yva, feature_types=TYPES, params=FAST)
    b = train_booster(Xtr, ytr, Xva, yva, feature_types=TYPES, params=FAST)
    np.testing.assert_array_equal(predict_proba(a.booster, Xva), predict_proba(b.booster, Xva))


def test_without_early_stopping_best_is_last_round():
    Xtr, ytr = easy_data(500, 7)
    Xva, yva = easy_data(200, 8)
    params = TrainParams(num_boost_round=5, early_stopping_rounds=0, nthread=2)
    model = train_booster(Xtr, ytr, Xva, yva, feature_types=TYPES, params=params)
    assert model.best_iteration == 4
    assert model.booster.num_boosted_rounds() == 5


def test_bad_labels_and_types_are_errors():
    Xtr, ytr = easy_data(200, 9)
    with pytest.raises(ValueError, match="0 or 1"):
        train_booster(Xtr, ytr * 2, Xtr, ytr, feature_types=TYPES, params=FAST)
    with pytest.raises(ValueError, match="feature types"):
        train_booster(Xtr, ytr, Xtr, ytr, feature_types=["q"], params=FAST)


def test_predict_proba_on_numpy_and_empty_input():
    Xtr, ytr = easy_data(400, 10)
    model = train_booster(Xtr, ytr, Xtr, ytr, feature_types=TYPES, params=FAST)
    np.testing.assert_allclose(predict_proba(model.booster, Xtr.to_numpy()), predict_proba(model.booster, Xtr), rtol=1e-6)
    assert predict_proba(model.booster, Xtr.iloc[:0]).shape == (0,)
