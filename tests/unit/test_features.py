"""Unit tests for models.features."""

import numpy as np
import pandas as pd
import pytest

from models.features import feature_types, prepare_features
from models.schema import DatasetSchema, FeatureSpec

SCHEMA = DatasetSchema(
    name="d",
    version="1",
    id_column="id",
    event_time_column="ts",
    target_column="y",
    features=(
        FeatureSpec("job", "categorical", categories=("salaried", "retired", "contractor")),
        FeatureSpec("age", "integer"),
        FeatureSpec("income", "numeric"),
    ),
)


def test_feature_types_follow_schema_order():
    assert feature_types(SCHEMA) == ["c", "q", "q"]


def test_matrix_is_float32_in_schema_order_with_schema_codes():
    # Given rows whose categories appear in a different order than the schema's
    df = pd.DataFrame(
        {
            "income": [1.5, None, 3.0, 4.0],
            "age": pd.array([30, None, 50, 60], dtype="Int64"),
            "job": ["contractor", "salaried", None, "astronaut"],
            "other": ["x"] * 4,
        },
        index=[5, 6, 7, 8],
    )
    # When prepared
    X = prepare_features(df, SCHEMA)
    # Then codes are positions in the schema list, unknown/null are NaN
    assert list(X.columns) == ["job", "age", "income"]
    assert (X.dtypes == np.float32).all()
    assert X.index.tolist() == [5, 6, 7, 8]
    np.testing.assert_array_equal(X["job"].to_numpy(), np.array([2, 0, np.nan, np.nan], dtype=np.float32))
    np.testing.assert_array_equal(X["age"].to_numpy(), np.array([30, np.nan, 50, 60], dtype=np.float32))


def test_codes_do_not_depend_on_the_data_seen():
    a = prepare_features(pd.DataFrame({"job": ["retired"], "age": [1], "income": [1.0]}), SCHEMA)
    b = prepare_features(pd.DataFrame({"job": ["contractor", "retired"], "age": [1, 2], "income": [1.0, 2.0]}), SCHEMA)
    assert a["job"].iloc[0] == b["job"].iloc[1] == 1.0


def test_missing_feature_is_an_error():
    with pytest.raises(ValueError, match="income"):
        prepare_features(pd.DataFrame({"job": ["retired"], "age": [1]}), SCHEMA)
