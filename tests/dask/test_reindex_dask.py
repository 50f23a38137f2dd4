"""The reindex's embedding on the test's Dask cluster (``TANDEM_DASK_ADDRESS``): same points, same vectors, same retrieval.

Given the tiny RAG corpus (six documents, two per batch: three embedding calls)
and ``TANDEM_DASK_ADDRESS`` set to the cluster's scheduler, when the reindex
flow runs, then its embedding calls ran on both worker processes (the
scheduler's task stream names the worker of each ``embed-chunks`` task), the
collection holds the same point ids and (allclose) the same vectors as an
in-process build of the same corpus, and the golden set retrieves the same
documents from both; editing one document re-embeds only that document. A
build stopped after its first batch finishes on the rerun without
duplicates. The flow's Qdrant (local mode) lives under the test's own data
dir: only this process writes it, the workers only embed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from distributed import get_task_stream

from flows.reindex import reindex
from infra.clients import embedding
from infra.clients.qdrant_index import Retriever
from infra.compute import embed_on_worker, embedder_identity
from infra.factory import build_embedder, build_index_builds, build_rag_tracking, build_vector_index
from infra.rag import indexing
from infra.rag.evaluation import evaluate_retrieval
from infra.settings import get_settings
from infra.sources.corpus import read_corpus
from infra.sources.golden import load_golden
from tests.dask.conftest import DaskCluster, reset_settings
from tests.integration.rag_helpers import DOCS, rag_env

pytestmark = [pytest.mark.dask, pytest.mark.integration]

EDITED = "policy/loan-terms.md"


@pytest.fixture
def rag_on_dask(dask_cluster: DaskCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Tandem under ``tmp_path`` with the tiny corpus (two documents a batch), its embedding sent to the cluster."""
    env = {"TANDEM_DATA_DIR": str(tmp_path / "tandem"), "TANDEM_ACTOR": "pytest", **rag_env(tmp_path),
           "TANDEM_DASK_ADDRESS": dask_cluster.address}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    yield {"corpus": Path(env["TANDEM_INDEX__CORPUS_DIR"]), "tmp": tmp_path, "cluster": dask_cluster}
    reset_settings()


def _embedding_tasks(stream) -> list[dict]:
    return [t for t in stream.data if str(t["key"]).startswith("embed-chunks")]


def _points(collection: str) -> dict[str, tuple[str, np.ndarray]]:
    """point id -> (doc id, vector) of a collection."""
    index = build_vector_index(get_settings())
    return {str(r.id): (r.payload["doc_id"], np.asarray(r.vector, dtype=np.float32))
            for r in index._scroll(collection, with_vectors=True, payload=["doc_id"])}


def _build_here(collection: str) -> indexing.BuildResult:
    """The whole corpus embedded in this process (no client) into ``collection``: the in-process reference."""
    settings = get_settings()
    index, embedder = build_vector_index(settings), build_embedder(settings)
    corpus = read_corpus(settings.resolved_corpus_dir)
    config = indexing.index_config(settings, embedder)
    fates = {"added": sorted(d.doc_id for d in corpus.documents), "changed": [], "deleted": [], "unchanged": []}
    plan = indexing.BuildPlan(collection, None, fates, config, indexing.config_hash(config))
    return indexing.build_collection(settings, corpus, plan, index, embedder)


def _golden_retrieval(collection: str) -> tuple[dict, list]:
    settings = get_settings()
    cfg = settings.index
    retriever = Retriever(build_vector_index(settings), build_embedder(settings).llama, collection=collection, top_k=cfg.top_k,
                          score_threshold=cfg.score_threshold, retrieve_chunks=cfg.retrieve_chunks, chunks_per_doc=cfg.chunks_per_doc,
                          mmr_lambda=cfg.mmr_lambda, context_chunks=cfg.context_chunks)
    gate = evaluate_retrieval(retriever, load_golden(settings.resolved_golden_path), min_hit_rate=0.0, min_mrr=0.0, mrr_k=cfg.mrr_k)
    return gate.metrics, [(d["id"], d["retrieved"], d["context"]) for d in gate.details]


def _build_manifest(collection: str, tmp: Path) -> dict:
    tracking = build_rag_tracking(get_settings())
    run_id = tracking.find_index(collection)
    return json.loads(Path(tracking.client.download_artifacts(run_id, "manifest.json", str(tmp))).read_text())


def test_reindex_embeds_on_both_workers_like_an_in_process_build(prefect_server, rag_on_dask, dask_client):
    # When the reindex flow builds the corpus with the cluster set
    with get_task_stream(dask_client) as stream:
        first = reindex()
    # Then it went live, and its embedding calls (three batches of two documents) ran on both workers
    assert first["released"] is True and first["collection"] == "docs-v1", first
    tasks = _embedding_tasks(stream)
    assert len(tasks) == 3, sorted({str(t["key"])[:40] for t in stream.data})
    assert {t["worker"] for t in tasks} == set(rag_on_dask["cluster"].workers)
    on_dask = _points("docs-v1")
    assert {doc for doc, _ in on_dask.values()} == set(DOCS)

    # and an in-process build of the same corpus has the same point ids and the same vectors
    here = _build_here("docs-v2")
    assert here.embedded_documents == len(DOCS)
    in_process = _points("docs-v2")
    assert set(in_process) == set(on_dask)
    for pid, (doc, vector) in on_dask.items():
        assert in_process[pid][0] == doc
        np.testing.assert_allclose(vector, in_process[pid][1], atol=1e-6, err_msg=f"{doc} ({pid})")
    # and the golden set retrieves the same documents, in the same order, from both
    assert _golden_retrieval("docs-v1") == _golden_retrieval("docs-v2")
    build_vector_index(get_settings()).drop("docs-v2")

    # When one document is edited and the reindex runs again on the cluster
    (rag_on_dask["corpus"] / EDITED).write_text(
        "# Loan amounts and terms\n\nLoan amounts range from 1,000 to 400,000. Terms run from 6 to 60 months."
    )
    with get_task_stream(dask_client) as stream:
        second = reindex()
    # Then only that document was embedded (one call on the cluster); the others' points were copied as they were
    assert second["released"] is True and second["plan"] == {"added": 0, "changed": 1, "deleted": 0, "unchanged": len(DOCS) - 1}
    assert len(_embedding_tasks(stream)) == 1
    build = _build_manifest(second["collection"], rag_on_dask["tmp"])["build"]
    assert build["embedded_documents"] == 1 and build["copied_documents"] == len(DOCS) - 1
    after = _points(second["collection"])
    assert build["embedded_chunks"] == sum(doc == EDITED for doc, _ in after.values())
    kept = {pid: v for pid, v in on_dask.items() if v[0] != EDITED}
    assert {pid for pid, v in after.items() if v[0] != EDITED} == set(kept)
    for pid, (_, vector) in kept.items():
        np.testing.assert_array_equal(after[pid][1], vector)
    assert not {pid for pid, v in after.items() if v[0] == EDITED} & set(on_dask)


class Stopped(Exception):
    """Stands for a kill after the first batch written (the in-process kill test uses a real os._exit)."""


def test_a_build_stopped_midway_on_the_cluster_finishes_on_the_rerun_without_duplicates(rag_on_dask, dask_client):
    settings = get_settings()
    index, builds, embedder = build_vector_index(settings), build_index_builds(settings), build_embedder(settings)
    corpus = read_corpus(settings.resolved_corpus_dir)
    plan = indexing.plan_build(settings, corpus, index, builds, embedder)

    def stop(done: int, total: int) -> None:
        raise Stopped(f"{done}/{total}")

    # Given a build on the cluster stopped after its first batch (two of six documents)
    with pytest.raises(Stopped, match="2/6"):
        indexing.build_collection(settings, corpus, plan, index, embedder, on_batch=stop, client=dask_client)
    assert len(index.manifest(plan.collection)) == 2
    # When the build is planned and run again on the cluster
    again = indexing.plan_build(settings, corpus, index, builds, embedder)
    result = indexing.build_collection(settings, corpus, again, index, embedder, client=dask_client)
    # Then it resumed the same collection, embedded only the four documents left, and holds each chunk once
    assert again.resumed and again.collection == plan.collection
    assert result.embedded_documents == len(DOCS) - 2 and set(index.manifest(plan.collection)) == set(DOCS)
    payloads = index.payloads(plan.collection)
    chunks = [(p["doc_id"], p["chunk_index"]) for p in payloads]
    assert len(chunks) == len(set(chunks)) == result.points


@pytest.mark.parametrize("variant", ["onnx-int8", "onnx-fp32"])
def test_each_worker_embeds_with_the_model_files_this_process_uses(dask_cluster, dask_client, variant):
    # Given the embedder the settings name, loaded here
    here = embedding.get_embedder(32, variant)
    texts = list(DOCS.values())
    # When each worker embeds the same texts in one call
    futures = [dask_client.submit(embed_on_worker, texts, variant=variant, embed_batch_size=32, cache_dir=None,
                                  workers=[w], allow_other_workers=False, pure=False) for w in dask_cluster.workers]
    # Then each loaded the same model file and gave this process's vectors
    for identity, vectors in dask_client.gather(futures):
        assert identity == embedder_identity(here) and identity.endswith(f"{variant}.onnx")
        np.testing.assert_allclose(vectors, here.embed(texts), atol=1e-6)
