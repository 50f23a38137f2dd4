"""Golden-set evaluation: the retrieval gate for an index, the release gate for a prompt.

Deterministic metrics only, unless an endpoint is configured. Retrieval by
document id, with k in every name: hit@k and nDCG@k over the documents the
context keeps (``hit_at_4``), MRR over the ranked candidates (``mrr_at_10``),
context precision and recall. Answers: sentence completeness (share of answer
pieces that are whole sentences), faithfulness by claim (each cited sentence
must exist, whole, in the cited document's indexed text; a paraphrase must be
close to one of its sentences), citation coverage, answer relevance
(embedding similarity to the question), the answered rate, and, where the
golden set carries reference answers, answer correctness: embedding
similarity to the reference, token F1, ROUGE-L and answer precision (the
share of the answer's words the reference has), all skipped, and said so,
without references. Answer focus (the share of answer sentences that address
the question, by a similarity floor the gate fixes, not the prompt's knobs)
holds a prompt that pads its answers with filler, with or without references.
Results go to MLflow keyed by prompt version, index version, generator,
retrieval settings and the golden set's hash, with every question's figures
(``per_question.json``), and are reused while none of them changed.
"""

from __future__ import annotations

import logging
import math
import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from indexes.generation import GeneratorError
from indexes.rag_metrics import (
    QuestionScores,
    aggregate,
    answer_relevance,
    check_claims,
    citation_coverage,
    claim_faithfulness,
    context_precision,
    context_recall,
    extract_citations,
    faithfulness,
    hit_at_k,
    metric_name,
    ndcg_at_k,
    reciprocal_rank,
    rouge_l,
    sentence_completeness,
    strip_citations,
    token_f1,
    token_precision,
)
from indexes.prompts import PromptSpec
from indexes.sentences import sentences as text_sentences
from infra.clients.mlflow_rag import RagTracking
from infra.clients.qdrant_index import Retriever
from infra.rag.gateway import Gateway
from infra.sources.golden import GoldenSet

log = logging.getLogger(__name__)

# Bump when the metrics change meaning: an MLflow result of another schema is not reused.
EVAL_SCHEMA = "3"
# A paraphrased claim is supported when this close to a sentence of the document it cites.
PARAPHRASE_SUPPORT = 0.75
# An answer sentence addresses the question when at least this similar to it (answer focus). Fixed here,
# not by the prompt under test: knobs that let any sentence in (min_similarity 0) do not lower the bar.
FOCUS_SIMILARITY = 0.30
# Per-question figures kept in GateResult.to_dict (the answers themselves go to MLflow only).
_QUESTION_FIGURES = ("hit", "rr", "ndcg", "precision", "recall", "faithfulness", "relevance", "citation_coverage",
                     "completeness", "focus", "similarity", "f1", "rouge", "answer_precision", "context_docs")

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
    skipped: dict[str, str] = field(default_factory=dict)  # check -> why it was not applied

    def to_dict(self) -> dict[str, Any]:
        """Verdict, checks, metrics, skipped checks and each question's figures (no answer text)."""
        questions = [{"id": d["id"], **{k: round(float(d[k]), 4) for k in _QUESTION_FIGURES if d.get(k) is not None}} for d in self.details]
        return {
            "passed": self.passed,
            "checks": [c.__dict__ for c in self.checks],
            "metrics": self.metrics,
            "reused_run": self.reused_run,
            "skipped": self.skipped,
            "questions": questions,
        }

    def describe(self) -> str:
        parts = [f"{c.name}={c.value:.3f} ({'>=' if c.passed else '<'} {c.threshold})" for c in self.checks]
        parts += [f"{name} skipped ({why})" for name, why in self.skipped.items()]
        return ("PASS: " if self.passed else "FAIL: ") + ", ".join(parts)


def _gate(metrics: dict[str, float], minimums: dict[str, float]) -> tuple[bool, list[Check]]:
    checks = [Check(name, round(float(metrics.get(name, 0.0)), 4), t, float(metrics.get(name, 0.0)) >= t) for name, t in minimums.items()]
    return all(c.passed for c in checks), checks


def _retrieval_scores(ranked_docs: list[str], context_docs: list[str], relevant: tuple[str, ...], k: int, mrr_k: int) -> dict[str, float]:
    """Hit and nDCG over the context's documents (at most k), MRR over the ranked candidates (first mrr_k)."""
    return {
        "hit": hit_at_k(context_docs, relevant, k),
        "rr": reciprocal_rank(ranked_docs, relevant, mrr_k),
        "ndcg": ndcg_at_k(context_docs, relevant, k),
        "precision": context_precision(context_docs, relevant),
        "recall": context_recall(context_docs, relevant),
    }


def evaluate_retrieval(retriever: Retriever, golden: GoldenSet, *, min_hit_rate: float, min_mrr: float, mrr_k: int = 10) -> GateResult:
    """The index gate: retrieval quality of one collection on the golden set.

    Checks ``hit_at_<k>`` (k = documents the context keeps) against
    ``min_hit_rate`` and ``mrr_at_<mrr_k>`` against ``min_mrr``.
    """
    scores, details = [], []
    k = retriever.top_k
    for q in golden.questions:
        found = retriever.search(q.question)
        ranked, context = [c.doc_id for c in found.ranked], [c.doc_id for c in found.context]
        s = _retrieval_scores(ranked, context, q.relevant, k, mrr_k)
        scores.append(QuestionScores(**s))
        details.append({"id": q.id, "retrieved": list(dict.fromkeys(ranked)), "context": context, "relevant": list(q.relevant),
                        "context_docs": float(len(set(context))), **s})
    metrics = _finite(aggregate(scores, k=k, mrr_k=mrr_k))
    metrics["context_docs"] = statistics.fmean(d["context_docs"] for d in details)
    passed, checks = _gate(metrics, {metric_name("hit", k=k, mrr_k=mrr_k): min_hit_rate, metric_name("rr", k=k, mrr_k=mrr_k): min_mrr})
    return GateResult(passed, checks, metrics, details=details)


def _score_answer(question: str, reference: str | None, answer: str, answered: bool, documents: dict[str, str], embed) -> dict[str, Any]:
    """Answer figures of one question; reference metrics are None without a reference."""
    out: dict[str, Any] = {"faithfulness": 0.0, "relevance": 0.0, "citation_coverage": 0.0, "completeness": 0.0, "focus": 0.0,
                           "similarity": None, "f1": None, "rouge": None, "answer_precision": None, "claims": []}
    plain = strip_citations(answer) if answered else ""
    if reference is not None:
        out["similarity"], out["f1"], out["rouge"], out["answer_precision"] = 0.0, 0.0, 0.0, 0.0
    if not answered or not plain:
        return out
    checks = check_claims(answer, documents)
    if not checks:
        return out
    claims = [c.claim or c.sentence for c in checks]
    texts = [question, plain] + claims + ([reference] if reference is not None else [])
    vecs = embed(texts)
    q_vec, a_vec, c_vecs = vecs[0], vecs[1], vecs[2 : 2 + len(claims)]
    # A claim that is not verbatim in its document (a paraphrase) is supported
    # when it is close to one of the cited document's sentences.
    supported: list[bool] = []
    for check, vec in zip(checks, c_vecs):
        if check.status != "absent":
            supported.append(False)
            continue
        doc_sentences = [x for d in check.cited for x, _ in text_sentences(documents.get(d, ""))]
        supported.append(bool(doc_sentences) and faithfulness(vec.reshape(1, -1), embed(doc_sentences), threshold=PARAPHRASE_SUPPORT) == 1.0)
    out.update(
        faithfulness=claim_faithfulness(checks, supported),
        relevance=answer_relevance(q_vec, a_vec),
        citation_coverage=citation_coverage([bool(extract_citations(c.sentence)) for c in checks]),
        completeness=sentence_completeness(checks),
        focus=statistics.fmean(answer_relevance(q_vec, vec) >= FOCUS_SIMILARITY for vec in c_vecs),
        claims=[{"claim": c.claim, "cited": list(c.cited), "status": c.status, "whole_sentence": c.whole_sentence} for c in checks],
    )
    if reference is not None:
        out["similarity"] = answer_relevance(vecs[-1], a_vec)
        out["f1"], out["rouge"] = token_f1(plain, reference), rouge_l(plain, reference)
        out["answer_precision"] = token_precision(plain, reference)
    return out


def evaluate_answers(
    gateway: Gateway,
    golden: GoldenSet,
    *,
    prompt: PromptSpec,
    collection: str,
    generator: str = "offline",
    documents: dict[str, str] | None = None,
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Answer every golden question with one prompt version over one collection, and score it.

    Args:
        gateway: Answers (retrieval, guardrails, generator) without cache or events.
        golden: The golden set; ``reference`` answers are optional.
        prompt: The prompt version.
        collection: The Qdrant collection to answer from.
        generator: ``offline`` or ``endpoint``.
        documents: ``doc id -> text`` to check quoted sentences against; by
            default the indexed text of the cited documents, stitched from
            ``collection``.

    Returns:
        The averaged metrics (``hit_at_<k>``, ``mrr_at_<mrr_k>``, answer
        metrics with ``answer_focus`` and, with references, ``answer_precision``,
        ``answered``, ``n_with_reference``) and one dict per question.
    """
    embed = gateway.embedder.embed_cached
    cfg = gateway.settings.index
    k, mrr_k = cfg.top_k, cfg.mrr_k
    retriever = gateway.retriever(collection)
    scores, details = [], []
    answered = 0
    for q in golden.questions:
        ans = gateway.answer_with(q.question, prompt=prompt, collection=collection, generator=generator)
        context = [c.doc_id for c in ans.chunks]
        ranked = [c.doc_id for c in retriever.search(q.question).ranked]  # same query: Qdrant answers it again, cheaply
        s = _retrieval_scores(ranked, context, q.relevant, k, mrr_k)
        is_answered = bool(ans.generation and ans.generation.answered)
        answered += is_answered
        cited = set(extract_citations(ans.text)) if is_answered else set()
        docs = documents if documents is not None else gateway.index.document_texts(collection, cited)
        a = _score_answer(q.question, q.reference, ans.text, is_answered, docs, embed)
        scores.append(QuestionScores(**s, faithfulness=a["faithfulness"], relevance=a["relevance"], citation_coverage=a["citation_coverage"],
                                     completeness=a["completeness"], similarity=a["similarity"], f1=a["f1"], rouge=a["rouge"]))
        details.append(
            {"id": q.id, "question": q.question, "reference": q.reference, "answer": ans.text, "citations": ans.citations,
             "retrieved": list(dict.fromkeys(ranked)), "context": context, "relevant": list(q.relevant), "generator": ans.generator,
             "answered": float(is_answered), "context_docs": float(len(set(context))), **s,
             **{key: a[key] for key in ("faithfulness", "relevance", "citation_coverage", "completeness", "focus", "similarity", "f1",
                                        "rouge", "answer_precision", "claims")}}
        )
    metrics = _finite(aggregate(scores, k=k, mrr_k=mrr_k))
    metrics["answered"] = answered / max(len(golden.questions), 1)
    metrics["context_docs"] = statistics.fmean(d["context_docs"] for d in details) if details else 0.0
    if details:
        metrics["answer_focus"] = statistics.fmean(d["focus"] for d in details)
    precisions = [d["answer_precision"] for d in details if d["answer_precision"] is not None]
    if precisions:  # like the other reference metrics: absent (not 0) without references
        metrics["answer_precision"] = statistics.fmean(precisions)
    runs = gateway.settings.llm.judge_runs
    if gateway.endpoint is not None and runs > 0:
        judged = [(d["question"], d["reference"], d["answer"]) for d in details if d["reference"] is not None]
        if judged:
            metrics.update(judge_answers(gateway.endpoint, judged, runs))
    return metrics, details


def prompt_gate_minimums(settings, metrics: dict[str, float]) -> tuple[dict[str, float], dict[str, str]]:
    """The release gate's thresholds, and the checks skipped for this golden set (with why).

    Reference-based checks (answer similarity, token F1) apply only when the golden set has
    reference answers; answer focus needs none. Answer precision is reported, not gated: against a
    terse reference ("0.45") a whole-sentence answer scores low however right it is.
    """
    cfg = settings.prompt
    minimums = {
        "answered": cfg.gate_min_answered,
        "faithfulness": cfg.gate_min_faithfulness,
        "sentence_completeness": cfg.gate_min_sentence_completeness,
        "answer_relevance": cfg.gate_min_answer_relevance,
        "citation_coverage": cfg.gate_min_citation_coverage,
        "answer_focus": cfg.gate_min_answer_focus,
    }
    skipped: dict[str, str] = {}
    for name, threshold in (("answer_similarity", cfg.gate_min_answer_similarity), ("token_f1", cfg.gate_min_token_f1)):
        if metrics.get("n_with_reference", 0) > 0:
            minimums[name] = threshold
        else:
            skipped[name] = "no reference answers in the golden set"
    return minimums, skipped


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
    generator, retrieval settings, golden set, metric schema) unless ``force``.
    """
    icfg = gateway.settings.index
    tags = {
        "prompt_name": prompt.name,
        "prompt_version": str(prompt.version),
        "index_version": collection,
        "generator": generator,
        "golden_hash": golden.content_hash[:16],
        "judge": gateway.endpoint.model if (gateway.endpoint is not None and gateway.settings.llm.judge_runs > 0) else "none",
        "eval_schema": EVAL_SCHEMA,
        "retrieval": f"k{icfg.top_k}-n{icfg.retrieve_chunks or 'auto'}-c{icfg.chunks_per_doc}-m{icfg.context_chunks or 'auto'}-l{icfg.mmr_lambda}",
    }
    found = None if force else tracking.find_eval(tags)
    if found:
        log.info("reusing evaluation run %s (prompt v%s on %s)", found["run_id"], prompt.version, collection)
        minimums, skipped = prompt_gate_minimums(gateway.settings, found["metrics"])
        passed, checks = _gate(found["metrics"], minimums)
        return GateResult(passed, checks, found["metrics"], reused_run=found["run_id"], skipped=skipped)
    log.info("evaluating prompt %s v%s on %s over %d golden questions", prompt.name, prompt.version, collection, len(golden.questions))
    if golden.with_reference < len(golden.questions):
        log.warning("%d of %d golden questions have no reference answer: answer similarity, token F1 and ROUGE-L skip them",
                    len(golden.questions) - golden.with_reference, len(golden.questions))
    metrics, details = evaluate_answers(gateway, golden, prompt=prompt, collection=collection, generator=generator)
    minimums, skipped = prompt_gate_minimums(gateway.settings, metrics)
    passed, checks = _gate(metrics, minimums)
    tracking.log_eval(
        f"{prompt.name}-v{prompt.version}@{collection}",
        {**tags, "gate": "pass" if passed else "fail"},
        metrics,
        {"questions": details, "checks": [c.__dict__ for c in checks], "skipped": skipped},
    )
    return GateResult(passed, checks, metrics, details=details, skipped=skipped)
