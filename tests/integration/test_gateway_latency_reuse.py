"""A warm gateway reuses what is deterministic (guardrail verdicts, redactions, cached answers), never the bookkeeping.

Issue 10, point 11: every request still reads its budget and writes exactly
one event; a hit from memory is the same answer as a hit from the table; a
chunk seen for one question is not screened again for another. Speed is
shown by ``bench/service.py``, not asserted here.
"""

from __future__ import annotations

from collections import Counter

import pytest

from flows.reindex import reindex
from indexes.guardrails import Guardrails
from infra.factory import build_gateway, build_request_log
from infra.pointers import move_prompt
from infra.rag.release import ensure_default_prompt
from infra.settings import get_settings
from tests.integration.rag_helpers import module_env

pytestmark = pytest.mark.integration

QUESTION = "How old does an applicant have to be?"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gateway-reuse")
    with module_env(tmp, TANDEM_GUARDRAILS__PII_ENGINE="patterns") as env:
        reindex()
        move_prompt(get_settings(), ensure_default_prompt(get_settings()).version, reason="test setup", evidence=None)
        yield env


class CountingGuardrails:
    """The real guardrails, counting which texts each method is called on."""

    def __init__(self, real: Guardrails) -> None:
        self.real = real
        self.calls: Counter = Counter()

    def redact(self, text):
        self.calls["redact", text] += 1
        return self.real.redact(text)

    def check(self, text):
        self.calls["check", text] += 1
        return self.real.check(text)

    def filter_chunks(self, chunks, text_of):
        for chunk in chunks:
            self.calls["screen", text_of(chunk)] += 1
        return self.real.filter_chunks(chunks, text_of)


class CountingBudget:
    """The real request log, counting budget reads."""

    def __init__(self, real) -> None:
        self.real, self.reads = real, 0

    def tokens_used(self, tenant, day):
        self.reads += 1
        return self.real.tokens_used(tenant, day)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_a_repeat_skips_the_question_guardrails_but_reads_the_budget_and_writes_its_own_event(live):
    gateway = build_gateway(get_settings())
    guard = gateway.guardrails = CountingGuardrails(gateway.guardrails)
    budget = gateway.requests = CountingBudget(gateway.requests)
    question = "How old does a borrower have to be?"  # asked by no other test: the first ask is a miss
    first = gateway.ask(question, tenant="t-repeat")
    second = gateway.ask(question, tenant="t-repeat")
    assert not first.event.cache_hit and second.event.cache_hit
    assert (second.answer, second.citations) == (first.answer, first.citations)
    assert second.event.question == first.event.question and second.event.guardrail_flags == first.event.guardrail_flags
    # The question was redacted and screened once; the budget was read twice; two events.
    assert guard.calls["redact", question] == 1 and guard.calls["check", question] == 1
    assert budget.reads == 2
    events = build_request_log(get_settings()).recent(tenant="t-repeat")
    assert sorted(e["request_id"] for e in events) == sorted([first.event.request_id, second.event.request_id])
    assert [e["cache_hit"] for e in sorted(events, key=lambda e: e["id"])] == [False, True]


def test_a_hit_from_memory_is_the_hit_another_process_reads_from_the_table(live):
    warm = build_gateway(get_settings())
    first = warm.ask("What is the minimum age of an applicant?", tenant="t-memory")
    from_memory = warm.ask("What is the minimum age of an applicant?", tenant="t-memory")
    from_table = build_gateway(get_settings()).ask("What is the minimum age of an applicant?", tenant="t-memory")
    assert from_memory.event.cache_hit and from_table.event.cache_hit
    for hit in (from_memory, from_table):
        assert (hit.answer, hit.citations) == (first.answer, first.citations)
        assert hit.event.chunks_used == from_table.event.chunks_used and hit.event.model == from_table.event.model
    # The caller's lists are its own: changing them does not change the next hit.
    from_memory.citations.append("tampered")
    assert "tampered" not in warm.ask("What is the minimum age of an applicant?", tenant="t-memory").citations


def test_chunks_seen_for_one_question_are_not_screened_or_redacted_again_for_another(live):
    gateway = build_gateway(get_settings())
    guard = gateway.guardrails = CountingGuardrails(gateway.guardrails)
    first = gateway.ask("Which age must an applicant have reached?", tenant="t-chunks")
    reworded = gateway.ask("At what age can an applicant apply?", tenant="t-chunks")
    assert not first.event.cache_hit and not reworded.event.cache_hit
    ids = [{c["chunk_id"] for c in r.event.chunks_used} for r in (first, reworded)]
    assert ids[0] & ids[1]  # the two questions share chunks
    screened = {text: n for (kind, text), n in guard.calls.items() if kind == "screen"}
    assert screened and max(screened.values()) == 1  # each chunk text screened once, whatever the question
    # The same answer as a gateway that has seen nothing yet.
    cold = build_gateway(get_settings())
    cold.cache = type("NoCache", (), {"get": lambda self, key: None, "put": lambda self, key, **kw: None})()
    fresh = cold.ask("At what age can an applicant apply?", tenant="t-chunks-cold")
    assert (fresh.answer, fresh.citations, fresh.event.guardrail_flags) == (reworded.answer, reworded.citations, reworded.event.guardrail_flags)


def test_a_budget_spent_meanwhile_refuses_a_question_whose_answer_is_in_memory(live):
    settings = get_settings()
    gateway = build_gateway(settings)
    gateway.settings = settings.model_copy(update={"budget": settings.budget.model_copy(update={"per_tenant": {"t-tight": 1}})})
    question = "How old must someone be to apply for a loan?"  # asked nowhere else: a miss that spends tokens
    answered = gateway.ask(question, tenant="t-tight")
    refused = gateway.ask(question, tenant="t-tight")
    assert not answered.refused and answered.event.total_tokens > 1
    assert refused.refused and "budget:exceeded" in refused.event.guardrail_flags and not refused.event.cache_hit
    assert len(build_request_log(settings).recent(tenant="t-tight")) == 2


def test_new_guardrails_are_asked_again(live):
    gateway = build_gateway(get_settings())
    gateway.ask(QUESTION, tenant="t-new-guard")
    replaced = gateway.guardrails = CountingGuardrails(gateway.guardrails)
    gateway.ask(QUESTION, tenant="t-new-guard")
    assert replaced.calls["redact", QUESTION] == 1 and replaced.calls["check", QUESTION] == 1
