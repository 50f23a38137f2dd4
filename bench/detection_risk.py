"""The risk half of the detection simulation: simulated nights of the synthetic source, every risk check measured.

For one scenario and seed, :func:`simulate_risk_nights` trains one champion on
the days before the simulated period (in memory, with the same pure functions
as the train flow: ``models.synthetic``, ``models.split``,
``models.training``), builds its reference and calibration exactly as a
registered version's (``models.reference.build_reference``), then measures
every night of the period with ``models.reference.measure_night``, the
function the nightly flow uses, feeding each night the labels that matured
that night (applications of ``label_delay_days`` earlier) for the performance
checks. No Prefect, no MLflow, no lake: the figures are those of the real
checks on the data the source would have delivered.

The lead grades these measurements with the policy (``bench/detection.py``).

Run alone::

    python -m bench.detection_risk --scenarios none shock --seeds 1 2 --nights 120 --jobs 2

prints each scenario-seed's time and the nights where a check's figure moved.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from models.features import feature_types, prepare_features
from models.monitoring import Measurement
from models.reference import Reference, build_reference, measure_night
from models.scoring import predict_proba
from models.split import time_split
from models.synthetic import SCENARIOS, Scenario, generate_applications, generate_labels, synthetic_schema
from models.training import TrainParams, train_booster

START_NIGHT = date(2026, 6, 1)
SHIFT_AFTER_DAYS = 30  # the scenario starts this many nights into the period: a quiet stretch first
ROWS_PER_DAY = 2_000
TRAIN_DAYS = 60
SAMPLE_ROWS = 20_000
# One thread per simulation: the benchmark runs scenario-seeds side by side.
TRAIN_PARAMS = TrainParams(num_boost_round=300, early_stopping_rounds=20, nthread=1)


def scenario_start(start_night: date = START_NIGHT, shift_after_days: int = SHIFT_AFTER_DAYS) -> date:
    """The first night a scenario affects."""
    return start_night + timedelta(days=shift_after_days)


@dataclass
class Champion:
    """A champion trained before the simulated period, and its reference."""

    booster: object
    reference: Reference
    train_days: tuple[date, date]
    seconds: float


class _Days:
    """Applications, scores and matured labels of the simulated days, generated once each."""

    def __init__(self, scenario: Scenario, seed: int, rows: int, label_delay_days: int) -> None:
        self.scenario, self.seed, self.rows, self.delay = scenario, seed, rows, label_delay_days
        self.schema = synthetic_schema()
        self._apps: dict[date, pd.DataFrame] = {}
        self._scores: dict[date, np.ndarray] = {}

    def applications(self, day: date) -> pd.DataFrame:
        if day not in self._apps:
            self._apps[day] = generate_applications(day, seed=self.seed, rows=self.rows, scenario=self.scenario)
        return self._apps[day]

    def labels(self, app_day: date) -> np.ndarray:
        """Outcomes of ``app_day``'s applications (known ``delay`` days later), in row order."""
        outcomes = generate_labels(
            app_day + timedelta(days=self.delay), seed=self.seed, rows=self.rows, scenario=self.scenario,
            label_delay_days=self.delay,
        )
        return outcomes["default"].to_numpy(dtype=np.int64)

    def labelled(self, day: date) -> pd.DataFrame:
        frame = self.applications(day).copy()
        frame[self.schema.target_column] = self.labels(day)
        return frame

    def scores(self, day: date, booster) -> np.ndarray:
        if day not in self._scores:
            self._scores[day] = predict_proba(booster, prepare_features(self.applications(day), self.schema))
        return self._scores[day]


def train_champion(days: _Days, *, end: date, train_days: int = TRAIN_DAYS, sample_rows: int = SAMPLE_ROWS) -> Champion:
    """Train on ``train_days`` labelled days ending at ``end`` and build the reference, as the train flow does."""
    started = time.perf_counter()
    schema = days.schema
    window = [end - timedelta(days=train_days - 1 - i) for i in range(train_days)]
    frame = pd.concat([days.labelled(d) for d in window], ignore_index=True)
    split = time_split(frame, time_column=schema.event_time_column)
    X = {name: prepare_features(getattr(split, name), schema) for name in ("train", "valid", "test")}
    trained = train_booster(
        X["train"], split.train[schema.target_column], X["valid"], split.valid[schema.target_column],
        feature_types=feature_types(schema), params=TRAIN_PARAMS,
    )
    reference = build_reference(split, trained.booster, schema, sample_rows=sample_rows)
    return Champion(trained.booster, reference, (window[0], window[-1]), time.perf_counter() - started)


def simulate_risk_nights(
    scenario: str,
    seed: int,
    *,
    nights: int = 120,
    start_night: date = START_NIGHT,
    rows_per_day: int = ROWS_PER_DAY,
    label_delay_days: int = 30,
    shift_after_days: int = SHIFT_AFTER_DAYS,
    train_days: int = TRAIN_DAYS,
    sample_rows: int = SAMPLE_ROWS,
    params: dict | None = None,
    champion_out: list | None = None,
) -> list[tuple[date, list[Measurement]]]:
    """Every risk check's measurement on each simulated night of one scenario and seed.

    Args:
        scenario: A synthetic scenario (``models.synthetic.SCENARIOS``).
        seed: The source's seed.
        nights: Nights simulated, from ``start_night``.
        start_night: The first simulated night.
        rows_per_day: Applications per day.
        label_delay_days: Days until an application's outcome is known; the
            champion trains on the ``train_days`` days whose labels had
            matured by ``start_night``.
        shift_after_days: The scenario starts at ``start_night +
            shift_after_days`` (see :func:`scenario_start`).
        train_days: The champion's training window.
        sample_rows: The reference sample's rows.
        params: Per check measurement parameters (the policy's ``params``),
            used for the calibration and every night alike.
        champion_out: When a list, the trained :class:`Champion` is appended
            (its reference holds the calibration values).

    Returns:
        ``(night, measurements)`` per night, in order; measurements as
        ``models.reference.measure_night`` returns them (freshness and
        quarantine share are pipeline checks, not simulated here).
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; valid: {', '.join(SCENARIOS)}")
    start = scenario_start(start_night, shift_after_days)
    source = Scenario(scenario) if scenario == "none" else Scenario(scenario, start=start)
    days = _Days(source, seed, rows_per_day, label_delay_days)
    champion = train_champion(days, end=start_night - timedelta(days=label_delay_days + 1), train_days=train_days, sample_rows=sample_rows)
    if champion_out is not None:
        champion_out.append(champion)
    schema = days.schema
    out = []
    for i in range(nights):
        night = start_night + timedelta(days=i)
        app_day = night - timedelta(days=label_delay_days)
        matured = (days.labels(app_day), days.scores(app_day, champion.booster))
        measured = measure_night(
            days.applications(night), days.scores(night, champion.booster), champion.reference, schema,
            matured=matured, params=params,
        )
        out.append((night, measured))
        # Days older than the label delay are not needed again.
        days._apps.pop(app_day, None)
        days._scores.pop(app_day, None)
    return out


def _run(job: tuple[str, int, int, int]) -> tuple[str, int, float, float, float, list[tuple[date, list[Measurement]]]]:
    from threadpoolctl import threadpool_limits

    scenario, seed, nights, rows = job
    started, cpu = time.perf_counter(), time.process_time()
    champion: list[Champion] = []
    # One BLAS thread per worker: the workers already fill the cores, and idle BLAS threads spin.
    with threadpool_limits(1):
        result = simulate_risk_nights(scenario, seed, nights=nights, rows_per_day=rows, champion_out=champion)
    return scenario, seed, time.perf_counter() - started, time.process_time() - cpu, champion[0].seconds, result


def drift_cost(rows: int = 1_000_000, *, seed: int = 1, raw: bool = True) -> dict[str, float]:
    """Seconds (wall, and CPU of this process) of the drift checks on one night of ``rows`` applications.

    The night is compared with a 20,000-row reference sample, as in the nightly flow: the data drift
    check with its HTML report (sampled to ``models.drift.NIGHT_MAX_ROWS``), the same without the
    report, segment and prediction drift; and, with ``raw``, Evidently's ``DataDriftPreset`` report on
    the whole unsampled night for comparison.
    """
    from models import drift

    schema = synthetic_schema()
    reference = generate_applications(date(2026, 1, 1), seed=seed, rows=SAMPLE_ROWS)
    night = generate_applications(date(2026, 2, 1), seed=seed, rows=rows)
    scores = np.random.default_rng(seed).beta(2, 14, size=rows)
    ref_scores = np.random.default_rng(seed + 1).beta(2, 14, size=30_000)
    out: dict[str, float] = {}

    def timed(name, fn):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        out[name] = time.perf_counter() - wall
        out[f"{name} (cpu)"] = time.process_time() - cpu

    drift.data_drift(night.head(1000), reference, schema)  # imports Evidently outside the timings
    timed("data_drift with report", lambda: drift.data_drift(night, reference, schema, html=True))
    timed("data_drift", lambda: drift.data_drift(night, reference, schema))
    timed("segment_drift", lambda: drift.segment_drift(night, reference, schema))
    timed("prediction_drift", lambda: drift.prediction_drift(scores, ref_scores))
    if raw:
        timed("raw Evidently DataDriftPreset, unsampled", lambda: drift._report_columns_drift(
            night, reference, drift._feature_kinds(schema)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--nights", type=int, default=120)
    parser.add_argument("--rows", type=int, default=ROWS_PER_DAY)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cost", type=int, metavar="ROWS", help="only time the drift checks on one night of ROWS rows")
    args = parser.parse_args()
    if args.cost:
        for name, seconds in drift_cost(args.cost).items():
            print(f"{name:45s} {seconds:7.2f} s")
        return
    jobs = [(s, seed, args.nights, args.rows) for s in args.scenarios for seed in args.seeds]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for scenario, seed, seconds, cpu, train_s, result in pool.map(_run, jobs):
            shift = scenario_start()
            quiet = {m.check: [] for m in result[0][1]}
            for night, measured in result:
                for m in measured:
                    if m.value is not None:
                        quiet[m.check].append((night, m.value))
            pre = {c: np.nanmax([v for n, v in vals if n < shift] or [np.nan]) for c, vals in quiet.items()}
            post = {c: np.nanmax([v for n, v in vals if n >= shift] or [np.nan]) for c, vals in quiet.items()}
            moved = ", ".join(f"{c} {pre[c]:.3f}->{post[c]:.3f}" for c in quiet if post[c] > pre[c] * 1.5 + 1e-9)
            print(f"{scenario:14s} seed {seed}: {seconds:6.1f} s wall, {cpu:5.1f} s cpu (champion + reference {train_s:4.1f} s wall); "
                  f"max before/after start: {moved or '-'}", flush=True)
    print(f"all: {time.perf_counter() - started:.1f} s for {len(jobs)} scenario-seeds x {args.nights} nights ({args.jobs} jobs)")


if __name__ == "__main__":
    main()
