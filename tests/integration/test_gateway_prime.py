"""A warm service screens the live index's chunks once, ahead of the questions (issue 10, point 11; issue 13, point 3).

``Gateway.prime`` runs the request path's own guardrail calls on every chunk
of a collection (injection screen, PII redaction) and embeds the sentences the
offline generator may quote, so the first question to retrieve a chunk pays
for none of it. The answers, flags and redactions are those of a gateway that
did not prime; an offline answer made only of redacted chunk sentences is not
analysed again, and never carries what the chunk check redacts.
"""

from __future__ import annotations

import threading

import pytest

from flows.reindex import reindex
from infra.factory import build_gateway
from infra.pointers import move_prompt
from infra.rag.release import ensure_default_prompt
from infra.settings import get_settings
from tests.integration.rag_helpers import module_env
from tests.integration.test_gateway_latency_reuse import CountingGuardrails

pytestmark = pytest.mark.integration

CONTACTS = (
    "# Escalation contacts\n\nEscalations about declined applications go to Jane Doe at jane.doe@example.com "
    "or +44 20 7946 0958 during office hours. Escalations are answered within two working days."
)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gateway-prime")
    with module_env(tmp, TANDEM_GUARDRAILS__PII_ENGINE="patterns") as env:
        (tmp / "corpus" / "policy" / "escalations.md").write_text(CONTACTS, encoding="utf-8")
        reindex()
        move_prompt(get_settings(), ensure_default_prompt(get_settings()).version, reason="test setup", evidence=None)
        yield env


class NoCache:
    def get(self, key):
        return None

    def put(self, key, **kwargs):
        return None


def test_priming_screens_each_chunk_once_and_questions_then_screen_no_chunk(live):
    gateway = build_gateway(get_settings())
    guard = gateway.guardrails = CountingGuardrails(gateway.guardrails)
    collection = gateway.index.live_collection()
    primed = gateway.prime(collection)
    assert primed == gateway.index.count(collection) > 0
    assert gateway.prime(collection) == 0  # once per collection
    screened = {text: n for (kind, text), n in guard.calls.items() if kind == "screen"}
    assert len(screened) == primed and set(screened.values()) == {1}
    before = sum(n for (kind, _), n in guard.calls.items() if kind == "screen")
    questions = ["At what age can someone apply for a loan?", "Which loan terms can a borrower pick?"]
    warm = [gateway.ask(q, tenant="t-prime") for q in questions]
    assert sum(n for (kind, _), n in guard.calls.items() if kind == "screen") == before  # no chunk screened again
    redacted = {text: n for (kind, text), n in guard.calls.items() if kind == "redact" and text in screened}
    assert redacted and set(redacted.values()) == {1}  # each kept chunk redacted once, by priming
    # The same answers, citations and flags as a gateway that never primed (and caches nothing).
    cold = build_gateway(get_settings())
    cold.cache = NoCache()
    for q, w in zip(questions, warm):
        c = cold.ask(q, tenant="t-prime-cold")
        assert (c.answer, c.citations, c.event.guardrail_flags) == (w.answer, w.citations, w.event.guardrail_flags)


def test_pii_in_a_chunk_never_reaches_the_answer_and_the_answer_check_would_find_nothing(live):
    gateway = build_gateway(get_settings())
    gateway.cache = NoCache()
    gateway.prime(gateway.index.live_collection())
    result = gateway.ask("Who handles escalations about declined applications?", tenant="t-prime-pii")
    assert "policy/escalations.md" in result.citations
    assert "pii:chunk" in result.event.guardrail_flags
    for secret in ("jane.doe@example.com", "7946", "Jane Doe"):
        assert secret not in result.answer
    # What the skipped answer check would have done: nothing left to redact.
    assert not gateway.guardrails.redact(result.answer).found
    assert "pii:answer" not in result.event.guardrail_flags


def test_a_service_gateway_primes_a_newly_live_collection_in_the_background(live):
    from infra.service.app import build_service_gateway

    gateway = build_service_gateway(get_settings())
    assert gateway.prime_in_background
    collection = gateway.index.live_collection()
    assert len(gateway.verdicts) == 0
    gateway.live_versions()  # what each request calls: sees a collection it has not primed
    assert gateway.wait_primed(collection, timeout=60), "priming did not finish"
    assert not any(t.name == f"prime-{collection}" for t in threading.enumerate())
    assert collection in gateway._primed and len(gateway.verdicts) >= gateway.index.count(collection)
