"""The remediation flow: a ticket's remedy, through the same gates as any change."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import Completed

from flows.prompt_release import prompt_release
from flows.reindex import reindex
from flows.train import train
from infra.flow_runs import RAG, RISK, name_by, remediate_message, run_hooks
from tasks.common import shared_api_client
from tasks.monitoring import plan_remedy, record_remedy


@flow(name="remediate", flow_run_name=name_by("remediate ticket #{ticket_id}"), **run_hooks(RISK, RAG))
async def remediate(ticket_id: int, night: date | None = None) -> dict:
    """Act on one ticket (started by a deployment trigger on its ``tandem.ticket.*`` events).

    Steps:
    1. plan (``models.remedy``): a ``retrain`` waits until enough shifted days have matured
       labels (in a deployment, scheduling this deployment's run for the night they will have),
       then trains on the window ending ``night - label delay``; a ``re-index``
       rebuilds the index; a ``re-prompt`` gates the ``staging`` prompt if there is one;
       other kinds, and a remedy already done for this state, do nothing;
    2. run it through its gate: ``train`` (champion/challenger), ``reindex`` (retrieval),
       ``prompt-release`` (golden set); a pinned pointer is never moved;
    3. record the plan and the verdict on the ticket, which resolves itself in the next
       nightly evaluation if the remedy promoted and the checks are green.

    The final state's message is the ticket and the action taken (``ticket #7 retrain: ...``).

    Args:
        ticket_id: the ticket to act on (from the ``tandem.ticket.*`` event).
        night: the night acted for (default: the ticket's last failing night); a retrain's window
            ends ``night - label delay``.
    """
    with shared_api_client():
        plan = plan_remedy(ticket_id, night)
        result = None
        if plan.action == "retrain":
            result = await train(end=plan.train_end)
        elif plan.action == "reindex":
            result = reindex()
        elif plan.action == "release-prompt":
            result = prompt_release(plan.prompt_version, reason=f"remedy for ticket #{ticket_id}")
        remedy = record_remedy(plan, result)
        done = {"ticket_id": ticket_id, "action": plan.action, "reason": plan.reason, "remedy": remedy}
        return Completed(message=remediate_message(done), data=done)
