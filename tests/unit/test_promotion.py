"""Unit tests for models.promotion."""

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from models.promotion import GatePolicy, Verdict, _auc_layout, _weighted_auc, decide, paired_bootstrap_auc_delta

N = 4_000


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(123)
    y = (rng.random(N) < 0.2).astype(int)
    noise = rng.normal(size=N)

    def scores(strength):
        logit = strength * (y - 0.5) + noise + rng.normal(scale=0.3, size=N)
        return 1.0 / (1.0 + np.exp(-(logit - 1.5)))

    return y, scores(3.0), scores(2.0), scores(0.2)


def test_weighted_auc_equals_sklearn_on_a_resample_with_ties():
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.3).astype(int)
    s = np.round(rng.random(500) + 0.3 * y, 1)  # many ties
    idx = rng.integers(0, 500, 500)
    counts = np.bincount(idx, minlength=500).astype(np.int32)[None, :]
    assert _weighted_auc(counts, _auc_layout(y, s))[0] == pytest.approx(roc_auc_score(y[idx], s[idx]))


def test_bootstrap_is_deterministic_and_brackets_the_delta(data):
    y, strong, medium, _ = data
    a = paired_bootstrap_auc_delta(y, strong, medium, n_bootstrap=100, confidence=0.95, seed=3)
    b = paired_bootstrap_auc_delta(y, strong, medium, n_bootstrap=100, confidence=0.95, seed=3)
    c = paired_bootstrap_auc_delta(y, strong, medium, n_bootstrap=100, confidence=0.95, seed=4)
    assert a == b
    assert a != c
    delta, low, high = a
    assert delta == pytest.approx(roc_auc_score(y, strong) - roc_auc_score(y, medium))
    assert low < delta < high


def test_bootstrap_of_a_model_against_itself_is_zero(data):
    y, strong, _, _ = data
    assert paired_bootstrap_auc_delta(y, strong, strong, n_bootstrap=50, confidence=0.9, seed=0) == (0.0, 0.0, 0.0)


def test_bootstrap_skips_one_class_resamples():
    # 1 positive in 6 rows: many resamples miss it, but the answer is still finite.
    y = [0, 0, 0, 0, 0, 1]
    delta, low, high = paired_bootstrap_auc_delta(
        y, [0.1, 0.2, 0.3, 0.4, 0.5, 0.9], [0.9, 0.2, 0.3, 0.4, 0.5, 0.6], n_bootstrap=200, confidence=0.9, seed=1
    )
    assert np.isfinite([delta, low, high]).all()


@pytest.mark.parametrize("kwargs", [{"n_bootstrap": 0}, {"confidence": 1.0}])
def test_bootstrap_bad_arguments(kwargs, data):
    y, strong, medium, _ = data
    args = {"n_bootstrap": 10, "confidence": 0.95, "seed": 0, **kwargs}
    with pytest.raises(ValueError):
        paired_bootstrap_auc_delta(y, strong, medium, **args)


def test_clearly_better_challenger_is_promoted(data):
    y, strong, medium, _ = data
    verdict = decide(y, strong, medium, policy=GatePolicy(n_bootstrap=100))
    assert verdict.decision == "PROMOTE"
    assert [c.name for c in verdict.checks] == ["min_auc", "max_brier", "non_inferiority"]
    assert all(c.passed for c in verdict.checks)
    assert f"{roc_auc_score(y, strong):.4f}" in verdict.reason
    assert f"{roc_auc_score(y, medium):.4f}" in verdict.reason


def test_clearly_worse_challenger_is_held(data):
    y, strong, medium, _ = data
    verdict = decide(y, medium, strong, policy=GatePolicy(n_bootstrap=100))
    assert verdict.decision == "HOLD"
    assert verdict.checks[-1].name == "non_inferiority" and not verdict.checks[-1].passed
    assert "CI" in verdict.reason and "champion stays" in verdict.reason


def test_challenger_below_min_auc_is_rejected_even_without_champion(data):
    y, _, _, weak = data
    verdict = decide(y, weak)
    assert verdict.decision == "REJECT"
    assert not next(c for c in verdict.checks if c.name == "min_auc").passed


def test_challenger_above_max_brier_is_rejected(data):
    y, strong, _, _ = data
    verdict = decide(y, strong, policy=GatePolicy(max_brier=0.01))
    assert verdict.decision == "REJECT"
    assert [c.passed for c in verdict.checks] == [True, False]


def test_first_version_is_promoted(data):
    y, strong, _, _ = data
    verdict = decide(y, strong)
    assert verdict.decision == "PROMOTE"
    assert "first version" in verdict.reason
    assert len(verdict.checks) == 2


def test_verdict_to_dict_is_json_friendly(data):
    y, strong, medium, _ = data
    verdict = decide(y, strong, medium, policy=GatePolicy(n_bootstrap=50))
    d = json.loads(json.dumps(verdict.to_dict()))
    assert d["decision"] == verdict.decision and d["reason"] == verdict.reason
    assert [c["name"] for c in d["checks"]] == ["min_auc", "max_brier", "non_inferiority"]
    assert isinstance(verdict, Verdict)


def test_uncertain_challenger_is_held_on_the_lower_bound(data):
    # Given a slightly noisier challenger and a tolerance inside its AUC-delta CI
    y, strong, _, _ = data
    challenger = np.clip(strong + np.random.default_rng(5).normal(scale=0.03, size=N), 0.0, 1.0)
    _, low, high = paired_bootstrap_auc_delta(y, challenger, strong, n_bootstrap=100, confidence=0.95, seed=7)
    tolerance = -(low + high) / 2
    assert tolerance > 0 and low < -tolerance < high
    # When the gate decides / Then the lower bound rules: not non-inferior, HOLD
    held = decide(y, challenger, strong, policy=GatePolicy(n_bootstrap=100, tolerance=tolerance, seed=7))
    assert held.decision == "HOLD"
    # And with a tolerance beyond the lower bound the same challenger is non-inferior
    loose = GatePolicy(n_bootstrap=100, tolerance=-low + 0.001, seed=7)
    assert decide(y, challenger, strong, policy=loose).decision == "PROMOTE"
