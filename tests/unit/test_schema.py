"""Unit tests for models.schema."""

import copy
import json

import pytest

from models.schema import DatasetSchema, FeatureSpec, SchemaError

BASE = {
    "name": "applications",
    "version": "1",
    "id_column": "applicant_id",
    "event_time_column": "application_ts",
    "target_column": "default",
    "segment_column": "employment_type",
    "features": {
        "age": {"kind": "integer", "min": 18, "max": 100, "nullable": False},
        "income": {"kind": "numeric", "min": 0, "max_null_rate": 0.5},
        "employment_type": {
            "kind": "categorical",
            "categories": ["salaried", "retired"],
            "unknown_category": "keep",
        },
    },
}


def with_change(path, value=None, delete=False):
    d = copy.deepcopy(BASE)
    node = d
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return d


def test_from_dict_parses_features_in_order():
    # Given the YAML-shaped dict / When parsed
    schema = DatasetSchema.from_dict(BASE)
    # Then features keep their order and their settings
    assert schema.feature_names == ["age", "income", "employment_type"]
    assert schema.features[0] == FeatureSpec("age", "integer", min=18, max=100, nullable=False)
    assert schema.features[1].max_null_rate == 0.5
    assert [f.name for f in schema.categorical_features] == ["employment_type"]
    assert schema.categorical_features[0].categories == ("salaried", "retired")
    assert schema.categorical_features[0].unknown_category == "keep"


def test_round_trip_through_json():
    # Given a parsed schema / When dumped to JSON and parsed again
    schema = DatasetSchema.from_dict(BASE)
    again = DatasetSchema.from_dict(json.loads(json.dumps(schema.to_dict())))
    # Then nothing is lost
    assert again == schema
    assert again.to_dict() == schema.to_dict()


def test_integer_version_is_accepted_as_string():
    schema = DatasetSchema.from_dict(with_change(["version"], 2))
    assert schema.version == "2"


def test_segment_column_is_optional():
    schema = DatasetSchema.from_dict(with_change(["segment_column"], delete=True))
    assert schema.segment_column is None


@pytest.mark.parametrize(
    ("path", "value", "delete", "fragment"),
    [
        (["colour"], "red", False, "colour"),
        (["id_column"], None, True, "id_column"),
        (["features"], None, True, "features"),
        (["features", "age", "kind"], "float", False, "features.age.kind"),
        (["features", "age", "kind"], None, True, "features.age.kind"),
        (["features", "age", "maximum"], 3, False, "maximum"),
        (["features", "age", "min"], 200, False, "features.age.min"),
        (["features", "employment_type", "categories"], [], False, "features.employment_type.categories"),
        (["features", "employment_type", "unknown_category"], "drop", False, "unknown_category"),
        (["features", "income", "max_null_rate"], 1.5, False, "features.income.max_null_rate"),
        (["features", "income", "categories"], ["a"], False, "features.income.categories"),
        (["segment_column"], "age", False, "segment_column"),
        (["segment_column"], "nope", False, "segment_column"),
        (["features", "age", "nullable"], "no", False, "features.age.nullable"),
    ],
)
def test_from_dict_is_strict(path, value, delete, fragment):
    # Given a config with one mistake / When parsed / Then SchemaError names the key
    with pytest.raises(SchemaError, match=fragment.replace(".", r"\.")):
        DatasetSchema.from_dict(with_change(path, value, delete))


def test_feature_clashing_with_id_column_is_rejected():
    d = with_change(["features", "applicant_id"], {"kind": "numeric"})
    with pytest.raises(SchemaError, match="applicant_id"):
        DatasetSchema.from_dict(d)


def test_schema_error_is_a_value_error():
    assert issubclass(SchemaError, ValueError)


def test_partition_level_keys_default_and_parse():
    # Given no partition-level keys / Then the documented defaults
    schema = DatasetSchema.from_dict(BASE)
    assert (schema.max_quarantine_share, schema.unique_across_days, schema.allow_future) == (0.2, True, False)
    # Given them set / Then they are kept and round-trip
    custom = DatasetSchema.from_dict({**BASE, "max_quarantine_share": 0.05, "unique_across_days": False, "allow_future": True})
    assert (custom.max_quarantine_share, custom.unique_across_days, custom.allow_future) == (0.05, False, True)
    assert DatasetSchema.from_dict(custom.to_dict()) == custom


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_quarantine_share", 1.5, "max_quarantine_share: must be a number in [0, 1]"),
        ("max_quarantine_share", "20%", "max_quarantine_share: must be a number in [0, 1]"),
        ("unique_across_days", "yes", "unique_across_days: must be true or false"),
        ("allow_future", 1, "allow_future: must be true or false"),
    ],
)
def test_partition_level_keys_are_checked(key, value, message):
    with pytest.raises(SchemaError, match=message.replace("[", r"\[").replace("]", r"\]")):
        DatasetSchema.from_dict({**BASE, key: value})


def test_shipped_schema_file_parses_with_its_partition_keys():
    from pathlib import Path

    import yaml

    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "infra" / "schemas" / "applications.yaml").read_text())
    schema = DatasetSchema.from_dict(raw)
    assert (schema.max_quarantine_share, schema.unique_across_days, schema.allow_future) == (0.2, True, False)
