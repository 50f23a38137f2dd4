"""The model gate: register a challenger once, judge it, apply the verdict; and a person's promotion.

The same shape as the prompt and index releases in ``infra.rag.release``: the
verdict is stored on the version first, then the pointer moves through the
pointer ledger (``move``, e.g. ``functools.partial(infra.pointers.move_champion,
settings)``). A pinned pointer keeps the verdict and does not move.

Crash safety: a version is registered with its data fingerprint and a
registration key in one call, and ``gate.decision`` is the last tag written,
after any pointer move. A run killed anywhere in between leaves a version
without ``gate.decision``, which the next run finds by fingerprint and gates
instead of training again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from models.promotion import GatePolicy, Verdict, decide
from models.schema import DatasetSchema
from models.scoring import predict_proba
from infra.clients.mlflow_registry import ModelRegistry, RegisteredRun
from infra.settings import TandemSettings
from infra.stores.ledger import PointerMove, PointerPinned

if TYPE_CHECKING:  # annotations only: `tandem promote model` needs neither the fit nor the training set
    from infra.risk.fit import FitResult
    from infra.risk.training_set import TrainingSet

log = logging.getLogger(__name__)

MoveChampion = Callable[..., PointerMove]  # (version, *, reason, evidence, actor) -> the recorded move

DECISION_TAG = "gate.decision"
POLICY_TAG = "gate.policy"
FINGERPRINT_TAG = "data_fingerprint"
VERDICT_FILE = "gate_verdict.json"


class NotPromotable(ValueError):
    """A person asked to promote a version the gate rejected, never judged, or that is already champion."""


def gate_policy(settings: TandemSettings) -> GatePolicy:
    """The gate's thresholds from settings."""
    g = settings.gate
    return GatePolicy(
        min_auc=g.min_auc, max_brier=g.max_brier, tolerance=g.tolerance,
        n_bootstrap=g.n_bootstrap, confidence=g.confidence, seed=g.seed,
    )


def policy_key(policy: GatePolicy) -> str:
    """A short hash of the thresholds: a verdict made under other thresholds is judged again."""
    return hashlib.sha256(json.dumps(policy.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def registration_key(fingerprint: str, attempt: str) -> str:
    """The key that makes one registration idempotent: the training's fingerprint within one attempt (a flow run).

    A retried task in the same flow run reuses the version; ``--force`` (a new
    flow run) registers a new one on purpose.
    """
    return hashlib.sha256(f"{fingerprint}:{attempt}".encode()).hexdigest()


@dataclass(frozen=True)
class TrainedVersion:
    """A registered version trained on exactly this training set and these parameters.

    Attributes:
        version: The registered version.
        run_id: Its training run.
        decision: The gate's decision, or None if it was never gated.
        code: The verdict's code ("inconclusive", ...), if any.
        headline: The verdict's decisive checks in a few words.
        needs_gate: True when the next run must gate it: never gated, or
            rejected / held under thresholds that have changed since.
        why: Why it needs the gate (empty when it does not).
        model_uri: ``models:/<name>/<version>``.
    """

    version: str
    run_id: str
    model_uri: str
    decision: str | None
    code: str
    headline: str
    needs_gate: bool
    why: str

    def registered(self) -> dict:
        """The version as :func:`register_challenger` returns it."""
        return {"run_id": self.run_id, "version": self.version, "model_uri": self.model_uri}


def find_trained_version(registry: ModelRegistry, fingerprint: str, policy: GatePolicy) -> TrainedVersion | None:
    """The newest version with this training fingerprint, and whether it still needs the gate."""
    version = registry.find_version_by_tag(FINGERPRINT_TAG, fingerprint)
    if version is None:
        return None
    mv = registry.version(version)
    tags = mv.tags
    decision = tags.get(DECISION_TAG)
    if decision is None:
        needs, why = True, "registered but never gated (its training run stopped before the verdict)"
    elif decision != "PROMOTE" and tags.get(POLICY_TAG) != policy_key(policy):
        needs, why = True, f"judged {decision} under other gate thresholds than the current ones"
    else:
        needs, why = False, ""
    return TrainedVersion(
        version=version, run_id=mv.run_id, model_uri=f"models:/{registry.model_name}/{version}", decision=decision, code=tags.get("gate.code", ""),
        headline=tags.get("gate.headline") or tags.get("gate.reason", ""), needs_gate=needs, why=why,
    )


def trained_message(found: TrainedVersion, start: Any, end: Any, *, champion: str | None) -> str:
    """What a rerun on already-judged partitions says: what was decided, why, and what to change."""
    where = f"v{found.version} on these partitions ({start}..{end})"
    if found.decision == "REJECT":
        return (
            f"{where} was REJECTED: {found.headline}; change the window, the parameters or the gate "
            f"(TANDEM_GATE__*), or pass --force"
        )
    if found.decision == "HOLD":
        hint = (
            f"promote it by hand with `tandem promote model {found.version} --reason ...`, train on a longer window"
            if found.code == "inconclusive" else "change the window or the parameters"
        )
        return f"{where} was HELD ({found.code or 'held'}): {found.headline}; {hint}, or pass --force"
    state = "and is the champion" if champion == found.version else f"(champion is now v{champion})" if champion else "(no champion now)"
    return f"{where} was already trained and PROMOTED {state}; ingest new days or pass --force to train again"


def register_challenger(
    registry: ModelRegistry,
    training_set: TrainingSet,
    fit: FitResult,
    *,
    schema: DatasetSchema,
    fingerprint: str,
    key: str,
    flow_run_id: str | None,
) -> RegisteredRun:
    """Log the run (params, metrics, partitions with hashes, schema, data figures) and register the version once per ``key``."""
    metrics = {f"test_{k}": float(v) for k, v in fit.metrics.items() if v is not None}
    metrics["valid_auc"] = float(fit.valid_auc)
    metrics |= {f"rows_{k}": float(v) for k, v in fit.rows.items()}
    metrics["best_iteration"] = float(fit.best_iteration)
    return registry.log_training_run(
        booster=fit.booster,
        example=fit.example,
        params=fit.params,
        metrics=metrics,
        dicts={
            "partitions.json": training_set.partitions,
            "schema.json": schema.to_dict(),
            "split.json": {"days": fit.split_days, "rows": fit.rows},
            "training_data.json": fit.data.to_dict(),
            "segment_auc.json": fit.segment_auc,
            "importance.json": fit.importance.to_dict(orient="records"),
            "calibration.json": fit.calibration.to_dict(orient="records"),
        },
        texts={},
        tags={
            FINGERPRINT_TAG: fingerprint,
            "window_start": training_set.start.isoformat(),
            "window_end": training_set.end.isoformat(),
            "schema_version": schema.version,
            "prefect_flow_run_id": flow_run_id or "",
        },
        run_name=f"train {training_set.start}..{training_set.end}",
        registration_key=key,
    )


def run_gate(registry: ModelRegistry, fit: FitResult, *, policy: GatePolicy, champion_alias: str) -> tuple[Verdict, str | None]:
    """Champion/challenger on the challenger's out-of-time test set; returns the verdict and the champion compared with."""
    champion = registry.alias_version(champion_alias)
    champion_scores = None
    if champion is not None:
        champion_scores = predict_proba(registry.load_booster(champion), fit.test_X)
    return decide(fit.test_y, fit.test_scores, champion_scores, policy=policy), champion


@dataclass(frozen=True)
class AppliedVerdict:
    """What applying a verdict did.

    Attributes:
        decision: The gate's decision.
        champion: The champion after applying it.
        moved: Whether ``champion`` moved.
        pinned: Whether a pin stopped a PROMOTE from moving it.
        message: One line, e.g. "PROMOTE (pinned: champion stays v3)".
    """

    decision: str
    champion: str | None
    moved: bool
    pinned: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def apply_verdict(
    registry: ModelRegistry,
    move: MoveChampion,
    *,
    version: str,
    run_id: str,
    verdict: Verdict,
    champion: str | None,
    policy: GatePolicy,
    actor: str,
) -> AppliedVerdict:
    """Store the verdict on the version; on PROMOTE move ``champion`` (unless pinned); mark the version gated last."""
    evidence = {"version": version, "run_id": run_id, "compared_with": champion, "verdict": verdict.to_dict()}
    registry.log_dict(run_id, evidence, VERDICT_FILE)
    registry.set_version_tags(
        version,
        {
            "gate.reason": verdict.reason,
            "gate.code": verdict.code,
            "gate.headline": verdict.headline,
            "gate.auc": str(verdict.figures["auc"]) if "auc" in verdict.figures else "",
            "gate.compared_with": champion or "",
            "gate.checks": json.dumps(evidence["verdict"]["checks"], default=str),
            POLICY_TAG: policy_key(policy),
        },
    )
    moved, pinned, now = False, False, champion
    if verdict.decision == "PROMOTE" and champion != version:
        try:
            move(version, reason=f"gate PROMOTE: {verdict.reason}", evidence=evidence, actor=actor)
            moved, now = True, version
        except PointerPinned as exc:
            pinned = True
            log.warning("gate PROMOTE for v%s recorded, champion not moved: %s", version, exc)
    # Written last: a run killed before this line leaves the version ungated, and the next run gates it.
    registry.set_version_tags(version, {DECISION_TAG: verdict.decision, "gate.pinned": "yes" if pinned else ""})
    if pinned:
        message = f"PROMOTE (pinned: champion stays {'v' + champion if champion else 'unset'})"
    elif verdict.decision == "PROMOTE":
        message = f"PROMOTE: champion is v{version}" + ("" if moved else " (already)")
    else:
        message = f"{verdict.decision}{f' ({verdict.code})' if verdict.code else ''}: champion stays {'v' + champion if champion else 'unset'}"
    return AppliedVerdict(verdict.decision, now, moved, pinned, message)


def stored_verdict(registry: ModelRegistry, version: str) -> dict[str, Any]:
    """The verdict stored with a version (``gate_verdict.json``; the tags when the file is missing)."""
    mv = registry.version(version)
    try:
        return registry.load_dict(mv.run_id, VERDICT_FILE)["verdict"]
    except Exception:  # an older version, or an artifact store that lost the file: the tags still say it
        tags = mv.tags
        return {"decision": tags.get(DECISION_TAG), "reason": tags.get("gate.reason"), "code": tags.get("gate.code", "")}


def promote_by_hand(
    registry: ModelRegistry,
    move: MoveChampion,
    *,
    version: str,
    reason: str,
    actor: str,
    champion_alias: str,
    approval: dict[str, Any] | None = None,
) -> PointerMove:
    """A person promotes a version the gate HELD (never one it REJECTED or never judged).

    The move is recorded in the pointer ledger as a human decision: the person
    as actor, their reason, and the gate's verdict as evidence; ``approval``
    (a paused run's form: flow run, approver, reason) is added to it when given.

    Raises:
        NotPromotable: Unknown, never gated, rejected, or already champion.
        PointerPinned: ``champion`` is pinned (``tandem unpin`` first).
    """
    if not reason.strip():
        raise NotPromotable("a human promotion needs a reason (--reason)")
    known = {str(v.version): v for v in registry.versions()}
    if str(version) not in known:
        raise NotPromotable(f"{registry.model_name} has no version {version} (versions: {', '.join(sorted(known, key=int)) or 'none'})")
    tags = known[str(version)].tags
    decision = tags.get(DECISION_TAG)
    if decision is None:
        raise NotPromotable(f"v{version} was never gated: run `tandem train` (it gates a registered, ungated version first)")
    if decision == "REJECT":
        raise NotPromotable(
            f"v{version} was REJECTED by the gate ({tags.get('gate.headline') or tags.get('gate.reason')}): "
            f"a rejected version cannot be promoted; train a new one"
        )
    if registry.alias_version(champion_alias) == str(version):
        raise NotPromotable(f"v{version} is already {champion_alias}")
    verdict = stored_verdict(registry, str(version))
    evidence = {"decision": "human decision", "version": str(version), "run_id": known[str(version)].run_id, "verdict": verdict}
    if approval:
        evidence["approval"] = approval
    moved = move(str(version), reason=f"human decision over gate {decision}: {reason}", evidence=evidence, actor=actor)
    registry.set_version_tags(str(version), {"human.decision": "PROMOTE", "human.actor": moved.actor, "human.reason": reason})
    return moved
