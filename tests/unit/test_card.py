"""Unit tests for models.card."""

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from models.card import DataFigures, SplitFigures, data_figures, render_model_card
from models.promotion import Check, GatePolicy, Interval, Verdict
from models.split import time_split

DATA = DataFigures(
    window=(date(2024, 1, 1), date(2024, 1, 5)),
    applications=320,
    labelled_rows=300,
    days_with_data=3,
    first_day=date(2024, 1, 1),
    last_day=date(2024, 1, 4),
    splits={
        "train": SplitFigures(100, 10, 1, date(2024, 1, 1), date(2024, 1, 1)),
        "valid": SplitFigures(120, 12, 1, date(2024, 1, 2), date(2024, 1, 2)),
        "test": SplitFigures(80, 8, 1, date(2024, 1, 4), date(2024, 1, 4)),
    },
)


def render(verdict, data=DATA):
    return render_model_card(
        model_name="risk-scorer",
        version="7",
        run_id="run-abc",
        data=data,
        partitions=[
            {"dataset": "applications", "ds": "2024-01-01", "rows": 100, "content_hash": "0123456789abcdef0123"},
            {"dataset": "applications", "ds": "2024-01-02", "rows": 120, "content_hash": "fedcba9876543210"},
            {"dataset": "applications", "ds": "2024-01-04", "rows": 100},
            {"dataset": "labels", "ds": "2024-01-09", "rows": 75},
        ],
        metrics={"auc": 0.81234, "ks": 0.45, "brier": 0.08, "pr_auc": 0.4, "positive_rate": 0.1, "n": 80.0},
        calibration=pd.DataFrame({"bin": [1, 2], "n": [40, 40], "mean_score": [0.05, 0.2], "observed_rate": [0.04, 0.21]}),
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
    checks=(Check("min_auc", True, 0.81234, 0.7, "challenger AUC 0.8123 [0.7700, 0.8500] above min_auc 0.7000", 0.77, 0.85),),
    reason="Promoted: challenger AUC 0.8123 vs champion AUC 0.8000.",
    code="non_inferior",
    figures={"auc": Interval(0.81234, 0.77, 0.85), "brier": Interval(0.08, 0.07, 0.09)},
    policy=GatePolicy().to_dict(),
)


def test_card_states_the_training_set_actually_used_in_sentences():
    card = render(VERDICT)
    assert card.startswith("# Model card: risk-scorer version 7\n")
    assert "version 7 was trained on 300 labelled applications (320 applications read) from 3 days with data" in card
    assert "between 2024-01-01 and 2024-01-04 (window 2024-01-01 to 2024-01-05; 2 of its 5 days had no labelled data)" in card
    assert "out-of-time test AUC (with its 95% bootstrap interval) is 0.8123 [0.7700, 0.8500] on 80 test rows" in card
    assert "Version 7 was promoted to champion." in card
    assert VERDICT.reason in card


def test_card_puts_metrics_before_the_partition_table():
    card = render(VERDICT)
    for heading in ("## Metrics", "## Data", "## Calibration", "## AUC per segment", "## Feature importance", "## Gate verdict", "## Parameters"):
        assert heading in card
    assert card.index("## Metrics") < card.index("## Data") < card.index("| applications | 2024-01-01 | 100 | 0123456789ab |")
    assert "| auc | 0.8123 | 0.7700 | 0.8500 |" in card
    assert "| test | 1 | 2024-01-04 | 2024-01-04 | 80 | 8 | 0.1000 |" in card
    assert "| labels | 2024-01-09 | 75 | n/a |" in card
    assert "| retired | n/a (one class) |" in card
    assert "| min_auc | pass | 0.8123 | 0.7700 | 0.8500 | 0.7000 |" in card
    assert "| f9 |" in card and "| f10 |" not in card  # top 10 only
    assert "| max_depth | 5 |" in card


def test_card_without_verdict():
    card = render(None)
    assert "gate decision is NOT EVALUATED" in card
    assert "The promotion gate was not run for version 7." in card
    assert "test AUC is 0.8123 on 80 test rows" in card  # no interval without a gate


def test_card_for_held_version():
    card = render(Verdict("HOLD", (), "Held: champion stays.", code="inconclusive"))
    assert "Version 7 was held" in card and "Held: champion stays." in card
    assert "HOLD (inconclusive)." in card


def test_data_figures_count_days_with_data_in_a_window_with_gaps():
    # Given a 10-day window where only 6 days hold labelled rows (days 3, 4, 8, 9 are missing)
    window = (date(2024, 3, 1), date(2024, 3, 10))
    held = [window[0] + timedelta(days=i) for i in (0, 1, 4, 5, 6, 9)]
    frame = pd.DataFrame(
        {
            "application_time": [pd.Timestamp(d) + pd.Timedelta(hours=h) for d in held for h in (1, 5, 9)],
            "default": [1, 0, 0] * len(held),
        }
    )
    split = time_split(frame, time_column="application_time")
    # When counted
    figures = data_figures(frame, split, applications=25, window=window, time_column="application_time", target_column="default")
    # Then the counts are the rows' own, not the window's
    assert (figures.days_with_data, figures.window_days, figures.labelled_rows, figures.applications) == (6, 10, 18, 25)
    assert (figures.first_day, figures.last_day) == (date(2024, 3, 1), date(2024, 3, 10))
    assert {k: (v.days, v.rows, v.positives) for k, v in figures.splits.items()} == {
        "train": (4, 12, 4), "valid": (1, 3, 1), "test": (1, 3, 1),
    }
    assert figures.splits["test"].first_day == date(2024, 3, 10)
    assert figures.to_dict()["window"] == ["2024-03-01", "2024-03-10"]
    card = render(None, data=figures)
    assert "from 6 days with data between 2024-03-01 and 2024-03-10" in card
    assert "4 of its 10 days had no labelled data" in card


def test_data_figures_refuse_an_empty_training_set():
    frame = pd.DataFrame({"application_time": pd.to_datetime([]), "default": []})
    with pytest.raises(ValueError, match="no labelled rows"):
        data_figures(frame, None, applications=0, window=(date(2024, 1, 1), date(2024, 1, 2)),
                     time_column="application_time", target_column="default")
