"""Moving the live pointers, always through the ledger.

Three pointers are live: the model alias ``champion``, the prompt alias
``production`` and the Qdrant alias ``docs-live``. A gate's promotion and
on-call's rollback use the same functions per pointer, so every move has its
row: old value, new value, who, why and the evidence.

Each move reads the live value, applies the change and writes its row under
the pointer's database lock (``PointerLedger``), so two processes moving the
same pointer queue up instead of recording a value that was not the one they
replaced. A rollback pins the pointer: gate-driven and human promotions raise
``PointerPinned`` until ``unpin`` (``tandem unpin``) lifts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

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
from infra.stores.ledger import Pin, PointerMove, default_actor

KINDS = ("model", "prompt", "index")


@dataclass(frozen=True)
class LivePointer:
    """One live pointer: its ledger name, how to read it and how to move it."""

    name: str
    read: Callable[[], str | None]
    apply: Callable[[str | None], None]


def champion_pointer(settings: TandemSettings) -> LivePointer:
    """The model alias ``champion`` in the MLflow registry."""
    registry = build_registry(settings)
    alias = settings.champion_alias

    def apply(version: str | None) -> None:
        if version is not None:
            registry.version(version)  # fails clearly if the version does not exist
        registry.set_alias(alias, version)

    return LivePointer(model_pointer(settings), lambda: registry.alias_version(alias), apply)


def production_prompt_pointer(settings: TandemSettings) -> LivePointer:
    """The prompt alias ``production`` in MLflow's prompt registry (values are version numbers as text)."""
    registry = build_prompt_registry(settings)
    alias = settings.prompt.production_alias

    def read() -> str | None:
        version = registry.alias_version(alias)
        return None if version is None else str(version)

    def apply(version: str | None) -> None:
        if version is not None:
            registry.get(int(version))  # fails clearly if the version does not exist
        registry.set_alias(alias, None if version is None else int(version))

    return LivePointer(prompt_pointer(settings), read, apply)


def live_index_pointer(settings: TandemSettings) -> LivePointer:
    """The Qdrant alias ``docs-live``."""
    index = build_vector_index(settings)

    def apply(collection: str | None) -> None:
        if collection is not None and not index.exists(collection):
            raise ValueError(f"collection {collection!r} does not exist (was it cleaned up?)")
        index.point_alias(collection)

    return LivePointer(index_pointer(settings), index.live_collection, apply)


def move_pointer(
    settings: TandemSettings,
    pointer: LivePointer,
    value: str | None,
    *,
    reason: str,
    evidence: dict[str, Any] | None,
    actor: str | None = None,
) -> PointerMove:
    """Move any live pointer to ``value`` under its lock and record it.

    Raises:
        PointerPinned: a rollback pinned the pointer; it stays where it is.
    """
    return build_pointer_ledger(settings).move(
        pointer.name,
        new_value=value,
        read_current=pointer.read,
        apply=pointer.apply,
        actor=default_actor(actor or settings.actor),
        reason=reason,
        evidence=evidence,
    )


def rollback_pointer(settings: TandemSettings, pointer: LivePointer, *, reason: str, actor: str | None = None) -> PointerMove:
    """Undo the pointer's last change (chosen under its lock) and pin it there.

    Rolling back twice returns to where you started, like ``cd -``: the
    rollback is itself a move with its own ledger row.

    Raises:
        NothingToRollBack: the pointer has no previous value.
    """
    return build_pointer_ledger(settings).roll_back(
        pointer.name,
        read_current=pointer.read,
        apply=pointer.apply,
        actor=default_actor(actor or settings.actor),
        reason=reason,
    )


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

    Raises:
        PointerPinned: ``champion`` is pinned by a rollback; it did not move.
    """
    return move_pointer(settings, champion_pointer(settings), None if version is None else str(version),
                        reason=reason, evidence=evidence, actor=actor)


def rollback_champion(settings: TandemSettings, *, reason: str, actor: str | None = None) -> PointerMove:
    """Move ``champion`` back to the version it had before its last move, and pin it."""
    return rollback_pointer(settings, champion_pointer(settings), reason=reason, actor=actor)


def move_prompt(
    settings: TandemSettings, version: int | None, *, reason: str, evidence: dict[str, Any] | None, actor: str | None = None
) -> PointerMove:
    """Point the prompt's ``production`` alias at ``version`` and record it.

    Raises:
        PointerPinned: ``production`` is pinned by a rollback; it did not move.
    """
    return move_pointer(settings, production_prompt_pointer(settings), None if version is None else str(version),
                        reason=reason, evidence=evidence, actor=actor)


def rollback_prompt(settings: TandemSettings, *, reason: str, actor: str | None = None) -> PointerMove:
    """Move ``production`` back to the version it had before its last move, and pin it."""
    return rollback_pointer(settings, production_prompt_pointer(settings), reason=reason, actor=actor)


def move_index(
    settings: TandemSettings, collection: str | None, *, reason: str, evidence: dict[str, Any] | None, actor: str | None = None
) -> PointerMove:
    """Point the Qdrant alias ``docs-live`` at ``collection`` and record it.

    Raises:
        PointerPinned: ``docs-live`` is pinned by a rollback; it did not move.
    """
    return move_pointer(settings, live_index_pointer(settings), collection, reason=reason, evidence=evidence, actor=actor)


def rollback_index(settings: TandemSettings, *, reason: str, actor: str | None = None) -> PointerMove:
    """Move ``docs-live`` back to the collection it pointed at before its last move, and pin it."""
    return rollback_pointer(settings, live_index_pointer(settings), reason=reason, actor=actor)


def pointer_names(settings: TandemSettings) -> dict[str, str]:
    """``model``/``prompt``/``index`` -> the pointer's ledger name."""
    return {"model": model_pointer(settings), "prompt": prompt_pointer(settings), "index": index_pointer(settings)}


def resolve_pointer(settings: TandemSettings, text: str) -> str:
    """A pointer's ledger name from ``model``, ``prompt``, ``index`` or the name itself.

    Raises:
        ValueError: ``text`` names no live pointer.
    """
    names = pointer_names(settings)
    if text in names:
        return names[text]
    if text in names.values():
        return text
    choices = ", ".join(list(names) + list(names.values()))
    raise ValueError(f"{text!r} is not a live pointer (one of: {choices})")


def unpin(settings: TandemSettings, pointer: str, *, reason: str, actor: str | None = None) -> PointerMove | None:
    """Lift a rollback's pin so gates move the pointer again (recorded in the ledger: who, why).

    Args:
        pointer: ``model``, ``prompt``, ``index`` or a ledger name.

    Returns:
        The recorded row, or None when the pointer was not pinned.
    """
    name = resolve_pointer(settings, pointer)
    return build_pointer_ledger(settings).unpin(name, actor=default_actor(actor or settings.actor), reason=reason)


def pins(settings: TandemSettings) -> list[Pin]:
    """Every pinned pointer."""
    return build_pointer_ledger(settings).pins()
