"""Each RAG scenario detected on small data through the production composition, the quiet one silent.

The benchmark's own simulation (``bench/detection_rag.py``: the traffic simulator, a real request log and
feedback store, the MiniLM embedder, a Qdrant collection built and released through the real gate, and
``infra.monitoring.rag.measure_rag_night``) runs on the demo corpus with two small tenants for 30 nights; every
night is graded, recorded and ticketed by ``infra.monitoring.night.evaluate_night`` with the shipped policy
(``bench/detection.py``'s ``grade_run``: calibration stored with the collection, debounce, cool-down, dedup).
The scenario starts on night 24; the goals are issue 11's (``bench.detection.GOAL``).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from indexes.traffic import Tenant, TrafficConfig

pytestmark = pytest.mark.integration

FIRST = date(2026, 1, 5)  # a Monday
QUIET = 24
NIGHTS = 30
START = FIRST + timedelta(days=QUIET)
CONFIG = TrafficConfig(
    tenants=(Tenant("lending", 70.0, ("policy", "glossary")), Tenant("oncall", 50.0, ("runbooks",))),
    weekend_factor=1.0,  # the tiny volume stays above the checks' minimum samples every night
    spike_tenant="oncall",
)
SCENARIOS = ("none", "topic-shift", "stale-corpus", "cost-spike", "model-change")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    import bench.detection_rag as sim
    from bench.detection import grade_run

    tmp = tmp_path_factory.mktemp("rag-scenarios")
    mp = pytest.MonkeyPatch()
    mp.setattr(sim, "_WORLD", None)  # the world (index, retrieval cache) of this module only, under tmp
    try:
        sim.world(tmp / "world")
        out = {}
        for scenario in SCENARIOS:
            nights = sim.simulate_rag_nights(scenario, 1, nights=NIGHTS, start_night=START, first_night=FIRST, config=CONFIG)
            out[scenario] = grade_run("rag", scenario, 1, nights, start=None if scenario == "none" else START, reference_values={})
        yield out
    finally:
        mp.undo()  # forgets this module's world


def test_the_quiet_scenario_opens_no_ticket(graded):
    assert graded["none"].opened == []


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "none"])
def test_each_scenario_opens_its_ticket_within_the_goal_and_nothing_else(graded, scenario):
    from bench.detection import EXPECTED_KIND, GOAL

    run = graded[scenario]
    first = run.first_after_start()
    assert first is not None, f"{scenario}: no {EXPECTED_KIND[scenario]} ticket in {NIGHTS - QUIET} nights; opened {run.opened}"
    assert (first[0] - START).days <= GOAL[scenario], (scenario, first, run.opened)
    assert run.false_tickets() == [], run.false_tickets()
