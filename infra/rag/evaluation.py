"""Golden-set evaluation: the retrieval gate for an index, the release gate for a prompt.

Deterministic metrics only, unless an endpoint is configured: retrieval by
document id (hit@k, MRR, nDCG@k, context precision and recall) and answer
metrics without an LLM (faithfulness: share of answer sentences close to a
retrieved sentence; answer relevance: embedding similarity to the question;
citation coverage; answered rate). Results go to MLflow keyed by prompt
version, index version, generator and the golden set's hash, and are reused
while none of them changed.
"""

from __future__ import annotations

import logging
import math
import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from indexes.generation import GeneratorError, split_into_sentences
from indexes.rag_metrics import (
    QuestionScores,
    aggregate,
    answer_relevance,
    citation_coverage,
    context_precision,
    context_recall,
    extract_citations,
    faithfulness,
    hit_at_k,
    ndcg_at_k,
    reciprocal_rank,
    split_sentences,
)
from indexes.prompts import PromptSpec
from infra.clients.mlflow_rag import RagTracking
from infra.clients.qdrant_index import Retriever
from infra.rag.gateway import Gateway
from infra.sources.golden import GoldenSet

log = logging.getLogger(__name__)

_CITATION = re.compile(r"\s*\[[^\[\]]+\]")

JUDGE_PROMPT = """You grade answers of a retrieval-augmented assistant.
Question: {question}
Reference answer: {reference}
Assistant's answer: {answer}
On a scale from 1 (wrong or unsupported) to 5 (correct and complete), how good is the
assistant's answer compared with the reference? Reply with the number only."""


def _finite(metrics: dict[str, float]) -> dict[str, float]:
    """Drop metrics a run did not measure (NaN): JSON columns and MLflow tags need real numbers."""
    return {k: v for k, v in metrics.items() if not (isinstance(v, float) and math.isnan(v))}


def judge_answers(endpoint, items: list[tuple[str, str, str]], runs: int) -> dict[str, float]:
    """LLM-as-judge: the endpoint grades each (question, reference, answer) ``runs`` times.

    A judge is noisy, so each answer's grade is the mean of several runs, and
    the spread across runs is reported next to it. Grades are mapped from 1-5
    to 0-1. Unparseable or failed replies are counted, not guessed.
    """
    means, spreads, failures = [], [], 0
    for question, reference, answer in items:
        grades = []
        for _ in range(runs):
            try:
                reply = endpoint.generate(question, [], JUDGE_PROMPT.format(question=question, reference=reference, answer=answer), {"temperature": 0.7, "max_tokens": 4})
            except GeneratorError:
                failures += 1
                continue
            m = re.search(r"[1-5]", reply.text)
            if m:
                grades.append((int(m.group()) - 1) / 4)
            else:
                failures += 1
        if grades:
            means.append(statistics.fmean(grades))
            spreads.append(statistics.pstdev(grades) if len(grades) > 1 else 0.0)
    out = {"judge_failures": float(failures), "judge_runs": float(runs)}
    if means:
        out["judge_score"] = statistics.fmean(means)
        out["judge_spread"] = statistics.fmean(spreads)
    return out


@dataclass
class Check:
    name: str
    value: float
    threshold: float
    passed: bool


@dataclass
class GateResult:
    passed: bool
    checks: list[Check]
    metrics: dict[str, float]
    reused_run: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "checks": [c.__dict__ for c in self.checks],
            "metrics": self.metrics,
            "reused_run": self.reused_run,
        }

    def describe(self) -> str:
        parts = [f"{c.name}={c.value:.3f} ({'>=' if c.passed else '<'} {c.threshold})" for c in self.checks]
        return ("PASS: " if self.passed else "FAIL: ") + ", ".join(parts)


def _gate(metrics: dict[str, float], minimums: dict[str, float]) -> tuple[bool, list[Check]]:
    checks = [Check(name, round(float(metrics.get(name, 0.0)), 4), t, float(metrics.get(name, 0.0)) >= t) for name, t in minimums.items()]
    return all(c.passed for c in checks), checks


def _retrieval_scores(retrieved_docs: list[str], relevant: tuple[str, ...], k: int) -> dict[str, float]:
    return {
        "hit": hit_at_k(retrieved_docs, relevant, k),
        "rr": reciprocal_rank(retrieved_docs, relevant),
        "ndcg": ndcg_at_k(retrieved_docs, relevant, k),
        "precision": context_precision(retrieved_docs, relevant),
        "recall": context_recall(retrieved_docs, relevant),
    }


def evaluate_retrieval(retriever: Retriever, golden: GoldenSet, *, min_hit_rate: float, min_mrr: float) -> GateResult:
    """The index gate: retrieval quality of one collection on the golden set."""
    scores, details = [], []
    k = retriever.top_k
    for q in golden.questions:
        docs = [c.doc_id for c in retriever.retrieve(q.question)]
        s = _retrieval_scores(docs, q.relevant, k)
        scores.append(QuestionScores(**s))
        details.append({"id": q.id, "retrieved": docs, "relevant": list(q.relevant), **s})
    metrics = _finite(aggregate(scores))
    passed, checks = _gate(metrics, {"hit_at_k": min_hit_rate, "mrr": min_mrr})
    return GateResult(passed, checks, metrics, details=details)


def evaluate_answers(gateway: Gateway, golden: GoldenSet, *, prompt: PromptSpec, collection: str, generator: str = "offline") -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Answer every golden question with one prompt version over one collection, and score it."""
    embed = gateway.embedder.embed_cached
    scores, details = [], []
    answered = 0
    for q in golden.questions:
        ans = gateway.answer_with(q.question, prompt=prompt, collection=collection, generator=generator)
        docs = [c.doc_id for c in ans.chunks]
        s = _retrieval_scores(docs, q.relevant, gateway.settings.index.top_k)
        sentences = split_sentences(ans.text) if ans.generation and ans.generation.answered else []
        if sentences:
            answered += 1
            plain = [_CITATION.sub("", x).strip() or x for x in sentences]
            context = [x for c in ans.chunks for x in split_into_sentences(c.text)] or [""]
            vecs = embed([q.question, " ".join(plain)] + plain + context)
            q_vec, a_vec = vecs[0], vecs[1]
            a_vecs, c_vecs = vecs[2 : 2 + len(plain)], vecs[2 + len(plain) :]
            faith = faithfulness(a_vecs, c_vecs)
            relevance = answer_relevance(q_vec, a_vec)
            coverage = citation_coverage([bool(extract_citations(x)) for x in sentences])
        else:
            faith, relevance, coverage = 0.0, 0.0, 0.0
        scores.append(QuestionScores(**s, faithfulness=faith, relevance=relevance, citation_coverage=coverage))
        details.append(
            {"id": q.id, "answer": ans.text, "citations": ans.citations, "retrieved": docs, "relevant": list(q.relevant),
             "faithfulness": faith, "answer_relevance": relevance, "citation_coverage": coverage, "generator": ans.generator, **s}
        )
    metrics = _finite(aggregate(scores))
    metrics["answered"] = answered / max(len(golden.questions), 1)
    runs = gateway.settings.llm.judge_runs
    if gateway.endpoint is not None and runs > 0:
        by_id = {q.id: q for q in golden.questions}
        metrics.update(judge_answers(gateway.endpoint, [(by_id[d["id"]].question, by_id[d["id"]].reference, d["answer"]) for d in details], runs))
    return metrics, details


def evaluate_prompt(
    gateway: Gateway,
    golden: GoldenSet,
    tracking: RagTracking,
    *,
    prompt: PromptSpec,
    collection: str,
    generator: str = "offline",
    force: bool = False,
) -> GateResult:
    """The prompt release gate: golden-set answer quality of one prompt version.

    Reuses the MLflow result of the same (prompt version, index version,
    generator, golden set) unless ``force``.
    """
    cfg = gateway.settings.prompt
    minimums = {
        "answered": cfg.gate_min_answered,
        "faithfulness": cfg.gate_min_faithfulness,
        "answer_relevance": cfg.gate_min_answer_relevance,
        "citation_coverage": cfg.gate_min_citation_coverage,
    }
    tags = {
        "prompt_name": prompt.name,
        "prompt_version": str(prompt.version),
        "index_version": collection,
        "generator": generator,
        "golden_hash": golden.content_hash[:16],
        "judge": gateway.endpoint.model if (gateway.endpoint is not None and gateway.settings.llm.judge_runs > 0) else "none",
    }
    found = None if force else tracking.find_eval(tags)
    if found:
        log.info("reusing evaluation run %s (prompt v%s on %s)", found["run_id"], prompt.version, collection)
        passed, checks = _gate(found["metrics"], minimums)
        return GateResult(passed, checks, found["metrics"], reused_run=found["run_id"])
    log.info("evaluating prompt %s v%s on %s over %d golden questions", prompt.name, prompt.version, collection, len(golden.questions))
    metrics, details = evaluate_answers(gateway, golden, prompt=prompt, collection=collection, generator=generator)
    passed, checks = _gate(metrics, minimums)
    tracking.log_eval(
        f"{prompt.name}-v{prompt.version}@{collection}",
        {**tags, "gate": "pass" if passed else "fail"},
        metrics,
        {"questions": details, "checks": [c.__dict__ for c in checks]},
    )
    return GateResult(passed, checks, metrics, details=details)
