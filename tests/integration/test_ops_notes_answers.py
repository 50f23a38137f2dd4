"""On-call asks the assistant about the nightly loop (issue 11, point 3): the scorecard and the ticket notes the
nightly evaluation writes are indexed with the corpus and the model cards, and the real gateway answers "why was
the retrain ticket opened?" and "what changed last night?" citing them, and a model-card question citing the card.

Real parts throughout: the ticket store, the grading policy, the scorecard and note writers, the reindex flow,
the MiniLM embedder, Qdrant and the offline generator; only the numbers graded are made up.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from flows.reindex import reindex
from models.alerting import PastResult, decide_tickets, grade
from models.monitoring import Measurement
from models.scorecard import render_scorecard
from infra.factory import build_gateway, ops_engine
from infra.monitoring.policy import load_policy
from infra.monitoring.scorecard import write_ops_notes
from infra.pointers import move_prompt
from infra.rag.release import ensure_default_prompt
from infra.settings import get_settings
from infra.stores.model_cards import write_model_card
from infra.stores.tickets import TicketStore
from tests.integration.rag_helpers import module_env
from tests.unit.test_card import VERDICT, render

pytestmark = pytest.mark.integration

NIGHT = date(2026, 2, 6)
POLICY = load_policy()


def _night_results():
    measured = [
        Measurement("data_drift", 0.31, 600, note="4 of 13 columns drifted"),
        Measurement("prediction_drift", 0.04, 600),
        Measurement("freshness", 0.0, 3),
        Measurement("staleness", 0.0, 6),
    ]
    return [grade(m, POLICY[m.check]) for m in measured]


@pytest.fixture(scope="module")
def answered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ops-notes")
    with module_env(tmp, TANDEM_INDEX__INCLUDE_MODEL_CARDS="true"):
        settings = get_settings()
        write_model_card(settings, "risk-scorer", "7", render(VERDICT))
        results = _night_results()
        store = TicketStore(ops_engine(settings.resolved_ops_db_url))
        yesterday = [PastResult(NIGHT - timedelta(days=1), "data_drift", None, "red")]  # data_drift debounces 2 nights
        [decision] = decide_tickets(NIGHT, results, yesterday, {}, {}, POLICY)
        ticket, _ = store.open_or_update(decision, NIGHT)
        changes = [{"id": ticket.id, "kind": ticket.kind, "asset": ticket.asset, "action": "opened", "status": ticket.status,
                    "severity": ticket.severity, "summary": decision.title}]
        write_ops_notes(settings, NIGHT.isoformat(), render_scorecard(NIGHT, results, tickets=changes), [ticket.to_dict()])
        reindex()
        move_prompt(settings, ensure_default_prompt(settings).version, reason="test setup", evidence=None)
        gateway = build_gateway(get_settings())
        yield ticket, {q: gateway.ask(q, tenant="on-call") for q in (
            "Why was the retrain ticket opened?",
            "What changed last night?",
            "What is the test AUC of risk-scorer version 7 in its model card?",
        )}


def test_why_the_retrain_ticket_was_opened_is_answered_from_its_note(answered):
    ticket, answers = answered
    result = answers["Why was the retrain ticket opened?"]
    assert f"ops-notes/ticket-{ticket.id}.md" in result.citations, (result.answer, result.citations)
    assert "data_drift" in result.answer and "2026-02-06" in result.answer


def test_what_changed_last_night_is_answered_from_the_scorecard(answered):
    _, answers = answered
    result = answers["What changed last night?"]
    assert any(c.startswith("ops-notes/") for c in result.citations), (result.answer, result.citations)
    assert "data_drift" in result.answer, result.answer


def test_a_model_card_question_cites_the_card(answered):
    _, answers = answered
    result = answers["What is the test AUC of risk-scorer version 7 in its model card?"]
    assert any(c.startswith("model-cards/") for c in result.citations), (result.answer, result.citations)
    assert "0.8123" in result.answer, result.answer
