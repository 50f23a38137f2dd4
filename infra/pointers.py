"""Moving the live model pointer (the MLflow alias ``champion``), always through the ledger.

Promotion by the gate and rollback by on-call use the same function, so every
move has its row: old value, new value, who, why and the evidence.
"""

from __future__ import annotations

from typing import Any

from infra.factory import build_pointer_ledger, build_registry, model_pointer
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


def rollback_champion(settings: TandemSettings, *, reason: str, actor: str | None = None) -> PointerMove:
    """Move ``champion`` back to the value it had before its last move.

    Rolling back twice returns to where you started, like ``cd -``: the
    rollback is itself a move with its own ledger row.

    Raises:
        NothingToRollBack: there is no previous champion.
    """
    ledger = build_pointer_ledger(settings)
    last = ledger.rollback_target(model_pointer(settings))
    return move_champion(
        settings,
        last.old_value,
        reason=reason,
        evidence={"rolled_back_move": last.id, "from": last.new_value, "move_reason": last.reason},
        actor=actor,
    )
