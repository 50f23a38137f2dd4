"""The main job's model-card question is answered from the model card, citing it.

A model card's first sentence starts with the model's name in lower case
("risk-scorer version 7 was trained ..."); the generator used to take any
lower-case first sentence of a chunk for the tail of a sentence the chunk
window had cut, so the card's answer sentence was never quoted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.reindex import reindex
from indexes.prompts import DEFAULT_PARAMS, DEFAULT_TEMPLATE, PromptSpec
from infra.factory import build_gateway
from infra.settings import get_settings
from infra.stores.model_cards import write_model_card
from tests.integration.conftest import reset_settings
from tests.integration.rag_helpers import rag_env
from tests.unit.test_card import VERDICT, render

pytestmark = pytest.mark.integration


def test_why_was_version_7_promoted_is_answered_from_its_model_card(tandem: Path, tmp_path: Path, monkeypatch):
    for key, value in {**rag_env(tmp_path), "TANDEM_INDEX__INCLUDE_MODEL_CARDS": "true"}.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    settings = get_settings()
    # given the card the training flow writes for a promoted version 7, indexed next to the corpus
    write_model_card(settings, "risk-scorer", "7", render(VERDICT))
    collection = reindex()["collection"]
    # when the main job's question is asked
    answer = build_gateway(settings).answer_with(
        "Why was version 7 of the risk scorer promoted, and what is its AUC?",
        prompt=PromptSpec(settings.prompt.name, 1, DEFAULT_TEMPLATE, dict(DEFAULT_PARAMS)), collection=collection, generator="offline",
    )
    # then the answer opens with the card's own sentence, with its AUC, citing the card
    assert answer.citations[0] == "model-cards/risk-scorer-v7.md", answer.text
    assert answer.text.startswith("risk-scorer version 7 was trained on 300 labelled applications") and "0.8123" in answer.text
