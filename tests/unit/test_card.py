"""Unit tests for models.card."""

from datetime import date, datetime

import pandas as pd

from models.card import render_model_card
from models.promotion import Check, Verdict


def render(verdict):
    return render_model_card(
        model_name="risk-scorer",
        version="7",
        run_id="run-abc",
        window=(date(2024, 1, 1), date(2024, 1, 3)),
        partitions=[
            {"ds": "2024-01-01", "rows": 100, "content_hash": "0123456789abcdef0123"},
            {"ds": "2024-01-02", "rows": 120, "content_hash": "fedcba9876543210"},
            {"ds": "2024-01-03", "rows": 80},
            {"dataset": "labels", "ds": "2024-01-03", "rows": 75},  # labels do not add applications
        ],
        metrics={"auc": 0.81234, "ks": 0.45, "brier": 0.08, "pr_auc": 0.4, "positive_rate": 0.1, "n": 300.0},
        calibration=pd.DataFrame({"bin": [1, 2], "n": [150, 150], "mean_score": [0.05, 0.2], "observed_rate": [0.04, 0.21]}),
        segment_auc={"salaried": 0.8, "retired": None},
        importance=pd.DataFrame(
            {"feature": [f"f{i}" for i in range(12)], "gain": [float(i) for i in range(12)], "mean_abs_shap": [1.0 / (i + 1) for i in range(12)]}
        ),
        verdict=verdict,
        params={"max_depth": 5, "learning_rate": 0.08},
        schema_version="1",
        trained_at=datetime(2024, 2, 1, 9, 30),
    )


VERDICT = Verdict(
    decision="PROMOTE",
    checks=(Check("min_auc", True, 0.81234, 0.7, "challenger AUC 0.8123 >= minimum 0.7000"),),
    reason="Promoted: challenger AUC 0.8123 vs champion AUC 0.8000.",
)


def test_card_states_version_auc_and_decision_in_sentences():
    card = render(VERDICT)
    assert card.startswith("# Model card: risk-scorer version 7\n")
    assert "version 7 was trained on 300 applications from 3 days" in card
    assert "out-of-time test AUC is 0.8123" in card
    assert "Version 7 was promoted to champion." in card
    assert VERDICT.reason in card


def test_card_has_every_section_and_table():
    card = render(VERDICT)
    for heading in ("## Data", "## Metrics", "## Calibration", "## AUC per segment", "## Feature importance", "## Gate verdict", "## Parameters"):
        assert heading in card
    assert "| 2024-01-01 | 100 | 0123456789ab |" in card
    assert "| retired | n/a (one class) |" in card
    assert "| min_auc | yes | 0.8123 | 0.7000 |" in card
    assert "| f9 |" in card and "| f10 |" not in card  # top 10 only
    assert "| max_depth | 5 |" in card


def test_card_without_verdict():
    card = render(None)
    assert "gate decision is NOT EVALUATED" in card
    assert "The promotion gate was not run for version 7." in card


def test_card_for_held_version():
    card = render(Verdict("HOLD", (), "Held: champion stays."))
    assert "Version 7 was held" in card and "Held: champion stays." in card
