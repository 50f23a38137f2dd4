"""attach_labels: the training set's join of rows with their matured outcomes."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from models.labels import attach_labels


def _features(ids, **extra):
    return pa.table({"applicant_id": ids, "x": np.arange(len(ids), dtype="float64"), **extra})


def test_keeps_feature_order_drops_unlabelled_and_the_id():
    features = _features(["c", "a", "z", "b"])
    labels = pa.table({"applicant_id": ["a", "b", "c"], "default": pa.array([1, 0, 1], pa.int8())})
    out = attach_labels(features, labels, id_column="applicant_id", target_column="default")
    assert list(out.columns) == ["x", "default"]
    assert out["x"].tolist() == [0.0, 1.0, 3.0]  # c, a, b: z has no label
    assert out["default"].tolist() == [1, 1, 0]


def test_the_last_label_of_an_id_wins():
    features = _features(["a", "b"])
    labels = pa.table({"applicant_id": ["a", "b", "a"], "default": [0, 0, 1], "label_date": [1, 1, 2]})
    out = attach_labels(features, labels, id_column="applicant_id", target_column="default")
    assert out["default"].tolist() == [1, 0]


def test_a_target_already_in_the_rows_is_replaced_by_the_label():
    features = _features(["a"], default=[0])
    labels = pa.table({"applicant_id": ["a"], "default": [1]})
    out = attach_labels(features, labels, id_column="applicant_id", target_column="default")
    assert list(out.columns) == ["x", "default"] and out["default"].tolist() == [1]


def test_matches_a_pandas_merge_on_random_ids():
    rng = np.random.default_rng(3)
    ids = np.array([f"id{i}" for i in rng.permutation(5000)])
    label_ids = rng.choice(ids, size=4000)  # some ids twice, some never
    features = _features(ids.tolist())
    labels = pa.table({"applicant_id": label_ids.tolist(), "default": rng.integers(0, 2, 4000)})
    expected = (
        features.to_pandas()
        .merge(labels.to_pandas().drop_duplicates("applicant_id", keep="last"), on="applicant_id")
        .drop(columns=["applicant_id"])
    )
    out = attach_labels(features, labels, id_column="applicant_id", target_column="default")
    pd.testing.assert_frame_equal(out, expected)


@pytest.mark.parametrize("which", ["features", "labels"])
def test_a_missing_column_is_named(which):
    good_f, good_l = _features(["a"]), pa.table({"applicant_id": ["a"], "default": [1]})
    features = good_f.drop_columns(["applicant_id"]) if which == "features" else good_f
    labels = good_l.drop_columns(["default"]) if which == "labels" else good_l
    with pytest.raises(ValueError, match=f"{which} lack column"):
        attach_labels(features, labels, id_column="applicant_id", target_column="default")
