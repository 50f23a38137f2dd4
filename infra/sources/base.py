"""What every data source gives the ingest step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

import pandas as pd

from models.schema import DatasetSchema


@dataclass(frozen=True)
class SourcePiece:
    """Raw rows for one partition from one place (a file, or the generator).

    ``where`` names that place in every error message about these rows.
    """

    where: str
    frame: pd.DataFrame


class Source(Protocol):
    """A source of daily loan-application partitions."""

    schema: DatasetSchema
    label_delay_days: int  # how long after an application its outcome is known
    description: str

    def read(self, ds: date) -> list[SourcePiece]:
        """Raw application rows whose event time falls on ``ds`` (may carry the target)."""

    def read_labels(self, ds: date) -> pd.DataFrame | None:
        """Outcomes that became known on ``ds`` (id, target), or None if the rows carry them."""
