"""The reindex flow: corpus -> new Qdrant collection -> retrieval gate -> docs-live."""

from __future__ import annotations

from prefect import flow

from tasks.rag import build_index, gate_index, load_corpus, plan_index_build, recover_index_manifest, release_collection


@flow(name="reindex")
def reindex(force: bool = False) -> dict:
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
    """
    corpus = load_corpus()
    recovered = recover_index_manifest(corpus)
    plan = plan_index_build(corpus, force)
    if not plan.needed:
        return {"collection": plan.base_collection, "released": False, "up_to_date": True, "plan": plan.summary(),
                "manifest_recovered": recovered}
    result = build_index(corpus, plan)
    gate = gate_index(result.collection)
    return {**release_collection(corpus, plan, result, gate), "up_to_date": False, "plan": plan.summary(),
            "manifest_recovered": recovered}
