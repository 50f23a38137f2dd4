"""Unit tests for models.promotion."""

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from models.promotion import (
    GatePolicy,
    Interval,
    Verdict,
    _auc_layout,
    _weighted_auc,
    bootstrap_figures,
    decide,
    decisive_rows,
    paired_bootstrap_auc_delta,
)

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


def _scored_test_set(positives: int, n: int, separation: float):
    """``n`` rows, ``positives`` of them positive, scores separating the classes by ``separation`` sd.

    Scores are evenly spaced normal quantiles (no sampling noise), so the AUC is
    about ``Phi(separation / sqrt(2))``: 0.58 gives 0.66.
    """
    from scipy.stats import norm

    def quantiles(k: int) -> np.ndarray:
        return norm.ppf((np.arange(k) + 0.5) / k)

    y = np.r_[np.ones(positives, dtype=int), np.zeros(n - positives, dtype=int)]
    logit = np.r_[quantiles(positives) + separation, quantiles(n - positives)] - 2.5
    order = np.random.default_rng(0).permutation(n)  # interleave the classes
    return y[order], (1.0 / (1.0 + np.exp(-logit)))[order]


def test_small_test_set_with_auc_below_minimum_is_held_inconclusive_not_rejected():
    # Given 77 positives (the real table's test window) and a model with AUC about 0.66
    y, s = _scored_test_set(77, 1_000, separation=0.58)
    auc = roc_auc_score(y, s)
    assert 0.63 < auc < 0.69
    # When the gate decides against min_auc 0.70
    verdict = decide(y, s, policy=GatePolicy(min_auc=0.70))
    # Then the interval straddles the minimum: HOLD, inconclusive, with the test size that would decide
    figure = verdict.figures["auc"]
    assert figure.low < 0.70 < figure.high
    assert (verdict.decision, verdict.code) == ("HOLD", "inconclusive"), verdict.reason
    check = verdict.checks[0]
    assert (check.name, check.outcome, check.passed) == ("min_auc", "inconclusive", False)
    assert verdict.decisive_rows == check.decisive_rows > 1_000
    assert verdict.positives == 77 and verdict.n == 1_000
    assert str(figure) in verdict.reason and f"{verdict.decisive_rows:,}" in verdict.reason
    assert "tandem promote model" in verdict.reason


def test_same_auc_on_a_large_test_set_is_rejected():
    # Given ten times the positives, the same separation: the interval shrinks below the minimum
    y, s = _scored_test_set(770, 10_000, separation=0.58)
    verdict = decide(y, s, policy=GatePolicy(min_auc=0.70))
    assert verdict.figures["auc"].high < 0.70
    assert (verdict.decision, verdict.code) == ("REJECT", "below_limits")
    assert verdict.checks[0].outcome == "fail"
    assert "min_auc 0.7000" in verdict.headline and "below" in verdict.headline


def test_interval_entirely_above_minimum_passes():
    y, s = _scored_test_set(77, 1_000, separation=2.5)
    verdict = decide(y, s, policy=GatePolicy(min_auc=0.70))
    assert verdict.figures["auc"].low > 0.70
    assert (verdict.decision, verdict.code) == ("PROMOTE", "first_version")
    assert [c.outcome for c in verdict.checks] == ["pass", "pass"]


def test_brier_straddling_its_maximum_is_inconclusive():
    y, s = _scored_test_set(77, 1_000, separation=2.5)
    brier = bootstrap_figures(y, s, n_bootstrap=300, confidence=0.95, seed=7)["brier"]
    verdict = decide(y, s, policy=GatePolicy(max_brier=(brier.low + brier.high) / 2))
    assert (verdict.decision, verdict.code) == ("HOLD", "inconclusive")
    assert verdict.checks[1].outcome == "inconclusive" and verdict.checks[0].outcome == "pass"
    # and a maximum below the whole interval rejects
    assert decide(y, s, policy=GatePolicy(max_brier=brier.low / 2)).decision == "REJECT"


def test_decisive_rows_scales_with_the_square_of_the_half_width():
    # side facing the threshold 0.05, gap 0.04: (0.05 / 0.04) ** 2 = 1.5625 times the rows
    assert decisive_rows(1_000, Interval(0.66, 0.61, 0.71), 0.70) == 1_563
    assert decisive_rows(1_000, Interval(0.72, 0.67, 0.77), 0.70) == 6_250
    assert decisive_rows(1_000, Interval(0.70, 0.65, 0.75), 0.70) is None


def test_champion_comparison_reports_inferior_and_inconclusive(data):
    y, strong, medium, _ = data
    inferior = decide(y, medium, strong, policy=GatePolicy(n_bootstrap=100))
    assert (inferior.decision, inferior.code) == ("HOLD", "inferior")
    assert inferior.figures["auc_delta"].high < -0.005
    assert set(inferior.figures) == {"auc", "brier", "champion_auc", "auc_delta"}


def test_verdict_round_trips_through_its_dict(data):
    y, strong, medium, _ = data
    verdict = decide(y, strong, medium, policy=GatePolicy(n_bootstrap=50))
    again = Verdict.from_dict(json.loads(json.dumps(verdict.to_dict())))
    assert again == verdict
    assert again.policy["n_bootstrap"] == 50


def test_a_value_on_its_threshold_asks_for_no_absurd_test_size():
    # Seen in a browser run: AUC equal to min_auc asked for "about 674,259,196,072,930" rows.
    from models.promotion import PRACTICAL_SIZE_FACTOR, Interval, decisive_rows

    assert decisive_rows(1_000, Interval(0.70, 0.66, 0.74), 0.68) in (4_000, 4_001)  # (0.04 / 0.02)^2 = 4, float rounding
    assert decisive_rows(1_000, Interval(0.7000001, 0.66, 0.74), 0.70) is None
    assert decisive_rows(1_000, Interval(0.70, 0.66, 0.74), 0.70) is None
    near = decisive_rows(1_000, Interval(0.704, 0.66, 0.74), 0.70)  # (0.044 / 0.004)^2 = 121 > 100
    assert near is None and PRACTICAL_SIZE_FACTOR == 100
