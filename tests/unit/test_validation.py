"""Unit tests for models.validation."""

import numpy as np
import pandas as pd
import pytest

from models.schema import DatasetSchema, FeatureSpec
from dataclasses import replace

from models.validation import PartitionRejected, check_quarantine_share, id_hashes, validate_frame

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
    # Four-row frames quarantine one row in four: the row rules are tested
    # here, the partition-level share in its own tests below.
    max_quarantine_share=1.0,
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


def test_mostly_bad_rows_reject_the_partition_naming_column_and_share():
    # Given a required column that is null in 80% of the rows (default limit 20%)
    schema = replace(SCHEMA, max_quarantine_share=0.2)
    df = pd.concat([frame()] * 5, ignore_index=True).assign(id=[f"r{i}" for i in range(20)])
    df.loc[df.index % 5 != 0, "age"] = None
    # When validated / Then the partition fails, naming the column and the share
    with pytest.raises(PartitionRejected) as err:
        validate_frame(df, schema, where=WHERE)
    message = str(err.value)
    assert message.startswith(WHERE)
    assert "80.0% of rows quarantined (16 of 20)" in message and "max_quarantine_share 20.0%" in message
    assert "column 'age' (16 rows, 80.0%)" in message


def test_quarantine_share_at_the_limit_passes():
    # Given 1 bad row in 5 and a limit of exactly 20%
    schema = replace(SCHEMA, max_quarantine_share=0.2)
    df = pd.concat([frame(), frame().iloc[:1]], ignore_index=True).assign(id=list("abcde"), age=[30, 40, 50, 60, 7])
    # When validated / Then it passes with one row quarantined
    result = validate_frame(df, schema, where=WHERE)
    assert (len(result.valid), len(result.quarantined), result.rows) == (4, 1, 5)
    assert result.quarantined_by == {"age": 1}
    # and a caller can defer the check to the whole day
    assert len(validate_frame(df, replace(schema, max_quarantine_share=0.0), where=WHERE, max_quarantine_share=1.0).valid) == 4


def test_check_quarantine_share_names_the_main_column():
    with pytest.raises(PartitionRejected, match=r"day: 50\.0% of rows quarantined \(5 of 10\).*'id' \(4 rows, 40\.0%\)"):
        check_quarantine_share(rows=10, quarantined=5, quarantined_by={"age": 1, "id": 4}, limit=0.2, where="day")
    check_quarantine_share(rows=10, quarantined=2, quarantined_by={"age": 2}, limit=0.2, where="day")
    check_quarantine_share(rows=0, quarantined=0, quarantined_by={}, limit=0.2, where="day")


def test_id_hashes_are_stable_64_bit_and_tell_ids_apart():
    ids = pd.Series(["A1", "A2", "A1", "B7"], dtype=object)
    hashes = id_hashes(ids, dataset="applications")
    assert hashes.dtype == np.int64
    assert hashes[0] == hashes[2] and len(set(hashes.tolist())) == 3
    # the same text hashes the same whatever the dtype it arrives in; another dataset apart
    assert (id_hashes(ids.astype("string"), dataset="applications") == hashes).all()
    assert not set(id_hashes(ids, dataset="loans").tolist()) & set(hashes.tolist())
    # pinned: the index in the ops database outlives this process and pandas upgrades
    assert int(id_hashes(pd.Series(["A20260302-000001"], dtype=object), dataset="applications")[0]) == 655498018355700856
