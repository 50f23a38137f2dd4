"""Unit tests for models.validation."""

import numpy as np
import pandas as pd
import pytest

from models.schema import DatasetSchema, FeatureSpec
from models.validation import PartitionRejected, validate_frame

WHERE = "lake/applications/ds=2024-03-01/part-0.parquet"

SCHEMA = DatasetSchema(
    name="applications",
    version="1",
    id_column="id",
    event_time_column="ts",
    target_column="default",
    features=(
        FeatureSpec("age", "integer", min=18, max=100, nullable=False),
        FeatureSpec("income", "numeric", min=0, max_null_rate=0.5),
        FeatureSpec("job", "categorical", categories=("salaried", "retired"), nullable=False),
        FeatureSpec("purpose", "categorical", categories=("car", "home"), unknown_category="keep"),
    ),
    segment_column="job",
)


def frame(**overrides):
    base = {
        "id": ["a", "b", "c", "d"],
        "ts": ["2024-03-01 10:00", "2024-03-01 11:00", "2024-03-01 12:00", "2024-03-01 13:00"],
        "age": [30, 40, 50, 60],
        "income": [1000.0, None, 3000.0, 4000.0],
        "job": ["salaried", "retired", "salaried", "retired"],
        "purpose": ["car", "home", "car", None],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_clean_frame_passes_with_coerced_dtypes():
    # Given a clean partition with an extra column
    df = frame(extra=[1, 2, 3, 4])
    # When validated
    result = validate_frame(df, SCHEMA, where=WHERE)
    # Then every row is valid, typed, and only schema columns remain
    assert len(result.valid) == 4 and len(result.quarantined) == 0
    assert list(result.valid.columns) == ["id", "ts", "age", "income", "job", "purpose"]
    dtypes = result.valid.dtypes
    assert dtypes["ts"] == "datetime64[ns]"
    assert str(dtypes["age"]) == "Int64"
    assert dtypes["income"] == np.float64
    assert dtypes["job"] == object and dtypes["id"] == object
    assert result.valid["purpose"].iloc[3] is None
    assert result.null_rates == {"age": 0.0, "income": 0.25, "job": 0.0, "purpose": 0.25}
    assert any("extra" in w for w in result.warnings)


def test_empty_partition_is_rejected():
    with pytest.raises(PartitionRejected, match=f"{WHERE}: no rows"):
        validate_frame(frame().iloc[:0], SCHEMA, where=WHERE)


def test_missing_columns_are_listed():
    with pytest.raises(PartitionRejected) as err:
        validate_frame(frame().drop(columns=["age", "job"]), SCHEMA, where=WHERE)
    assert WHERE in str(err.value) and "age" in str(err.value) and "job" in str(err.value)


def test_missing_target_only_matters_when_required():
    validate_frame(frame(), SCHEMA, where=WHERE)
    with pytest.raises(PartitionRejected, match="default"):
        validate_frame(frame(), SCHEMA, where=WHERE, require_target=True)


def test_non_numeric_value_rejects_partition_with_example():
    with pytest.raises(PartitionRejected) as err:
        validate_frame(frame(income=["1000", "lots", "3", "4"]), SCHEMA, where=WHERE)
    message = str(err.value)
    assert WHERE in message and "income" in message and "lots" in message


def test_fractional_integer_rejects_partition():
    with pytest.raises(PartitionRejected, match="age"):
        validate_frame(frame(age=[30, 40.5, 50, 60]), SCHEMA, where=WHERE)


def test_unparsable_time_rejects_partition():
    with pytest.raises(PartitionRejected) as err:
        validate_frame(frame(ts=["2024-03-01", "yesterday", "2024-03-01", "2024-03-01"]), SCHEMA, where=WHERE)
    assert WHERE in str(err.value) and "ts" in str(err.value)


def test_null_rate_above_limit_rejects_partition():
    with pytest.raises(PartitionRejected) as err:
        validate_frame(frame(income=[None, None, None, 4.0]), SCHEMA, where=WHERE)
    assert WHERE in str(err.value) and "income" in str(err.value) and "0.750" in str(err.value)


def test_numeric_strings_are_coerced():
    result = validate_frame(frame(age=["30", "40", "50", "60"], income=["1", "", "3.5", "4"]), SCHEMA, where=WHERE)
    assert result.valid["age"].tolist() == [30, 40, 50, 60]
    assert np.isnan(result.valid["income"].iloc[1])


def test_row_level_rules_quarantine_with_all_reasons():
    # Given rows breaking a range, a duplicate id, an unknown category and a non-nullable null
    df = frame(
        id=["a", "a", "c", "d"],
        age=[12, 40, 50, None],
        job=["salaried", "retired", "astronaut", "retired"],
    )
    # When validated
    result = validate_frame(df, SCHEMA, where=WHERE)
    # Then each bad row is quarantined with every reason, as it came in
    reasons = result.quarantined["_reason"].tolist()
    assert reasons == [
        "age=12 below min 18",
        "duplicate id",
        "job=astronaut unknown category",
        "age is null",
    ]
    assert len(result.valid) == 0
    assert list(result.quarantined.columns) == [*df.columns, "_reason"]
    assert any("quarantined 4 of 4" in w for w in result.warnings)


def test_reasons_of_one_row_are_joined():
    result = validate_frame(frame(age=[120, 40, 50, 60], job=["pilot", "retired", "salaried", "retired"]), SCHEMA, where=WHERE)
    assert result.quarantined["_reason"].tolist() == ["age=120 above max 100; job=pilot unknown category"]
    assert result.valid["id"].tolist() == ["b", "c", "d"]


def test_duplicate_keeps_first_occurrence():
    result = validate_frame(frame(id=["x", "y", "x", "x"]), SCHEMA, where=WHERE)
    assert result.valid["id"].tolist() == ["x", "y"]
    assert result.valid["age"].tolist() == [30, 40]


def test_keep_policy_keeps_unknown_categories_with_warning():
    result = validate_frame(frame(purpose=["car", "crypto", "home", "crypto"]), SCHEMA, where=WHERE)
    assert len(result.quarantined) == 0
    assert result.valid["purpose"].tolist() == ["car", "crypto", "home", "crypto"]
    assert any("crypto" in w for w in result.warnings)


def test_null_id_and_time_are_quarantined():
    result = validate_frame(frame(id=["a", None, "c", "d"], ts=["2024-03-01", "2024-03-01", None, "2024-03-01"]), SCHEMA, where=WHERE)
    assert result.quarantined["_reason"].tolist() == ["null id", "null ts"]


def test_target_outside_0_1_is_quarantined_but_null_is_fine():
    result = validate_frame(frame(default=[0, 1, 2, None]), SCHEMA, where=WHERE, require_target=True)
    assert result.quarantined["_reason"].tolist() == ["default=2 not in {0,1}"]
    assert str(result.valid["default"].dtype) == "Int64"
    assert result.valid["default"].isna().tolist() == [False, False, True]


def test_tz_aware_times_become_naive_utc():
    df = frame(ts=pd.to_datetime(["2024-03-01T12:00:00+02:00"] * 4))
    result = validate_frame(df, SCHEMA, where=WHERE)
    assert result.valid["ts"].iloc[0] == pd.Timestamp("2024-03-01 10:00:00")
    assert result.valid["ts"].dtype == "datetime64[ns]"


def test_input_index_does_not_matter():
    df = frame().set_axis([10, 11, 12, 13])
    result = validate_frame(df, SCHEMA, where=WHERE)
    assert result.valid.index.tolist() == [0, 1, 2, 3]


def test_infinite_value_is_quarantined():
    result = validate_frame(frame(income=[1.0, float("inf"), 3.0, 4.0]), SCHEMA, where=WHERE)
    assert result.quarantined["_reason"].tolist() == ["income=inf is not finite"]


def test_numeric_event_time_rejects_partition():
    with pytest.raises(PartitionRejected, match="ts"):
        validate_frame(frame(ts=[1, 2, 3, 4]), SCHEMA, where=WHERE)


def test_labels_from_rows_keeps_known_targets_with_clean_dtypes():
    import pandas as pd
    from datetime import date

    from models.labels import LABEL_DATE, labels_from_rows

    valid = pd.DataFrame({"applicant_id": ["a", "b", "c"], "default": [1, None, 0]})
    labels = labels_from_rows(valid, id_column="applicant_id", target_column="default", label_date=date(2026, 1, 2), where="f.csv")
    assert labels["applicant_id"].tolist() == ["a", "c"] and labels["default"].tolist() == [1, 0]
    assert str(labels["default"].dtype) == "int8" and (labels[LABEL_DATE] == pd.Timestamp("2026-01-02")).all()


def test_labels_from_rows_rejects_a_target_outside_0_1_naming_the_file():
    import pandas as pd
    import pytest

    from models.labels import labels_from_rows
    from models.validation import PartitionRejected

    valid = pd.DataFrame({"applicant_id": ["a", "b"], "default": [1, 2]})
    with pytest.raises(PartitionRejected, match=r"f\.csv labels: column 'default' must be 0 or 1, got 2"):
        labels_from_rows(valid, id_column="applicant_id", target_column="default", label_date="2026-01-02", where="f.csv labels")
