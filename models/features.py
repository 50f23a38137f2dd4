"""Model matrix from validated rows.

Category codes come from the schema's fixed category list, never from the data,
so a model trained on one window scores another window with the same codes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.schema import DatasetSchema


def feature_types(schema: DatasetSchema) -> list[str]:
    """Returns XGBoost feature types in schema feature order.

    Args:
        schema: The dataset schema.

    Returns:
        "q" for numeric and integer features, "c" for categorical ones.
    """
    return ["c" if f.kind == "categorical" else "q" for f in schema.features]


def prepare_features(df: pd.DataFrame, schema: DatasetSchema) -> pd.DataFrame:
    """Builds the float32 model matrix.

    Args:
        df: Rows holding every schema feature (e.g. ``ValidationResult.valid``);
            other columns are ignored.
        schema: The dataset schema.

    Returns:
        One float32 column per feature, in schema order, with ``df``'s index.
        Numeric and integer features are their values (NaN for null, and for
        values that are not numbers); categorical features are the position of
        the value in the schema's ``categories``, NaN for null or unknown.

    Raises:
        ValueError: A feature column is missing.
    """
    missing = [name for name in schema.feature_names if name not in df.columns]
    if missing:
        raise ValueError(f"prepare_features: missing feature column(s): {', '.join(missing)}")
    columns: dict[str, np.ndarray] = {}
    for spec in schema.features:
        s = df[spec.name]
        if spec.kind == "categorical":
            codes = pd.Categorical(s, categories=list(spec.categories)).codes
            values = np.where(codes < 0, np.nan, codes).astype(np.float32)
        else:
            values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan)
        columns[spec.name] = values
    return pd.DataFrame(columns, index=df.index)
