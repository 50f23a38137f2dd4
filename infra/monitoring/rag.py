"""The RAG assistant's nightly measurements: request events and stores in, ``Measurement``s out.

``measure_rag_night`` reads one night (00:00-24:00 UTC) of request events and
the trailing nights it compares them with, and returns one ``Measurement`` per
check of ``models.monitoring.CHECKS`` on the ``rag`` asset (``tenant_cost``:
one per tenant). It only measures; the policy grades. Its adapters are passed
in (the task builds them with ``infra.factory``), so the benchmark drives the
same code on a temporary SQLite file and a local index.

Per-check parameters come from ``policy_params[check]`` (the policy entry's
``params``), falling back to ``DEFAULT_PARAMS``.
"""

from __future__ import annotations

import logging
import os
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import sqlalchemy as sa

from indexes.monitoring import (
    best_score,
    cluster_questions,
    corpus_changes,
    cost_ratio,
    domain_classifier_auc,
    metric_drop,
    model_change,
    percentile,
    share,
    unanswerable_mask,
)
from indexes.plan import complete_documents
from infra.stores.opsdb import llm_requests
from models.monitoring import Measurement

if TYPE_CHECKING:
    from infra.clients.mlflow_prompts import PromptRegistry
    from infra.clients.qdrant_index import VectorIndex
    from infra.stores.feedback import FeedbackStore
    from infra.stores.requests import IndexBuilds, RequestLog

log = logging.getLogger(__name__)

# Measurement parameters (never thresholds: the policy holds those).
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    # Cosine score of MiniLM below which retrieval found nothing that answers.
    # Measured on the demo corpus (bench/detection_rag.py): best scores of golden
    # paraphrases 5th/25th/50th percentile 0.41/0.52/0.57; off-topic questions
    # median 0.23, 95th 0.35; an uncovered product's questions median 0.39.
    "unanswerable_share": {"answerable_score": 0.45, "clusters": 3, "examples": 3, "cluster_distance": 0.5},
    "query_drift": {"reference_nights": 14, "folds": 5, "max_reference": 1000, "min_questions": 20, "seed": 0},
    # Baseline from nights of the same kind (weekday or weekend): weekend volume is
    # a fraction of a weekday's, and a Monday against a median that mixes both
    # reads as a spike.
    "tenant_cost": {"baseline_nights": 28, "min_baseline_nights": 4, "match_day_type": True},
    "answer_quality": {"metrics": ["answered", "faithfulness", "answer_relevance", "citation_coverage"]},
    "retrieval_quality": {"metrics": ["hit_at_k", "mrr"]},
    "bad_feedback": {"examples": 5},
    "error_rate": {"examples": 5},
}

# Flags that a guardrail raised (the rest are bookkeeping: fallback, cache, budget, cost).
GUARDRAIL_PREFIXES = ("pii:", "injection", "leak:", "input:")
REQUEST_KINDS = ("answer", "refused", "error")  # budget_warning rows are advice, not requests


@dataclass(frozen=True)
class LiveIndexInfo:
    """What ``docs-live`` holds: its collection, when it was built, its documents and its gate figures.

    Attributes:
        collection: The live collection (None before the first release).
        built_at: When its build finished (``index_builds``), None if unknown.
        documents: ``doc_id -> content hash`` of the documents it holds completely.
        gate_metrics: The retrieval gate's figures it was released with (hit_at_k, mrr, ...).
    """

    collection: str | None
    built_at: datetime | None = None
    documents: dict[str, str] = field(default_factory=dict)
    gate_metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ProductionPrompt:
    """The production prompt: its version, the model and the figures it was gated with."""

    version: int | None
    gated_model: str | None = None
    gate_metrics: dict[str, float] = field(default_factory=dict)


def live_index_info(index: VectorIndex, builds: IndexBuilds) -> LiveIndexInfo:
    """Read ``docs-live``'s documents from its points and its build row (one scroll of the collection)."""
    live = index.live_collection()
    if live is None:
        return LiveIndexInfo(None)
    row = builds.get(live) or {}
    gate = row.get("gate") or {}
    return LiveIndexInfo(
        collection=live,
        built_at=_utc(row.get("finished_at") or row.get("started_at")),
        documents=complete_documents(index.payloads(live)),
        gate_metrics={k: float(v) for k, v in (gate.get("metrics") or {}).items() if isinstance(v, (int, float))},
    )


def production_prompt(registry: PromptRegistry, alias: str = "production") -> ProductionPrompt:
    """The prompt behind ``alias`` with the release gate's tags (``gate.<metric>``, ``gate.model``)."""
    from infra.rag.release import GATE_MODEL_TAG

    version = registry.alias_version(alias)
    if version is None:
        return ProductionPrompt(None)
    pv = registry.client.get_prompt_version(registry.name, version)
    tags = dict(getattr(pv, "tags", None) or {})
    metrics = {}
    for key, value in tags.items():
        if key.startswith("gate.") and key != GATE_MODEL_TAG:
            try:
                metrics[key.removeprefix("gate.")] = float(value)
            except ValueError:
                pass
    return ProductionPrompt(version, tags.get(GATE_MODEL_TAG), metrics)


def corpus_mtimes(root: Path) -> dict[str, datetime]:
    """``doc_id -> last modification time`` (UTC) of the files under a corpus folder, for staleness ages."""
    root = Path(root)
    out = {}
    for path in root.rglob("*"):
        if path.is_file():
            out[path.relative_to(root).as_posix()] = datetime.fromtimestamp(os.stat(path).st_mtime, tz=timezone.utc)
    return out


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _day_start(night: date) -> datetime:
    return datetime.combine(night, time.min, tzinfo=timezone.utc)


EVENT_COLUMNS = ("request_id", "at", "kind", "tenant", "question", "generator", "model", "total_tokens", "cost_usd",
                 "latency_ms", "chunks_used", "cache_hit", "guardrail_flags", "budget_state", "error")


def read_events(request_log: RequestLog, start: datetime, end: datetime, columns: Sequence[str] = EVENT_COLUMNS) -> list[dict[str, Any]]:
    """Request events (not budget warnings) with ``start <= at < end``, oldest first, as dicts of ``columns``."""
    names = list(dict.fromkeys(["at", *columns]))
    q = (sa.select(*[llm_requests.c[c] for c in names])
         .where(llm_requests.c.at >= start, llm_requests.c.at < end, llm_requests.c.kind.in_(REQUEST_KINDS))
         .order_by(llm_requests.c.at, llm_requests.c.id))
    with request_log.engine.connect() as conn:
        rows = [dict(zip(names, r)) for r in conn.execute(q)]
    for r in rows:
        r["at"] = _utc(r["at"])
    return rows


def _params(policy_params: Mapping[str, Mapping[str, Any]] | None, check: str) -> dict[str, Any]:
    return {**DEFAULT_PARAMS.get(check, {}), **dict((policy_params or {}).get(check) or {})}


def measure_rag_night(
    night: date,
    *,
    request_log: RequestLog,
    feedback: FeedbackStore,
    embedder: Any,
    index_info: LiveIndexInfo,
    corpus: Any,
    golden_result: Any = None,
    prompt: ProductionPrompt | None = None,
    corpus_times: Mapping[str, datetime] | None = None,
    policy_params: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Measurement]:
    """Every RAG check's figure for ``night``.

    Args:
        night: The UTC day measured.
        request_log: The gateway's request events (``infra.factory.build_request_log``).
        feedback: User feedback (``FeedbackStore``).
        embedder: Has ``embed_cached(texts) -> array`` (``infra.factory.build_embedder``).
        index_info: What docs-live holds (``live_index_info``).
        corpus: The corpus now: a ``LoadedCorpus`` or a ``doc_id -> hash`` mapping.
        golden_result: Tonight's golden-set evaluation of docs-live with the
            production prompt (a ``GateResult``, or a mapping with ``metrics``);
            None: answer and retrieval quality are not measured tonight.
        prompt: The production prompt's gated model and figures (``production_prompt``).
        corpus_times: ``doc_id -> modification time`` for staleness ages (``corpus_mtimes``).
        policy_params: Per-check measurement parameters (the policy's ``params``).

    Returns:
        Measurements for every RAG check (``tenant_cost`` once per tenant).
    """
    p = lambda check: _params(policy_params, check)  # noqa: E731
    look_back = max(int(p("query_drift")["reference_nights"]), int(p("tenant_cost")["baseline_nights"]))
    start = _day_start(night)
    tonight = read_events(request_log, start, start + timedelta(days=1))
    # Earlier nights: only what the reference window and the baselines need (no chunks, flags or errors).
    earlier = read_events(request_log, start - timedelta(days=look_back), start, ("kind", "tenant", "question", "total_tokens", "cost_usd"))

    out: list[Measurement] = []
    answers = [e for e in tonight if e["kind"] == "answer" and e["question"]]
    texts = [e["question"] for e in answers]
    vectors = _embed(embedder, texts)
    out.append(_query_drift(night, answers, vectors, earlier, embedder, p("query_drift")))
    out.append(_unanswerable(answers, vectors, p("unanswerable_share")))
    out.append(_staleness(night, corpus, index_info, corpus_times))
    out += _tenant_cost(night, tonight, earlier, p("tenant_cost"))
    out += _operations(tonight, answers, p("error_rate"))
    out.append(_provider_model(answers, prompt))
    out.append(_bad_feedback(feedback.for_night(night), p("bad_feedback")))
    out += _golden(golden_result, prompt, index_info, p("answer_quality"), p("retrieval_quality"))
    return out


def _embed(embedder: Any, texts: Sequence[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    distinct = list(dict.fromkeys(texts))
    vecs = np.asarray(embedder.embed_cached(distinct), dtype=np.float32)
    row = {t: i for i, t in enumerate(distinct)}
    return vecs[[row[t] for t in texts]]


def _query_drift(night: date, answers, vectors, earlier, embedder, params) -> Measurement:
    nights = int(params["reference_nights"])
    since = _day_start(night) - timedelta(days=nights)
    ref_texts = [e["question"] for e in earlier if e["kind"] == "answer" and e["question"] and e["at"] >= since]
    ref_nights = len({e["at"].date() for e in earlier if e["at"] >= since})
    if not answers or len(ref_texts) < int(params["min_questions"]):
        return Measurement("query_drift", None, len(answers), {"reference_questions": len(ref_texts), "reference_nights": ref_nights},
                           note="too few questions tonight or in the reference window")
    reference = _embed(embedder, ref_texts)
    seed = int(params["seed"]) + night.toordinal()
    result = domain_classifier_auc(vectors, reference, folds=int(params["folds"]), seed=seed,
                                   max_reference=params.get("max_reference"), min_rows=int(params["min_questions"]))
    evidence = {"method": "domain classifier (logistic regression, cross-validated ROC AUC)", "auc": result.auc,
                "questions": result.n_current, "reference_questions": result.n_reference, "reference_nights": ref_nights,
                "reference_window": [(night - timedelta(days=nights)).isoformat(), (night - timedelta(days=1)).isoformat()]}
    note = "" if result.auc is None else f"AUC {result.auc:.3f} of tonight's questions against {ref_nights} earlier night(s)"
    return Measurement("query_drift", result.auc, result.n_current, evidence, note=note)


def _unanswerable(answers, vectors, params) -> Measurement:
    level = float(params["answerable_score"])
    scores = [best_score(e["chunks_used"]) for e in answers]
    mask = unanswerable_mask(scores, level)
    value, n = share(mask.tolist())
    idx = np.flatnonzero(mask)
    clusters = cluster_questions(vectors[idx] if len(idx) else np.zeros((0, 1)), [answers[i]["question"] for i in idx],
                                 distance_threshold=float(params["cluster_distance"]), top=int(params["clusters"]),
                                 examples=int(params["examples"]))
    evidence = {"answerable_score": level, "unanswered": int(mask.sum()), "questions": n, "clusters": clusters,
                "request_ids": [answers[i]["request_id"] for i in idx[:20]]}
    note = f"{int(mask.sum())} of {n} questions had no chunk scoring {level:.2f} or more" if n else "no answered questions tonight"
    return Measurement("unanswerable_share", value, n, evidence, note=note)


def _staleness(night: date, corpus, index_info: LiveIndexInfo, corpus_times) -> Measurement:
    current = corpus.manifest() if hasattr(corpus, "manifest") else dict(corpus)
    if index_info.collection is None:
        return Measurement("staleness", None, len(current), {}, note="docs-live points at no collection")
    plan = corpus_changes(current, index_info.documents)
    end = _day_start(night) + timedelta(days=1)
    built = _utc(index_info.built_at)
    times = corpus_times or {}

    def age(doc_id: str) -> float | None:
        since = _utc(times.get(doc_id)) if doc_id in times else built
        if built is not None and since is not None:
            since = max(since, built)  # the index cannot be behind for longer than since it was built
        return None if since is None else round((end - since).total_seconds() / 86_400, 2)

    docs = [{"doc_id": d, "change": change, "age_days": age(d)}
            for change, ids in (("added", plan.added), ("changed", plan.changed), ("removed", plan.deleted)) for d in ids]
    ages = [d["age_days"] for d in docs if d["age_days"] is not None]
    evidence = {"collection": index_info.collection, "built_at": built.isoformat() if built else None,
                "index_age_days": round((end - built).total_seconds() / 86_400, 2) if built else None,
                **plan.summary(), "changed_fraction": round(plan.changed_fraction, 4),
                "oldest_change_days": max(ages) if ages else None, "documents": docs[:50]}
    n = len(set(current) | set(index_info.documents))
    note = (f"{len(docs)} document(s) added, changed or removed since {index_info.collection} was built" if docs
            else f"{index_info.collection} holds the corpus as it is")
    return Measurement("staleness", float(len(docs)), n, evidence, note=note)


def _tenant_cost(night: date, tonight, earlier, params) -> list[Measurement]:
    """Per tenant, two lines against its own trailing baseline (median of its earlier nights):

    - ``tenant_cost``: the night's tokens (volume times tokens per question)
      against the median of the same day type (weekday or weekend);
    - ``tenant_cost_per_question``: tokens and cost per question against the
      median of its earlier nights' per-question figures (nights it asked
      nothing left out); the figure is the larger of the two ratios.
    """
    nights = int(params["baseline_nights"])
    min_nights = int(params["min_baseline_nights"])
    since = _day_start(night) - timedelta(days=nights)
    window = [e for e in earlier if e["at"] >= since]
    history_nights = sorted({e["at"].date() for e in window})  # nights the gateway served anything
    tokens: dict[tuple[str, date], int] = defaultdict(int)
    past_cost: dict[tuple[str, date], float] = defaultdict(float)
    past_questions: Counter = Counter()
    for e in window:
        key = (e["tenant"], e["at"].date())
        tokens[key] += int(e["total_tokens"] or 0)
        past_cost[key] += float(e["cost_usd"] or 0.0)
        past_questions[key] += 1
    now_tokens: dict[str, int] = defaultdict(int)
    now_cost: dict[str, float] = defaultdict(float)
    now_questions: Counter = Counter()
    for e in tonight:
        now_tokens[e["tenant"]] += int(e["total_tokens"] or 0)
        now_cost[e["tenant"]] += float(e["cost_usd"] or 0.0)
        now_questions[e["tenant"]] += 1
    out = []
    day_type = ("weekend" if night.weekday() >= 5 else "weekday") if params.get("match_day_type", True) else "any"
    same_type = history_nights
    if params.get("match_day_type", True):
        weekend = night.weekday() >= 5
        same_type = [d for d in history_nights if (d.weekday() >= 5) == weekend]
    first_seen: dict[str, date] = {}
    for t, d in tokens:
        first_seen[t] = min(d, first_seen.get(t, d))
    for tenant in sorted(set(now_tokens) | set(first_seen)):
        seen = [d for d in same_type if d >= first_seen.get(tenant, night)]
        history = [tokens.get((tenant, d), 0) for d in seen]  # zeros on nights the tenant asked nothing
        r = cost_ratio(now_tokens.get(tenant, 0), history, min_nights=min_nights)
        c = cost_ratio(now_cost.get(tenant, 0.0), [past_cost.get((tenant, d), 0.0) for d in seen], min_nights=min_nights)
        q = now_questions.get(tenant, 0)
        counts = [past_questions.get((tenant, d), 0) for d in seen]  # zeros on nights it asked nothing, as for tokens
        baseline_questions = sum(counts)
        # The baseline's questions a night (median, same nights as the token baseline): the grading's volume noise rule.
        baseline_count = float(statistics.median(counts)) if r.ratio is not None and counts else None
        evidence = {"tenant": tenant, "tokens": r.tonight, "baseline_tokens": r.baseline, "baseline_nights": r.baseline_nights,
                    "day_type": day_type, "baseline_questions": baseline_questions, "baseline_count": baseline_count,
                    "cost_usd": round(c.tonight, 6), "baseline_cost_usd": c.baseline,
                    "cost_ratio": c.ratio, "questions": q, "tokens_per_question": round(r.tonight / q, 2) if q else None}
        note = (f"{tenant}: {r.tonight:,.0f} tokens vs median {r.baseline:,.0f} over {r.baseline_nights} nights "
                f"({q} questions tonight)" if r.ratio is not None
                else f"{tenant}: no baseline yet ({r.baseline_nights} night(s) of history)")
        out.append(Measurement("tenant_cost", r.ratio, q, evidence, subject=tenant, note=note))
        out.append(_per_question(tenant, q, now_tokens.get(tenant, 0), now_cost.get(tenant, 0.0),
                                 [d for d in history_nights if past_questions.get((tenant, d))],
                                 tokens, past_cost, past_questions, min_nights))
    return out


def _per_question(tenant: str, questions: int, tokens_now: int, cost_now: float, nights: list[date],
                  tokens, cost, asked, min_nights: int) -> Measurement:
    """``tenant_cost_per_question``: tonight's tokens and cost per question over the tenant's trailing medians."""
    per_tokens = [tokens[(tenant, d)] / asked[(tenant, d)] for d in nights]
    per_cost = [cost[(tenant, d)] / asked[(tenant, d)] for d in nights]
    t = cost_ratio(tokens_now / questions if questions else 0.0, per_tokens, min_nights=min_nights)
    c = cost_ratio(cost_now / questions if questions else 0.0, per_cost, min_nights=min_nights)
    ratios = [x for x in (t.ratio, c.ratio) if x is not None]
    value = max(ratios) if ratios and questions else None
    evidence = {"tenant": tenant, "questions": questions, "tokens_per_question": round(t.tonight, 2),
                "baseline_tokens_per_question": None if t.baseline is None else round(t.baseline, 2), "tokens_ratio": t.ratio,
                "cost_per_question_usd": round(c.tonight, 8),
                "baseline_cost_per_question_usd": None if c.baseline is None else round(c.baseline, 8), "cost_ratio": c.ratio,
                "baseline_nights": t.baseline_nights}
    if value is None:
        note = (f"{tenant}: no questions tonight" if not questions
                else f"{tenant}: no per-question baseline yet ({t.baseline_nights} night(s) with questions)")
    else:
        note = (f"{tenant}: {t.tonight:,.0f} tokens per question vs median {t.baseline:,.0f} over {t.baseline_nights} nights"
                + (f"; cost per question x{c.ratio:.2f}" if c.ratio is not None else ""))
    return Measurement("tenant_cost_per_question", value, questions, evidence, subject=tenant, note=note)


def _operations(tonight, answers, params) -> list[Measurement]:
    examples = int(params.get("examples", 5))
    requests = list(tonight)
    fresh = [e for e in answers if not e["cache_hit"]]
    latency, n_lat = percentile(e["latency_ms"] for e in answers), sum(e["latency_ms"] is not None for e in answers)
    errors = [e for e in requests if e["kind"] == "error"]
    err_value, n_req = share(e["kind"] == "error" for e in requests)
    fallback, n_fresh = share("fallback:offline" in (e["guardrail_flags"] or []) for e in fresh)
    budget, _ = share(e["budget_state"] == "exceeded" for e in requests)
    flag_counts: Counter = Counter()
    hits = []
    for e in requests:
        flags = [f for f in (e["guardrail_flags"] or []) if f.startswith(GUARDRAIL_PREFIXES)]
        flag_counts.update(flags)
        hits.append(bool(flags))
    guard, _ = share(hits)
    return [
        Measurement("latency_p95", latency, n_lat, {"p50_ms": percentile((e["latency_ms"] for e in answers), 50)}),
        Measurement("error_rate", err_value, n_req, {"errors": len(errors),
                                                     "examples": [{"request_id": e["request_id"], "error": (e["error"] or "")[:200]} for e in errors[:examples]]}),
        Measurement("fallback_rate", fallback, n_fresh, {"answers_not_cached": n_fresh}),
        Measurement("budget_refusals", budget, n_req, {"over_budget": sum(e["budget_state"] == "exceeded" for e in requests),
                                                        "refused": sum(e["kind"] == "refused" and e["budget_state"] == "exceeded" for e in requests)}),
        Measurement("guardrail_hits", guard, n_req, {"flags": dict(flag_counts.most_common())}),
    ]


def _provider_model(answers, prompt: ProductionPrompt | None) -> Measurement:
    reported = [e["model"] for e in answers if e["generator"] == "endpoint" and not e["cache_hit"]]
    gated = prompt.gated_model if prompt else None
    check = model_change(reported, gated)
    evidence = {"gated_model": gated, "reported": check.reported, "other_share": check.other_share,
                "prompt_version": prompt.version if prompt else None}
    if check.changed is None:
        note = "no endpoint answers tonight" if gated else "the production prompt has no gated model recorded"
    else:
        note = (f"the endpoint reports {', '.join(m for m in check.reported if m != gated)}; the prompt was gated with {gated}"
                if check.changed else f"the endpoint reports {gated}, as gated")
    return Measurement("provider_model", check.changed, len(reported), evidence, note=note)


def _bad_feedback(rows, params) -> Measurement:
    value, n = share(r.rating == "bad" for r in rows)
    bad = [r for r in rows if r.rating == "bad"]
    evidence = {"bad": len(bad), "votes": n,
                "examples": [{"request_id": r.request_id, "tenant": r.tenant, "note": r.note} for r in bad[: int(params.get("examples", 5))]]}
    return Measurement("bad_feedback", value, n, evidence, note=f"{len(bad)} of {n} votes bad" if n else "no feedback tonight")


def _golden(result, prompt: ProductionPrompt | None, index_info: LiveIndexInfo, answer_params, retrieval_params) -> list[Measurement]:
    if result is None:
        return [Measurement("answer_quality", None, 0, note="no golden-set evaluation tonight"),
                Measurement("retrieval_quality", None, 0, note="no golden-set evaluation tonight")]
    metrics = dict(result.get("metrics", {}) if isinstance(result, Mapping) else getattr(result, "metrics", {}) or {})
    reused = result.get("reused_run") if isinstance(result, Mapping) else getattr(result, "reused_run", None)
    n = int(metrics.get("n_questions", 0) or 0)
    out = []
    for check, gated, params, what in (
        ("answer_quality", (prompt.gate_metrics if prompt else {}), answer_params, "the production prompt's release gate"),
        ("retrieval_quality", index_info.gate_metrics, retrieval_params, f"{index_info.collection}'s retrieval gate"),
    ):
        value, drops = metric_drop(metrics, gated, list(params["metrics"]))
        evidence = {"drops": drops, "tonight": {k: metrics.get(k) for k in params["metrics"]},
                    "gated": {k: gated.get(k) for k in params["metrics"]}, "reused_run": reused}
        note = (f"largest drop below {what}: {max(drops, key=drops.get)} {value:+.3f}" if value is not None
                else f"no figure of {what} to compare with")
        out.append(Measurement(check, value, n, evidence, note=note))
    return out
