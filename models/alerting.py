"""The alerting policy: levels per check, calibration, grading and ticket decisions.

Checks only measure (``models.monitoring.Measurement``); this module decides
what the figures mean, in four pure steps the nightly loop calls in order:

1. ``Policy.from_mapping``: the policy file (one entry per check in
   ``CHECKS``: fixed warn / fail levels, calibration multipliers and bounds,
   minimum sample, debounce, cool-down, measurement ``params``), validated
   with errors that name the file and the key path.
2. ``calibrate``: a check's alarm levels from its reference period's own
   night-to-night variability (mean ± k·σ over reference chunks, NannyML's
   idea; k widened to a prediction bound when σ rests on few chunks), kept
   within ``[floor, ceiling]`` so a noise-free reference does not alarm on
   trivial moves and a noisy one cannot hide a real shift.
3. ``grade``: a measurement against its levels -> a ``CheckResult`` (green,
   amber, red, or insufficient when the sample is too small).
4. ``decide_tickets``: which ``(kind, asset)`` tickets open or get a new
   failure added, after debounce, cool-down and dedup.

Pure: arguments in, values out; no I/O.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from typing import Any, Literal, Protocol

from models.monitoring import CHECKS, CheckResult, Direction, Measurement

MIN_CALIBRATION_VALUES = 3  # fewer reference values give no usable sigma: fixed levels apply
HIGH_MARGIN = 0.5  # a red figure beyond its fail level by half the level (or more) is "high"

Severity = Literal["medium", "high"]
DecisionAction = Literal["open", "update", "held"]


class PolicyInvalid(ValueError):
    """The policy file is malformed; the message names the file and the key path."""


# -- the policy -----------------------------------------------------------------
@dataclass(frozen=True)
class CheckPolicy:
    """How one check is graded and when it opens a ticket.

    Attributes:
        check: a key of ``CHECKS``.
        warn: the fixed warn level (amber beyond it).
        fail: the fixed fail level (red beyond it).
        calibrate: derive the levels from the reference period (``calibrate``)
            instead of using ``warn`` / ``fail`` as they are.
        k_warn: sigma multiplier of the calibrated warn level.
        k_fail: sigma multiplier of the calibrated fail level.
        floor: the tightest a calibrated level may be (for an "above" check:
            never below it), so a noise-free reference does not alarm on
            trivial moves. None: no bound.
        ceiling: the loosest a calibrated level may be (for an "above" check:
            never above it). None: no bound.
        min_samples: below this ``Measurement.n`` the night is "insufficient".
        debounce_nights: consecutive red nights (tonight included) before a
            ticket opens; 1 opens on the first red night.
        cooldown_nights: after a ticket of this (kind, asset) is resolved, no
            new ticket opens for this many nights.
        enabled: False: still graded and shown, never a ticket.
        params: measurement parameters the check itself reads (a window, a
            score level); the policy never interprets them.
    """

    check: str
    warn: float
    fail: float
    calibrate: bool = False
    k_warn: float = 2.0
    k_fail: float = 3.0
    floor: float | None = None
    ceiling: float | None = None
    min_samples: int = 1
    debounce_nights: int = 1
    cooldown_nights: int = 0
    enabled: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def direction(self) -> Direction:
        return CHECKS[self.check].direction

    @property
    def asset(self) -> str:
        return CHECKS[self.check].asset

    @property
    def ticket(self) -> str | None:
        return CHECKS[self.check].ticket

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["params"] = dict(self.params)
        return out


# What a policy file may set, and where. Defaults hold what is the same across
# checks; levels, bounds and params are a check's own.
_DEFAULTABLE = ("calibrate", "k_warn", "k_fail", "min_samples", "debounce_nights", "cooldown_nights", "enabled")
_CHECK_KEYS = ("warn", "fail", "floor", "ceiling", "params") + _DEFAULTABLE
_TOP_KEYS = ("version", "defaults", "checks")
_BUILTIN_DEFAULTS: dict[str, Any] = {
    "calibrate": False, "k_warn": 2.0, "k_fail": 3.0, "min_samples": 1,
    "debounce_nights": 1, "cooldown_nights": 0, "enabled": True,
}


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else f"'{value}'"


def _number(value: Any, where: str, *, positive: bool = False, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PolicyInvalid(f"{where}: must be a number{' or null' if optional else ''}, got {_show(value)}")
    if positive and value <= 0:
        raise PolicyInvalid(f"{where}: must be a number > 0, got {_show(value)}")
    return float(value)


def _integer(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PolicyInvalid(f"{where}: must be an integer >= {minimum}, got {_show(value)}")
    return value


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise PolicyInvalid(f"{where}: must be true or false, got {_show(value)}")
    return value


def _check_keys(data: Any, where: str, valid: Sequence[str], source: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise PolicyInvalid(f"{source}: {where or 'the file'}: must be a mapping, got {type(data).__name__}")
    for key in data:
        if key not in valid:
            path = f"{where}.{key}" if where else str(key)
            raise PolicyInvalid(f"{source}: {path}: unknown key; valid keys: {', '.join(valid)}")
    return data


def _parse_fields(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Type-check the fields present in ``raw`` (a defaults section or one check's entry)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{where}.{key}"
        if key in ("warn", "fail"):
            out[key] = _number(value, path)
        elif key in ("floor", "ceiling"):
            out[key] = _number(value, path, optional=True)
        elif key in ("k_warn", "k_fail"):
            out[key] = _number(value, path, positive=True)
        elif key == "min_samples":
            out[key] = _integer(value, path, 0)
        elif key == "debounce_nights":
            out[key] = _integer(value, path, 1)
        elif key == "cooldown_nights":
            out[key] = _integer(value, path, 0)
        elif key in ("calibrate", "enabled"):
            out[key] = _boolean(value, path)
        elif key == "params":
            if value is None:
                value = {}
            if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
                raise PolicyInvalid(f"{path}: must be a mapping with string keys, got {_show(value)}")
            out[key] = dict(value)
    return out


def _check_order(entry: CheckPolicy, where: str) -> None:
    """warn before fail, floor before ceiling, k_warn before k_fail, in the check's bad direction."""
    above = entry.direction == "above"
    word = "above" if above else "below"
    tighter = (lambda a, b: a <= b) if above else (lambda a, b: a >= b)
    if not tighter(entry.warn, entry.fail):
        sign = "<=" if above else ">="
        raise PolicyInvalid(
            f"{where}: warn ({entry.warn:g}) must be {sign} fail ({entry.fail:g}): "
            f"{entry.check} is bad {word} its level, so warn comes first"
        )
    if entry.floor is not None and entry.ceiling is not None and not tighter(entry.floor, entry.ceiling):
        sign = "<=" if above else ">="
        raise PolicyInvalid(f"{where}: floor ({entry.floor:g}) must be {sign} ceiling ({entry.ceiling:g}) for a check bad {word} its level")
    if entry.k_warn > entry.k_fail:
        raise PolicyInvalid(f"{where}: k_warn ({entry.k_warn:g}) must be <= k_fail ({entry.k_fail:g})")


@dataclass(frozen=True)
class Policy:
    """Every check's ``CheckPolicy``, read from one file.

    Attributes:
        checks: check name -> its entry (one for every key of ``CHECKS``).
        source: where it was read from, for messages and the scorecard.
    """

    checks: Mapping[str, CheckPolicy]
    source: str = "policy.yaml"

    def __getitem__(self, check: str) -> CheckPolicy:
        return self.entry(check)

    def entry(self, check: str) -> CheckPolicy:
        """The entry of ``check``; a KeyError naming the policy file when it has none."""
        try:
            return self.checks[check]
        except KeyError:
            raise KeyError(f"{self.source}: no entry for check {check!r}") from None

    def params(self) -> dict[str, dict[str, Any]]:
        """Every check's measurement ``params`` (the ``policy_params`` the measuring compositions take)."""
        return {name: dict(e.params) for name, e in self.checks.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "checks": {name: e.to_dict() for name, e in self.checks.items()}}

    @classmethod
    def from_mapping(cls, data: Any, source: str = "policy.yaml") -> "Policy":
        """Validate a parsed policy file.

        The file has ``version`` (1), ``defaults`` (any of calibrate, k_warn,
        k_fail, min_samples, debounce_nights, cooldown_nights, enabled) and
        ``checks``: one entry per key of ``CHECKS``, each with ``warn`` and
        ``fail`` and any default overridden, plus ``floor``, ``ceiling`` and
        ``params``.

        Args:
            data: the parsed YAML (or any mapping).
            source: the file name used in error messages.

        Returns:
            The policy.

        Raises:
            PolicyInvalid: naming ``source`` and the key path, e.g.
                ``policy.yaml: checks.data_drift.debounce_nights: must be an
                integer >= 1, got 'two'``; unknown keys and check names list
                the valid ones; missing checks are listed.
        """
        top = _check_keys(data, "", _TOP_KEYS, source)
        version = top.get("version", 1)
        if version != 1:
            raise PolicyInvalid(f"{source}: version: must be 1, got {_show(version)}")
        defaults_raw = top.get("defaults") or {}
        _check_keys(defaults_raw, "defaults", _DEFAULTABLE, source)
        try:
            defaults = {**_BUILTIN_DEFAULTS, **_parse_fields(defaults_raw, "defaults")}
        except PolicyInvalid as exc:
            raise PolicyInvalid(f"{source}: {exc}") from None
        checks_raw = top.get("checks")
        if checks_raw is None:
            raise PolicyInvalid(f"{source}: checks: missing; it needs one entry per check: {', '.join(CHECKS)}")
        _check_keys(checks_raw, "checks", tuple(CHECKS), source)
        missing = [name for name in CHECKS if name not in checks_raw]
        if missing:
            raise PolicyInvalid(f"{source}: checks: no entry for {', '.join(missing)} (every check needs its warn and fail levels)")
        entries: dict[str, CheckPolicy] = {}
        for name in CHECKS:
            where = f"checks.{name}"
            raw = _check_keys(checks_raw[name], where, _CHECK_KEYS, source)
            try:
                fields = {**defaults, **_parse_fields(raw, where)}
                for level in ("warn", "fail"):
                    if level not in fields:
                        raise PolicyInvalid(f"{where}.{level}: missing (a number)")
                entry = CheckPolicy(check=name, **fields)
                _check_order(entry, where)
            except PolicyInvalid as exc:
                raise PolicyInvalid(f"{source}: {exc}") from None
            entries[name] = entry
        return cls(checks=entries, source=source)


# -- calibration ----------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """The levels a check is graded against, and how they were derived.

    Attributes:
        check: the check.
        warn: the applied warn level.
        fail: the applied fail level.
        calibrated: True when derived from the reference values; False when
            the policy's fixed levels apply (calibration off, or too few values).
        mean: mean of the reference values (None without any).
        std: their sample standard deviation (None with fewer than 2).
        n: how many reference values.
        k_warn, k_fail, floor, ceiling: the policy's figures used.
        clamped: which levels a bound moved ("warn:floor", "fail:ceiling", ...).
        note: one line for the scorecard.
        version: the model or index version the levels belong to (``"v3"``,
            ``"docs-v4"``), set when they are stored with it; None otherwise.
        per_sample: the check's figure is a share of ``n`` items (``CheckSpec.share``):
            ``mean`` is the reference's pooled share p, and the levels of a night
            are p ± k·sigma_z·sqrt(p(1-p)/n) for that night's n (``at``), so a
            quiet weekend's 90 questions are not held to a weekday's 180.
        sigma_z: the reference nights' spread in units of their own binomial
            noise (1 = pure sampling noise; never below 1). None unless per_sample.
        sample_n: the n that ``warn`` and ``fail`` are for (per_sample only): the
            reference's median n as stored, tonight's n once graded.
        k_warn_applied, k_fail_applied: the multipliers actually applied to σ
            (``prediction_k``: k widened for a σ estimated from ``n`` reference
            values); None (a calibration stored before they existed): k as is.
    """

    check: str
    warn: float
    fail: float
    calibrated: bool
    mean: float | None
    std: float | None
    n: int
    k_warn: float
    k_fail: float
    floor: float | None
    ceiling: float | None
    clamped: tuple[str, ...] = ()
    note: str = ""
    version: str | None = None
    per_sample: bool = False
    sigma_z: float | None = None
    sample_n: int | None = None
    k_warn_applied: float | None = None
    k_fail_applied: float | None = None

    @property
    def multipliers(self) -> tuple[float, float]:
        """(warn, fail) multipliers of σ this calibration applies."""
        return (self.k_warn if self.k_warn_applied is None else self.k_warn_applied,
                self.k_fail if self.k_fail_applied is None else self.k_fail_applied)

    def at(self, n: int) -> "Calibration":
        """The levels for a night of ``n`` items (a per-sample calibration); any other calibration as it is."""
        if not (self.per_sample and self.calibrated and n and n > 0 and self.mean is not None and self.sigma_z is not None):
            return self
        sigma = self.sigma_z * math.sqrt(self.mean * (1.0 - self.mean) / n)
        direction = CHECKS[self.check].direction
        sign = 1.0 if direction == "above" else -1.0
        clamped: list[str] = []
        k_warn, k_fail = self.multipliers
        warn = _clamp_to(self.mean + sign * k_warn * sigma, self.floor, self.ceiling, direction, "warn", clamped)
        fail = _clamp_to(self.mean + sign * k_fail * sigma, self.floor, self.ceiling, direction, "fail", clamped)
        return replace(self, warn=warn, fail=fail, std=sigma, sample_n=int(n), clamped=tuple(clamped))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["clamped"] = list(self.clamped)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Calibration":
        """The inverse of ``to_dict`` (a calibration stored with a model or index version)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in dict(data).items() if k in known}
        values["clamped"] = tuple(values.get("clamped") or ())
        return cls(**values)

    def describe(self) -> str:
        """One line for the scorecard: where the levels come from ("calibrated on v3: warn 0.07, fail 0.12 ...")."""
        levels = f"warn {self.warn:.4g}, fail {self.fail:.4g}"
        if not self.calibrated:
            return f"{levels}: {self.note}" if self.note else levels
        where = f"calibrated on {self.version}" if self.version else "calibrated"
        if self.per_sample and self.sample_n:
            levels += f" at n={self.sample_n:,}"
        return f"{where}: {levels} ({self.note})"


def policy_fingerprint(entry: CheckPolicy) -> str:
    """What of a policy entry a calibration depends on, as a short stable string.

    A calibration stored with a model or index version is reused only while
    this is unchanged: a new k, floor or ceiling recalibrates.
    """
    method = ";prediction_k" + (";per_sample" if CHECKS[entry.check].share else "")
    return f"k_warn={entry.k_warn:g};k_fail={entry.k_fail:g};floor={entry.floor};ceiling={entry.ceiling};" \
           f"warn={entry.warn:g};fail={entry.fail:g};calibrate={entry.calibrate}{method}"


def _clamp(level: float, entry: CheckPolicy, direction: Direction, name: str, clamped: list[str]) -> float:
    return _clamp_to(level, entry.floor, entry.ceiling, direction, name, clamped)


def _clamp_to(level: float, floor: float | None, ceiling: float | None, direction: Direction, name: str,
              clamped: list[str]) -> float:
    # In the bad direction, "tight" is close to normal: low for an "above" check, high for a "below" one.
    if direction == "above":
        if floor is not None and level < floor:
            clamped.append(f"{name}:floor")
            return floor
        if ceiling is not None and level > ceiling:
            clamped.append(f"{name}:ceiling")
            return ceiling
    else:
        if floor is not None and level > floor:
            clamped.append(f"{name}:floor")
            return floor
        if ceiling is not None and level < ceiling:
            clamped.append(f"{name}:ceiling")
            return ceiling
    return level


def prediction_k(k: float, n: int) -> float:
    """The multiplier of a σ estimated from ``n`` reference values that bounds a new night as ``k``·σ would.

    ``mean + k·σ`` with the true mean and σ leaves a fraction Φ(−k) of quiet
    nights above it (k = 3: 0.135%). With both estimated from ``n`` values the
    same fraction needs the prediction bound of one new value:
    ``t_{n−1}(Φ(k)) · sqrt(1 + 1/n)`` (Student's t): 3 becomes 5.95 at 6 values,
    3.82 at 14, 3.36 at 28 and 3.16 at 60. A σ from a handful of quiet nights is
    as often too small as not; taken at face value it sets a level far
    tighter than the check's real noise (the first nights of a new index).
    """
    if n < 2:
        raise ValueError(f"a prediction bound needs at least 2 reference values, got {n}")
    from scipy.stats import norm, t

    return float(t.ppf(norm.cdf(k), n - 1) * math.sqrt(1.0 + 1.0 / n))


def calibrate(
    reference_values: Sequence[float | None],
    entry: CheckPolicy,
    direction: Direction | None = None,
    sizes: Sequence[int] | None = None,
) -> Calibration:
    """Alarm levels from the reference period's night-to-night variability.

    warn = mean + k_warn·σ and fail = mean + k_fail·σ for a check bad above
    its level (mean − k·σ for one bad below), each clamped so it is never
    tighter than ``floor`` nor looser than ``ceiling``. σ is the sample
    standard deviation of the reference values (one per reference chunk, e.g.
    the check measured on each night of the reference window). Because mean
    and σ are estimates from those ``n`` values, each k is applied as its
    prediction bound ``prediction_k(k, n)`` (Student's t): a level from 5
    reference nights is not held to be as sure as one from 60.

    A share check (``CheckSpec.share``) calibrated with each reference
    night's ``sizes`` gets levels per night instead (Laney's p′ chart): p is
    the pooled reference share, each night's z = (share − p) / sqrt(p(1−p)/n),
    sigma_z the standard deviation of those z (at least 1: sampling noise is
    the least there is), and a night of n items is graded against
    p ± k·sigma_z·sqrt(p(1−p)/n) (``Calibration.at``; k as its prediction bound
    for the reference nights behind sigma_z). One σ for all nights
    would hold a weekend night of half the traffic, whose share is noisier,
    to a weekday's level and raise false alarms on quiet traffic.

    Args:
        reference_values: the check's figure on each reference chunk; None and
            NaN values are dropped.
        entry: the check's policy entry.
        direction: the bad direction; default the check's own (``CHECKS``).
        sizes: each reference value's ``n`` (same order), for a share check.

    Returns:
        The calibration. With calibration off, or fewer than 3 usable values,
        the policy's fixed levels apply and ``note`` says why.
    """
    direction = direction or entry.direction
    if sizes is not None and len(sizes) != len(reference_values):
        raise ValueError(f"{entry.check}: {len(sizes)} sizes for {len(reference_values)} reference values")
    pairs = [(float(v), int(sizes[i]) if sizes is not None else 0) for i, v in enumerate(reference_values)
             if v is not None and math.isfinite(float(v))]
    values = [v for v, _ in pairs]
    n = len(values)
    mean = statistics.fmean(values) if values else None
    std = statistics.stdev(values) if n >= 2 else None
    base = dict(check=entry.check, mean=mean, std=std, n=n, k_warn=entry.k_warn, k_fail=entry.k_fail,
                floor=entry.floor, ceiling=entry.ceiling)
    if not entry.calibrate:
        return Calibration(warn=entry.warn, fail=entry.fail, calibrated=False, note="fixed levels (calibrate: false)", **base)
    if n < MIN_CALIBRATION_VALUES:
        return Calibration(
            warn=entry.warn, fail=entry.fail, calibrated=False,
            note=f"fixed levels: {n} reference value{'s' if n != 1 else ''}, calibration needs {MIN_CALIBRATION_VALUES}",
            **base,
        )
    k_warn, k_fail = prediction_k(entry.k_warn, n), prediction_k(entry.k_fail, n)
    base.update(k_warn_applied=k_warn, k_fail_applied=k_fail)
    widened = f"k {entry.k_warn:g}/{entry.k_fail:g} applied as {k_warn:.3g}/{k_fail:.3g} for {n} reference values"
    per_sample = _per_sample(entry, pairs)
    if per_sample is not None:
        p, sigma_z, typical_n = per_sample
        stored = Calibration(warn=entry.warn, fail=entry.fail, calibrated=True, per_sample=True, sigma_z=sigma_z,
                             note=f"share {p:.4g} ± k·{sigma_z:.3g}·√(p(1−p)/n) over {n} reference nights; {widened}",
                             **{**base, "mean": p})
        return stored.at(typical_n)
    sign = 1.0 if direction == "above" else -1.0
    clamped: list[str] = []
    warn = _clamp(mean + sign * k_warn * std, entry, direction, "warn", clamped)
    fail = _clamp(mean + sign * k_fail * std, entry, direction, "fail", clamped)
    note = f"mean {mean:.4g} ± k·σ (σ {std:.4g}, n={n}; {widened})"
    if clamped:
        note += "; clamped " + ", ".join(clamped)
    return Calibration(warn=warn, fail=fail, calibrated=True, clamped=tuple(clamped), note=note, **base)


def _per_sample(entry: CheckPolicy, pairs: Sequence[tuple[float, int]]) -> tuple[float, float, int] | None:
    """(pooled share, sigma_z, median n) of a share check's reference nights; None when it does not apply."""
    if not CHECKS[entry.check].share or not pairs or any(size <= 0 for _, size in pairs):
        return None
    total = sum(size for _, size in pairs)
    p = sum(value * size for value, size in pairs) / total
    if not 0.0 < p < 1.0:  # no noise model for a share that never moved off 0 or 1: the plain levels apply
        return None
    z = [(value - p) / math.sqrt(p * (1.0 - p) / size) for value, size in pairs]
    sigma_z = max(1.0, statistics.stdev(z))
    return p, sigma_z, int(statistics.median(size for _, size in pairs))


def wilson_interval(share: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of a share observed on ``n`` items."""
    if n <= 0:
        return 0.0, 1.0
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _within_noise(measurement: Measurement, fail: float, direction: Direction) -> float | None:
    """For a share graded on fixed levels: the interval's bound nearest normal when it still reaches ``fail``.

    A fixed level knows nothing of the night's size (a RAG share check has no
    reference on its first nights): a share past it on a few hundred items is
    red only when its whole 95% interval is past it too. Returns the bound that
    is not (the night is amber), or None (the figure is past fail beyond noise,
    or not past it at all).
    """
    if measurement.value is None or measurement.n <= 0:
        return None
    low, high = wilson_interval(float(measurement.value), int(measurement.n))
    bound = low if direction == "above" else high
    return None if _beyond(bound, fail, direction) else bound


def poisson_interval(count: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Garwood) confidence interval of a Poisson mean from one observed ``count``."""
    from scipy.stats import chi2

    alpha = 1.0 - confidence
    low = 0.0 if count <= 0 else float(chi2.ppf(alpha / 2, 2 * count)) / 2
    return low, float(chi2.ppf(1 - alpha / 2, 2 * (count + 1))) / 2


def _volume_within_noise(measurement: Measurement) -> tuple[float, float] | None:
    """For a volume check (``CheckSpec.volume``): (the count's 95% lower bound, the baseline count)
    when tonight's count is not above the baseline's beyond Poisson noise; None otherwise.

    A volume figure (tonight's tokens over the baseline's) multiplies the
    night's count of items by what each item cost. On a small night the
    count alone swings by a fifth or more (Poisson), and the cost per item by
    as much again, so a ratio past fail on 35 questions is often two ordinary
    swings at once. A real surge of volume is a count far past the baseline's
    count: tripled, a tenant's count clears its 95% bound with room to spare
    even on a 15-question weekend baseline. What each item costs has its own
    check (``tenant_cost_per_question``), graded on its own levels.
    """
    base = (measurement.evidence or {}).get("baseline_count")
    if base is None or measurement.n is None or measurement.n <= 0:
        return None
    low, _ = poisson_interval(int(measurement.n))
    return (low, float(base)) if low <= float(base) else None


# -- grading --------------------------------------------------------------------
def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _beyond(value: float, level: float, direction: Direction) -> bool:
    return value > level if direction == "above" else value < level


def grade(measurement: Measurement, entry: CheckPolicy, calibration: Calibration | None = None) -> CheckResult:
    """Grade one measurement against its levels.

    A figure strictly beyond the fail level is red, beyond the warn level
    amber, else green. No figure (None) or a sample under ``min_samples`` is
    "insufficient": an amber line on the scorecard, never a ticket. Two noise
    rules keep a small night's figure past fail amber: a share graded on
    fixed levels whose 95% Wilson interval still reaches fail
    (``_within_noise``), and a volume check whose night's count is not above
    its baseline count beyond Poisson noise (``_volume_within_noise``).

    Args:
        measurement: the check's figure for the night.
        entry: the check's policy entry.
        calibration: the calibrated levels; None (or an uncalibrated one)
            grades against the entry's fixed levels.

    Returns:
        The graded result with the applied levels and a one-line summary.

    Raises:
        ValueError: the entry is for another check.
    """
    if entry.check != measurement.check:
        raise ValueError(f"policy entry for {entry.check!r} cannot grade a {measurement.check!r} measurement")
    if calibration is not None:
        calibration = calibration.at(measurement.n)
    warn, fail = (calibration.warn, calibration.fail) if calibration is not None else (entry.warn, entry.fail)
    cal = calibration.to_dict() if calibration is not None else None
    name = measurement.check + (f"[{measurement.subject}]" if measurement.subject else "")
    n = f"n={measurement.n:,}"
    if measurement.value is None or (isinstance(measurement.value, float) and math.isnan(measurement.value)):
        why = f": {measurement.note}" if measurement.note else ""
        return CheckResult(measurement, "insufficient", warn, fail, f"{name} insufficient data ({n}){why}", cal)
    if measurement.n < entry.min_samples:
        return CheckResult(measurement, "insufficient", warn, fail,
                           f"{name} insufficient data ({n} < min {entry.min_samples:,})", cal)
    value = float(measurement.value)
    direction = entry.direction
    over, under = (">", "<=") if direction == "above" else ("<", ">=")
    fixed = calibration is None or not calibration.calibrated
    noise = _within_noise(measurement, fail, direction) if fixed and CHECKS[measurement.check].share else None
    volume = _volume_within_noise(measurement) if CHECKS[measurement.check].volume and _beyond(value, fail, direction) else None
    if _beyond(value, fail, direction) and noise is not None:
        status, text = "amber", (f"{name} {_fmt(value)} {over} fail {_fmt(fail)} but within sampling noise "
                                 f"(95% bound {_fmt(noise)}, {n})")
    elif volume is not None:
        status, text = "amber", (f"{name} {_fmt(value)} {over} fail {_fmt(fail)} but its volume is within sampling noise "
                                 f"({measurement.n:,} items, 95% bound {volume[0]:.1f} <= baseline {_fmt(volume[1])} a night, {n})")
    elif _beyond(value, fail, direction):
        status, text = "red", f"{name} {_fmt(value)} {over} fail {_fmt(fail)} ({n})"
    elif _beyond(value, warn, direction):
        status, text = "amber", f"{name} {_fmt(value)} {over} warn {_fmt(warn)} (fail {_fmt(fail)}, {n})"
    else:
        status, text = "green", f"{name} {_fmt(value)} {under} warn {_fmt(warn)} ({n})"
    if not entry.enabled:
        text += " [disabled: no tickets]"
    return CheckResult(measurement, status, warn, fail, text, cal)


# -- tickets --------------------------------------------------------------------
@dataclass(frozen=True)
class PastResult:
    """One graded result of an earlier night, as the check history stores it."""

    night: date
    check: str
    subject: str | None
    status: str


SUGGESTED_ACTIONS: dict[str, str] = {
    "retrain": (
        "Confirm the shift on the scorecard and the drift report (which columns, which segments). "
        "Retrain once the labels of the shifted days have matured; the challenger must pass the "
        "champion/challenger gate. Roll back with `tandem rollback model`."
    ),
    "re-prompt": (
        "Read the failing golden questions and the bad-feedback requests in the evidence; if the endpoint's "
        "model changed, re-run the prompt's release gate against it. Register a fixed prompt as `staging`; "
        "its gate decides `production`. Roll back with `tandem rollback prompt`."
    ),
    "re-index": (
        "Check which documents changed or which question topics the corpus does not cover (evidence). "
        "Rebuild the index (`tandem reindex`); the retrieval gate decides the `docs-live` move. "
        "Roll back with `tandem rollback index`."
    ),
    "cost-review": (
        "Look at the tenant's volume and tokens per question against its baseline (evidence): a new use, "
        "a loop in a client, or abuse. Adjust its budget (TANDEM_BUDGET__PER_TENANT) or talk to the tenant."
    ),
    "ops": (
        "A partition or run is missing or failing: check `tandem partitions --status failed` and the Prefect "
        "UI for the night's runs, fix the cause, then rerun the day (`tandem backfill START END`)."
    ),
}


@dataclass(frozen=True)
class TicketDecision:
    """What tonight's results mean for one ``(kind, asset)`` ticket.

    Attributes:
        kind: the ticket kind.
        asset: the asset.
        action: "open" (no open ticket), "update" (add tonight's failure to
            ``ticket_id``), or "held" (red, but debounce or cool-down holds
            it back; only returned with ``include_held``).
        severity: "high" or "medium" (see ``decide_tickets``).
        title: one line.
        evidence: the red lines behind it: check, subject, value, levels, n,
            streak, summary and the measurement's evidence.
        suggested_action: what on-call should do.
        ticket_id: the open ticket an update goes to.
        reason: why (streaks, cool-down).
    """

    kind: str
    asset: str
    action: DecisionAction
    severity: Severity
    title: str
    evidence: list[dict[str, Any]]
    suggested_action: str
    ticket_id: Any = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Insufficient nights a streak may skip in a row: a quiet night or a weekend. Two red nights a week
# apart with nothing measurable between them are two separate nights, not a persistent shift.
MAX_SKIPPED_NIGHTS = 2


def _streak(result: CheckResult, night: date, past: Sequence[PastResult]) -> int:
    """Consecutive red nights of one (check, subject), tonight included.

    Walks back night by night from ``night - 1``: a red night extends the
    streak; an insufficient night is skipped (it neither breaks nor extends
    it: too few rows say nothing either way), at most ``MAX_SKIPPED_NIGHTS``
    in a row; a green or amber night, a longer run of insufficient nights,
    or a night with no recorded result at all (the loop did not run, so
    nothing is known), ends it.
    """
    if result.status != "red":
        return 0
    by_night = {p.night: p.status for p in past if p.check == result.check and p.subject == result.measurement.subject}
    streak, skipped, day = 1, 0, night.toordinal() - 1
    while True:
        status = by_night.get(date.fromordinal(day))
        if status == "red":
            streak, skipped = streak + 1, 0
        elif status == "insufficient" and skipped < MAX_SKIPPED_NIGHTS:
            skipped += 1
        else:
            return streak
        day -= 1


def _severity(kind: str, reds: Sequence[CheckResult]) -> Severity:
    """"high" for an ``ops`` ticket (a pipeline stopped), two or more distinct red checks,
    or a figure beyond its fail level by ``HIGH_MARGIN`` of the level; else "medium"."""
    if kind == "ops" or len({r.check for r in reds}) >= 2:
        return "high"
    for r in reds:
        value, fail = float(r.measurement.value), float(r.fail)
        margin = HIGH_MARGIN * abs(fail) if fail else HIGH_MARGIN
        if (value - fail if CHECKS[r.check].direction == "above" else fail - value) >= margin:
            return "high"
    return "medium"


def _evidence(result: CheckResult, streak: int) -> dict[str, Any]:
    m = result.measurement
    return {
        "check": m.check, "subject": m.subject, "value": m.value, "warn": result.warn, "fail": result.fail,
        "n": m.n, "streak": streak, "summary": result.summary, "note": m.note, "evidence": m.evidence,
    }


def _night_of(value: Any) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def decide_tickets(
    night: date,
    results: Iterable[CheckResult],
    history: Iterable[PastResult],
    open_tickets: Mapping[tuple[str, str], Any],
    last_resolved: Mapping[tuple[str, str], date],
    policy: Policy,
    *,
    include_held: bool = False,
) -> list[TicketDecision]:
    """Which tickets tonight's red results open or update.

    Rules, per ``(kind, asset)`` (the kind is ``CHECKS[check].ticket``; checks
    without a kind, disabled checks, amber and insufficient lines never count):

    - **dedup**: with a ticket open (or acknowledged) for the pair, any red
      line tonight is an "update" to it (more evidence, count + 1), never a
      second ticket; debounce and cool-down do not apply to updates.
    - **debounce**: otherwise a ticket opens only when at least one red
      (check, subject) has been red ``debounce_nights`` consecutive nights,
      tonight included (see ``_streak`` for skipped and missing nights).
    - **cool-down**: and not within ``cooldown_nights`` nights after the pair's
      last resolved ticket (resolved on night R: nights R+1..R+N are held; the
      largest ``cooldown_nights`` among the pair's red checks applies).
    - **severity**: "high" for ``ops``, for two or more distinct red checks, or
      for a figure beyond its fail level by half the level; else "medium".

    Args:
        night: tonight.
        results: tonight's graded results (both assets may be mixed).
        history: earlier nights' results (``PastResult``), any order; entries
            for tonight or later are ignored.
        open_tickets: ``(kind, asset)`` -> id of its open or acknowledged ticket.
        last_resolved: ``(kind, asset)`` -> the night (date or datetime) its
            last ticket was resolved.
        policy: the policy.
        include_held: also return "held" decisions (red, but debounce or
            cool-down holds the ticket back), for the scorecard.

    Returns:
        One decision per (kind, asset) with something to do, in ``CHECKS`` kind order.
    """
    past = [p for p in history if p.night < night]
    groups: dict[tuple[str, str], list[CheckResult]] = {}
    for r in results:
        kind = r.ticket_kind
        if kind is None or r.status != "red" or not policy.entry(r.check).enabled:
            continue
        groups.setdefault((kind, r.asset), []).append(r)
    decisions = []
    for (kind, asset), reds in groups.items():
        streaks = [_streak(r, night, past) for r in reds]
        evidence = [_evidence(r, s) for r, s in zip(reds, streaks)]
        severity = _severity(kind, reds)
        names = ", ".join(dict.fromkeys(r.summary for r in reds))
        title = f"{kind} {asset}: {names}"
        title = title if len(title) <= 200 else title[:197] + "..."
        common = dict(kind=kind, asset=asset, severity=severity, title=title, evidence=evidence,
                      suggested_action=SUGGESTED_ACTIONS[kind])
        key = (kind, asset)
        if open_tickets.get(key) is not None:
            decisions.append(TicketDecision(action="update", ticket_id=open_tickets[key],
                                            reason=f"ticket {open_tickets[key]} is open: adding tonight's failure", **common))
            continue
        ready = [(r, s) for r, s in zip(reds, streaks) if s >= policy.entry(r.check).debounce_nights]
        if not ready:
            detail = "; ".join(f"{r.check} red {s} of {policy.entry(r.check).debounce_nights} nights" for r, s in zip(reds, streaks))
            if include_held:
                decisions.append(TicketDecision(action="held", reason=f"debounce: {detail}", **common))
            continue
        cooldown = max(policy.entry(r.check).cooldown_nights for r, _ in ready)
        resolved = last_resolved.get(key)
        if resolved is not None and cooldown > 0:
            since = (night - _night_of(resolved)).days
            if 0 <= since <= cooldown:
                if include_held:
                    decisions.append(TicketDecision(
                        action="held", reason=f"cool-down: last {kind} ticket resolved {since} night(s) ago "
                                              f"(cool-down {cooldown})", **common))
                continue
        detail = "; ".join(f"{r.check} red {s} night(s)" for r, s in ready)
        decisions.append(TicketDecision(action="open", reason=f"debounce met: {detail}", **common))
    order = {k: i for i, k in enumerate(("ops", "retrain", "re-index", "re-prompt", "cost-review"))}
    return sorted(decisions, key=lambda d: (order.get(d.kind, 99), d.asset))


class _TicketLike(Protocol):
    kind: str
    asset: str
    remedy: Mapping[str, Any] | None


def resolution_ready(ticket: _TicketLike | Mapping[str, Any], results_tonight: Iterable[CheckResult]) -> bool:
    """Whether a ticket may resolve itself tonight.

    True when its remedy promoted (``remedy["promoted"]`` is true: the gate
    moved the pointer), every check that failed on it (its evidence) is
    measured green tonight, and no other check of its kind for its asset is
    red. An amber or insufficient line on a check that failed is not yet
    green: the ticket waits for a night that shows the fix.

    Args:
        ticket: anything with ``kind``, ``asset``, ``remedy`` and ``evidence``
            (a stored ticket or its dict).
        results_tonight: tonight's graded results.
    """
    get = ticket.get if isinstance(ticket, Mapping) else lambda name: getattr(ticket, name, None)
    kind, asset, remedy = get("kind"), get("asset"), get("remedy") or {}
    if not remedy.get("promoted"):
        return False
    mine = [r for r in results_tonight if r.ticket_kind == kind and r.asset == asset]
    if not mine or any(r.status == "red" for r in mine):
        return False
    failed = {(e.get("check"), e.get("subject")) for e in (get("evidence") or []) if e.get("check")}
    status = {(r.check, r.measurement.subject): r.status for r in mine}
    return all(status.get(key) == "green" for key in failed) if failed else all(r.status == "green" for r in mine)


def past_results(results: Iterable[CheckResult], night: date) -> list[PastResult]:
    """Tonight's results as history rows (for a loop that keeps its history in memory, e.g. a benchmark)."""
    return [PastResult(night, r.check, r.measurement.subject, r.status) for r in results]


__all__ = [
    "Calibration", "CheckPolicy", "PastResult", "Policy", "PolicyInvalid", "SUGGESTED_ACTIONS",
    "TicketDecision", "calibrate", "decide_tickets", "grade", "past_results", "policy_fingerprint", "poisson_interval",
    "prediction_k", "resolution_ready", "wilson_interval",
]
