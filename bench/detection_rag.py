"""Simulated nights of RAG traffic through the real nightly measurements (the RAG half of ``bench/detection.py``).

``simulate_rag_nights(scenario, seed)`` replays ``nights`` nights of simulated
questions (``indexes.traffic``) and returns, per night, the ``Measurement``s of
``infra.monitoring.rag.measure_rag_night``: the real composition, on a real
request log (SQLite under a temporary folder), real feedback store, the real
MiniLM embedder and a real Qdrant collection built from a copy of the demo
corpus by the real indexing code and released through the real gate.

What is simulated is only what a user or an endpoint would do: the questions
(and when they are asked), tokens, latency, rare endpoint errors and
fallbacks, guardrail hits and votes. Retrieval is not simulated: each distinct
question is embedded and retrieved once against the live collection and its
chunks (with their scores) cached, which is what makes 5 scenarios x 5 seeds
x 120 nights take minutes. Cache hits are simulated per night (an exact
repeat the same night costs no tokens).

The lead's ``bench/detection.py`` grades these measurements with the policy.
Run alone: ``python -m bench.detection_rag [--seeds 5] [--nights 120]``
prints the time and a per-scenario summary of the figures before and after
the scenario starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import numpy as np  # noqa: E402

from indexes.traffic import NOISE_QUESTIONS, SCENARIOS, SHIFT_QUESTIONS, TEMPLATES, TrafficConfig, paraphrase, simulate_night  # noqa: E402
from models.monitoring import Measurement  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO_CORPUS = ROOT / "infra" / "demo" / "corpus"
DEMO_GOLDEN = ROOT / "infra" / "demo" / "golden.yaml"
FIRST_NIGHT = date(2026, 1, 5)  # a Monday
QUIET_NIGHTS = 90  # the scenario starts after these (the "0 tickets in 90 quiet nights" goal)

# What the simulated endpoint charges (per 1k tokens), and how it behaves.
PRICE_PROMPT, PRICE_COMPLETION = 0.0005, 0.0015
ERROR_RATE, FALLBACK_RATE, PII_RATE = 0.002, 0.01, 0.01
VOTE_RATE, BAD_RATE, BAD_RATE_UNANSWERED = 0.05, 0.1, 0.6


@dataclass
class World:
    """What every simulated run shares in one process: the built index and the retrieval cache."""

    work: Path
    settings: Any
    golden: Any
    embedder: Any
    index: Any
    index_info: Any
    gate: Any
    corpus_ids: list[str]
    retrieved: dict[str, tuple[list[dict[str, Any]], int]]  # question -> (chunks_used, context tokens)


_WORLD: World | None = None


def world(work: Path | None = None) -> World:
    """Build (once per process) the demo index in a temporary folder through the real indexing code and gate."""
    global _WORLD
    if _WORLD is not None:
        return _WORLD
    from infra.factory import build_embedder, build_index_builds, build_vector_index
    from infra.monitoring.rag import live_index_info
    from infra.rag import indexing
    from infra.rag.evaluation import evaluate_retrieval
    from infra.rag.release import release_index
    from infra.clients.qdrant_index import Retriever
    from infra.settings import IndexSettings, TandemSettings
    from infra.sources.corpus import read_corpus
    from infra.sources.golden import load_golden

    work = Path(work or tempfile.mkdtemp(prefix="tandem-rag-bench-"))
    corpus_dir = work / "corpus"
    shutil.copytree(DEMO_CORPUS, corpus_dir, dirs_exist_ok=True)
    settings = TandemSettings(data_dir=work / "tandem", actor="bench",
                              index=IndexSettings(corpus_dir=corpus_dir, golden_path=DEMO_GOLDEN, include_model_cards=False))
    corpus = read_corpus(corpus_dir)
    golden = load_golden(DEMO_GOLDEN)
    embedder = build_embedder(settings)
    index, builds = build_vector_index(settings), build_index_builds(settings)
    plan = indexing.plan_build(settings, corpus, index, builds, embedder)
    result = indexing.build_collection(settings, corpus, plan, index, embedder)
    retriever = Retriever(index, embedder.llama, collection=result.collection, top_k=settings.index.top_k,
                          score_threshold=settings.index.score_threshold)
    gate = evaluate_retrieval(retriever, golden, min_hit_rate=settings.index.gate_min_hit_rate, min_mrr=settings.index.gate_min_mrr)
    outcome = release_index(settings, result.collection, gate, actor="bench")
    if outcome != "released":
        raise RuntimeError(f"the demo index did not pass its retrieval gate ({gate.describe()})")
    info = live_index_info(index, builds)
    # Simulated nights start long before the wall clock's today: the build is dated the night before the first.
    info = dataclasses.replace(info, built_at=datetime.combine(FIRST_NIGHT - timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc))
    _WORLD = World(work, settings, golden, embedder, index, info, gate, sorted(corpus.manifest()), {})
    # Every question the simulator can ask, retrieved once in one batch.
    _prefetch(_WORLD, [paraphrase(q, k) for q in [g.question for g in golden.questions] + list(NOISE_QUESTIONS) + list(SHIFT_QUESTIONS)
                       for k in range(len(TEMPLATES))])
    return _WORLD


def _prefetch(w: World, texts) -> None:
    """Retrieve every question of ``texts`` not seen yet from the live collection, in one embedding batch.

    The same vectors the gateway's retriever would compute (MiniLM, no query
    instruction: query and text embeddings are identical) and the same Qdrant
    search (cosine, top k, the configured score threshold); batching the
    embeddings is 20x faster than LlamaIndex's one query at a time here.
    The vectors stay in the embedder's cache, where the nightly query-drift
    check finds them.
    """
    missing = [t for t in dict.fromkeys(texts) if t not in w.retrieved]
    if not missing:
        return
    cfg = w.settings.index
    for text, vec in zip(missing, w.embedder.embed_cached(missing)):
        points = w.index.client.query_points(w.index_info.collection, query=vec.tolist(), limit=cfg.top_k, with_payload=True).points
        used, context_tokens = [], 0
        for p in points:
            if cfg.score_threshold is not None and p.score < cfg.score_threshold:
                continue
            used.append({"chunk_id": str(p.id), "doc_id": p.payload.get("doc_id"), "score": round(float(p.score), 4)})
            node = json.loads(p.payload.get("_node_content") or "{}")
            context_tokens += int(len(str(node.get("text", "")).split()) * 1.3)
        w.retrieved[text] = (used, context_tokens)


def _retrieve(w: World, question: str) -> tuple[list[dict[str, Any]], int]:
    """The live collection's chunks for ``question`` (cached) and the context's token count."""
    _prefetch(w, [question])
    return w.retrieved[question]


def _apply_edits(corpus_dir: Path, edits) -> None:
    for e in edits:
        path = corpus_dir / e.doc_id
        if e.action == "edit":
            path.write_text(path.read_text(encoding="utf-8") + e.text, encoding="utf-8")
        elif e.action == "add":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(e.text, encoding="utf-8")
        elif e.action == "remove":
            path.unlink(missing_ok=True)


def _events(w: World, traffic, rng: np.random.Generator, run: str):
    """Request events (and which were unanswerable) for one night of traffic."""
    from infra.stores.requests import RequestEvent

    start = datetime.combine(traffic.night, datetime.min.time(), tzinfo=timezone.utc)
    seen: set[str] = set()
    out = []
    for i, q in enumerate(traffic.questions):
        chunks, context_tokens = _retrieve(w, q.text)
        cached = q.text in seen
        seen.add(q.text)
        flags = ["pii:email"] if rng.random() < PII_RATE else []
        event = RequestEvent(
            request_id=f"{run}-{traffic.night:%Y%m%d}-{i:04d}", at=start + timedelta(seconds=q.at_seconds), kind="answer",
            tenant=q.tenant, use_case="assistant", question=q.text, prompt_name="rag-answer", prompt_version="1",
            index_version=w.index_info.collection, generator="endpoint", model=traffic.model, chunks_used=chunks, cache_hit=cached,
        )
        if cached:
            event.latency_ms = float(rng.uniform(20, 60))
        else:
            event.prompt_tokens = 180 + int(len(q.text.split()) * 1.3) + context_tokens
            event.completion_tokens = int(rng.integers(40, 160))
            event.total_tokens = event.prompt_tokens + event.completion_tokens
            event.retrieval_latency_ms = float(rng.lognormal(np.log(40), 0.3))
            event.latency_ms = event.retrieval_latency_ms + float(rng.lognormal(np.log(1400), 0.35))
            u = rng.random()
            if u < ERROR_RATE:
                event.kind, event.error = "error", "GeneratorError: endpoint answered HTTP 502"
            elif u < ERROR_RATE + FALLBACK_RATE:
                event.generator, event.model = "offline", "extractive-minilm"
                event.error = "endpoint timed out after 30 s"
                flags.append("fallback:offline")
            else:
                event.cost_usd = round(event.prompt_tokens / 1000 * PRICE_PROMPT + event.completion_tokens / 1000 * PRICE_COMPLETION, 8)
        event.guardrail_flags = sorted(flags)
        best = max((c["score"] for c in chunks), default=0.0)
        out.append((event, best))
    return out


def _write(engine, events) -> None:
    import sqlalchemy as sa

    from infra.stores.opsdb import llm_requests
    from infra.stores.requests import db_safe_row

    rows = [db_safe_row(llm_requests, dict(e.__dict__)) for e in events]  # asdict's deep copy is a third of the write
    if rows:
        with engine.begin() as conn:
            conn.execute(sa.insert(llm_requests), rows)


def simulate_rag_nights(
    scenario: str,
    seed: int,
    *,
    nights: int = 120,
    start_night: date | None = None,
    first_night: date = FIRST_NIGHT,
    config: TrafficConfig = TrafficConfig(),
    policy_params: dict[str, dict[str, Any]] | None = None,
) -> list[tuple[date, list[Measurement]]]:
    """Replay ``nights`` simulated nights of ``scenario`` and measure each with ``measure_rag_night``.

    Args:
        scenario: One of ``indexes.traffic.SCENARIOS``.
        seed: Decides the traffic (and votes, latencies, errors).
        nights: How many nights, from ``first_night``.
        start_night: The scenario's first night (default: ``first_night`` + 90 days).
        first_night: The first simulated night.
        config: The traffic's tenants and scenario knobs.
        policy_params: Per-check measurement parameters, as the policy holds them.

    Returns:
        ``[(night, measurements)]`` in night order.
    """
    import sqlalchemy as sa

    from infra.monitoring.rag import ProductionPrompt, measure_rag_night
    from infra.sources.corpus import read_corpus
    from infra.stores.feedback import FeedbackStore
    from infra.stores.opsdb import create_ops_engine

    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    w = world()
    start = start_night or first_night + timedelta(days=QUIET_NIGHTS)
    run = f"{scenario}-{seed}"
    folder = Path(tempfile.mkdtemp(prefix=f"{run}-", dir=w.work))
    engine = create_ops_engine(f"sqlite:///{folder / 'ops.db'}")
    # A throw-away file: no fsync per night (commits were most of the wall time on a busy disk).
    sa.event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA synchronous=OFF"))
    engine.dispose()
    corpus_dir = folder / "corpus"
    shutil.copytree(w.settings.index.corpus_dir, corpus_dir)
    corpus = read_corpus(corpus_dir).manifest()
    corpus_times: dict[str, datetime] = {}
    from infra.stores.requests import RequestLog

    log, votes = RequestLog(engine), FeedbackStore(engine)
    prompt = ProductionPrompt(1, gated_model=config.base_model, gate_metrics={})
    golden_result = {"metrics": dict(w.gate.metrics)}  # reused every night: neither prompt nor index changes
    out = []
    try:
        for k in range(nights):
            night = first_night + timedelta(days=k)
            traffic = simulate_night(w.golden.questions, night, scenario=scenario, seed=seed, start=start, config=config,
                                     doc_ids=w.corpus_ids)
            if traffic.corpus_edits:
                _apply_edits(corpus_dir, traffic.corpus_edits)
                corpus = read_corpus(corpus_dir).manifest()
                for e in traffic.corpus_edits:
                    corpus_times[e.doc_id] = datetime.combine(night, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=10)
            rng = np.random.default_rng([seed, night.toordinal(), 99])
            _prefetch(w, [q.text for q in traffic.questions])
            events = _events(w, traffic, rng, run)
            _write(engine, [e for e, _ in events])
            vote_at = datetime.combine(night, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=23)
            for e, best in events:
                if e.kind == "answer" and rng.random() < VOTE_RATE:
                    bad = rng.random() < (BAD_RATE_UNANSWERED if best < 0.35 else BAD_RATE)
                    votes.record(e.request_id, "bad" if bad else "good", actor=f"user-{int(rng.integers(1000))}", at=vote_at)
            measured = measure_rag_night(
                night, request_log=log, feedback=votes, embedder=w.embedder, index_info=w.index_info, corpus=corpus,
                golden_result=golden_result, prompt=prompt, corpus_times=corpus_times, policy_params=policy_params,
            )
            out.append((night, measured))
    finally:
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    return out


def _summary(scenario: str, seed: int, nights: list[tuple[date, list[Measurement]]], start: date) -> dict[str, Any]:
    before: dict[str, list[float]] = {}
    after: dict[str, list[float]] = {}
    for night, ms in nights:
        for m in ms:
            if m.value is None:
                continue
            key = m.check if m.subject is None else f"{m.check}[{m.subject}]"
            (after if night >= start else before).setdefault(key, []).append(m.value)
    rows = {}
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key, []), after.get(key, [])
        rows[key] = {
            "before_mean": round(statistics.fmean(b), 4) if b else None,
            "before_max": round(max(b), 4) if b else None,
            "after_first3": [round(x, 4) for x in a[:3]],
        }
    return {"scenario": scenario, "seed": seed, "start": start.isoformat(), "checks": rows}


def _one(job: tuple[str, int, int, dict | None]) -> tuple[str, int, float, list[tuple[date, list[Measurement]]]]:
    scenario, seed, nights, params = job
    t = time.process_time()  # CPU seconds: wall time on a shared machine says more about the neighbours
    result = simulate_rag_nights(scenario, seed, nights=nights, policy_params=params)
    return scenario, seed, time.process_time() - t, result


def simulate_all(
    scenarios=SCENARIOS, seeds=range(5), *, nights: int = 120, jobs: int | None = None,
    policy_params: dict[str, dict[str, Any]] | None = None,
) -> dict[tuple[str, int], list[tuple[date, list[Measurement]]]]:
    """``simulate_rag_nights`` for every (scenario, seed), over ``jobs`` processes.

    The index is built and every possible question retrieved and embedded once,
    in this process, before the workers fork: they share the caches (the
    embedder is never called in a worker) and each writes its own SQLite file.

    Returns:
        ``{(scenario, seed): [(night, measurements)]}``.
    """
    world()
    todo = [(sc, sd, nights, policy_params) for sc in scenarios for sd in seeds]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    if jobs == 1:
        done = [_one(j) for j in todo]
    else:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            done = pool.map(_one, todo, chunksize=1)
    simulate_all.timings = {(sc, sd): secs for sc, sd, secs, _ in done}  # CPU seconds per run, for the report
    return {(sc, sd): result for sc, sd, _, result in done}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--nights", type=int, default=120)
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: the CPU count)")
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--json", type=Path, help="write every measurement here")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    t0, c0 = time.perf_counter(), time.process_time()
    world()
    setup, setup_cpu = time.perf_counter() - t0, time.process_time() - c0
    start = FIRST_NIGHT + timedelta(days=QUIET_NIGHTS)
    t1 = time.perf_counter()
    results = simulate_all(args.scenarios, range(args.seeds), nights=args.nights, jobs=args.jobs)
    runs = time.perf_counter() - t1
    dump = []
    for (scenario, seed), nights in results.items():
        s = _summary(scenario, seed, nights, start)
        key = {"none": ["query_drift", "unanswerable_share"], "topic-shift": ["query_drift", "unanswerable_share"],
               "stale-corpus": ["staleness"], "cost-spike": [k for k in s["checks"] if k.startswith("tenant_cost")],
               "model-change": ["provider_model"]}[scenario]
        print(f"{scenario:13} seed {seed}  {simulate_all.timings[(scenario, seed)]:6.1f} CPU s  " + "  ".join(
            f"{k}: quiet mean {s['checks'][k]['before_mean']} max {s['checks'][k]['before_max']} -> {s['checks'][k]['after_first3']}"
            for k in key if k in s["checks"]), flush=True)
        if args.json:
            dump.append({"scenario": scenario, "seed": seed,
                         "nights": [{"night": n.isoformat(), "measurements": [m.to_dict() for m in ms]} for n, ms in nights]})
    print(f"\nsetup (index build, gate, {len(world().retrieved)} distinct questions embedded and retrieved) {setup:.1f} s wall, "
          f"{setup_cpu:.1f} s CPU; {len(results)} runs of {args.nights} nights in {runs:.1f} s wall on {args.jobs or os.cpu_count()} "
          f"processes, {sum(simulate_all.timings.values()):.1f} CPU s in the runs; total {time.perf_counter() - t0:.1f} s wall")
    if args.json:
        args.json.write_text(json.dumps(dump, default=str))


if __name__ == "__main__":
    main()
