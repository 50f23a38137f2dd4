"""The reindex flow: corpus -> new Qdrant collection -> retrieval gate -> docs-live."""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from prefect.states import Completed

from infra.flow_runs import RAG, name_by, reindex_message, run_hooks
from tasks.rag import build_index, gate_index, load_corpus, plan_index_build, recover_index_manifest, release_collection


@flow(name="reindex", flow_run_name=name_by("reindex"), **run_hooks(RAG))
def reindex(force: bool = False, corpus_dir: Path | None = None, golden_path: Path | None = None) -> dict:
    """Rebuild the vector index incrementally, blue/green.

    Steps:
    1. read the corpus folder and the model cards (a bad document stops here);
    2. docs-live without its MLflow manifest (a run stopped after the alias
       move) -> write it from the collection;
    3. diff the corpus against what docs-live holds; nothing changed -> done;
    4. build a new collection: copy unchanged documents' vectors, embed added and
       changed ones (resumes an unfinished or pinned build of the same plan);
    5. retrieval gate on the golden set against the new collection;
    6. pass -> move docs-live through the pointer ledger (unless a rollback
       pinned it: the verdict is recorded, docs-live stays); log the manifest
       to MLflow; drop collections beyond the rollback window.

    The final state's message is the outcome: ``docs-live -> docs-v5``, ``up to date: ...``, ``HOLD: ...``.

    Args:
        force: rebuild every document, even if the corpus did not change.
        corpus_dir: the corpus folder to index (default: the worker's TANDEM_INDEX__CORPUS_DIR, else the demo corpus).
        golden_path: the golden set of the fail-fast check and the retrieval gate (default: the worker's TANDEM_INDEX__GOLDEN_PATH, else the demo golden set).
    """
    corpus = load_corpus(corpus_dir, golden_path)
    recovered = recover_index_manifest(corpus)
    plan = plan_index_build(corpus, force)
    if not plan.needed:
        result = {"collection": plan.base_collection, "released": False, "up_to_date": True, "plan": plan.summary(),
                  "manifest_recovered": recovered}
        return Completed(message=reindex_message(result), data=result)
    result = build_index(corpus, plan)
    gate = gate_index(result.collection, golden_path)
    released = {**release_collection(corpus, plan, result, gate), "up_to_date": False, "plan": plan.summary(),
                "manifest_recovered": recovered}
    return Completed(message=reindex_message(released), data=released)
