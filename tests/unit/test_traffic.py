"""The question-traffic simulator: deterministic, realistic on quiet nights, and each scenario does what it says."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta

import pytest

from indexes.traffic import (
    NOISE_QUESTIONS,
    SHIFT_TOPIC,
    TrafficConfig,
    corpus_edits,
    simulate_night,
    spike_tenant,
    topic_shift_share,
)

GOLDEN = [
    ("What is the maximum debt-to-income ratio?", ["policy/03-dti.md"]),
    ("How old must an applicant be?", ["policy/01-eligibility.md"]),
    ("How do I roll back the model?", ["runbooks/03-model-rollback.md"]),
    ("What does PSI measure?", ["glossary/08-drift.md"]),
    ("How long are notices kept?", ["policy/05-notices.html"]),
    ("How do I rerun a failed backfill day?", ["runbooks/01-backfill.md"]),
]
START = date(2026, 3, 2)


def nights(scenario: str, seed: int = 1, days: range = range(-3, 10)):
    return [simulate_night(GOLDEN, START + timedelta(days=d), scenario=scenario, seed=seed, start=START) for d in days]


def test_same_seed_and_night_give_the_same_traffic_and_another_seed_does_not():
    a = simulate_night(GOLDEN, START, scenario="none", seed=3)
    b = simulate_night(GOLDEN, START, scenario="none", seed=3)
    c = simulate_night(GOLDEN, START, scenario="none", seed=4)
    assert a == b
    assert a.questions != c.questions


def test_a_quiet_night_has_tenants_of_different_sizes_repeats_and_some_off_topic_questions():
    week = nights("none", days=range(0, 7))
    volumes = Counter()
    for n in week:
        volumes.update(n.volumes)
    assert len(volumes) == 4 and max(volumes.values()) > 2 * min(volumes.values())
    questions = [q for n in week for q in n.questions]
    sources = Counter(q.source for q in questions)
    assert sources["noise"] > 0 and sources["shift"] == 0 and sources["golden"] > 0.8 * len(questions)
    assert any(q.repeat for q in questions)
    assert {q.text for q in questions if q.source == "noise"} <= {t for t in _all_paraphrases(NOISE_QUESTIONS)}
    # Weekends are quieter than weekdays.
    weekday = [sum(n.volumes.values()) for n in week if n.night.weekday() < 5]
    weekend = [sum(n.volumes.values()) for n in week if n.night.weekday() >= 5]
    assert max(weekend) < min(weekday)
    # Questions are in time order within the night.
    assert all(a.at_seconds <= b.at_seconds for n in week for a, b in zip(n.questions, n.questions[1:]))


def _all_paraphrases(questions):
    from indexes.traffic import TEMPLATES, paraphrase

    return {paraphrase(q, k) for q in questions for k in range(len(TEMPLATES))}


def test_topic_shift_asks_a_growing_share_about_an_uncovered_topic_from_its_start_only():
    shift = nights("topic-shift", days=range(-3, 12))
    quiet = nights("none", days=range(-3, 12))
    before, after = shift[:3], shift[3:]
    assert before == [replace(n, scenario="topic-shift") for n in quiet[:3]]  # nothing changes before it starts
    shares = [sum(q.source == "shift" for q in n.questions) / len(n.questions) for n in after]
    assert all(q.topic == SHIFT_TOPIC for n in after for q in n.questions if q.source == "shift")
    assert 0.05 < shares[0] < 0.3 and shares[-1] > 0.45 and shares[-1] > shares[0]
    assert topic_shift_share(START - timedelta(days=1), START) == 0.0
    assert topic_shift_share(START + timedelta(days=100), START) == TrafficConfig().shift_max_share


def test_cost_spike_triples_one_tenant_and_leaves_the_others_alone():
    spike = nights("cost-spike", days=range(0, 7))
    quiet = nights("none", days=range(0, 7))
    who = spike_tenant(1)
    ratio = sum(n.volumes[who] for n in spike) / sum(n.volumes[who] for n in quiet)
    assert 2.5 < ratio < 3.5
    for s, q in zip(spike, quiet):
        assert {t: v for t, v in s.volumes.items() if t != who} == {t: v for t, v in q.volumes.items() if t != who}


def test_model_change_reports_another_model_from_its_start_night():
    models = [n.model for n in nights("model-change", days=range(-2, 3))]
    cfg = TrafficConfig()
    assert models == [cfg.base_model] * 2 + [cfg.changed_model] * 3


def test_stale_corpus_edits_documents_on_its_start_night_and_adds_one_three_nights_later():
    docs = ["policy/a.md", "policy/b.md", "runbooks/c.md", "glossary/d.md"]
    edits = {d: corpus_edits(START + timedelta(days=d), scenario="stale-corpus", seed=2, start=START, doc_ids=docs) for d in range(-1, 6)}
    assert edits[-1] == () and edits[1] == () and edits[5] == ()
    assert len(edits[0]) == 2 and all(e.action == "edit" and e.doc_id in docs and e.text for e in edits[0])
    assert [e.action for e in edits[3]] == ["add"] and edits[3][0].doc_id not in docs
    assert corpus_edits(START, scenario="none", seed=2, start=START, doc_ids=docs) == ()
    # The night's traffic carries them too.
    assert simulate_night(GOLDEN, START, scenario="stale-corpus", seed=2, start=START, doc_ids=docs).corpus_edits == edits[0]


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="unknown traffic scenario 'drift'"):
        simulate_night(GOLDEN, START, scenario="drift", start=START)
    with pytest.raises(ValueError, match="needs its start night"):
        simulate_night(GOLDEN, START, scenario="topic-shift")
    with pytest.raises(ValueError, match="golden set is empty"):
        simulate_night([], START)
