"""The champion pointer for real: MLflow's registry alias, the pointer ledger, the rollback's pin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from typer.testing import CliRunner

from infra.cli import app
from infra.factory import build_pointer_ledger, build_registry, model_pointer
from infra.pointers import move_champion, rollback_champion
from infra.settings import get_settings
from infra.stores.ledger import PointerPinned

pytestmark = pytest.mark.integration


def register_versions(n: int) -> list[str]:
    """``n`` tiny registered versions of the configured model (three trees each)."""
    registry = build_registry(get_settings())
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=(X["a"] > 0).astype(int)), num_boost_round=3)
    return [
        registry.log_training_run(booster=booster, example=X.head(3), params={"i": i}, metrics={"auc": 0.9}, dicts={},
                                  texts={}, tags={}, run_name=f"v{i}").version
        for i in range(n)
    ]


def test_a_champion_rollback_pins_the_mlflow_alias_until_unpinned_and_outside_moves_are_reconciled(tandem):
    settings = get_settings()
    v1, v2, v3 = register_versions(3)
    registry, ledger, pointer = build_registry(settings), build_pointer_ledger(settings), model_pointer(settings)
    move_champion(settings, v1, reason="gate PROMOTE", evidence=None, actor="gate")
    move_champion(settings, v2, reason="gate PROMOTE", evidence=None, actor="gate")

    back = rollback_champion(settings, reason="bad scores")
    assert (back.old_value, back.new_value) == (v2, v1) and registry.alias_version("champion") == v1
    with pytest.raises(PointerPinned, match="tandem unpin"):
        move_champion(settings, v3, reason="gate PROMOTE", evidence=None, actor="gate")
    assert registry.alias_version("champion") == v1
    shown = CliRunner().invoke(app, ["pointers"], env={"COLUMNS": "250"})
    assert f"PINNED {pointer}" in shown.output and "bad scores" in shown.output

    out = CliRunner().invoke(app, ["unpin", "model", "--reason", "v3 fixes it"])
    assert out.exit_code == 0, out.output
    move_champion(settings, v3, reason="gate PROMOTE", evidence=None, actor="gate")
    assert registry.alias_version("champion") == v3
    rows = list(reversed(ledger.history(pointer)))
    assert [(r.old_value, r.new_value) for r in rows] == [(None, v1), (v1, v2), (v2, v1), (v1, v1), (v1, v3)]
    assert (rows[3].actor, rows[3].reason) == ("pytest", "v3 fixes it")

    # an alias moved outside the ledger (by hand in the MLflow UI) is reconciled before the next move
    registry.set_alias("champion", v2)
    move = move_champion(settings, v1, reason="back to the gated one", evidence=None)
    assert move.old_value == v2  # the value it really replaced
    rows = list(reversed(ledger.history(pointer)))[-2:]
    assert [(r.old_value, r.new_value, r.actor) for r in rows] == [(v3, v2, "tandem"), (v2, v1, "pytest")]
