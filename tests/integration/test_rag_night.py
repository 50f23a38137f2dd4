"""``measure_rag_night`` on a real (tiny) corpus, a real Qdrant collection and a real request log.

Given docs-live built and released from the tiny corpus, nights of request
events and feedback, and one corpus document edited after the build, when the
night is measured, then every RAG check reports a figure and the edited
document, the off-topic question, the tenant tripling its volume, the model
swap and the bad vote each show where they should.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from infra.factory import build_embedder, build_index_builds, build_vector_index, ops_engine
from infra.monitoring.rag import ProductionPrompt, corpus_mtimes, live_index_info, measure_rag_night
from infra.settings import get_settings
from infra.sources.corpus import read_corpus
from infra.sources.golden import load_golden
from infra.stores.feedback import FeedbackStore
from infra.stores.requests import RequestEvent, RequestLog
from models.monitoring import CHECKS, RAG
from tests.integration.conftest import configure
from tests.integration.rag_helpers import GOLDEN, rag_env

OFF_TOPIC = "What is the wifi password in the Berlin office?"


@pytest.fixture
def live(tmp_path, monkeypatch):
    """docs-live released from the tiny corpus through the real build and gate."""
    from infra.clients.qdrant_index import Retriever
    from infra.rag import indexing
    from infra.rag.evaluation import evaluate_retrieval
    from infra.rag.release import release_index

    configure(monkeypatch, tmp_path / "tandem", **rag_env(tmp_path))
    s = get_settings()
    corpus = read_corpus(s.resolved_corpus_dir)
    index, builds, embedder = build_vector_index(s), build_index_builds(s), build_embedder(s)
    plan = indexing.plan_build(s, corpus, index, builds, embedder)
    result = indexing.build_collection(s, corpus, plan, index, embedder)
    retriever = Retriever(index, embedder.llama, collection=result.collection, top_k=s.index.top_k, score_threshold=None)
    gate = evaluate_retrieval(retriever, load_golden(s.resolved_golden_path), min_hit_rate=0.5, min_mrr=0.3)
    assert release_index(s, result.collection, gate) == "released"
    return s, retriever, live_index_info(index, builds), gate


def _chunks(retriever, question: str) -> list[dict]:
    return [{"chunk_id": c.chunk_id, "doc_id": c.doc_id, "score": round(c.score, 4)} for c in retriever.retrieve(question)]


def test_a_night_of_the_tiny_corpus_measures_every_rag_check(live):
    settings, retriever, info, gate = live
    night = datetime.now(timezone.utc).date()
    start = datetime.combine(night, time(9), tzinfo=timezone.utc)
    log = RequestLog(ops_engine(settings.resolved_ops_db_url))
    questions = [q for _, q, _, _ in GOLDEN]
    chunks = {q: _chunks(retriever, q) for q in questions + [OFF_TOPIC]}

    def event(rid, at, tenant, question, model="chat-1", kind="answer", tokens=1000):
        return RequestEvent(request_id=rid, at=at, kind=kind, tenant=tenant, use_case="qa", question=question, generator="endpoint",
                            model=model, prompt_tokens=tokens - 100, completion_tokens=100, total_tokens=tokens, cost_usd=tokens / 1e6,
                            latency_ms=1000.0, chunks_used=chunks[question], index_version=info.collection)

    # Fifteen earlier nights (at least four of tonight's kind, weekday or weekend):
    # "retail" asks ten golden questions a night (its baseline).
    for d in range(1, 16):
        for i in range(10):
            log.append(event(f"old-{d}-{i}", start - timedelta(days=d, minutes=-i), "retail", questions[i % len(questions)]))
    # Tonight: retail asks three times as much, through a model the prompt was not gated with;
    # a new tenant appears; one question is off-topic; one request fails.
    for i in range(30):
        log.append(event(f"new-{i}", start + timedelta(minutes=i), "retail", questions[i % len(questions)], model="chat-2"))
    log.append(event("newbie-1", start + timedelta(hours=1), "newbie", questions[0], model="chat-2"))
    log.append(event("off-topic", start + timedelta(hours=2), "retail", OFF_TOPIC, model="chat-2"))
    log.append(event("failed", start + timedelta(hours=3), "retail", questions[1], kind="error"))
    votes = FeedbackStore(log.engine)
    for rid, rating in (("new-1", "good"), ("new-2", "good"), ("off-topic", "bad")):
        votes.record(rid, rating, actor=f"user-{rid}", at=start + timedelta(hours=4))
    # A corpus document is edited after docs-live was built (the index is not rebuilt).
    edited = settings.resolved_corpus_dir / "policy/eligibility.md"
    edited.write_text(edited.read_text() + "\n\nFrom this month, applicants must be at least 21 years old.\n")

    measured = measure_rag_night(
        night, request_log=log, feedback=votes, embedder=build_embedder(settings), index_info=info,
        corpus=read_corpus(settings.resolved_corpus_dir), corpus_times=corpus_mtimes(settings.resolved_corpus_dir),
        golden_result={"metrics": {**gate.metrics, "hit_at_k": gate.metrics["hit_at_k"] - 0.2, "faithfulness": 0.7}},
        prompt=ProductionPrompt(1, gated_model="chat-1", gate_metrics={"faithfulness": 0.9}),
    )

    by = {(m.check, m.subject): m for m in measured}
    assert {m.check for m in measured} == {c for c, spec in CHECKS.items() if spec.asset == RAG}
    staleness = by[("staleness", None)]
    assert staleness.value == 1.0
    assert staleness.evidence["documents"][0]["doc_id"] == "policy/eligibility.md"
    assert staleness.evidence["documents"][0]["change"] == "changed"
    assert 0 <= staleness.evidence["documents"][0]["age_days"] <= 1
    unanswerable = by[("unanswerable_share", None)]
    assert "off-topic" in unanswerable.evidence["request_ids"]
    assert any(OFF_TOPIC in c["examples"] for c in unanswerable.evidence["clusters"])
    assert unanswerable.value < 0.5
    drift = by[("query_drift", None)]
    assert drift.value is not None and 0.0 <= drift.value <= 1.0 and drift.n == 32
    assert by[("tenant_cost", "retail")].value == pytest.approx(3.0 + 2 / 10, rel=0.01)  # 32 questions against 10 a night
    assert by[("tenant_cost", "newbie")].value is None  # no baseline yet
    # three times the questions at the same tokens per question: the volume line moves, the per-question one does not
    per_question = by[("tenant_cost_per_question", "retail")]
    assert per_question.value == pytest.approx(1.0) and per_question.evidence["tenant"] == "retail"
    assert by[("provider_model", None)].value == 1.0
    assert by[("provider_model", None)].evidence["reported"] == {"chat-2": 32}
    assert by[("bad_feedback", None)].value == pytest.approx(1 / 3)
    assert by[("error_rate", None)].value == pytest.approx(1 / 33)
    assert by[("retrieval_quality", None)].value == pytest.approx(0.2)
    assert by[("answer_quality", None)].value == pytest.approx(0.2)
    assert by[("latency_p95", None)].value == 1000.0
    assert by[("fallback_rate", None)].value == 0.0 and by[("budget_refusals", None)].value == 0.0


def test_a_quiet_night_with_the_corpus_as_built_reports_nothing_stale_and_no_change(live):
    settings, retriever, info, _ = live
    night = datetime.now(timezone.utc).date()
    log = RequestLog(ops_engine(settings.resolved_ops_db_url))
    log.append(RequestEvent(request_id="r1", at=datetime.combine(night, time(10), tzinfo=timezone.utc), kind="answer", tenant="retail",
                            use_case="qa", question=GOLDEN[0][1], generator="endpoint", model="chat-1", total_tokens=500,
                            chunks_used=_chunks(retriever, GOLDEN[0][1])))

    measured = measure_rag_night(night, request_log=log, feedback=FeedbackStore(log.engine), embedder=build_embedder(settings),
                                 index_info=info, corpus=read_corpus(settings.resolved_corpus_dir),
                                 prompt=ProductionPrompt(1, gated_model="chat-1"))

    by = {(m.check, m.subject): m for m in measured}
    assert by[("staleness", None)].value == 0.0
    assert by[("provider_model", None)].value == 0.0
    assert by[("unanswerable_share", None)].value == 0.0
    # Too little to say: no reference window, no baseline, no votes, no golden evaluation.
    for check in ("query_drift", "bad_feedback", "answer_quality", "retrieval_quality"):
        assert by[(check, None)].value is None, check
    assert by[("tenant_cost", "retail")].value is None


def test_the_event_carries_the_model_the_endpoint_reports_not_the_one_asked_for():
    from infra.clients.llm import EndpointGenerator
    from tests.fakes.chat_server import FakeChatServer

    with FakeChatServer() as server:
        generator = EndpointGenerator(base_url=server.base_url, model="chat-1", api_key=None, timeout_s=10)
        asked = generator.generate("q", [], "Context: [a.md] The limit is 0.45.\nQuestion: q", {})
        server.model = "chat-2"  # the provider swaps the model behind the name
        swapped = generator.generate("q", [], "Context: [a.md] The limit is 0.45.\nQuestion: q", {})

    assert (asked.model, swapped.model) == ("chat-1", "chat-2")
    assert [body["model"] for body in server.requests] == ["chat-1", "chat-1"]


def test_the_release_gate_records_the_model_and_figures_the_nightly_check_compares_with(live):
    from infra.factory import build_prompt_registry
    from infra.monitoring.rag import production_prompt
    from infra.rag.release import ensure_default_prompt, release_prompt

    settings, *_ = live
    spec = ensure_default_prompt(settings)
    release = release_prompt(settings, spec.version, reason="test")
    assert release.moved, release.message

    prompt = production_prompt(build_prompt_registry(settings), settings.prompt.production_alias)

    assert prompt.version == spec.version
    assert prompt.gated_model == "extractive-minilm"  # no endpoint configured: the offline generator
    assert set(prompt.gate_metrics) >= {"answered", "faithfulness", "answer_relevance", "citation_coverage"}
