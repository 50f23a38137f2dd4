"""The model card of a trained version: rendered from the training set actually used, stored twice."""

from __future__ import annotations

from datetime import datetime, timezone

from models.card import render_model_card
from models.promotion import Verdict
from infra.clients.mlflow_registry import ModelRegistry
from infra.risk.fit import FitResult
from infra.risk.training_set import TrainingSet
from infra.stores.model_cards import ModelCardStore


def publish_card(
    registry: ModelRegistry,
    cards: ModelCardStore,
    *,
    training_set: TrainingSet,
    fit: FitResult,
    version: str,
    run_id: str,
    verdict: Verdict | None,
    schema_version: str,
    trained_at: datetime | None = None,
) -> tuple[str, str]:
    """Render the card; log it to the run (``model_card.md``) and write it where the RAG corpus reads cards.

    Returns:
        (the card's Markdown, the path it was written to).
    """
    card = render_model_card(
        model_name=registry.model_name,
        version=version,
        run_id=run_id,
        data=fit.data,
        partitions=training_set.partitions,
        metrics=fit.metrics,
        calibration=fit.calibration,
        segment_auc=fit.segment_auc,
        importance=fit.importance,
        verdict=verdict,
        params=fit.params,
        schema_version=schema_version,
        trained_at=trained_at or datetime.now(timezone.utc),
    )
    registry.log_text(run_id, card, "model_card.md")
    return card, cards.write(registry.model_name, version, card)
