"""The built-in synthetic source: a thin adapter over ``models.synthetic``."""

from __future__ import annotations

from datetime import date

import pandas as pd

from models.schema import DatasetSchema
from models.synthetic import Scenario, generate_applications, generate_labels, synthetic_schema
from infra.sources.base import SourcePiece


class SyntheticSource:
    """Deterministic loan applications: same seed and date, same rows."""

    def __init__(self, *, seed: int, rows_per_day: int, scenario: Scenario, label_delay_days: int) -> None:
        self.seed = seed
        self.rows_per_day = rows_per_day
        self.scenario = scenario
        self.label_delay_days = label_delay_days
        self.schema: DatasetSchema = synthetic_schema()
        start = f" from {scenario.start}" if scenario.start else ""
        self.description = f"synthetic(seed={seed}, rows/day={rows_per_day}, scenario={scenario.name}{start})"

    def read(self, ds: date) -> list[SourcePiece]:
        frame = generate_applications(ds, seed=self.seed, rows=self.rows_per_day, scenario=self.scenario)
        return [SourcePiece(f"synthetic applications ds={ds}", frame)]

    def read_labels(self, ds: date) -> pd.DataFrame:
        return generate_labels(
            ds, seed=self.seed, rows=self.rows_per_day, scenario=self.scenario,
            label_delay_days=self.label_delay_days,
        )
