"""A person's decision on a held promotion, applied through the pointer ledger.

A paused flow run (``tasks.approval``) asks a person in the Prefect UI; what
they answered arrives here as a ``Decision``. Approve: the pointer moves, the
ledger row carries the approver as actor, their reason and the approval as
evidence. Reject or no answer in time: nothing moves, and a ledger row with
old = new records who decided what, or that nobody did. A run that could not
pause (``not asked``) records nothing and keeps today's way: the HOLD stays and
``tandem promote model`` remains.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, Literal

from infra.factory import build_pointer_ledger, build_registry
from infra.pointers import champion_pointer, move_champion, move_prompt, production_prompt_pointer
from infra.settings import TandemSettings
from infra.stores.ledger import PointerMove, PointerPinned

Outcome = Literal["approved", "rejected", "timed out", "not asked"]


@dataclass(frozen=True)
class Decision:
    """What came back from asking a person.

    Attributes:
        outcome: approved, rejected, timed out, or not asked (the run could not pause; ``note`` says why).
        approver: who answered (the form's name field); None without an answer.
        reason: their reason; None without an answer.
        flow_run_id: the paused run.
        waited_s: how long the run waited.
        note: why nobody was asked, or the timeout in words.
    """

    outcome: Outcome
    approver: str | None = None
    reason: str | None = None
    flow_run_id: str | None = None
    waited_s: float = 0.0
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stays(value: str | None, fmt: str) -> str:
    return fmt.format(value) if value else "unset"


def decide_champion(settings: TandemSettings, decision: Decision, *, version: str, held: str, champion: str | None) -> tuple[str, PointerMove | None]:
    """Apply a person's decision on a version the gate HELD ``inconclusive``.

    Args:
        version: the held version.
        held: the gate's line, e.g. "HOLD (inconclusive)".
        champion: the champion when the gate held it.

    Returns:
        The run's outcome line, and the ledger row written (None when nothing was).
    """
    stays = f"champion stays {_stays(champion, 'v{}')}"
    if decision.outcome == "not asked":
        return (f"{held}: {stays}; no approval asked ({decision.note}); "
                f"`tandem promote model {version} --reason ...` promotes it by hand"), None
    if decision.outcome == "approved":
        from infra.risk.gate import promote_by_hand  # here: the prompt side needs neither XGBoost nor the model registry

        try:
            move = promote_by_hand(
                build_registry(settings), partial(move_champion, settings), version=version, reason=decision.reason or "",
                actor=decision.approver or "unknown", champion_alias=settings.champion_alias, approval=decision.to_dict(),
            )
        except PointerPinned as exc:
            move = _note(settings, champion_pointer(settings), decision, f"approved v{version}, but the pointer is pinned: {exc}")
            return f"{held}, approved by {decision.approver}, but {exc} (recorded, move #{move.id})", move
        return f"{held}, approved by {decision.approver} ({decision.reason}): champion is v{version} (move #{move.id})", move
    what = f"v{version} (gate {held})"
    move = _note(settings, champion_pointer(settings), decision, _noted(decision, what))
    return f"{held}, {_said(decision)}: {stays} (recorded, move #{move.id})", move


def decide_prompt(settings: TandemSettings, decision: Decision, *, version: int, evidence: dict[str, Any], previous: int | None) -> tuple[str, PointerMove | None]:
    """Apply a person's decision on a prompt version that passed its release gate (``prompt.require_approval``).

    Returns:
        The run's outcome line, and the ledger row written (None when nothing was).
    """
    alias = settings.prompt.production_alias
    stays = f"{alias} stays {_stays(str(previous) if previous is not None else None, 'v{}')}"
    if decision.outcome == "not asked":
        return f"HOLD: v{version} passed the release gate but needs approval; {stays}; no approval asked ({decision.note})", None
    if decision.outcome == "approved":
        try:
            move = move_prompt(settings, version, reason=f"human decision: approved v{version}: {decision.reason}",
                               evidence={**evidence, "approval": decision.to_dict()}, actor=decision.approver)
        except PointerPinned as exc:
            move = _note(settings, production_prompt_pointer(settings), decision, f"approved v{version}, but the pointer is pinned: {exc}")
            return f"PINNED: v{version} approved by {decision.approver}, but {exc} (recorded, move #{move.id})", move
        return f"PROMOTE: v{version} is now {alias}, approved by {decision.approver} ({decision.reason}; move #{move.id})", move
    move = _note(settings, production_prompt_pointer(settings), decision, _noted(decision, f"prompt v{version}"))
    return f"HOLD: v{version} {_said(decision)}: {stays} (recorded, move #{move.id})", move


def _said(decision: Decision) -> str:
    if decision.outcome == "rejected":
        return f"rejected by {decision.approver} ({decision.reason})"
    return f"approval {decision.note or 'timed out'}"


def _noted(decision: Decision, what: str) -> str:
    if decision.outcome == "rejected":
        return f"human decision: rejected {what}: {decision.reason}"
    return f"approval for {what} {decision.note or 'timed out'}: nothing moved"


def _note(settings: TandemSettings, pointer, decision: Decision, reason: str) -> PointerMove:
    actor = decision.approver if decision.outcome in ("approved", "rejected") and decision.approver else "tandem"
    return build_pointer_ledger(settings).note(
        pointer.name, actor=actor, reason=reason, evidence={"action": "approval", "approval": decision.to_dict()},
        read_current=pointer.read,
    )
