"""The prompt release flow: a prompt version reaches production only through the golden-set gate."""

from __future__ import annotations

from prefect import flow

from tasks.rag import release_prompt_version


@flow(name="prompt-release")
def prompt_release(version: int, reason: str | None = None) -> dict:
    """Gate a prompt version and, if it passes, move the ``production`` alias.

    Steps:
    1. evaluate the version on the golden set over docs-live (reused if already done);
    2. store the verdict as tags on the prompt version;
    3. pass -> move ``production`` through the pointer ledger; fail -> HOLD, nothing moves;
       pass while a rollback pinned ``production`` -> PINNED, the verdict stays on the
       version and nothing moves until ``tandem unpin prompt``.
    """
    return release_prompt_version(version, reason)
