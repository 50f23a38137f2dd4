"""The reindex flow: corpus -> new Qdrant collection -> retrieval gate -> docs-live."""

from __future__ import annotations

from prefect import flow

from tasks.rag import build_index, gate_index, load_corpus, plan_index_build, release_collection


@flow(name="reindex")
def reindex(force: bool = False) -> dict:
    """Rebuild the vector index incrementally, blue/green.

    Steps:
    1. read the corpus folder and the model cards (a bad document stops here);
    2. diff it against what docs-live holds; nothing changed -> done;
    3. build a new collection: copy unchanged documents' vectors, embed added and
       changed ones (resumes an unfinished build of the same plan);
    4. retrieval gate on the golden set against the new collection;
    5. pass -> move docs-live through the pointer ledger; log the manifest to
       MLflow; drop collections beyond the rollback window.
    """
    corpus = load_corpus()
    plan = plan_index_build(corpus, force)
    if not plan.needed:
        return {"collection": plan.base_collection, "released": False, "up_to_date": True, "plan": plan.summary()}
    result = build_index(corpus, plan)
    gate = gate_index(result.collection)
    return {**release_collection(corpus, plan, result, gate), "up_to_date": False, "plan": plan.summary()}
