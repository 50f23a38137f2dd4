"""RAG benchmarks: index builds, incremental rebuilds, question latency, guardrails.

Run with ``make bench`` (after the risk-scorer benchmarks) or
``python bench/rag.py``. Prints figures and ratios; asserts nothing.

* full build: the ``reindex`` build step (plan, split, embed, write to Qdrant)
  in chunks/s, against raw sentence-transformers ``encode`` of the very same
  chunk texts (the overhead ratio);
* incremental rebuilds with 0%, 1% and 10% of documents changed, against the
  full build (target: time roughly proportional to what changed; 0% under 5%
  of a full build); both the build step and the whole flow (with its retrieval
  gate over the golden set) are shown;
* question latency p50/p95 on the offline path: each golden and benign
  question once (response-cache misses), then again (hits);
* guardrails on the shipped attack set: detection and false-positive rates.

``python bench/rag.py quality`` prints the answer-quality table instead (every
golden-set metric of ``infra.rag.evaluation.evaluate_answers`` with the
built-in prompt, and the offline answer latency) on the demo corpus (dev) and
on ``bench/data/unseen`` (49 Node.js contributor guides, hard-wrapped, with a
34-question golden set written before any tuning), plus three answers of each
quoted verbatim. ``--corpus DIR --golden FILE`` runs it on any other corpus.

The corpus is the demo corpus copied ``BENCH_RAG_COPIES`` times (default 3),
each copy made distinct so every document has its own hash.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import isolated_env  # noqa: E402

COPIES = int(os.environ.get("BENCH_RAG_COPIES", "3"))


def _setup(work: Path) -> Path:
    corpus = work / "corpus"
    demo = ROOT / "infra" / "demo" / "corpus"
    for i in range(COPIES):
        for src in sorted(p for p in demo.rglob("*") if p.is_file()):
            rel = src.relative_to(demo)
            dst = corpus / rel if i == 0 else corpus / f"copy{i}" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            text = src.read_text(encoding="utf-8")
            if i:
                text += f"\n\nArchive copy {i} of this document, kept for the benchmark."
            dst.write_text(text, encoding="utf-8")
    isolated_env(
        work,
        TANDEM_INDEX__CORPUS_DIR=str(corpus),
        TANDEM_INDEX__INCLUDE_MODEL_CARDS="false",
        TANDEM_INDEX__KEEP_COLLECTIONS="10",
        # The copies compete with their originals in retrieval, so the golden
        # set's scores by document id drop; the gate still runs (its time is
        # measured) but must not hold the alias back between rounds.
        TANDEM_INDEX__GATE_MIN_HIT_RATE="0",
        TANDEM_INDEX__GATE_MIN_MRR="0",
    )
    return corpus


def _change(corpus: Path, fraction: float, round_: int) -> int:
    docs = sorted(p for p in corpus.rglob("*") if p.is_file())
    n = max(1, round(len(docs) * fraction)) if fraction else 0
    step = max(len(docs) // max(n, 1), 1)
    for path in docs[::step][:n]:
        path.write_text(path.read_text(encoding="utf-8") + f"\n\nRevision {round_} of this document.", encoding="utf-8")
    return n


def main() -> None:
    from prefect.testing.utilities import prefect_test_harness

    with tempfile.TemporaryDirectory(prefix="tandem-rag-bench-") as tmp:
        work = Path(tmp)
        corpus = _setup(work)
        from infra.factory import build_embedder, build_gateway, build_index_builds, build_vector_index
        from infra.rag import indexing
        from infra.rag.release import ensure_default_prompt
        from infra.pointers import move_prompt
        from infra.settings import get_settings
        from infra.sources.corpus import read_corpus
        from indexes.chunking import NumberChunks, build_splitter
        from indexes.corpus import to_llama_document

        settings = get_settings()
        t = time.perf_counter()
        embedder = build_embedder(settings)
        print(f"Tandem RAG benchmarks: {os.cpu_count()} CPU(s); embedding model load {time.perf_counter() - t:.1f} s (excluded)")
        loaded = read_corpus(corpus)
        print(f"corpus: {len(loaded.documents)} documents ({COPIES} copies of the demo corpus)")

        # -- raw: sentence-transformers on the very same chunk texts -------------
        splitter = build_splitter(settings.index.chunk_size, settings.index.chunk_overlap, embedder.tokenize)
        nodes = NumberChunks()(splitter([to_llama_document(d, "bench") for d in loaded.documents]))
        texts = [n.get_content(metadata_mode="embed") for n in nodes]
        from infra.clients.embedding import get_embedder

        model = get_embedder(32, "torch-fp32").llama._model  # raw sentence-transformers fp32, whatever Tandem's default
        model.encode(texts[:8], batch_size=32)  # warm-up
        t = time.perf_counter()
        model.encode(texts, batch_size=settings.index.embed_batch_size, show_progress_bar=False)
        raw_s = time.perf_counter() - t

        with prefect_test_harness(server_startup_timeout=120):
            from flows.reindex import reindex

            index, builds = build_vector_index(settings), build_index_builds(settings)

            def build_once() -> tuple[float, indexing.BuildResult | None]:
                t = time.perf_counter()
                current = read_corpus(corpus)
                plan = indexing.plan_build(settings, current, index, builds, embedder)
                result = indexing.build_collection(settings, current, plan, index, embedder) if plan.needed else None
                seconds = time.perf_counter() - t
                if plan.needed:  # release it so the next round plans against it (as the flow would)
                    index.point_alias(plan.collection)
                    builds.finish(plan.collection, status="released", gate=None)
                return seconds, result

            full_s, full = build_once()
            rows = [("raw sentence-transformers encode", raw_s, len(texts), None),
                    ("Tandem full build (plan+embed+Qdrant)", full_s, full.embedded_chunks, full_s / raw_s)]
            print()
            print(f"{'full build':40} {'seconds':>8} {'chunks':>7} {'chunks/s':>9} {'vs raw':>7}")
            for name, s, n, ratio in rows:
                print(f"{name:40} {s:8.2f} {n:7d} {n / s:9.1f} {('%.2fx' % ratio) if ratio else '':>7}")

            print()
            print(f"{'incremental rebuild':28} {'docs':>5} {'embedded':>9} {'build s':>8} {'vs full':>8} {'flow s':>7}")
            for i, fraction in enumerate([0.0, 0.01, 0.10], start=1):
                n = _change(corpus, fraction, i)
                s, result = build_once()
                embedded = result.embedded_chunks if result else 0
                # the same change through the whole flow (gate included), on a fresh edit
                _change(corpus, fraction, i + 10)
                t = time.perf_counter()
                reindex()
                flow_s = time.perf_counter() - t
                print(f"{f'{fraction:.0%} changed':28} {n:5d} {embedded:9d} {s:8.2f} {s / full_s:7.1%} {flow_s:7.2f}")
            print("'vs full': build seconds / full build seconds (target: 0% under 5%, else ~ proportional);")
            print("'flow s': the reindex flow for the same change, including the retrieval gate over the golden set")

            # -- question latency on the offline path ---------------------------------
            move_prompt(settings, ensure_default_prompt(settings).version, reason="bench", evidence=None)
            from infra.sources.golden import load_attacks, load_golden

            questions = [q.question for q in load_golden(settings.resolved_golden_path).questions]
            attacks = load_attacks(ROOT / "infra" / "demo" / "attacks.yaml")
            questions += [c.text for c in attacks if c.kind == "benign"]
            gateway = build_gateway(settings)
            gateway.ask("warm-up question about the debt-to-income limit?", tenant="bench")
            print()
            print(f"{'question latency (offline)':34} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
            for label in ("first ask (cache miss)", "same question again (cache hit)"):
                lat = []
                for q in questions:
                    r = gateway.ask(q, tenant="bench")
                    lat.append(r.event.latency_ms)
                lat.sort()
                p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
                print(f"{label:34} {len(lat):4d} {statistics.median(lat):8.1f} {p95:8.1f} {lat[-1]:8.1f}")

        # -- guardrails ---------------------------------------------------------------
        from indexes.guardrails import check_injection, redact_pii

        inj = [c for c in attacks if c.kind == "injection"]
        pii = [c for c in attacks if c.kind == "pii"]
        benign = [c for c in attacks if c.kind == "benign"]
        detected = sum(check_injection(c.text).flagged for c in inj)
        pii_hits = sum(set(c.pii) <= set(redact_pii(c.text).found) for c in pii)
        fp_inj = sum(check_injection(c.text).flagged for c in benign)
        fp_pii = sum(bool(redact_pii(c.text).found) for c in benign)
        print()
        print("guardrails on infra/demo/attacks.yaml:")
        print(f"  injection detected      {detected}/{len(inj)} ({detected / len(inj):.1%})")
        print(f"  PII cases fully redacted {pii_hits}/{len(pii)} ({pii_hits / len(pii):.1%})")
        print(f"  benign flagged as injection {fp_inj}/{len(benign)} ({fp_inj / len(benign):.1%}); benign with PII redacted {fp_pii}/{len(benign)}")
        from infra.factory import close_vector_clients

        close_vector_clients()
        shutil.rmtree(work, ignore_errors=True)


QUALITY_KEYS = ("answered", "hit_at_{k}", "mrr_at_{m}", "ndcg_at_{k}", "context_docs", "context_precision", "context_recall",
                "sentence_completeness", "faithfulness", "citation_coverage", "answer_relevance", "answer_similarity", "token_f1", "rouge_l")
CORPORA = {
    "dev (demo corpus)": (ROOT / "infra" / "demo" / "corpus", ROOT / "infra" / "demo" / "golden.yaml"),
    "unseen (bench/data/unseen)": (ROOT / "bench" / "data" / "unseen" / "corpus", ROOT / "bench" / "data" / "unseen" / "golden.yaml"),
}


def quality_run(corpus: Path, golden_path: Path, work: Path, quote: int = 3) -> dict:
    """Build an index of ``corpus`` in ``work`` and evaluate the built-in prompt on ``golden_path`` (offline generator)."""
    isolated_env(work, TANDEM_INDEX__CORPUS_DIR=str(corpus), TANDEM_INDEX__GOLDEN_PATH=str(golden_path),
                 TANDEM_INDEX__INCLUDE_MODEL_CARDS="false")
    from infra.factory import build_embedder, build_gateway, build_index_builds, build_vector_index, close_vector_clients
    from infra.rag import indexing
    from infra.rag.evaluation import evaluate_answers
    from infra.settings import get_settings
    from infra.sources.corpus import read_corpus
    from infra.sources.golden import load_golden
    from indexes.prompts import DEFAULT_PARAMS, DEFAULT_TEMPLATE, PromptSpec

    from infra.factory import ops_engine

    get_settings.cache_clear()  # each corpus has its own environment
    ops_engine.cache_clear()
    settings = get_settings()
    loaded = read_corpus(corpus)
    golden = load_golden(golden_path)
    golden.check_against({d.doc_id for d in loaded.documents})
    embedder = build_embedder(settings)
    index, builds = build_vector_index(settings), build_index_builds(settings)
    t = time.perf_counter()
    plan = indexing.plan_build(settings, loaded, index, builds, embedder)
    built = indexing.build_collection(settings, loaded, plan, index, embedder)
    index.point_alias(plan.collection)
    build_s = time.perf_counter() - t
    gateway = build_gateway(settings)
    spec = PromptSpec(settings.prompt.name, 1, DEFAULT_TEMPLATE, dict(DEFAULT_PARAMS))
    latency = {"cold": []}  # first time each question's sentences are embedded (the evaluation then runs warm)
    for q in golden.questions:
        t = time.perf_counter()
        gateway.answer_with(q.question, prompt=spec, collection=plan.collection, generator="offline")
        latency["cold"].append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    metrics, details = evaluate_answers(gateway, golden, prompt=spec, collection=plan.collection)
    latency["eval_s"] = time.perf_counter() - t
    close_vector_clients()
    return {"docs": len(loaded.documents), "chunks": built.embedded_chunks, "build_s": build_s, "metrics": metrics,
            "details": details, "latency": latency, "k": settings.index.top_k, "mrr_k": settings.index.mrr_k}


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def quality(argv: list[str]) -> None:
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="bench/rag.py quality")
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--golden", type=Path)
    parser.add_argument("--json", type=Path, help="also write metrics and per-question details here")
    parser.add_argument("--quote", type=int, default=3, help="answers quoted verbatim per corpus")
    args = parser.parse_args(argv)
    corpora = {"custom": (args.corpus, args.golden)} if args.corpus else CORPORA
    results = {}
    for name, (corpus, golden) in corpora.items():
        with tempfile.TemporaryDirectory(prefix="tandem-quality-") as tmp:
            results[name] = quality_run(corpus, golden, Path(tmp))
    print(f"{'metric':24}" + "".join(f"{name[:26]:>28}" for name in results))
    first = next(iter(results.values()))
    for key in QUALITY_KEYS:
        key = key.format(k=first["k"], m=first["mrr_k"])
        print(f"{key:24}" + "".join(f"{r['metrics'].get(key, float('nan')):28.3f}" for r in results.values()))
    print(f"{'questions (with ref.)':24}" + "".join(f"{int(r['metrics']['n_questions']):>22d} ({int(r['metrics']['n_with_reference'])})" for r in results.values()))
    print(f"{'latency p50/p95 cold ms':24}" + "".join(f"{_p(r['latency']['cold'], .5):>20.0f} / {_p(r['latency']['cold'], .95):<5.0f}" for r in results.values()))
    print(f"{'evaluation s (warm)':24}" + "".join(f"{r['latency']['eval_s']:28.0f}" for r in results.values()))
    print(f"{'corpus docs / chunks':24}" + "".join(f"{r['docs']:>21d} / {r['chunks']:<4d}" for r in results.values()))
    for name, r in results.items():
        print(f"\n{name}: {args.quote} answers verbatim (every {max(len(r['details']) // max(args.quote, 1), 1)}th question)")
        step = max(len(r["details"]) // max(args.quote, 1), 1)
        for d in r["details"][::step][: args.quote]:
            print(f"  {d['id']} Q: {d['question']}\n      A: {d['answer']}")
    if args.json:
        args.json.write_text(json.dumps({n: {k: v for k, v in r.items()} for n, r in results.items()}, indent=1, default=str))


if __name__ == "__main__":
    if sys.argv[1:2] == ["quality"]:
        quality(sys.argv[2:])
    else:
        main()
