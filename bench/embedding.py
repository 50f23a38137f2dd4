"""Embedding benchmark: sentence-transformers fp32 against ONNX fp32 and ONNX int8 (``python bench/embedding.py``).

Prints figures and ratios; asserts nothing.

* speed: the demo corpus's chunks (split exactly as a build splits them),
  embedded by raw sentence-transformers ``encode`` (fp32, torch), Tandem's
  ``onnx-fp32`` and ``onnx-int8`` embedders, side by side in one process:
  ``BENCH_EMBED_ROUNDS`` rounds (default 3), the three interleaved in each
  round, the table shows medians and the ratio to raw fp32 paired within each
  round (the machine drifts over tens of seconds; the ratio mostly cancels it);
* one question: median milliseconds to embed one short question (the
  gateway's per-request cost on a cache miss);
* quality: per embedder, an index of the demo corpus and of the unseen
  corpus (``bench/data/unseen``) built the way ``reindex`` builds it, then the
  retrieval gate's evaluation (``infra.rag.evaluation.evaluate_retrieval``)
  on each golden set: hit@k and MRR@10, and the change against fp32.

``--speed-only`` skips the quality part (six index builds: minutes).

The issue's bar: ONNX int8 at >= 2x raw fp32 chunks/s on 2 cores, and
retrieval within 1% of fp32 for int8 to be the default embedder.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import Timings, isolated_env  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_EMBED_ROUNDS", "3"))
CORPORA = {
    "demo": (ROOT / "infra" / "demo" / "corpus", ROOT / "infra" / "demo" / "golden.yaml"),
    "unseen": (ROOT / "bench" / "data" / "unseen" / "corpus", ROOT / "bench" / "data" / "unseen" / "golden.yaml"),
}
EMBEDDERS = ("torch-fp32", "onnx-fp32", "onnx-int8")


def demo_chunks(tokenize) -> list[str]:
    """The demo corpus's chunk texts, as the index build embeds them (default chunking settings)."""
    from indexes.chunking import NumberChunks, build_splitter
    from indexes.corpus import to_llama_document
    from infra.settings import IndexSettings
    from infra.sources.corpus import read_corpus

    cfg = IndexSettings()
    splitter = build_splitter(cfg.chunk_size, cfg.chunk_overlap, tokenize)
    nodes = NumberChunks()(splitter([to_llama_document(d, "bench") for d in read_corpus(CORPORA["demo"][0]).documents]))
    return [n.get_content(metadata_mode="embed") for n in nodes]


def speed(embedders: dict, texts: list[str]) -> None:
    torch_model = embedders["torch-fp32"].llama._model  # the SentenceTransformer itself: the raw baseline
    runs = {
        "raw sentence-transformers fp32": lambda: torch_model.encode(texts, batch_size=32, show_progress_bar=False),
        "Tandem onnx-fp32": lambda: embedders["onnx-fp32"].embed(texts),
        "Tandem onnx-int8": lambda: embedders["onnx-int8"].embed(texts),
    }
    torch_model.encode(texts[:8], batch_size=32, show_progress_bar=False)  # warm-up
    embedders["onnx-fp32"].embed(texts[:8])
    embedders["onnx-int8"].embed(texts[:8])
    timings = Timings()
    for _ in range(ROUNDS):
        for name, fn in runs.items():
            timings.run(name, fn)
    base = "raw sentence-transformers fp32"
    print(f"\nspeed: {len(texts)} demo-corpus chunks, {ROUNDS} rounds interleaved, medians")
    print(f"  {'embedder':32} {'seconds':>8} {'spread':>11} {'chunks/s':>9} {'vs raw fp32':>12}")
    for name in runs:
        m = timings.median(name)
        print(f"  {name:32} {m:8.2f} {timings.spread(name):>11} {len(texts) / m:9.1f} {timings.paired_ratio(base, name):11.2f}x")

    question = "What is the maximum debt-to-income ratio for a standard loan?"
    print("\none question, not cached (median of 30, ms):", end="")
    for label, fn in (("raw fp32", lambda: torch_model.encode([question], show_progress_bar=False)),
                      ("onnx-fp32", lambda: embedders["onnx-fp32"].embed([question])),
                      ("onnx-int8", lambda: embedders["onnx-int8"].embed([question]))):
        ms = []
        for _ in range(30):
            t = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t) * 1000)
        print(f"  {label} {statistics.median(ms):.1f}", end="")
    print()


def retrieval(embedder, corpus: Path, golden_path: Path, work: Path) -> dict:
    """Build an index of ``corpus`` with ``embedder`` in ``work``; the retrieval gate's metrics on ``golden_path``."""
    isolated_env(work, TANDEM_INDEX__CORPUS_DIR=str(corpus), TANDEM_INDEX__GOLDEN_PATH=str(golden_path),
                 TANDEM_INDEX__INCLUDE_MODEL_CARDS="false", TANDEM_INDEX__EMBEDDER=embedder.variant)
    from infra.clients.qdrant_index import Retriever
    from infra.factory import build_index_builds, build_vector_index, close_vector_clients, ops_engine
    from infra.rag import indexing
    from infra.rag.evaluation import evaluate_retrieval
    from infra.settings import get_settings
    from infra.sources.corpus import read_corpus
    from infra.sources.golden import load_golden

    get_settings.cache_clear()
    ops_engine.cache_clear()
    settings = get_settings()
    cfg = settings.index
    loaded = read_corpus(corpus)
    index, builds = build_vector_index(settings), build_index_builds(settings)
    t = time.perf_counter()
    plan = indexing.plan_build(settings, loaded, index, builds, embedder)
    built = indexing.build_collection(settings, loaded, plan, index, embedder)
    build_s = time.perf_counter() - t
    retriever = Retriever(index, embedder.queries, collection=plan.collection, top_k=cfg.top_k, score_threshold=cfg.score_threshold,
                          retrieve_chunks=cfg.retrieve_chunks, chunks_per_doc=cfg.chunks_per_doc, mmr_lambda=cfg.mmr_lambda,
                          context_chunks=cfg.context_chunks)
    gate = evaluate_retrieval(retriever, load_golden(golden_path), min_hit_rate=0, min_mrr=0, mrr_k=cfg.mrr_k)
    close_vector_clients()
    return {"metrics": gate.metrics, "chunks": built.embedded_chunks, "build_s": build_s, "k": cfg.top_k, "mrr_k": cfg.mrr_k}


def quality(embedders: dict, work: Path) -> None:
    print("\nretrieval (infra.rag.evaluation.evaluate_retrieval, default settings), change against torch-fp32:")
    for corpus_name, (corpus, golden) in CORPORA.items():
        results = {name: retrieval(embedders[name], corpus, golden, work / f"{corpus_name}-{name}") for name in EMBEDDERS}
        k, mrr_k = results["torch-fp32"]["k"], results["torch-fp32"]["mrr_k"]
        hit, mrr = f"hit_at_{k}", f"mrr_at_{mrr_k}"
        base = results["torch-fp32"]["metrics"]
        print(f"  {corpus_name} corpus ({results['torch-fp32']['chunks']} chunks)")
        print(f"    {'embedder':12} {hit:>9} {'change':>8} {mrr:>10} {'change':>8} {'ndcg@' + str(k):>8} {'build s':>8}")
        for name, r in results.items():
            m = r["metrics"]
            print(f"    {name:12} {m[hit]:9.3f} {_change(m[hit], base[hit]):>8} {m[mrr]:10.3f} {_change(m[mrr], base[mrr]):>8} "
                  f"{m.get(f'ndcg_at_{k}', float('nan')):8.3f} {r['build_s']:8.1f}")


def _change(value: float, base: float) -> str:
    return f"{100 * (value - base) / base:+.1f}%" if base else "-"


def main() -> None:
    from infra.clients.embedding import build

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Tandem embedding benchmark: {os.cpu_count()} CPU(s), load average {load:.1f} at start (other work on the machine disturbs the figures)")
    embedders = {}
    for name in EMBEDDERS:
        t = time.perf_counter()
        embedders[name] = build(name)
        print(f"  {name} loaded in {time.perf_counter() - t:.1f} s" + (f" ({embedders[name].model_file.name})" if name != "torch-fp32" else ""))
    speed(embedders, demo_chunks(embedders["onnx-int8"].tokenize))
    if "--speed-only" in sys.argv[1:]:
        return
    with tempfile.TemporaryDirectory(prefix="tandem-embedding-bench-") as tmp:
        quality(embedders, Path(tmp))


if __name__ == "__main__":
    main()
