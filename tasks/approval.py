"""Asking a person: the flow run pauses until someone approves or rejects in the Prefect UI.

``pause_flow_run(wait_for_input=ApprovalInput)`` puts the run in Paused and
shows ``ApprovalInput`` as a form on the run's page (Resume). Prefect's open
source server has no user accounts, so the form asks for the approver's name.
A run waits ``approval.timeout_s`` (default one day); then nothing moves and
the timeout is recorded in the pointer ledger.

Only a run of a deployment on a Prefect server pauses: an in-process subflow
(the main job's) would stop the whole job, a direct call (``python``, a test)
has nobody watching for its form, and the in-process (ephemeral) server has no
UI to answer from. There the decision is ``not asked`` and today's way holds
(the HOLD stays, ``tandem promote model`` remains), and the outcome says why.
"""

from __future__ import annotations

import time

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from pydantic import Field

from infra import approval
from infra.approval import Decision
from infra.settings import get_settings


class ApprovalInput(RunInput):
    """The form a paused run shows: approve or reject, why, and who you are."""

    approve: bool = Field(False, description="Tick to approve the promotion; leave unticked to reject it.")
    reason: str = Field(..., min_length=1, description="Why: recorded in the pointer ledger and shown to on-call.")
    approver: str = Field(..., min_length=1, description="Your name: recorded as the actor of the ledger row.")


def pause_unavailable() -> str | None:
    """Why this run cannot pause for a person, or None when it can."""
    from prefect.settings import PREFECT_API_URL

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return "not inside a flow run"
    if context.flow_run.parent_task_run_id is not None:
        return "this run is an in-process subflow (the main job's) and cannot wait for a person"
    if context.flow_run.deployment_id is None:
        return "this run was not started from a deployment (a direct call): nobody is asked to resume it"
    if not PREFECT_API_URL.value():
        return "this run is on Prefect's in-process server, which has no UI to approve from"
    return None


def ask(question: str) -> Decision:
    """Pause the current flow run until a person answers ``question`` in the Prefect UI (or the timeout).

    Returns:
        approved / rejected with the approver and reason, timed out, or not asked (the run cannot pause).
    """
    settings = get_settings().approval
    why_not = pause_unavailable()
    if why_not:
        return Decision("not asked", note=why_not)
    run_id = str(FlowRunContext.get().flow_run.id)
    form = ApprovalInput.with_initial_data(description=question)
    get_run_logger().warning("waiting for approval (up to %ds): %s", settings.timeout_s, question)
    started = time.monotonic()
    try:
        answer = pause_flow_run(wait_for_input=form, timeout=settings.timeout_s, poll_interval=settings.poll_s, _sync=True)
    except FlowPauseTimeout:
        return Decision("timed out", flow_run_id=run_id, waited_s=round(time.monotonic() - started, 1),
                        note=f"timed out after {_duration(settings.timeout_s)}")
    except RuntimeError as exc:  # the server refused the pause
        return Decision("not asked", flow_run_id=run_id, note=f"the server refused to pause the run: {exc}")
    return Decision("approved" if answer.approve else "rejected", approver=answer.approver.strip(), reason=answer.reason.strip(),
                    flow_run_id=run_id, waited_s=round(time.monotonic() - started, 1))


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds:g} s"


# No retries and no cache: a retry would ask the person a second time.
@task(name="await-approval", cache_policy=NO_CACHE)
def approve_champion(registered: dict, verdict_line: str, applied: dict) -> dict:
    """A gate HOLD ``inconclusive``: ask a person whether the challenger becomes champion anyway.

    Returns:
        ``applied`` with the outcome: ``message``, ``champion``, ``moved`` and the ``approval``.
    """
    settings = get_settings()
    version, champion = registered["version"], applied["champion"]
    if not settings.approval.on_inconclusive:
        decision = Decision("not asked", note="approval.on_inconclusive is off")
    else:
        decision = ask(
            f"**Promote v{version} to champion?** The gate held it ({verdict_line}): the evidence is inconclusive, "
            f"not bad. Champion now: {'v' + champion if champion else 'none'}. Approve to promote it, reject to keep "
            f"the champion; your name and reason go to the pointer ledger."
        )
    message, move = approval.decide_champion(settings, decision, version=version, held=applied["message"].split(":")[0],
                                             champion=champion)
    get_run_logger().info(message)
    moved = decision.outcome == "approved" and move is not None and move.new_value == version
    return {**applied, "message": message, "champion": version if moved else champion, "moved": moved,
            "approval": decision.to_dict()}


@task(name="await-approval", cache_policy=NO_CACHE)
def approve_prompt(release: dict) -> dict:
    """A prompt version passed its gate and ``prompt.require_approval`` is set: ask a person before it goes live.

    Returns:
        ``release`` with the outcome: ``message``, ``moved`` and the ``approval``.
    """
    settings = get_settings()
    version = release["version"]
    decision = ask(
        f"**Release prompt v{version} to {settings.prompt.production_alias}?** It passed the golden-set gate on "
        f"{release['collection']}; compliance sign-off is required (prompt.require_approval). Approve to move "
        f"{settings.prompt.production_alias}, reject to keep v{release['previous']}."
    )
    message, move = approval.decide_prompt(settings, decision, version=version, evidence=release["evidence"] or {},
                                           previous=release["previous"])
    get_run_logger().info(message)
    moved = decision.outcome == "approved" and move is not None and move.new_value == str(version)
    return {**release, "message": message, "moved": moved, "awaiting_approval": False, "approval": decision.to_dict()}
