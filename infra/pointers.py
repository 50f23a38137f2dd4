"""Moving the live pointers, always through the ledger.

Three pointers are live: the model alias ``champion``, the prompt alias
``production`` and the Qdrant alias ``docs-live``. A gate's promotion and
on-call's rollback use the same function per pointer, so every move has its
row: old value, new value, who, why and the evidence.
"""

from __future__ import annotations

from typing import Any

from infra.factory import (
    build_pointer_ledger,
    build_prompt_registry,
    build_registry,
    build_vector_index,
    index_pointer,
    model_pointer,
    prompt_pointer,
)
from infra.settings import TandemSettings
from infra.stores.ledger import PointerMove, default_actor


def move_champion(
    settings: TandemSettings,
    version: str | None,
    *,
    reason: str,
    evidence: dict[str, Any] | None,
    actor: str | None = None,
) -> PointerMove:
    """Point ``champion`` at ``version`` (None removes the alias) and record it.

    Args:
        settings: where the registry and the ops database are.
        version: the registered model version to make champion.
        reason: why, in words on-call will read.
        evidence: the gate verdict, the rolled-back move, ...
        actor: who; defaults to the configured actor or the OS user.

    Returns:
        The recorded move.
    """
    registry = build_registry(settings)
    ledger = build_pointer_ledger(settings)
    alias = settings.champion_alias
    old = registry.alias_version(alias)
    if version is not None:
        registry.version(version)  # fails clearly if the version does not exist
    return ledger.move(
        model_pointer(settings),
        old_value=old,
        new_value=version,
        actor=default_actor(actor or settings.actor),
        reason=reason,
        evidence=evidence,
        apply=lambda: registry.set_alias(alias, version),
    )


def _rollback(settings: TandemSettings, pointer: str, move, *, reason: str, actor: str | None, convert=lambda v: v) -> PointerMove:
    """Undo the pointer's last move with ``move`` (the pointer's own move function).

    Rolling back twice returns to where you started, like ``cd -``: the
    rollback is itself a move with its own ledger row.

    Raises:
        NothingToRollBack: the pointer has no previous value.
    """
    last = build_pointer_ledger(settings).rollback_target(pointer)
    return move(
        settings,
        None if last.old_value is None else convert(last.old_value),
        reason=reason,
        evidence={"rolled_back_move": last.id, "from": last.new_value, "move_reason": last.reason},
        actor=actor,
    )


def rollback_champion(settings: TandemSettings, *, reason: str, actor: str | None = None) -> PointerMove:
    """Move ``champion`` back to the version it had before its last move."""
    return _rollback(settings, model_pointer(settings), move_champion, reason=reason, actor=actor)


def move_prompt(
    settings: TandemSettings, version: int | None, *, reason: str, evidence: dict[str, Any] | None, actor: str | None = None
) -> PointerMove:
    """Point the prompt's ``production`` alias at ``version`` and record it."""
    registry = build_prompt_registry(settings)
    alias = settings.prompt.production_alias
    old = registry.alias_version(alias)
    if version is not None:
        registry.get(version)  # fails clearly if the version does not exist
    return build_pointer_ledger(settings).move(
        prompt_pointer(settings),
        old_value=None if old is None else str(old),
        new_value=None if version is None else str(version),
        actor=default_actor(actor or settings.actor),
        reason=reason,
        evidence=evidence,
        apply=lambda: registry.set_alias(alias, version),
    )


def rollback_prompt(settings: TandemSettings, *, reason: str, actor: str | None = None) -> PointerMove:
    """Move ``production`` back to the version it had before its last move."""
    return _rollback(settings, prompt_pointer(settings), move_prompt, reason=reason, actor=actor, convert=int)


def move_index(
    settings: TandemSettings, collection: str | None, *, reason: str, evidence: dict[str, Any] | None, actor: str | None = None
) -> PointerMove:
    """Point the Qdrant alias ``docs-live`` at ``collection`` and record it."""
    index = build_vector_index(settings)
    old = index.live_collection()
    if collection is not None and not index.exists(collection):
        raise ValueError(f"collection {collection!r} does not exist (was it cleaned up?)")
    return build_pointer_ledger(settings).move(
        index_pointer(settings),
        old_value=old,
        new_value=collection,
        actor=default_actor(actor or settings.actor),
        reason=reason,
        evidence=evidence,
        apply=lambda: index.point_alias(collection),
    )


def rollback_index(settings: TandemSettings, *, reason: str, actor: str | None = None) -> PointerMove:
    """Move ``docs-live`` back to the collection it pointed at before its last move."""
    return _rollback(settings, index_pointer(settings), move_index, reason=reason, actor=actor)
