"""Building a collection for the live alias: incremental, blue/green, resumable.

The steps (each a task of ``flows.reindex``):

1. ``plan_build``: diff the corpus against the live collection's manifest (read
   from the points themselves). Nothing changed -> no build at all.
2. ``build_collection``: write a *new* collection ``docs-vN``. Unchanged
   documents are copied from the live collection with their vectors (never
   re-embedded); added and changed ones go through LlamaIndex's
   ``IngestionPipeline`` (sentence splitter -> chunk numbering -> MiniLM ->
   Qdrant); deleted ones are simply not carried over. Chunk ids are stable,
   so a resumed build upserts onto what it already wrote. Given a Dask client
   (``TANDEM_DASK_ADDRESS``), the embedding calls run on the cluster's workers
   instead (``_embed_on_cluster``); chunking and every write stay here.
3. The retrieval gate and the alias move live in ``infra.rag.evaluation`` and
   ``infra.pointers``. Until the alias moves, ``docs-live`` keeps answering
   from the previous complete collection, whatever happens to the build.
4. ``recover_live_manifest``: every run first checks that the live collection
   has its MLflow manifest (a run stopped right after the alias move has none)
   and writes it from the collection itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Generator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable
from uuid import uuid4

import numpy as np
from llama_index.core.schema import BaseNode, Document, MetadataMode, TransformComponent

from indexes.chunking import NumberChunks, build_splitter
from indexes.corpus import to_llama_document
from indexes.plan import IndexPlan, complete_documents, plan_index
from infra.clients.embedding import Embedder
from infra.clients.qdrant_index import VectorIndex
from infra.settings import TandemSettings
from infra.sources.corpus import LoadedCorpus
from infra.stores.ledger import PointerLedger
from infra.stores.requests import IndexBuilds

if TYPE_CHECKING:
    from distributed import Client

    from infra.clients.mlflow_rag import RagTracking

log = logging.getLogger(__name__)


def index_config(settings: TandemSettings, embedder: Embedder) -> dict[str, Any]:
    """What decides the vectors besides the text: a change here re-embeds everything.

    The embedder (``onnx-int8``, ``onnx-fp32``, ``torch-fp32``) is part of it:
    switching ``index.embedder`` rebuilds the whole collection at the next
    reindex, and each point records it (``embedder`` in its payload) so the
    gateway can refuse to query a collection with another embedder.
    """
    return {
        "embedding_model": embedder.name,
        "embedder": embedder.variant,
        "dimension": embedder.dimension,
        "chunk_size": settings.index.chunk_size,
        "chunk_overlap": settings.index.chunk_overlap,
        "splitter": "SentenceSplitter",
        "tokenizer": embedder.name,
    }


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class BuildPlan:
    """What ``build_collection`` will do, decided before any write."""

    collection: str | None  # None: the live collection is up to date
    base_collection: str | None  # the live collection when planned
    plan: dict[str, list[str]]
    config: dict[str, Any]
    config_hash: str
    resumed: bool = False

    @property
    def needed(self) -> bool:
        return self.collection is not None

    def summary(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.plan.items()}


@dataclass
class BuildResult:
    collection: str
    base_collection: str | None
    plan: dict[str, int]
    resumed: bool
    copied_documents: int
    copied_points: int
    embedded_documents: int
    embedded_chunks: int
    points: int
    seconds: float
    chunks_per_document: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_build(
    settings: TandemSettings,
    corpus: LoadedCorpus,
    index: VectorIndex,
    builds: IndexBuilds,
    embedder: Embedder,
    *,
    force: bool = False,
    flow_run_id: str | None = None,
) -> BuildPlan:
    """Diff the corpus against ``docs-live`` and pick (or resume) the target collection.

    Args:
        force: Build a new collection even when nothing changed (everything is
            then copied, nothing re-embedded).
    """
    config = index_config(settings, embedder)
    chash = config_hash(config)
    live = index.live_collection()
    live_manifest = complete_documents(index.payloads(live), chash) if live else {}
    plan: IndexPlan = plan_index(corpus.manifest(), live_manifest)
    fates = {k: list(getattr(plan, k)) for k in ("added", "changed", "deleted", "unchanged")}
    if plan.is_noop and not force:
        log.info("docs-live (%s) is up to date: %d documents unchanged, nothing to build", live, len(plan.unchanged))
        return BuildPlan(None, live, fates, config, chash)
    unfinished = builds.unfinished(chash)
    if not (unfinished and unfinished["base_collection"] == live and index.exists(unfinished["collection"])):
        # A build that passed its gate while a rollback pinned docs-live is
        # complete: gate it again rather than embed the same corpus anew.
        unfinished = next(
            (b for b in reversed(builds.list()) if b["status"] == "pinned" and b["config_hash"] == chash
             and b["base_collection"] == live and index.exists(b["collection"])),
            None,
        )
    if unfinished:
        target, resumed = unfinished["collection"], True
        log.info("resuming the %s build of %s", "unfinished" if unfinished["status"] == "building" else "pinned", target)
    else:
        target, resumed = index.next_collection(), False
    builds.start(target, config_hash=chash, base_collection=live, plan=plan.summary(), flow_run_id=flow_run_id)
    builds.abandon_other_builds(keep=target)
    log.info("plan against %s: %s -> building %s", live or "(no live collection)", plan.summary(), target)
    return BuildPlan(target, live, fates, config, chash, resumed)


def build_collection(
    settings: TandemSettings,
    corpus: LoadedCorpus,
    build: BuildPlan,
    index: VectorIndex,
    embedder: Embedder,
    *,
    on_batch: Callable[[int, int], None] | None = None,
    client: Client | None = None,
) -> BuildResult:
    """Fill the target collection until it holds exactly the corpus.

    Safe to run again after a crash: complete documents are skipped, partial
    ones are rewritten onto the same chunk ids.

    Args:
        on_batch: Called after each embedded batch with (documents done, documents to do);
            a test uses it to kill a build midway.
        client: A Dask client (``infra.compute.embedding_client``): the chunks are
            embedded on its workers, the vectors written here. None: embedded here.

    Raises:
        RuntimeError: the collection does not match the corpus at the end.
    """
    assert build.collection is not None, "plan_build decided there is nothing to build"
    started = time.perf_counter()
    target, live = build.collection, build.base_collection
    index.create(target)
    wanted = corpus.manifest()
    present = complete_documents(index.payloads(target), build.config_hash)
    in_target = set(index.manifest(target))
    # Partial documents, old versions and deleted documents (a corpus edit since the crash).
    stale = [d for d in in_target if present.get(d) != wanted.get(d)]
    index.delete_documents(target, stale)

    to_copy = [d for d in build.plan["unchanged"] if present.get(d) != wanted[d]]
    copied_points = index.copy_documents(live, target, to_copy) if (live and to_copy) else 0
    if to_copy:
        log.info("copied %d unchanged documents (%d chunks) from %s, no re-embedding", len(to_copy), copied_points, live)

    to_embed = [d for d in build.plan["added"] + build.plan["changed"] if present.get(d) != wanted[d]]
    docs = corpus.by_id()
    batch = settings.index.docs_per_batch
    batches = [to_embed[start : start + batch] for start in range(0, len(to_embed), batch)]

    def documents(ids: list[str]) -> list[Document]:
        return [to_llama_document(docs[d], build.config_hash) for d in ids]

    if client is None:
        pipeline = _pipeline(settings, index, target, embedder)
        written: Generator[list[BaseNode], None, None] = (pipeline.run(documents=documents(ids)) for ids in batches)
    else:
        written = _embed_on_cluster(client, settings, index, target, embedder, [documents(ids) for ids in batches])
    embedded_chunks = done = 0
    t0 = time.perf_counter()
    try:
        for nodes, ids in zip(written, batches):  # each batch written to Qdrant before it is counted
            embedded_chunks += len(nodes)
            done += len(ids)
            rate = embedded_chunks / max(time.perf_counter() - t0, 1e-9)
            log.info("embedded %d/%d documents (%d chunks, %.1f chunks/s)", done, len(to_embed), embedded_chunks, rate)
            if on_batch:
                on_batch(done, len(to_embed))
    finally:
        written.close()

    final = complete_documents(index.payloads(target), build.config_hash)
    if final != wanted:
        missing = sorted(d for d in wanted if final.get(d) != wanted[d])
        extra = sorted(set(final) - set(wanted))
        raise RuntimeError(f"{target} does not match the corpus after the build: missing {missing[:5]}, extra {extra[:5]}")
    counts: dict[str, int] = {}
    for p in index.payloads(target):
        counts[p["doc_id"]] = counts.get(p["doc_id"], 0) + 1
    return BuildResult(
        collection=target,
        base_collection=live,
        plan=build.summary(),
        resumed=build.resumed,
        copied_documents=len(to_copy),
        copied_points=copied_points,
        embedded_documents=len(to_embed),
        embedded_chunks=embedded_chunks,
        points=sum(counts.values()),
        seconds=round(time.perf_counter() - started, 3),
        chunks_per_document=dict(sorted(counts.items())),
    )


def _chunking(settings: TandemSettings, embedder: Embedder) -> list[TransformComponent]:
    """The transformations before the embedding: sentence splitter, chunk numbering, the embedder's name."""
    splitter = build_splitter(settings.index.chunk_size, settings.index.chunk_overlap, embedder.tokenize)
    return [splitter, NumberChunks(), RecordEmbedder(embedder=embedder.variant)]


def _pipeline(settings: TandemSettings, index: VectorIndex, collection: str, embedder: Embedder):
    from llama_index.core.ingestion import IngestionPipeline

    # No docstore: which documents to embed is decided by the plan above, from
    # the collections themselves, so there is no second store to keep in step.
    return IngestionPipeline(
        transformations=[*_chunking(settings, embedder), embedder.llama],
        vector_store=index.vector_store(collection),
        disable_cache=True,
    )


def _embed_on_cluster(
    client: Client,
    settings: TandemSettings,
    index: VectorIndex,
    collection: str,
    embedder: Embedder,
    batches: list[list[Document]],
) -> Generator[list[BaseNode], None, None]:
    """The in-process pipeline's batches, their embedding calls run on the Dask workers; yields each batch once written.

    Every batch is chunked here, as the pipeline does, and its chunk texts cut
    into the very calls the pipeline's embedding object would make (runs of
    ``embed_batch_size`` texts, in order): int8 quantizes activations per
    call, so the same companions give the same vectors as an in-process
    build. All calls are submitted at once (``client.map``), so the workers
    share them; the results are gathered in order and each batch is written
    to Qdrant here, by this process only (local mode has one writer), before
    the next, so a crash leaves whole batches, as the in-process build does.

    Raises:
        RuntimeError: a worker's embedder differs from this process's (other model files or versions).
    """
    from llama_index.core.ingestion import IngestionPipeline

    from infra.compute import embed_on_worker, embedder_identity

    chunker = IngestionPipeline(transformations=_chunking(settings, embedder), disable_cache=True)
    store = index.vector_store(collection)
    width = embedder.llama.embed_batch_size
    expected = embedder_identity(embedder)
    cache_dir = settings.index.onnx_cache_dir
    token = uuid4().hex[:8]
    chunked, submitted = [], []
    for b, documents in enumerate(batches):
        nodes = chunker.run(documents=documents)
        texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
        calls = [texts[i : i + width] for i in range(0, len(texts), width)]
        keys = [f"embed-chunks-{collection}-{token}-{b}-{c}" for c in range(len(calls))]
        chunked.append(nodes)
        submitted.append(client.map(
            embed_on_worker, calls, key=keys, retries=2,
            variant=embedder.variant, embed_batch_size=embedder.batch_size, cache_dir=str(cache_dir) if cache_dir else None,
        ))
    log.info("embedding %d chunks in %d calls on the Dask cluster", sum(map(len, chunked)), sum(map(len, submitted)))
    try:
        for nodes, futures in zip(chunked, submitted):
            results = client.gather(futures)
            for identity, _ in results:
                if identity != expected:
                    raise RuntimeError(f"a Dask worker embeds with {identity}, this process with {expected}: "
                                       "run the workers from the same environment (docs/operations.md, Dask)")
            vectors = np.concatenate([v for _, v in results]) if results else np.zeros((0, embedder.dimension), np.float32)
            for node, vector in zip(nodes, vectors, strict=True):
                node.embedding = vector.tolist()
            if nodes:
                store.add(nodes)
            yield nodes
    finally:  # a failed or abandoned build leaves nothing queued on the cluster
        client.cancel([f for futures in submitted for f in futures])


EMBEDDER_KEY = "embedder"
# Collections built before the embedder was recorded were all built by sentence-transformers.
LEGACY_EMBEDDER = "torch-fp32"


class RecordEmbedder(TransformComponent):
    """Writes the embedder's name into each chunk's metadata (a payload key in Qdrant), outside the embedded text."""

    embedder: str

    def __call__(self, nodes, **kwargs):
        for node in nodes:
            node.metadata[EMBEDDER_KEY] = self.embedder
            for keys in (node.excluded_embed_metadata_keys, node.excluded_llm_metadata_keys):
                if EMBEDDER_KEY not in keys:
                    keys.append(EMBEDDER_KEY)
        return nodes


def collection_embedder(index: VectorIndex, collection: str) -> str | None:
    """The embedder that built ``collection`` (from one of its points), or None when it holds no point."""
    records, _ = index.client.scroll(collection, limit=1, with_payload=[EMBEDDER_KEY], with_vectors=False)
    if not records:
        return None
    return (records[0].payload or {}).get(EMBEDDER_KEY) or LEGACY_EMBEDDER


def manifest(corpus: LoadedCorpus, result: BuildResult, build: BuildPlan, gate: dict[str, Any] | None) -> dict[str, Any]:
    """The index manifest logged to MLflow: documents and hashes, chunk counts, settings, gate."""
    return {
        "collection": result.collection,
        "base_collection": result.base_collection,
        "config": build.config,
        "config_hash": build.config_hash,
        "plan": build.plan,
        "documents": {
            d.doc_id: {"hash": d.content_hash, "chunks": result.chunks_per_document.get(d.doc_id, 0), "kind": d.kind}
            for d in corpus.documents
        },
        "skipped_files": corpus.skipped,
        "build": {k: v for k, v in result.to_dict().items() if k != "chunks_per_document"},
        "gate": gate,
    }


def recover_live_manifest(
    settings: TandemSettings,
    corpus: LoadedCorpus,
    index: VectorIndex,
    builds: IndexBuilds,
    tracking: RagTracking,
    embedder: Embedder,
    *,
    ledger: PointerLedger,
    pointer: str,
) -> str | None:
    """Log the live collection's manifest to MLflow if it has none.

    A run killed (or MLflow down) between the alias move and the manifest
    leaves ``docs-live`` on a collection without its manifest; the next plan
    finds the corpus unchanged and would never write it. The manifest is
    rebuilt from what the collection holds (its points), the build's row and
    the gate verdict recorded with the alias move, and tagged ``recovered``.

    Returns:
        The MLflow run id written, or None when nothing was missing.
    """
    live = index.live_collection()
    if live is None or tracking.find_index(live) is not None:
        return None
    payloads = index.payloads(live)
    counts: dict[str, int] = {}
    for p in payloads:
        counts[p["doc_id"]] = counts.get(p["doc_id"], 0) + 1
    held = complete_documents(payloads)
    config = index_config(settings, embedder)
    chash = config_hash(config)
    built_with = sorted({p.get("index_config") for p in payloads if p.get("index_config")})
    build = builds.get(live) or {}
    gate = build.get("gate")
    if gate is None:  # killed before the build's row was finished: the move's evidence has the verdict
        move = next((m for m in ledger.history(pointer, limit=200) if m.new_value == live and (m.evidence or {}).get("gate")), None)
        gate = move.evidence["gate"] if move else None
    if build.get("status") == "building":
        builds.finish(live, status="released", gate=gate)
    kinds = {d.doc_id: d.kind for d in corpus.documents if held.get(d.doc_id) == d.content_hash}
    manifest = {
        "collection": live,
        "base_collection": build.get("base_collection"),
        "config": config if built_with == [chash] else None,
        "config_hash": built_with[0] if len(built_with) == 1 else built_with,
        "plan": build.get("plan"),
        "documents": {d: {"hash": h, "chunks": counts.get(d, 0), "kind": kinds.get(d)} for d, h in sorted(held.items())},
        "skipped_files": corpus.skipped,
        "build": None,
        "gate": gate,
        "recovered": True,
    }
    metrics = {**{f"gate_{k}": v for k, v in ((gate or {}).get("metrics") or {}).items()}, "points": len(payloads)}
    run_id = tracking.log_index(live, manifest, metrics, bool(gate and gate.get("passed")), tags={"recovered": "true"})
    log.warning("%s was live without its MLflow manifest (a run stopped after the alias move): wrote it, run %s", live, run_id)
    return run_id


def collections_to_drop(index: VectorIndex, *, keep: int, protected: set[str]) -> list[str]:
    """Old collections beyond the newest ``keep`` (the live one and rollback target are protected)."""
    names = index.collections()
    return [n for n in names[: max(len(names) - keep, 0)] if n not in protected]
