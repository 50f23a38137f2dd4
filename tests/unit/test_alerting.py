"""The alerting policy: validation, calibration, grading, and ticket decisions (debounce, cool-down, dedup, severity)."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from models.alerting import (
    Calibration,
    PastResult,
    Policy,
    PolicyInvalid,
    calibrate,
    decide_tickets,
    grade,
    poisson_interval,
    prediction_k,
    resolution_ready,
)
from models.monitoring import CHECKS, Measurement
from infra.monitoring.policy import DEFAULT_POLICY_PATH, load_policy

NIGHT = date(2026, 3, 10)


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(DEFAULT_POLICY_PATH.read_text())


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def with_entry(raw: dict, check: str, **changes) -> dict:
    data = copy.deepcopy(raw)
    data["checks"][check].update(changes)
    return data


# -- the policy file -----------------------------------------------------------------
def test_default_policy_has_every_check_and_the_issue_levels(policy):
    assert set(policy.checks) == set(CHECKS)
    assert policy["tenant_cost"].warn == 1.5  # issue 11: a tenant above 150% of its baseline is a finding (amber)
    for check in ("freshness", "provider_model", "unseen_categories", "null_rate_jump", "staleness"):
        assert policy[check].debounce_nights == 1, check  # first-night detection goals
    for check in ("data_drift", "prediction_drift", "segment_drift", "query_drift"):
        assert policy[check].calibrate and policy[check].debounce_nights >= 2, check


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"debounce_nights": "two"}, "policy.yaml: checks.data_drift.debounce_nights: must be an integer >= 1, got 'two'"),
        ({"debounce_nights": 0}, "checks.data_drift.debounce_nights: must be an integer >= 1, got 0"),
        ({"warn": "high"}, "checks.data_drift.warn: must be a number, got 'high'"),
        ({"enabled": "yes"}, "checks.data_drift.enabled: must be true or false, got 'yes'"),
        ({"k_fail": -1}, "checks.data_drift.k_fail: must be a number > 0"),
        ({"warn": 0.5, "fail": 0.3}, "checks.data_drift: warn (0.5) must be <= fail (0.3)"),
        ({"floor": 0.6, "ceiling": 0.5}, "checks.data_drift: floor (0.6) must be <= ceiling (0.5)"),
        ({"thresold": 1}, "checks.data_drift.thresold: unknown key; valid keys: warn, fail, floor"),
        ({"params": [1, 2]}, "checks.data_drift.params: must be a mapping"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_file_and_key(raw, change, message):
    with pytest.raises(PolicyInvalid) as exc:
        Policy.from_mapping(with_entry(raw, "data_drift", **change), source="policy.yaml")
    assert message in str(exc.value)
    assert str(exc.value).startswith("policy.yaml: ")


def test_unknown_and_missing_checks_and_sections_are_named(raw):
    data = copy.deepcopy(raw)
    data["checks"]["psi_alert"] = {"warn": 0.1, "fail": 0.2}
    with pytest.raises(PolicyInvalid, match=r"checks\.psi_alert: unknown key; valid keys: freshness, quarantine_share"):
        Policy.from_mapping(data)
    data = copy.deepcopy(raw)
    del data["checks"]["bad_feedback"]
    with pytest.raises(PolicyInvalid, match="checks: no entry for bad_feedback"):
        Policy.from_mapping(data)
    data = copy.deepcopy(raw)
    data["defaults"]["warn"] = 0.1  # levels are per check
    with pytest.raises(PolicyInvalid, match=r"defaults\.warn: unknown key; valid keys: calibrate, k_warn"):
        Policy.from_mapping(data)
    data = copy.deepcopy(raw)
    data["defaults"]["cooldown_nights"] = -1
    with pytest.raises(PolicyInvalid, match=r"policy.yaml: defaults\.cooldown_nights: must be an integer >= 0, got -1"):
        Policy.from_mapping(data)
    data = copy.deepcopy(raw)
    del data["checks"]["freshness"]["fail"]
    with pytest.raises(PolicyInvalid, match=r"checks\.freshness\.fail: missing"):
        Policy.from_mapping(data)
    with pytest.raises(PolicyInvalid, match="policy.yaml: frobnicate: unknown key; valid keys: version, defaults, checks"):
        Policy.from_mapping({**raw, "frobnicate": 1})


def test_a_below_check_needs_warn_above_fail(raw, monkeypatch):
    # Every shipped check is bad above its level; a check bad below (e.g. a hit rate) mirrors the ordering.
    monkeypatch.setitem(CHECKS, "hit_rate", replace(CHECKS["retrieval_quality"], direction="below"))
    data = copy.deepcopy(raw)
    data["checks"]["hit_rate"] = {"warn": 0.7, "fail": 0.8}
    with pytest.raises(PolicyInvalid, match=r"checks\.hit_rate: warn \(0\.7\) must be >= fail \(0\.8\).*bad below"):
        Policy.from_mapping(data)
    data["checks"]["hit_rate"] = {"warn": 0.8, "fail": 0.7}
    assert Policy.from_mapping(data)["hit_rate"].direction == "below"


def test_defaults_apply_and_entries_override(raw):
    data = copy.deepcopy(raw)
    data["defaults"]["cooldown_nights"] = 9
    data["checks"]["latency_p95"].pop("cooldown_nights", None)
    policy = Policy.from_mapping(data)
    assert policy["latency_p95"].cooldown_nights == 9
    assert policy["freshness"].cooldown_nights == 0  # its own value wins


def test_yaml_errors_name_file_and_line(tmp_path: Path):
    bad = tmp_path / "policy.yaml"
    bad.write_text("version: 1\nchecks:\n  data_drift: {warn: 0.2\n  fail: 0.3\n")
    with pytest.raises(PolicyInvalid, match=rf"{bad}: line \d+, column \d+: not valid YAML"):
        load_policy(bad)
    with pytest.raises(PolicyInvalid, match="cannot read the policy file"):
        load_policy(tmp_path / "missing.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(PolicyInvalid, match="is empty"):
        load_policy(empty)


def test_a_file_error_names_the_file(tmp_path: Path, raw):
    path = tmp_path / "team-policy.yaml"
    path.write_text(yaml.safe_dump(with_entry(raw, "tenant_cost", min_samples=2.5)))
    with pytest.raises(PolicyInvalid, match=rf"^{path}: checks\.tenant_cost\.min_samples: must be an integer >= 0, got 2\.5$"):
        load_policy(path)


# -- calibration -----------------------------------------------------------------------
def test_calibration_is_mean_plus_k_sigma(policy):
    entry = replace(policy["data_drift"], floor=None, ceiling=None, k_warn=2, k_fail=3)
    cal = calibrate([0.10, 0.20, 0.30, 0.20], entry)
    assert cal.calibrated and cal.n == 4
    assert cal.mean == pytest.approx(0.2)
    assert cal.std == pytest.approx(0.08165, rel=1e-3)  # sample standard deviation
    # k is applied as its prediction bound for 4 reference values
    assert cal.multipliers == (prediction_k(2, 4), prediction_k(3, 4))
    assert cal.warn == pytest.approx(0.2 + prediction_k(2, 4) * 0.08165, rel=1e-3)
    assert cal.fail == pytest.approx(0.2 + prediction_k(3, 4) * 0.08165, rel=1e-3)
    assert "applied as" in cal.note
    assert Calibration.from_dict(cal.to_dict()) == cal


def test_k_is_widened_for_a_sigma_from_few_reference_values():
    # Student's t prediction bound of one new value: wide from a handful of nights, k itself from many
    assert prediction_k(3, 6) == pytest.approx(5.95, abs=0.01)
    assert prediction_k(3, 28) == pytest.approx(3.36, abs=0.01)
    assert prediction_k(3, 10_000) == pytest.approx(3.0, abs=0.01)
    assert prediction_k(2, 5) > prediction_k(2, 14) > prediction_k(2, 60) > 2
    with pytest.raises(ValueError, match="at least 2"):
        prediction_k(3, 1)


def test_a_level_from_few_quiet_nights_is_not_tighter_than_their_noise(policy):
    # Given the first nights of a new index: four quiet query-drift figures that happen to sit close together
    # (development seed 51: its steady quiet level, from 28 nights, is about 0.62)
    entry = policy["query_drift"]  # floor 0.58, ceiling 0.8, k_fail 3
    early = calibrate([0.5013, 0.5263, 0.5116, 0.5252], entry)
    # Then the fail level is not the floor a face-value sigma gives (0.516 + 3 x 0.012 = 0.552 -> 0.58)
    face_value = early.mean + 3 * early.std
    assert face_value < entry.floor < early.fail
    # so the next quiet night's 0.5873, within the check's real noise, is not red
    assert grade(Measurement("query_drift", 0.5873, 109), entry, early).status != "red"
    assert 0.5873 > max(face_value, entry.floor)  # red at face value: with 0.6188 the next night, a false re-index ticket
    # A calibration stored without the applied multipliers (before they existed) grades with k as it is
    old = {k: v for k, v in early.to_dict().items() if k not in ("k_warn_applied", "k_fail_applied")}
    assert Calibration.from_dict(old).multipliers == (entry.k_warn, entry.k_fail)


def test_calibration_is_clamped_by_floor_and_ceiling(policy):
    entry = replace(policy["data_drift"], floor=0.15, ceiling=0.5)
    quiet = calibrate([0.05, 0.05, 0.05, 0.05], entry)  # a noise-free reference: sigma 0
    assert (quiet.warn, quiet.fail) == (0.15, 0.15)
    assert quiet.clamped == ("warn:floor", "fail:floor")
    noisy = calibrate([0.0, 0.4, 0.1, 0.5, 0.0], entry)
    assert noisy.fail == 0.5 and "fail:ceiling" in noisy.clamped


def test_calibration_mirrors_for_a_below_check(policy):
    entry = replace(policy["data_drift"], warn=0.8, fail=0.7, floor=0.85, ceiling=0.6, k_warn=2, k_fail=3)
    cal = calibrate([0.90, 0.95, 0.85, 0.90], entry, direction="below")
    assert cal.fail < cal.warn < cal.mean and cal.clamped == ("fail:ceiling",)  # 4 values: k 3 applied as 10.3
    assert cal.warn == pytest.approx(0.9 - prediction_k(2, 4) * cal.std)
    quiet = calibrate([0.9, 0.9, 0.9], entry, direction="below")
    assert (quiet.warn, quiet.fail) == (0.85, 0.85)  # never tighter than floor: for a below check an upper bound
    loose = calibrate([0.9, 0.1, 0.9, 0.1], entry, direction="below")
    assert loose.fail == 0.6 and "fail:ceiling" in loose.clamped


def test_too_few_reference_values_fall_back_to_fixed_levels(policy):
    entry = policy["data_drift"]
    cal = calibrate([0.1, None, float("nan"), 0.2], entry)
    assert not cal.calibrated and cal.n == 2
    assert (cal.warn, cal.fail) == (entry.warn, entry.fail)
    assert "calibration needs 3" in cal.note
    off = calibrate([0.1, 0.2, 0.3], replace(entry, calibrate=False))
    assert not off.calibrated and off.fail == entry.fail and "calibrate: false" in off.note


def test_a_share_check_is_calibrated_per_night_size(policy):
    # Given a share check whose reference alternates weekday (180 questions) and weekend (90) nights
    entry = replace(policy["unanswerable_share"], floor=0.0, ceiling=1.0, k_warn=2, k_fail=3)
    values = [0.15, 0.16, 0.14, 0.15, 0.12, 0.19, 0.15, 0.16, 0.14, 0.10]
    sizes = [180, 180, 180, 180, 90, 90, 180, 180, 180, 90]
    cal = calibrate(values, entry, sizes=sizes)
    # Then p is the pooled share and sigma_z the spread in binomial units (never below 1)
    p = sum(v * n for v, n in zip(values, sizes)) / sum(sizes)
    assert cal.per_sample and cal.mean == pytest.approx(p) and cal.sigma_z >= 1.0
    assert cal.sample_n == 180 and Calibration.from_dict(cal.to_dict()) == cal
    # and a night of half the questions gets wider levels, by sqrt(2)
    weekday, weekend = cal.at(180), cal.at(90)
    assert weekend.fail - p == pytest.approx((weekday.fail - p) * 2 ** 0.5)
    assert weekday.fail == pytest.approx(p + prediction_k(3, 10) * cal.sigma_z * (p * (1 - p) / 180) ** 0.5)
    # so the same share is red on a weekday and not on a quiet weekend night
    share = (weekday.fail + weekend.fail) / 2
    assert grade(Measurement("unanswerable_share", share, 180), entry, cal).status == "red"
    quiet = grade(Measurement("unanswerable_share", share, 90), entry, cal)
    assert quiet.status != "red" and quiet.calibration["sample_n"] == 90 and "at n=90" in Calibration.from_dict(quiet.calibration).describe()
    # and the floor still bounds the per-night levels
    floored = replace(cal, floor=0.4).at(90)
    assert floored.warn == 0.4 and "warn:floor" in floored.clamped


def test_a_share_past_a_fixed_level_within_its_noise_is_amber_not_red(policy):
    entry = policy["unanswerable_share"]  # fixed fail 0.25 until calibrated
    # 0.255 of 161 questions: the 95% interval (0.19, 0.33) still holds 0.25
    near = grade(Measurement("unanswerable_share", 0.255, 161), entry)
    assert near.status == "amber" and "within sampling noise" in near.summary
    # 0.40 of 161: past 0.25 beyond any noise
    assert grade(Measurement("unanswerable_share", 0.40, 161), entry).status == "red"
    # 0.30 of 2,000: the interval (0.28, 0.32) is past 0.25
    assert grade(Measurement("unanswerable_share", 0.30, 2000), entry).status == "red"
    # a check that is not a share keeps its plain fixed levels
    assert grade(Measurement("data_drift", 0.31, 2000), policy["data_drift"]).status == "red"
    # and a calibrated share check's per-night levels (28 reference nights) already hold its noise
    cal = calibrate([0.15, 0.16, 0.14, 0.15] * 7, replace(entry, floor=0.0, ceiling=1.0), sizes=[160] * 28)
    assert grade(Measurement("unanswerable_share", 0.255, 161), entry, cal).status == "red"


def test_a_volume_past_fail_on_a_count_within_its_noise_is_amber_not_red(policy):
    entry = policy["tenant_cost"]  # fail 1.75
    # Given a weekend night of 40 questions against a baseline of 29 a night (topic-shift seed 55): the
    # count's 95% interval (28.6, 54.5) still holds 29, so x1.87 tokens is two ordinary swings at once
    assert poisson_interval(40)[0] == pytest.approx(28.58, abs=0.01)
    busy = grade(Measurement("tenant_cost", 1.87, 40, {"baseline_count": 29.0}, subject="underwriting"), entry)
    assert busy.status == "amber" and "volume is within sampling noise" in busy.summary and "95% bound 28.6" in busy.summary
    # A tripled tenant's count is far past its baseline's even on a weekend: red
    spike = grade(Measurement("tenant_cost", 2.43, 88, {"baseline_count": 28.0}, subject="underwriting"), entry)
    assert spike.status == "red"
    # the same figure on a large count is red, and a figure under fail is graded as before
    assert grade(Measurement("tenant_cost", 1.87, 400, {"baseline_count": 290.0}, subject="x"), entry).status == "red"
    assert grade(Measurement("tenant_cost", 1.6, 40, {"baseline_count": 29.0}, subject="x"), entry).status == "amber"
    # no baseline count in the evidence (an older measurement): the plain levels
    assert grade(Measurement("tenant_cost", 1.87, 40, subject="x"), entry).status == "red"
    # tokens per question have their own check, without a volume rule
    assert grade(Measurement("tenant_cost_per_question", 1.87, 40, {"baseline_count": 29.0}, subject="x"),
                 policy["tenant_cost_per_question"]).status == "red"


def test_a_share_check_without_sizes_or_noise_uses_plain_levels(policy):
    entry = replace(policy["unanswerable_share"], floor=0.0, ceiling=1.0)
    plain = calibrate([0.1, 0.2, 0.15], entry)
    assert plain.calibrated and not plain.per_sample
    never = calibrate([0.0, 0.0, 0.0], entry, sizes=[100, 100, 100])  # a share that never moved off 0
    assert never.calibrated and not never.per_sample
    assert not calibrate([0.1, 0.2, 0.15], policy["data_drift"], sizes=[10, 10, 10]).per_sample  # not a share
    with pytest.raises(ValueError, match="2 sizes for 3"):
        calibrate([0.1, 0.2, 0.15], entry, sizes=[1, 2])


# -- grading ---------------------------------------------------------------------------
def test_grading_against_fixed_and_calibrated_levels(policy):
    entry = policy["data_drift"]  # warn 0.2, fail 0.3, min_samples 500
    assert grade(Measurement("data_drift", 0.05, 2000), entry).status == "green"
    amber = grade(Measurement("data_drift", 0.25, 2000), entry)
    assert amber.status == "amber" and amber.summary == "data_drift 0.25 > warn 0.2 (fail 0.3, n=2,000)"
    red = grade(Measurement("data_drift", 0.42, 2000), entry)
    assert red.status == "red" and red.summary == "data_drift 0.42 > fail 0.3 (n=2,000)"
    assert grade(Measurement("data_drift", 0.3, 2000), entry).status == "amber"  # strictly beyond fail is red
    cal = calibrate([0.01, 0.02, 0.03, 0.02], replace(entry, floor=0.05))
    tight = grade(Measurement("data_drift", 0.12, 2000), entry, cal)
    assert tight.status == "red" and tight.fail == cal.fail and tight.calibration["calibrated"] is True


def test_insufficient_data_is_its_own_status(policy):
    few = grade(Measurement("data_drift", 0.9, 120), policy["data_drift"])
    assert few.status == "insufficient" and few.summary == "data_drift insufficient data (n=120 < min 500)"
    none = grade(Measurement("auc_drop", None, 0, note="no labels matured"), policy["auc_drop"])
    assert none.status == "insufficient" and "no labels matured" in none.summary


def test_subjects_are_named_and_a_mismatched_entry_is_refused(policy):
    line = grade(Measurement("tenant_cost", 3.1, 400, subject="acme"), policy["tenant_cost"])
    assert line.summary.startswith("tenant_cost[acme] 3.1 > fail 1.75")
    with pytest.raises(ValueError, match="cannot grade"):
        grade(Measurement("tenant_cost", 3.1, 400), policy["data_drift"])


# -- tickets ---------------------------------------------------------------------------
def red(policy, check: str, value: float = 0.9, n: int = 2000, subject=None):
    return grade(Measurement(check, value, n, subject=subject, evidence={"x": 1}), policy[check])


def past(check: str, statuses: str, subject=None, last: date = NIGHT - timedelta(days=1)) -> list[PastResult]:
    """History from a string read oldest to newest, ending the night before ``last + 1``: r red, g green, i insufficient, '-' no row."""
    code = {"r": "red", "g": "green", "a": "amber", "i": "insufficient"}
    out = []
    for back, ch in enumerate(reversed(statuses)):
        if ch != "-":
            out.append(PastResult(last - timedelta(days=back), check, subject, code[ch]))
    return out


def decide(policy, results, history=(), open_tickets=None, last_resolved=None, **kw):
    return decide_tickets(NIGHT, results, history, open_tickets or {}, last_resolved or {}, policy, **kw)


def test_debounce_waits_for_consecutive_red_nights(policy):
    drift = [red(policy, "data_drift")]  # debounce 2
    assert decide(policy, drift) == []
    held = decide(policy, drift, include_held=True)
    assert [d.action for d in held] == ["held"] and "data_drift red 1 of 2 nights" in held[0].reason
    assert decide(policy, drift, past("data_drift", "gr"))[0].action == "open"
    assert decide(policy, drift, past("data_drift", "rg")) == []  # a green night ends the streak
    assert decide(policy, drift, past("data_drift", "r-")) == []  # so does a night with no result


def test_an_insufficient_night_neither_breaks_nor_extends_a_streak(policy):
    drift = [red(policy, "segment_drift")]  # debounce 3
    assert decide(policy, drift, past("segment_drift", "rir"))[0].evidence[0]["streak"] == 3
    assert decide(policy, drift, past("segment_drift", "gri")) == []  # red, skipped, red: 2 of 3


def test_a_long_run_of_insufficient_nights_ends_a_streak(policy):
    drift = [red(policy, "data_drift")]  # debounce 2
    assert decide(policy, drift, past("data_drift", "rii"))[0].action == "open"  # a weekend is skipped
    assert decide(policy, drift, past("data_drift", "riii")) == []  # a red a week earlier is another night


def test_first_night_checks_open_at_once_and_green_or_amber_never_do(policy):
    fresh = grade(Measurement("freshness", 1, 3, evidence={"missing": ["labels"]}), policy["freshness"])
    decisions = decide(policy, [fresh])
    assert [(d.kind, d.asset, d.action, d.severity) for d in decisions] == [("ops", "risk-scorer", "open", "high")]
    assert "tandem backfill" in decisions[0].suggested_action
    quiet = [grade(Measurement("data_drift", 0.25, 2000), policy["data_drift"]),
             grade(Measurement("freshness", 0, 3), policy["freshness"]),
             grade(Measurement("null_rate_jump", 0.9, 10), policy["null_rate_jump"])]  # insufficient
    assert decide(policy, quiet) == []


def test_dedup_updates_the_open_ticket(policy):
    drift = [red(policy, "data_drift")]
    decisions = decide(policy, drift, open_tickets={("retrain", "risk-scorer"): 7})
    assert [(d.action, d.ticket_id) for d in decisions] == [("update", 7)]  # no debounce for a repeat


def test_one_decision_per_kind_and_asset(policy):
    results = [red(policy, "null_rate_jump"), red(policy, "unseen_categories", 0.02),
               red(policy, "tenant_cost", 2.0, 100, subject="acme"), red(policy, "tenant_cost", 2.5, 100, subject="beta"),
               red(policy, "latency_p95", 9000, 100)]  # latency opens no ticket
    hist = past("tenant_cost", "r", subject="acme") + past("tenant_cost", "g", subject="beta")
    decisions = decide(policy, results, hist)
    assert [(d.kind, d.action) for d in decisions] == [("retrain", "open"), ("cost-review", "open")]
    retrain = decisions[0]
    assert {e["check"] for e in retrain.evidence} == {"null_rate_jump", "unseen_categories"}
    assert retrain.severity == "high"  # two distinct red checks
    assert len(decisions[1].evidence) == 2  # both tenants in evidence; acme met the debounce


def test_cool_down_holds_a_new_ticket_after_a_resolution(policy):
    drift = [red(policy, "unseen_categories", 0.02)]  # debounce 1, cool-down 7
    last = {("retrain", "risk-scorer"): NIGHT - timedelta(days=7)}
    held = decide(policy, drift, last_resolved=last, include_held=True)
    assert [d.action for d in held] == ["held"] and "cool-down" in held[0].reason
    assert decide(policy, drift, last_resolved=last) == []
    later = {("retrain", "risk-scorer"): NIGHT - timedelta(days=8)}
    assert decide(policy, drift, last_resolved=later)[0].action == "open"
    fresh = [grade(Measurement("freshness", 1, 3), policy["freshness"])]  # cool-down 0
    assert decide(policy, fresh, last_resolved={("ops", "risk-scorer"): NIGHT - timedelta(days=1)})[0].action == "open"


def test_severity_medium_unless_wide_margin(policy):
    assert decide(policy, [red(policy, "unseen_categories", 0.012)])[0].severity == "medium"
    assert decide(policy, [red(policy, "unseen_categories", 0.02)])[0].severity == "high"  # 2x the fail level


def test_disabled_checks_never_ticket(policy, raw):
    data = with_entry(raw, "provider_model", enabled=False)
    off = Policy.from_mapping(data)
    line = grade(Measurement("provider_model", 1, 10), off["provider_model"])
    assert line.status == "red" and "disabled" in line.summary
    assert decide_tickets(NIGHT, [line], [], {}, {}, off) == []


def test_resolution_needs_a_promotion_and_a_green_night(policy):
    ticket = {"kind": "retrain", "asset": "risk-scorer", "remedy": {"promoted": True}}
    green = [grade(Measurement(c, 0.0, 5000), policy[c]) for c in ("data_drift", "prediction_drift", "auc_drop")]
    assert resolution_ready(ticket, green)
    assert not resolution_ready({**ticket, "remedy": {"promoted": False}}, green)
    assert not resolution_ready({**ticket, "remedy": None}, green)
    assert not resolution_ready(ticket, green + [grade(Measurement("data_drift", 0.25, 5000), policy["data_drift"])])
    assert not resolution_ready(ticket, green + [grade(Measurement("auc_drop", None, 0), policy["auc_drop"])])
    assert not resolution_ready(ticket, [])  # nothing measured is not green


def test_resolution_looks_at_the_checks_that_failed_and_any_red_of_the_kind(policy):
    ticket = {"kind": "retrain", "asset": "risk-scorer", "remedy": {"promoted": True},
              "evidence": [{"night": "2026-03-01", "check": "data_drift", "subject": None}]}
    drift_green = grade(Measurement("data_drift", 0.0, 5000), policy["data_drift"])
    labels_pending = grade(Measurement("auc_drop", None, 0), policy["auc_drop"])  # insufficient: no labels matured tonight
    assert resolution_ready(ticket, [drift_green, labels_pending])
    drift_short = grade(Measurement("data_drift", None, 3), policy["data_drift"])
    assert not resolution_ready(ticket, [drift_short, labels_pending])  # the failed check is not shown green yet
    other_red = grade(Measurement("null_rate_jump", 0.5, 5000), policy["null_rate_jump"])
    assert not resolution_ready(ticket, [drift_green, other_red])  # another check of the kind is red
