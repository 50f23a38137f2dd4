"""The prompt release flow: a prompt version reaches production only through the golden-set gate."""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from prefect.states import Completed

from infra.flow_runs import RAG, name_by, prompt_message, run_hooks
from tasks.approval import approve_prompt
from tasks.rag import release_prompt_version


@flow(name="prompt-release", flow_run_name=name_by("prompt-release v{version}"), **run_hooks(RAG))
def prompt_release(version: int, reason: str | None = None, golden_path: Path | None = None) -> dict:
    """Gate a prompt version and, if it passes, move the ``production`` alias.

    Steps:
    1. evaluate the version on the golden set over docs-live (reused if already done);
    2. store the verdict as tags on the prompt version;
    3. pass -> move ``production`` through the pointer ledger; fail -> HOLD, nothing moves;
       pass while a rollback pinned ``production`` -> PINNED, the verdict stays on the
       version and nothing moves until ``tandem unpin prompt``;
    4. pass with ``prompt.require_approval`` set -> pause for a person's approval in the Prefect UI
       (approve -> production moves, the approver recorded; reject or timeout -> recorded, nothing moves).

    The final state's message is the outcome: ``production -> v3``, ``HOLD v3: ...``, ``PINNED v3: ...``.

    Args:
        version: the prompt version (in MLflow's prompt registry) to gate and release.
        reason: why it is released: recorded with the pointer move.
        golden_path: the golden set of the release gate (default: the worker's TANDEM_INDEX__GOLDEN_PATH, else the demo golden set).
    """
    release = release_prompt_version(version, reason, golden_path)
    if release["awaiting_approval"]:  # prompt.require_approval: compliance sign-off before production moves
        release = approve_prompt(release)
    return Completed(message=prompt_message(release), data=release)
