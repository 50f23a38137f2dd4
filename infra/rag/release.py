"""Gated pointer moves for the RAG side: an index release and a prompt release.

Both the flows and the CLI call these, so a release from the UI and one from a
terminal are the same code and leave the same ledger row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexes.prompts import DEFAULT_PARAMS, DEFAULT_TEMPLATE, PromptSpec
from infra.factory import (
    build_gateway,
    build_index_builds,
    build_prompt_registry,
    build_rag_tracking,
    build_vector_index,
)
from infra.pointers import move_index, move_prompt
from infra.rag.evaluation import GateResult, evaluate_prompt
from infra.settings import TandemSettings
from infra.sources.golden import load_golden
from infra.stores.ledger import PointerPinned

log = logging.getLogger(__name__)

# Prompt version tag holding the model the version was gated with (see ``release_prompt``).
GATE_MODEL_TAG = "gate.model"


@dataclass
class PromptRelease:
    version: int
    collection: str
    gate: GateResult
    moved: bool
    previous: int | None
    message: str
    pinned: bool = False  # the gate passed but a rollback pinned ``production``
    awaiting_approval: bool = False  # the gate passed; ``prompt.require_approval`` wants a person's approval first
    evidence: dict[str, Any] | None = None  # what the move records (kept for the move after an approval)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "collection": self.collection, "gate": self.gate.to_dict(), "moved": self.moved,
                "previous": self.previous, "message": self.message, "pinned": self.pinned,
                "awaiting_approval": self.awaiting_approval, "evidence": self.evidence}


def release_prompt(
    settings: TandemSettings, version: int, *, actor: str | None = None, reason: str | None = None, force_eval: bool = False,
    golden_path: Path | None = None,
) -> PromptRelease:
    """Evaluate a prompt version on the golden set over ``docs-live``; move ``production`` only if it passes.

    The verdict is also stored on the version as tags (``gate``, ``gate.<metric>``).
    While a rollback pins ``production``, the gate still runs and its verdict
    is stored, but the alias stays (``moved=False, pinned=True``) until
    ``tandem unpin prompt``; this holds for a person's ``tandem prompts
    promote`` too. ``golden_path`` (default: the settings') is the golden
    set the gate answers.
    """
    registry = build_prompt_registry(settings)
    spec = registry.get(version)
    gateway = build_gateway(settings)
    collection = build_vector_index(settings).live_collection()
    if collection is None:
        raise RuntimeError(f"'{settings.index.live_alias}' points at no collection: run `tandem reindex` first")
    golden = load_golden(golden_path or settings.resolved_golden_path)
    gate = evaluate_prompt(gateway, golden, build_rag_tracking(settings), prompt=spec, collection=collection, force=force_eval)
    for check in gate.checks:
        registry.client.set_prompt_version_tag(registry.name, version, f"gate.{check.name}", f"{check.value:.4f}")
    registry.client.set_prompt_version_tag(registry.name, version, "gate", "pass" if gate.passed else "fail")
    # The model this prompt is released to run on: the nightly ``provider_model``
    # check compares it with the model the endpoint reports serving.
    gated_model = gateway.endpoint.model if gateway.endpoint is not None else gateway.offline.model
    registry.client.set_prompt_version_tag(registry.name, version, GATE_MODEL_TAG, gated_model)
    previous = registry.alias_version(settings.prompt.production_alias)
    if not gate.passed:
        return PromptRelease(version, collection, gate, False, previous, f"HOLD: v{version} failed the release gate ({gate.describe()})")
    if previous == version:
        return PromptRelease(version, collection, gate, False, previous, f"v{version} is already {settings.prompt.production_alias}")
    evidence = {"gate": gate.to_dict(), "collection": collection, "golden_set": golden.path, "model": gated_model}
    if settings.prompt.require_approval:  # compliance sign-off: the prompt-release run pauses for it (tasks.approval)
        return PromptRelease(
            version, collection, gate, False, previous,
            f"HOLD: v{version} passed the release gate ({gate.describe()}); production needs a person's approval "
            f"(prompt.require_approval): a run of the prompt-release deployment asks for it in the Prefect UI",
            awaiting_approval=True, evidence=evidence,
        )
    try:
        move_prompt(settings, version, reason=reason or f"release gate passed on {collection}", evidence=evidence, actor=actor)
    except PointerPinned as exc:
        log.warning("v%s passed the release gate but stays off production: %s", version, exc)
        return PromptRelease(version, collection, gate, False, previous,
                             f"PINNED: v{version} passed the release gate ({gate.describe()}), but {exc}", pinned=True)
    return PromptRelease(version, collection, gate, True, previous, f"PROMOTE: v{version} is now {settings.prompt.production_alias} ({gate.describe()})")


def ensure_default_prompt(settings: TandemSettings) -> PromptSpec:
    """Register the built-in answer prompt as version 1 if the registry has none (the embedded default)."""
    registry = build_prompt_registry(settings)
    versions = registry.versions()
    if versions:
        return registry.get(versions[-1].version)
    spec = registry.register(DEFAULT_TEMPLATE, DEFAULT_PARAMS, message="built-in answer prompt", tags={"source": "tandem default"})
    registry.set_alias(settings.prompt.staging_alias, spec.version)
    return spec


def release_index(settings: TandemSettings, collection: str, gate: GateResult, *, actor: str | None = None) -> str:
    """Move ``docs-live`` to a built collection if its retrieval gate passed; record the build's outcome.

    Returns:
        ``released`` (docs-live moved), ``rejected`` (the gate failed) or
        ``pinned`` (the gate passed, but a rollback pinned docs-live: it stays
        until ``tandem unpin index``, and the next reindex resumes this build).
    """
    builds = build_index_builds(settings)
    if not gate.passed:
        builds.finish(collection, status="rejected", gate=gate.to_dict())
        log.warning("%s failed the retrieval gate, docs-live unchanged: %s", collection, gate.describe())
        return "rejected"
    try:
        move_index(settings, collection, reason=f"retrieval gate passed ({gate.describe()})", evidence={"gate": gate.to_dict()}, actor=actor or "reindex")
    except PointerPinned as exc:
        builds.finish(collection, status="pinned", gate={**gate.to_dict(), "pin": exc.pin})
        log.warning("%s passed the retrieval gate but docs-live stays: %s", collection, exc)
        return "pinned"
    builds.finish(collection, status="released", gate=gate.to_dict())
    return "released"
