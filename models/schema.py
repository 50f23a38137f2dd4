"""Dataset schema: the contract between a source, validation and the model.

A schema is parsed from a YAML-shaped dict (see :meth:`DatasetSchema.from_dict`)
and is strict on purpose: a typo in a config must fail loudly at load time
rather than silently disable a check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

FeatureKind = Literal["numeric", "integer", "categorical"]

KINDS: tuple[str, ...] = ("numeric", "integer", "categorical")
UNKNOWN_CATEGORY_POLICIES: tuple[str, ...] = ("quarantine", "keep")

_TOP_LEVEL_REQUIRED = ("name", "version", "id_column", "event_time_column", "target_column", "features")
_TOP_LEVEL_OPTIONAL = ("segment_column", "max_quarantine_share", "unique_across_days", "allow_future")
_FEATURE_KEYS = ("kind", "min", "max", "categories", "unknown_category", "nullable", "max_null_rate")


class SchemaError(ValueError):
    """A schema config is invalid; the message names the offending key or feature."""


def _is_number(value: Any) -> bool:
    # bool is an int subclass, but `min: true` in a config is a mistake, not a bound.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class FeatureSpec:
    """One model feature and the checks validation applies to it.

    Attributes:
        name: Column name.
        kind: "numeric" (float), "integer" or "categorical".
        min: Inclusive lower bound (numeric/integer only); rows below are quarantined.
        max: Inclusive upper bound (numeric/integer only); rows above are quarantined.
        categories: Allowed categories, in a fixed order that also defines the
            model's category codes (categorical only; required non-empty).
        unknown_category: "quarantine" rejects rows with an unseen category,
            "keep" lets them through (they become NaN codes for the model and
            show up as drift).
        nullable: False quarantines rows where the value is null.
        max_null_rate: Partition-level limit in [0, 1]; above it the whole
            partition is rejected.
    """

    name: str
    kind: FeatureKind
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] = ()
    unknown_category: Literal["quarantine", "keep"] = "quarantine"
    nullable: bool = True
    max_null_rate: float = 1.0

    def __post_init__(self) -> None:
        where = f"features.{self.name}"
        if not isinstance(self.name, str) or not self.name:
            raise SchemaError(f"features: feature name must be a non-empty string, got {self.name!r}")
        if self.kind not in KINDS:
            raise SchemaError(f"{where}.kind: {self.kind!r} is not one of {', '.join(KINDS)}")
        for key in ("min", "max"):
            value = getattr(self, key)
            if value is None:
                continue
            if self.kind == "categorical":
                raise SchemaError(f"{where}.{key}: not allowed for a categorical feature")
            if not _is_number(value) or not math.isfinite(value):
                raise SchemaError(f"{where}.{key}: must be a finite number, got {value!r}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise SchemaError(f"{where}.min: {self.min} is greater than max {self.max}")
        if not isinstance(self.categories, tuple):
            # Frozen dataclass: normalise lists so equality and hashing work.
            object.__setattr__(self, "categories", tuple(self.categories))
        if self.kind == "categorical":
            if not self.categories:
                raise SchemaError(f"{where}.categories: a categorical feature needs a non-empty list")
            if not all(isinstance(c, str) and c for c in self.categories):
                raise SchemaError(f"{where}.categories: every category must be a non-empty string")
            if len(set(self.categories)) != len(self.categories):
                raise SchemaError(f"{where}.categories: duplicate categories")
        elif self.categories:
            raise SchemaError(f"{where}.categories: only allowed for a categorical feature")
        if self.unknown_category not in UNKNOWN_CATEGORY_POLICIES:
            raise SchemaError(
                f"{where}.unknown_category: {self.unknown_category!r} is not one of "
                f"{', '.join(UNKNOWN_CATEGORY_POLICIES)}"
            )
        if not isinstance(self.nullable, bool):
            raise SchemaError(f"{where}.nullable: must be true or false, got {self.nullable!r}")
        if not _is_number(self.max_null_rate) or not 0.0 <= self.max_null_rate <= 1.0:
            raise SchemaError(f"{where}.max_null_rate: must be a number in [0, 1], got {self.max_null_rate!r}")

    @classmethod
    def from_dict(cls, name: str, d: Any) -> FeatureSpec:
        """Parses one feature entry of the YAML-shaped schema.

        Args:
            name: Feature (column) name.
            d: Mapping with "kind" and optional "min", "max", "categories",
                "unknown_category", "nullable", "max_null_rate".

        Returns:
            The feature spec.

        Raises:
            SchemaError: Unknown or missing keys, or invalid values.
        """
        where = f"features.{name}"
        if not isinstance(d, dict):
            raise SchemaError(f"{where}: must be a mapping, got {type(d).__name__}")
        unknown = sorted(set(d) - set(_FEATURE_KEYS), key=str)
        if unknown:
            raise SchemaError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
        if "kind" not in d:
            raise SchemaError(f"{where}.kind: missing")
        categories = d.get("categories", ())
        if categories is None:
            categories = ()
        if isinstance(categories, str) or not isinstance(categories, (list, tuple)):
            raise SchemaError(f"{where}.categories: must be a list of strings")
        kwargs: dict[str, Any] = {"name": name, "kind": d["kind"], "categories": tuple(categories)}
        for key in ("min", "max", "unknown_category", "nullable", "max_null_rate"):
            if key in d and d[key] is not None:
                kwargs[key] = d[key]
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Returns the YAML-shaped entry for this feature (without its name)."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "categorical":
            out["categories"] = list(self.categories)
            out["unknown_category"] = self.unknown_category
        else:
            if self.min is not None:
                out["min"] = self.min
            if self.max is not None:
                out["max"] = self.max
        out["nullable"] = self.nullable
        out["max_null_rate"] = self.max_null_rate
        return out


@dataclass(frozen=True)
class DatasetSchema:
    """The schema of one dataset in the lake.

    Attributes:
        name: Dataset name in the lake, e.g. "applications".
        version: Schema version, e.g. "1".
        id_column: Unique row identifier (never null, never duplicated).
        event_time_column: Event timestamp (never null).
        target_column: Binary 0/1 label column (present in labelled data only).
        features: Feature specs, in model feature order.
        segment_column: Optional categorical feature used for per-segment AUC.
        max_quarantine_share: Partition-level limit in [0, 1] on the share of
            rows quarantined; above it the whole partition is rejected (a day
            that is mostly bad rows is a bad day, not 20% of a good one).
        unique_across_days: An id committed in one partition is quarantined
            when it arrives again in another (checked against the id index in
            the ops database, not by scanning the lake).
        allow_future: Accept partition dates after today (a source that
            publishes ahead); otherwise runs for such days are refused.
    """

    name: str
    version: str
    id_column: str
    event_time_column: str
    target_column: str
    features: tuple[FeatureSpec, ...]
    segment_column: str | None = None
    max_quarantine_share: float = 0.2
    unique_across_days: bool = True
    allow_future: bool = False

    def __post_init__(self) -> None:
        for key in ("name", "version", "id_column", "event_time_column", "target_column"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value:
                raise SchemaError(f"{key}: must be a non-empty string, got {value!r}")
        if not isinstance(self.features, tuple):
            object.__setattr__(self, "features", tuple(self.features))
        if not self.features:
            raise SchemaError("features: at least one feature is required")
        seen: set[str] = set()
        reserved = {self.id_column, self.event_time_column, self.target_column}
        for spec in self.features:
            if not isinstance(spec, FeatureSpec):
                raise SchemaError(f"features: expected FeatureSpec, got {type(spec).__name__}")
            if spec.name in seen:
                raise SchemaError(f"features.{spec.name}: duplicate feature")
            if spec.name in reserved:
                raise SchemaError(f"features.{spec.name}: clashes with the id, event time or target column")
            seen.add(spec.name)
        if len(reserved) != 3:
            raise SchemaError("id_column, event_time_column and target_column must be distinct")
        if self.segment_column is not None:
            spec = next((f for f in self.features if f.name == self.segment_column), None)
            if spec is None or spec.kind != "categorical":
                raise SchemaError(
                    f"segment_column: {self.segment_column!r} must name a categorical feature"
                )
        share = self.max_quarantine_share
        if not _is_number(share) or not 0.0 <= share <= 1.0:
            raise SchemaError(f"max_quarantine_share: must be a number in [0, 1], got {share!r}")
        for key in ("unique_across_days", "allow_future"):
            if not isinstance(getattr(self, key), bool):
                raise SchemaError(f"{key}: must be true or false, got {getattr(self, key)!r}")

    @property
    def feature_names(self) -> list[str]:
        """Feature names in schema (model) order."""
        return [f.name for f in self.features]

    @property
    def categorical_features(self) -> list[FeatureSpec]:
        """The categorical feature specs, in schema order."""
        return [f for f in self.features if f.kind == "categorical"]

    def feature(self, name: str) -> FeatureSpec:
        """Returns the spec of one feature.

        Args:
            name: Feature name.

        Returns:
            The feature's spec.

        Raises:
            KeyError: No such feature.
        """
        for spec in self.features:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @classmethod
    def from_dict(cls, d: dict) -> DatasetSchema:
        """Parses the YAML-shaped schema dict.

        The shape is ``{"name", "version", "id_column", "event_time_column",
        "target_column", "segment_column", "max_quarantine_share" (default 0.2),
        "unique_across_days" (default true), "allow_future" (default false)
        (all four optional), "features": {name: spec}}``;
        the order of ``features`` is the model's feature order. ``version`` may be
        an integer (YAML reads an unquoted ``1`` as one); it is stored as a string.

        Args:
            d: The parsed YAML/JSON mapping.

        Returns:
            The schema.

        Raises:
            SchemaError: Unknown or missing keys, a bad kind, min > max, a
                categorical feature without categories, or a segment_column
                that is not a categorical feature. The message names the key.
        """
        if not isinstance(d, dict):
            raise SchemaError(f"schema: must be a mapping, got {type(d).__name__}")
        unknown = sorted(set(d) - set(_TOP_LEVEL_REQUIRED) - set(_TOP_LEVEL_OPTIONAL), key=str)
        if unknown:
            raise SchemaError(f"schema: unknown key(s) {', '.join(map(str, unknown))}")
        missing = [k for k in _TOP_LEVEL_REQUIRED if k not in d]
        if missing:
            raise SchemaError(f"schema: missing key(s) {', '.join(missing)}")
        version = d["version"]
        if isinstance(version, int) and not isinstance(version, bool):
            version = str(version)
        features = d["features"]
        if not isinstance(features, dict):
            raise SchemaError("features: must be a mapping of feature name to spec")
        specs = []
        for name, spec in features.items():
            if not isinstance(name, str):
                raise SchemaError(f"features: feature name must be a string, got {name!r}")
            specs.append(FeatureSpec.from_dict(name, spec))
        return cls(
            name=d["name"],
            version=version,
            id_column=d["id_column"],
            event_time_column=d["event_time_column"],
            target_column=d["target_column"],
            features=tuple(specs),
            segment_column=d.get("segment_column"),
            **{k: d[k] for k in ("max_quarantine_share", "unique_across_days", "allow_future") if d.get(k) is not None},
        )

    def to_dict(self) -> dict[str, Any]:
        """Returns the YAML/JSON-friendly dict; ``from_dict(to_dict())`` round-trips."""
        return {
            "name": self.name,
            "version": self.version,
            "id_column": self.id_column,
            "event_time_column": self.event_time_column,
            "target_column": self.target_column,
            "segment_column": self.segment_column,
            "max_quarantine_share": self.max_quarantine_share,
            "unique_across_days": self.unique_across_days,
            "allow_future": self.allow_future,
            "features": {f.name: f.to_dict() for f in self.features},
        }
