"""Test data builders: small files of a team's own table, and snapshots of stores."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from models.synthetic import Scenario, default_probability, generate_applications, synthetic_schema
from infra.factory import build_partition_ledger
from infra.settings import get_settings


def labelled_rows(days: list[date], rows: int = 200, seed: int = 1) -> pd.DataFrame:
    """Synthetic applications with an in-row ``default`` target, as a team's table would have."""
    frames = []
    for ds in days:
        frame = generate_applications(ds, seed=seed, rows=rows, scenario=Scenario())
        rng = np.random.default_rng([seed, ds.toordinal()])
        frame["default"] = (rng.random(len(frame)) < default_probability(frame)).astype(int)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def write_schema(path: Path) -> Path:
    path.write_text(yaml.safe_dump(synthetic_schema().to_dict(), sort_keys=False))
    return path


def use_file_source(monkeypatch, data_path: str, schema_path: Path) -> None:
    from tests.integration.conftest import reset_settings

    monkeypatch.setenv("TANDEM_SOURCE", "file")
    monkeypatch.setenv("TANDEM_FILE__PATH", data_path)
    monkeypatch.setenv("TANDEM_FILE__SCHEMA_PATH", str(schema_path))
    reset_settings()


def lake_snapshot(data_dir: Path) -> dict[str, str]:
    """Every file under the lake with a hash of its bytes."""
    lake = data_dir / "lake"
    if not lake.exists():
        return {}
    return {
        str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(lake.rglob("*")) if p.is_file()
    }


def ledger_snapshot() -> list[tuple]:
    """The partition ledger's committed state (not the append-only attempts)."""
    return [
        (r.dataset, r.ds, r.status, r.row_count, r.content_hash, r.error)
        for r in build_partition_ledger(get_settings()).list()
    ]
