"""The nightly loop's shared vocabulary: what a check measures and what grading makes of it.

A check *measures* (``Measurement``: a figure, the sample it rests on, its
evidence); the policy *grades* (``CheckResult``: green / amber / red /
insufficient against calibrated levels) and decides tickets
(``models.alerting``). Checks never pick their own thresholds, so one policy
file and one calibration rule hold for every check on both sides.

Every check this codebase measures is listed in ``CHECKS`` with the asset it
watches, the direction in which its figure is bad and the ticket kind a
failing night opens. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["green", "amber", "red", "insufficient"]
TicketKind = Literal["retrain", "re-prompt", "re-index", "cost-review", "ops"]
Direction = Literal["above", "below"]  # the figure is bad when above (or below) its level

RISK = "risk-scorer"
RAG = "rag"
ASSETS = (RISK, RAG)
TICKET_KINDS: tuple[str, ...] = ("retrain", "re-prompt", "re-index", "cost-review", "ops")
STATUSES: tuple[str, ...] = ("green", "amber", "red", "insufficient")


@dataclass(frozen=True)
class CheckSpec:
    """What a check is: its asset, when its figure is bad, what a failing night opens."""

    asset: str
    direction: Direction
    ticket: TicketKind | None  # None: shown on the scorecard, never opens a ticket
    description: str
    # The figure is a share of ``Measurement.n`` items counted one by one (questions, requests,
    # rows): its night-to-night noise shrinks with n, so a calibrated level is set per night's n
    # (``models.alerting.calibrate``).
    share: bool = False
    # The figure is the night's volume (tokens of ``Measurement.n`` items, e.g. questions) over the
    # same volume's baseline, and ``evidence["baseline_count"]`` is the baseline's count of items a
    # night: a night past its fail level is red only when its count is past the baseline's beyond
    # Poisson noise (``models.alerting.grade``), so a few extra questions on a small night are not a spike.
    volume: bool = False


CHECKS: dict[str, CheckSpec] = {
    # -- risk scorer -------------------------------------------------------
    "freshness": CheckSpec(RISK, "above", "ops", "partitions of the night missing (applications, labels, predictions) or not scored by the champion"),
    "quarantine_share": CheckSpec(RISK, "above", "ops", "share of the night's rows quarantined at ingest", share=True),
    "data_drift": CheckSpec(RISK, "above", "retrain", "share of feature columns drifted against the champion's reference sample (Evidently)"),
    "prediction_drift": CheckSpec(RISK, "above", "retrain", "drift of the night's scores against the champion's out-of-time test scores"),
    "null_rate_jump": CheckSpec(RISK, "above", "retrain", "largest rise of a column's null rate over its reference null rate"),
    "unseen_categories": CheckSpec(RISK, "above", "retrain", "largest share of rows holding a category the reference never saw"),
    "out_of_range": CheckSpec(RISK, "above", "retrain", "largest share of a numeric column outside the reference's range"),
    "segment_drift": CheckSpec(RISK, "above", "retrain", "largest share of drifted columns within one segment"),
    "auc_drop": CheckSpec(RISK, "above", "retrain", "registered out-of-time AUC minus the AUC on labels matured since the last evaluation"),
    "ks_drop": CheckSpec(RISK, "above", "retrain", "registered out-of-time KS minus the matured-label KS"),
    "brier_rise": CheckSpec(RISK, "above", "retrain", "matured-label Brier score minus the registered out-of-time Brier"),
    # -- RAG assistant -----------------------------------------------------
    "answer_quality": CheckSpec(RAG, "above", "re-prompt", "golden-set answer quality drop of docs-live with the production prompt against its release gate"),
    "retrieval_quality": CheckSpec(RAG, "above", "re-index", "golden-set retrieval drop (hit rate, MRR) of docs-live against its build gate"),
    "query_drift": CheckSpec(RAG, "above", "re-index", "drift of the night's question embeddings against the reference window"),
    "unanswerable_share": CheckSpec(RAG, "above", "re-index", "share of the night's questions whose best retrieval score is below the answerable level", share=True),
    "staleness": CheckSpec(RAG, "above", "re-index", "corpus documents added, changed or removed since docs-live was built"),
    "tenant_cost": CheckSpec(RAG, "above", "cost-review", "a tenant's tokens for the night (its volume times tokens per question) against its trailing baseline, as a ratio", volume=True),
    "tenant_cost_per_question": CheckSpec(RAG, "above", "cost-review", "a tenant's tokens and cost per question for the night against its trailing per-question baseline, as a ratio (the larger of the two)"),
    "latency_p95": CheckSpec(RAG, "above", None, "95th percentile latency of answered questions, ms"),
    "error_rate": CheckSpec(RAG, "above", "ops", "share of requests that ended in an error", share=True),
    "fallback_rate": CheckSpec(RAG, "above", None, "share of answers served by the offline fallback generator", share=True),
    "budget_refusals": CheckSpec(RAG, "above", None, "share of requests refused for budget", share=True),
    "guardrail_hits": CheckSpec(RAG, "above", None, "share of requests a guardrail flagged", share=True),
    "provider_model": CheckSpec(RAG, "above", "re-prompt", "1 when the model the endpoint reports differs from the one the production prompt was gated with"),
    "bad_feedback": CheckSpec(RAG, "above", "re-prompt", "share of the night's feedback that is 'bad'", share=True),
}


@dataclass(frozen=True)
class Measurement:
    """One check's figure for one night, before any threshold is applied.

    Args:
        check: a key of ``CHECKS``.
        value: the figure; None when it cannot be computed (too few rows, no
            labels matured): graded "insufficient", never a ticket.
        n: the sample the figure rests on (rows, questions, days); the policy's
            ``min_samples`` is compared with it.
        evidence: JSON-safe detail for on-call (per-column figures, intervals,
            request ids, links to reports).
        subject: what within the asset the figure is about when a check has
            several per night (a tenant, a segment); None for the asset itself.
        note: a short human line ("labels of 2026-03-01..03-07 matured").
    """

    check: str
    value: float | None
    n: int
    evidence: dict[str, Any] = field(default_factory=dict)
    subject: str | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.check not in CHECKS:
            raise ValueError(f"unknown check {self.check!r}; known: {', '.join(CHECKS)}")

    @property
    def spec(self) -> CheckSpec:
        return CHECKS[self.check]

    @property
    def asset(self) -> str:
        return CHECKS[self.check].asset

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CheckResult:
    """A measurement graded against its levels: one line of the night's scorecard."""

    measurement: Measurement
    status: Status
    warn: float | None  # the levels actually applied (after calibration)
    fail: float | None
    summary: str  # one line: "data_drift 0.42 > fail 0.30 (n=2,000)"
    calibration: dict[str, Any] | None = None  # mean, std, k, floor, ceiling, reference nights

    @property
    def check(self) -> str:
        return self.measurement.check

    @property
    def asset(self) -> str:
        return self.measurement.asset

    @property
    def ticket_kind(self) -> str | None:
        return self.measurement.spec.ticket

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["check"] = self.check
        out["asset"] = self.asset
        out["ticket_kind"] = self.ticket_kind
        return out
