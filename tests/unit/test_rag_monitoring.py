"""The RAG checks' statistics on small data: each one moves when it should and stays put when it should not."""

from __future__ import annotations

import numpy as np
import pytest

from indexes.monitoring import (
    best_score,
    cluster_questions,
    corpus_changes,
    cost_ratio,
    domain_classifier_auc,
    metric_drop,
    model_change,
    percentile,
    share,
    unanswerable_mask,
)


def _topic(rng: np.random.Generator, centre: np.ndarray, n: int, spread: float = 0.2) -> np.ndarray:
    x = centre + spread * rng.normal(size=(n, centre.size))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def topics():
    rng = np.random.default_rng(0)
    return rng, [rng.normal(size=32) / np.sqrt(32) * 1.0 for _ in range(4)]


def _mix(rng, centres, counts):
    return np.vstack([_topic(rng, c, n) for c, n in zip(centres, counts) if n])


def test_query_drift_sees_a_new_topic_and_not_a_quiet_night(topics):
    rng, (a, b, c, new) = topics
    reference = _mix(rng, [a, b, c], [300, 200, 100])
    quiet = _mix(rng, [a, b, c], [75, 50, 25])
    shifted = _mix(rng, [a, b, c, new], [55, 35, 20, 40])  # a quarter about a topic never asked before

    calm = domain_classifier_auc(quiet, reference, seed=1)
    drift = domain_classifier_auc(shifted, reference, seed=1)

    assert abs(calm.auc - 0.5) < 0.1
    assert drift.auc > calm.auc + 0.1
    assert (drift.n_current, drift.n_reference) == (150, 600)
    # Deterministic for a seed.
    assert domain_classifier_auc(shifted, reference, seed=1).auc == drift.auc


def test_query_drift_needs_enough_questions_on_both_sides(topics):
    rng, (a, *_rest) = topics
    result = domain_classifier_auc(_topic(rng, a, 10), _topic(rng, a, 500), min_rows=20)
    assert result.auc is None and result.n_current == 10


def test_unanswerable_questions_are_those_whose_best_chunk_scores_below_the_level():
    events = [
        [{"chunk_id": "1", "score": 0.71}, {"chunk_id": "2", "score": 0.52}],
        [{"chunk_id": "3", "score": 0.21}],
        [],  # nothing retrieved at all
        None,
    ]
    scores = [best_score(c) for c in events]
    assert scores == [0.71, 0.21, None, None]
    mask = unanswerable_mask(scores, 0.45)
    assert mask.tolist() == [False, True, True, True]
    assert share(mask.tolist()) == (0.75, 4)
    assert share([]) == (None, 0)


def test_unanswered_questions_cluster_by_topic_largest_first_with_examples(topics):
    rng, (a, b, *_rest) = topics
    emb = np.vstack([_topic(rng, a, 6, spread=0.05), _topic(rng, b, 3, spread=0.05)])
    texts = [f"bnpl question {i}" for i in range(6)] + [f"wifi question {i}" for i in range(3)]
    clusters = cluster_questions(emb, texts, distance_threshold=0.5, top=3, examples=2)
    assert [c["size"] for c in clusters] == [6, 3]
    assert all(t.startswith("bnpl") for t in clusters[0]["examples"]) and len(clusters[0]["examples"]) == 2
    assert clusters[1]["share"] == pytest.approx(3 / 9, abs=1e-4)
    assert cluster_questions(np.zeros((0, 3)), []) == []


def test_a_tenant_tripling_its_tokens_reads_three_times_its_baseline():
    history = [1000, 1100, 900, 1050, 950, 1000, 5000]  # one earlier spike does not lift the median
    r = cost_ratio(3000, history, min_nights=7)
    assert r.baseline == 1000 and r.ratio == pytest.approx(3.0)
    assert cost_ratio(1000, history).ratio == pytest.approx(1.0)


def test_a_tenant_without_a_baseline_has_no_ratio():
    assert cost_ratio(3000, [1000, 1000], min_nights=7).ratio is None
    assert cost_ratio(3000, [0] * 10, min_nights=7).ratio is None  # a tenant silent until tonight


def test_provider_model_change_is_one_when_the_endpoint_reports_another_model():
    assert model_change(["chat-1"] * 5, "chat-1").changed == 0.0
    changed = model_change(["chat-1", "chat-2", "chat-2", None], "chat-1")
    assert changed.changed == 1.0 and changed.reported == {"chat-1": 1, "chat-2": 2}
    assert changed.other_share == pytest.approx(2 / 3)
    assert model_change([], "chat-1").changed is None  # no endpoint answers tonight
    assert model_change(["chat-1"], None).changed is None  # nothing recorded at the gate


def test_bad_feedback_share_is_the_share_of_bad_votes():
    votes = ["good", "bad", "good", "good", "bad"]
    assert share(v == "bad" for v in votes) == (0.4, 5)


def test_latency_percentile_ignores_missing_values():
    assert percentile([100.0, None, 200.0, 300.0], 50) == 200.0
    assert percentile([None]) is None


def test_metric_drop_is_the_largest_fall_below_the_gated_figures():
    value, drops = metric_drop({"hit_at_k": 0.80, "mrr": 0.85}, {"hit_at_k": 0.94, "mrr": 0.84, "ndcg_at_k": 0.9}, ["hit_at_k", "mrr", "ndcg_at_k"])
    assert value == pytest.approx(0.14) and drops == {"hit_at_k": pytest.approx(0.14), "mrr": pytest.approx(-0.01)}
    assert metric_drop({}, {"mrr": 0.9}, ["mrr"]) == (None, {})


def test_corpus_changes_name_added_changed_and_removed_documents():
    plan = corpus_changes({"a.md": "1", "b.md": "2b", "new.md": "9"}, {"a.md": "1", "b.md": "2", "old.md": "3"})
    assert (plan.added, plan.changed, plan.deleted, plan.unchanged) == (("new.md",), ("b.md",), ("old.md",), ("a.md",))


def _cost_events(night, tenant, questions, tokens_each, *, day_offset=0):
    from datetime import datetime, time, timedelta, timezone

    at = datetime.combine(night, time(10), tzinfo=timezone.utc) - timedelta(days=day_offset)
    return [{"at": at + timedelta(seconds=i), "kind": "answer", "tenant": tenant, "question": f"q{i}",
             "total_tokens": tokens_each, "cost_usd": tokens_each / 1e6} for i in range(questions)]


def test_cost_per_question_moves_with_the_price_of_a_question_and_volume_with_the_traffic():
    from datetime import date

    from infra.monitoring.rag import DEFAULT_PARAMS, _tenant_cost

    night = date(2026, 3, 11)  # a Wednesday: the weekday baseline
    earlier = []
    for back in range(1, 29):
        for tenant in ("bulk", "stuffer"):
            earlier += _cost_events(night, tenant, 20, 1000, day_offset=back)
    # bulk triples its volume at the same tokens per question; stuffer asks as often, each question twice the tokens
    tonight = _cost_events(night, "bulk", 60, 1000) + _cost_events(night, "stuffer", 20, 2000)

    lines = {(m.check, m.subject): m for m in _tenant_cost(night, tonight, earlier, DEFAULT_PARAMS["tenant_cost"])}

    bulk = lines[("tenant_cost", "bulk")]
    assert bulk.value == pytest.approx(3.0) and bulk.evidence["baseline_questions"] == 400  # the 20 weekdays
    assert bulk.evidence["baseline_count"] == 20  # questions a night (median): the grading's volume noise rule
    assert lines[("tenant_cost_per_question", "bulk")].value == pytest.approx(1.0)
    assert lines[("tenant_cost", "stuffer")].value == pytest.approx(2.0)
    per_question = lines[("tenant_cost_per_question", "stuffer")]
    assert per_question.value == pytest.approx(2.0) and per_question.n == 20
    assert per_question.evidence["tenant"] == "stuffer" and per_question.evidence["tokens_per_question"] == 2000
    assert per_question.evidence["baseline_tokens_per_question"] == 1000 and per_question.evidence["cost_ratio"] == pytest.approx(2.0)
    assert lines[("tenant_cost", "bulk")].evidence["tenant"] == "bulk"


def test_a_tenant_silent_tonight_or_new_has_no_per_question_figure():
    from datetime import date

    from infra.monitoring.rag import DEFAULT_PARAMS, _tenant_cost

    night = date(2026, 3, 11)
    earlier = [e for back in range(1, 10) for e in _cost_events(night, "gone", 20, 1000, day_offset=back)]
    lines = {(m.check, m.subject): m for m in _tenant_cost(night, _cost_events(night, "new", 30, 900), earlier,
                                                               DEFAULT_PARAMS["tenant_cost"])}
    assert lines[("tenant_cost_per_question", "gone")].value is None
    assert lines[("tenant_cost_per_question", "new")].value is None
    assert lines[("tenant_cost", "new")].evidence["baseline_count"] is None  # no baseline, no count to compare with
    assert "no per-question baseline" in lines[("tenant_cost_per_question", "new")].note
