"""Each risk scenario detected on small data through the production composition, the quiet one silent.

The benchmark's own simulation (``bench/detection_risk.py``: the synthetic source's scenarios, a champion
trained with the train flow's pure functions, its reference and calibration built as a registered version's,
every night measured by ``models.reference.measure_night``) runs with a 5-day label delay for 26 nights; every
night is graded, recorded and ticketed by ``infra.monitoring.night.evaluate_night`` with the shipped policy
(``bench/detection.py``'s ``grade_run``). The scenario starts on night 10; the goals are issue 11's
(``bench.detection.GOAL``), the concept goal with this label delay.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

pytestmark = pytest.mark.integration

FIRST = date(2026, 6, 1)
SHIFT_AFTER = 10
NIGHTS = 26
LABEL_DELAY = 5
START = FIRST + timedelta(days=SHIFT_AFTER)
SCENARIOS = ("none", "shock", "gradual", "new-category", "missing-surge", "concept")


@pytest.fixture(scope="module")
def graded():
    from threadpoolctl import threadpool_limits

    from bench.detection import grade_run
    from bench.detection_risk import simulate_risk_nights

    out = {}
    with threadpool_limits(1):
        for scenario in SCENARIOS:
            champion: list = []
            nights = simulate_risk_nights(scenario, 1, nights=NIGHTS, start_night=FIRST, rows_per_day=2_000,
                                          label_delay_days=LABEL_DELAY, shift_after_days=SHIFT_AFTER, train_days=30,
                                          sample_rows=5_000, champion_out=champion)
            out[scenario] = grade_run("risk", scenario, 1, nights, start=None if scenario == "none" else START,
                                      reference_values=champion[0].reference.calibration_values())
    return out


def test_the_quiet_scenario_opens_no_ticket(graded):
    assert graded["none"].opened == []


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "none"])
def test_each_scenario_opens_a_retrain_ticket_within_the_goal_and_nothing_else(graded, scenario):
    from bench.detection import GOAL

    goal = LABEL_DELAY + 7 if scenario == "concept" else GOAL[scenario]
    run = graded[scenario]
    first = run.first_after_start()
    assert first is not None, f"{scenario}: no retrain ticket in {NIGHTS - SHIFT_AFTER} nights; opened {run.opened}"
    assert (first[0] - START).days <= goal, (scenario, first, run.opened)
    assert run.false_tickets() == [], run.false_tickets()
