"""Built-in synthetic loan-application source.

The generator produces one day of loan applications at a time, deterministically
from ``(seed, day, rows, scenario)``, plus the matching default labels that
mature ``label_delay_days`` later. Drift scenarios switch on at a given date so
the monitoring and retraining paths can be exercised end to end.

Everything is vectorised numpy: one million rows take well under two seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from models.schema import DatasetSchema, FeatureSpec

SCENARIOS: tuple[str, ...] = ("none", "gradual", "shock", "new-category", "missing-surge", "concept")

EMPLOYMENT_TYPES: tuple[str, ...] = ("salaried", "self_employed", "contractor", "unemployed", "retired")
HOME_OWNERSHIP: tuple[str, ...] = ("rent", "own", "mortgage")
LOAN_PURPOSES: tuple[str, ...] = (
    "debt_consolidation",
    "home_improvement",
    "car",
    "education",
    "medical",
    "business",
)
REGIONS: tuple[str, ...] = ("north", "south", "east", "west")

FEATURES: tuple[str, ...] = (
    "age",
    "annual_income",
    "loan_amount",
    "loan_term_months",
    "debt_to_income",
    "credit_history_months",
    "num_open_accounts",
    "num_delinquencies",
    "utilization",
    "employment_type",
    "home_ownership",
    "loan_purpose",
    "region",
)

# Baseline missingness of the two nullable features.
BASE_INCOME_NULL_RATE = 0.03
BASE_UTILIZATION_NULL_RATE = 0.05
_BASE_NULL_RATES = {"annual_income": BASE_INCOME_NULL_RATE, "utilization": BASE_UTILIZATION_NULL_RATE}

_DAY_NS = 86_400 * 10**9
# Independent random streams per (seed, day): scenario and label draws never
# perturb the base features, so a scenario only changes what it documents.
_STREAM_BASE, _STREAM_SCENARIO, _STREAM_LABELS = 0, 1, 2


@dataclass(frozen=True)
class Scenario:
    """A drift scenario applied to applications dated on or after ``start``.

    Attributes:
        name: One of ``SCENARIOS``:
            "none" (stationary data);
            "gradual" (utilization drifts upwards day after day);
            "shock" (an economic shock: incomes fall and debt-to-income rises at once);
            "new-category" (a loan_purpose value never seen before appears);
            "missing-surge" (a feature starts arriving null far more often);
            "concept" (the relationship between the features and default
            changes, see :func:`default_probability`; the features do not).
        start: First application date the scenario affects; required for every
            scenario but "none". Days before it are identical to "none".
        income_drop: shock: annual_income is multiplied by ``1 - income_drop``.
        dti_rise: shock: debt_to_income is increased by this (then capped at 1.5,
            the schema maximum).
        gradual_daily_shift: gradual: utilization rises by this much per day since
            ``start`` (day ``start`` itself counts as 1), clipped to [0, 1].
        new_category: new-category: the new loan_purpose value.
        new_category_share: new-category: share of applications that get it.
        missing_feature: missing-surge: the feature that goes missing. Only the
            nullable features (annual_income, utilization) ingest cleanly; any
            other feature is non-nullable and its null rows are quarantined.
        missing_rate: missing-surge: the feature's overall null rate from ``start``
            (never lower than its baseline rate).
        concept_weight: concept: how far the applications of ``start`` and later
            have moved to the new relationship, in [0, 1]: their log-odds of
            default are ``(1 - w) * old + w * new``.

    Raises:
        ValueError: Unknown scenario name (the message lists the valid ones), a
            missing ``start``, or a parameter out of range.
    """

    name: str = "none"
    start: date | None = None
    income_drop: float = 0.35
    dti_rise: float = 0.12
    gradual_daily_shift: float = 0.004
    new_category: str = "crypto"
    new_category_share: float = 0.15
    missing_feature: str = "annual_income"
    missing_rate: float = 0.35
    concept_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.name!r}; valid scenarios: {', '.join(SCENARIOS)}")
        if self.name != "none" and self.start is None:
            raise ValueError(f"scenario {self.name!r} needs a start date")
        if not 0.0 <= self.income_drop < 1.0:
            raise ValueError(f"income_drop must be in [0, 1), got {self.income_drop}")
        if not 0.0 <= self.new_category_share <= 1.0:
            raise ValueError(f"new_category_share must be in [0, 1], got {self.new_category_share}")
        if not 0.0 <= self.missing_rate <= 1.0:
            raise ValueError(f"missing_rate must be in [0, 1], got {self.missing_rate}")
        if not 0.0 <= self.concept_weight <= 1.0:
            raise ValueError(f"concept_weight must be in [0, 1], got {self.concept_weight}")
        if self.new_category in LOAN_PURPOSES:
            raise ValueError(f"new_category {self.new_category!r} is already a known loan_purpose")
        if self.missing_feature not in FEATURES:
            raise ValueError(
                f"missing_feature {self.missing_feature!r} is not a generated feature; "
                f"valid: {', '.join(FEATURES)}"
            )

    def active_on(self, day: date) -> bool:
        """Returns True when the scenario affects applications of ``day``."""
        return self.name != "none" and self.start is not None and day >= self.start


def synthetic_schema() -> DatasetSchema:
    """Returns the schema of what :func:`generate_applications` produces.

    The ranges and categories accept every row the generator produces under
    "none", "gradual", "shock", "missing-surge" and "concept", so nothing is
    quarantined.
    loan_purpose keeps unknown categories, so "new-category" rows pass validation
    and show up as drift later. annual_income and utilization allow a 50% null
    rate so that a missing surge (35% by default) still ingests and is caught by
    monitoring rather than by the partition gate.

    Returns:
        The "applications" schema, version "1".
    """
    features = (
        FeatureSpec("age", "integer", min=18, max=100, nullable=False),
        FeatureSpec("annual_income", "numeric", min=0, max=10_000_000, nullable=True, max_null_rate=0.5),
        FeatureSpec("loan_amount", "numeric", min=500, max=500_000, nullable=False),
        FeatureSpec("loan_term_months", "integer", min=12, max=84, nullable=False),
        FeatureSpec("debt_to_income", "numeric", min=0, max=1.5, nullable=False),
        FeatureSpec("credit_history_months", "integer", min=0, max=1_000, nullable=False),
        FeatureSpec("num_open_accounts", "integer", min=0, max=100, nullable=False),
        FeatureSpec("num_delinquencies", "integer", min=0, max=50, nullable=False),
        FeatureSpec("utilization", "numeric", min=0, max=1, nullable=True, max_null_rate=0.5),
        FeatureSpec("employment_type", "categorical", categories=EMPLOYMENT_TYPES, nullable=False),
        FeatureSpec("home_ownership", "categorical", categories=HOME_OWNERSHIP, nullable=False),
        FeatureSpec(
            "loan_purpose", "categorical", categories=LOAN_PURPOSES, unknown_category="keep", nullable=False
        ),
        FeatureSpec("region", "categorical", categories=REGIONS, nullable=False),
    )
    return DatasetSchema(
        name="applications",
        version="1",
        id_column="applicant_id",
        event_time_column="application_ts",
        target_column="default",
        features=features,
        segment_column="employment_type",
    )


def _rng(seed: int, day: date, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), day.toordinal(), stream]))


def _pick(rng: np.random.Generator, values: tuple[str, ...], probs: list[float], n: int) -> np.ndarray:
    idx = rng.choice(len(values), size=n, p=np.asarray(probs) / np.sum(probs))
    return np.asarray(values, dtype=object)[idx]


def _applicant_ids(day: date, rows: int) -> np.ndarray:
    """Returns ``A{YYYYMMDD}-{i:06d}`` ids as an object array of str.

    Built from a matrix of unicode code points because formatting a million
    Python strings one by one costs more than the rest of the generator.
    """
    width = max(6, len(str(max(rows - 1, 0))))
    prefix = np.frombuffer(f"A{day:%Y%m%d}-".encode("utf-32-le"), dtype=np.uint32)
    pow10 = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    codes = np.empty((rows, prefix.size + width), dtype=np.uint32)
    codes[:, : prefix.size] = prefix
    codes[:, prefix.size :] = np.arange(rows, dtype=np.int64)[:, None] // pow10 % 10 + ord("0")
    return codes.view(f"<U{prefix.size + width}").ravel().astype(object)


def generate_applications(
    ds: date, *, seed: int, rows: int, scenario: Scenario = Scenario()
) -> pd.DataFrame:
    """Generates the loan applications that arrived on day ``ds``.

    Args:
        ds: The application day.
        seed: Non-negative base seed; the day is mixed in, so every day differs.
        rows: Number of applications.
        scenario: Drift scenario; it only affects days on or after its start.

    Returns:
        One row per application, ordered by application time: applicant_id
        (str, ``A{YYYYMMDD}-{i:06d}``), application_ts (datetime64[ns] within
        ``ds``), the integer features as int64, annual_income and utilization as
        float64 with NaN for missing, the others float64, and the categorical
        features as object strings. There is no target column.

    Raises:
        ValueError: ``rows`` or ``seed`` is negative.
    """
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    rng = _rng(seed, ds, _STREAM_BASE)
    n = rows

    ts_offsets = np.sort(rng.integers(0, _DAY_NS, size=n))
    application_ts = np.datetime64(ds, "ns") + ts_offsets.astype("timedelta64[ns]")

    # Hidden credit quality: correlates the observable risk features (higher = worse).
    latent = rng.standard_normal(n)

    age = np.clip(np.rint(rng.normal(41.0, 12.5, n)), 18, 80).astype(np.int64)

    older = age >= 62
    employment = np.where(
        older & (rng.random(n) < 0.7),
        "retired",
        _pick(rng, EMPLOYMENT_TYPES[:4], [0.66, 0.14, 0.13, 0.07], n),
    ).astype(object)
    employment_adj = pd.Series(employment).map(
        {"salaried": 0.0, "self_employed": 0.08, "contractor": -0.05, "unemployed": -0.9, "retired": -0.35}
    ).to_numpy()

    log_income = (
        np.log(52_000.0)
        + 0.012 * (age - 40)
        - 0.0004 * (age - 40) ** 2
        + employment_adj
        - 0.12 * latent
        + rng.normal(0.0, 0.45, n)
    )
    annual_income = np.clip(np.exp(log_income), 6_000.0, 3_000_000.0)

    loan_amount = np.clip(
        np.exp(np.log(0.22 * annual_income) + rng.normal(0.0, 0.55, n)),
        1_000.0,
        200_000.0,
    ).round(-1)
    loan_term_months = np.where(rng.random(n) < 0.25 + 0.25 * (loan_amount > 20_000), 60, 36).astype(np.int64)

    debt_to_income = np.clip(1.2 * rng.beta(2.0, 5.0, n) + 0.04 * latent, 0.0, 1.3).round(4)

    credit_history_months = np.floor((age - 18) * 12 * rng.beta(2.5, 1.8, n)).astype(np.int64)
    num_open_accounts = np.minimum(rng.poisson(2.0 + credit_history_months / 90.0), 60).astype(np.int64)
    num_delinquencies = np.minimum(rng.poisson(0.22 * np.exp(0.75 * latent)), 30).astype(np.int64)
    utilization = np.clip(rng.beta(2.0, 3.2, n) + 0.1 * latent, 0.0, 1.0).round(4)

    home_probs = np.where(age[:, None] < 30, [[0.7, 0.05, 0.25]], [[0.3, 0.2, 0.5]])
    home_idx = (rng.random(n)[:, None] > np.cumsum(home_probs, axis=1)).sum(axis=1)
    home_ownership = np.asarray(HOME_OWNERSHIP, dtype=object)[np.minimum(home_idx, 2)]
    loan_purpose = _pick(rng, LOAN_PURPOSES, [0.38, 0.14, 0.18, 0.08, 0.10, 0.12], n)
    region = _pick(rng, REGIONS, [0.3, 0.25, 0.25, 0.2], n)

    income_null = rng.random(n) < BASE_INCOME_NULL_RATE
    utilization_null = rng.random(n) < BASE_UTILIZATION_NULL_RATE

    frame = pd.DataFrame(
        {
            "applicant_id": _applicant_ids(ds, n),
            "application_ts": application_ts,
            "age": age,
            "annual_income": np.where(income_null, np.nan, annual_income.round(2)),
            "loan_amount": loan_amount,
            "loan_term_months": loan_term_months,
            "debt_to_income": debt_to_income,
            "credit_history_months": credit_history_months,
            "num_open_accounts": num_open_accounts,
            "num_delinquencies": num_delinquencies,
            "utilization": np.where(utilization_null, np.nan, utilization),
            "employment_type": employment,
            "home_ownership": home_ownership,
            "loan_purpose": loan_purpose,
            "region": region,
        }
    )
    if scenario.active_on(ds) and scenario.name != "concept":  # concept changes the labels only
        _apply_scenario(frame, ds, seed, scenario)
    return frame


def _apply_scenario(frame: pd.DataFrame, ds: date, seed: int, scenario: Scenario) -> None:
    """Mutates one day's frame in place according to an active scenario."""
    assert scenario.start is not None
    rng = _rng(seed, ds, _STREAM_SCENARIO)
    n = len(frame)
    if scenario.name == "shock":
        frame["annual_income"] = (frame["annual_income"] * (1.0 - scenario.income_drop)).round(2)
        frame["debt_to_income"] = np.minimum(frame["debt_to_income"] + scenario.dti_rise, 1.5).round(4)
    elif scenario.name == "gradual":
        days = (ds - scenario.start).days + 1
        shifted = np.clip(frame["utilization"] + scenario.gradual_daily_shift * days, 0.0, 1.0)
        frame["utilization"] = shifted.round(4)
    elif scenario.name == "new-category":
        hit = rng.random(n) < scenario.new_category_share
        frame.loc[hit, "loan_purpose"] = scenario.new_category
    elif scenario.name == "missing-surge":
        col = scenario.missing_feature
        base = _BASE_NULL_RATES.get(col, 0.0)
        # Top up the baseline nulls so the overall rate is ~missing_rate.
        extra = max(0.0, (scenario.missing_rate - base) / (1.0 - base))
        hit = rng.random(n) < extra
        if frame[col].dtype == object:
            frame.loc[hit, col] = None
        else:
            # float64 keeps NaN without changing an int column into object.
            frame[col] = frame[col].astype("float64").mask(hit)


# Documented risk function. The log-odds are a sum of interpretable terms:
_INTERCEPT = -4.6
_EMPLOYMENT_RISK = {"salaried": 0.0, "self_employed": 0.3, "contractor": 0.35, "unemployed": 1.0, "retired": 0.15}
_HOME_RISK = {"rent": 0.25, "own": -0.2, "mortgage": 0.0}
_PURPOSE_RISK = {
    "debt_consolidation": 0.15,
    "home_improvement": -0.15,
    "car": -0.1,
    "education": 0.2,
    "medical": 0.3,
    "business": 0.45,
}
_UNKNOWN_PURPOSE_RISK = 0.6  # a purpose the lender has never seen is treated as risky
_REGION_RISK = {"north": -0.1, "south": 0.1, "east": 0.0, "west": 0.05}


def default_probability(df: pd.DataFrame, *, concept_weight: float = 0.0) -> np.ndarray:
    """Returns each applicant's true probability of default.

    The log-odds are::

        -4.6
        + 2.4 * debt_to_income + 1.8 * utilization + 1.5 * debt_to_income * utilization
        - 0.7 * log(annual_income / 52,000)           (missing income: +0.35 instead)
        + 0.9 * min(loan_amount / annual_income, 2)   (missing income: ratio 0.25)
        + 0.55 * min(num_delinquencies, 6)
        - 0.45 * log1p(credit_history_months / 12)
        + 0.35 * ((age - 45) / 15) ** 2               (young and old are riskier)
        + 0.3 * [loan_term_months == 60]
        + 0.06 * max(num_open_accounts - 8, 0)
        + employment, home ownership, loan purpose and region offsets
          (see _EMPLOYMENT_RISK etc.; an unseen loan_purpose adds 0.6)

    A missing utilization is imputed as 0.45. Under the "none" scenario the base
    default rate is about 11% and a gradient-boosted model reaches an AUC of
    roughly 0.8. Drift scenarios change the inputs (covariate shift), not this
    function; only "concept" changes the relationship itself, through
    ``concept_weight`` (see :func:`concept_log_odds`).

    Args:
        df: Applications with the generator's feature columns.
        concept_weight: 0 (the relationship above) to 1 (the "concept"
            scenario's new relationship); the log-odds blend linearly.

    Returns:
        float64 probabilities in (0, 1), one per row.

    Raises:
        KeyError: A required column is missing.
        ValueError: ``concept_weight`` outside [0, 1].
    """
    if not 0.0 <= concept_weight <= 1.0:
        raise ValueError(f"concept_weight must be in [0, 1], got {concept_weight}")
    z = _log_odds(df)
    if concept_weight:
        z = (1.0 - concept_weight) * z + concept_weight * concept_log_odds(df)
    return 1.0 / (1.0 + np.exp(-z))


def _income_terms(df: pd.DataFrame):
    income = df["annual_income"].to_numpy(dtype=float)
    income_missing = np.isnan(income)
    safe_income = np.where(income_missing, 52_000.0, np.maximum(income, 1.0))
    loan = df["loan_amount"].to_numpy(dtype=float)
    lti = np.where(income_missing, 0.25, np.minimum(loan / safe_income, 2.0))
    return income_missing, safe_income, lti


def _log_odds(df: pd.DataFrame) -> np.ndarray:
    dti = df["debt_to_income"].to_numpy(dtype=float)
    util = np.nan_to_num(df["utilization"].to_numpy(dtype=float), nan=0.45)
    income_missing, safe_income, lti = _income_terms(df)
    age = df["age"].to_numpy(dtype=float)
    return (
        _INTERCEPT
        + 2.4 * dti
        + 1.8 * util
        + 1.5 * dti * util
        + np.where(income_missing, 0.35, -0.7 * np.log(safe_income / 52_000.0))
        + 0.9 * lti
        + 0.55 * np.minimum(df["num_delinquencies"].to_numpy(dtype=float), 6.0)
        - 0.45 * np.log1p(df["credit_history_months"].to_numpy(dtype=float) / 12.0)
        + 0.35 * ((age - 45.0) / 15.0) ** 2
        + 0.3 * (df["loan_term_months"].to_numpy(dtype=float) == 60)
        + 0.06 * np.maximum(df["num_open_accounts"].to_numpy(dtype=float) - 8.0, 0.0)
        + df["employment_type"].map(_EMPLOYMENT_RISK).fillna(0.0).to_numpy(dtype=float)
        + df["home_ownership"].map(_HOME_RISK).fillna(0.0).to_numpy(dtype=float)
        + df["loan_purpose"].map(_PURPOSE_RISK).fillna(_UNKNOWN_PURPOSE_RISK).to_numpy(dtype=float)
        + df["region"].map(_REGION_RISK).fillna(0.0).to_numpy(dtype=float)
    )


# The "concept" scenario's relationship: a downturn in some sectors and
# regions re-orders who defaults. The old risk factors (affordability, the
# bureau record) keep half their weight; employment type, loan purpose, region
# and home ownership take new roles (salaried northern car buyers become the
# riskiest). Same features, same base rate (about 11%), different ranking.
_CONCEPT_OLD_WEIGHT = 0.5
_CONCEPT_INTERCEPT = -1.8
_CONCEPT_EMPLOYMENT_RISK = {"salaried": 0.7, "self_employed": -0.3, "contractor": -0.45, "unemployed": 0.45, "retired": -0.6}
_CONCEPT_HOME_RISK = {"rent": -0.3, "own": 0.45, "mortgage": 0.15}
_CONCEPT_PURPOSE_RISK = {
    "debt_consolidation": -0.45,
    "home_improvement": 0.9,
    "car": 1.2,
    "education": -0.45,
    "medical": -0.3,
    "business": -0.75,
}
_CONCEPT_REGION_RISK = {"north": 1.35, "south": -0.75, "east": 0.15, "west": -0.6}


def concept_log_odds(df: pd.DataFrame) -> np.ndarray:
    """The log-odds of default after a "concept" change (same features, new relationship).

    ::

        -1.8
        + 0.5 * (the log-odds of default_probability)
        + new employment, home ownership, loan purpose and region offsets
          (_CONCEPT_EMPLOYMENT_RISK etc.; an unseen loan_purpose adds nothing more)

    The base default rate stays near the old one (about 11%) and the
    features do not move, so a model trained before the change keeps its
    score distribution but loses much of its ranking power (on the true
    probabilities, AUC about 0.83 before, 0.61 after); a model trained on
    the new labels can reach about 0.8 again. Only matured labels can tell.

    Args:
        df: Applications with the generator's feature columns.

    Returns:
        float64 log-odds, one per row.
    """
    return (
        _CONCEPT_INTERCEPT
        + _CONCEPT_OLD_WEIGHT * _log_odds(df)
        + df["employment_type"].map(_CONCEPT_EMPLOYMENT_RISK).fillna(0.0).to_numpy(dtype=float)
        + df["home_ownership"].map(_CONCEPT_HOME_RISK).fillna(0.0).to_numpy(dtype=float)
        + df["loan_purpose"].map(_CONCEPT_PURPOSE_RISK).fillna(0.0).to_numpy(dtype=float)
        + df["region"].map(_CONCEPT_REGION_RISK).fillna(0.0).to_numpy(dtype=float)
    )


def generate_labels(
    ds: date,
    *,
    seed: int,
    rows: int,
    scenario: Scenario = Scenario(),
    label_delay_days: int = 30,
) -> pd.DataFrame:
    """Generates the default outcomes that matured on day ``ds``.

    They belong to the applications of ``ds - label_delay_days``, which are
    regenerated with the same ``seed``, ``rows`` and ``scenario`` (so pass the
    values used for those applications). Each outcome is a Bernoulli draw from
    :func:`default_probability` with its own random stream keyed on the
    application day, so an applicant's outcome does not depend on the delay.

    Args:
        ds: The day the labels become known.
        seed: Base seed used for the applications.
        rows: Number of applications on the application day.
        scenario: Scenario used for the applications.
        label_delay_days: Days between application and known outcome (>= 0).

    Returns:
        applicant_id (str), default (int64 0/1), application_date
        (datetime64[ns], midnight of the application day) and label_date
        (datetime64[ns], midnight of ``ds``), in application order.

    Raises:
        ValueError: ``label_delay_days`` is negative.
    """
    if label_delay_days < 0:
        raise ValueError(f"label_delay_days must be >= 0, got {label_delay_days}")
    app_day = ds - timedelta(days=label_delay_days)
    apps = generate_applications(app_day, seed=seed, rows=rows, scenario=scenario)
    # A concept change is dated by the application: outcomes of loans granted
    # from its start follow the new relationship, whenever they mature.
    concept = scenario.concept_weight if scenario.name == "concept" and scenario.active_on(app_day) else 0.0
    p = default_probability(apps, concept_weight=concept)
    outcome = _rng(seed, app_day, _STREAM_LABELS).random(len(apps)) < p
    return pd.DataFrame(
        {
            "applicant_id": apps["applicant_id"].to_numpy(),
            "default": outcome.astype(np.int64),
            "application_date": np.full(len(apps), np.datetime64(app_day, "ns")),
            "label_date": np.full(len(apps), np.datetime64(ds, "ns")),
        }
    )
