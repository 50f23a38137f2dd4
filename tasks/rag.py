"""RAG tasks: corpus, build plan, collection build, retrieval gate, release, evaluation.

Thin wrappers around ``infra.rag``; embedding and evaluation are never cached
by Prefect (their inputs are large and their outputs live in Qdrant/MLflow).
"""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from infra.clients.qdrant_index import Retriever
from infra.compute import embedding_client
from infra.factory import (
    build_embedder,
    build_index_builds,
    build_pointer_ledger,
    build_rag_tracking,
    build_vector_index,
    index_pointer,
)
from infra.rag import indexing
from infra.rag.evaluation import GateResult, evaluate_retrieval
from infra.rag.release import release_index
from infra.settings import get_settings
from infra.sources.corpus import LoadedCorpus, read_corpus
from infra.sources.golden import load_golden
from infra.stores.ledger import NothingToRollBack
from infra.stores.model_cards import model_cards_url, ops_notes_url
from tasks.common import current_flow_run_id, link_mlflow_run


@task(cache_policy=NO_CACHE)
def load_corpus(corpus_dir: Path | None = None, golden_path: Path | None = None) -> LoadedCorpus:
    """Read the corpus folder (default: the settings') and the model cards; a bad document fails here, before any write."""
    settings = get_settings()
    root = corpus_dir or settings.resolved_corpus_dir
    cards = model_cards_url(settings) if settings.index.include_model_cards else None
    corpus = read_corpus(root, model_cards_url=cards, ops_notes_url=ops_notes_url(settings))
    # Fail fast: a golden set naming documents this corpus lacks stops the run before anything is embedded.
    load_golden(golden_path or settings.resolved_golden_path).check_against({d.doc_id for d in corpus.documents})
    logger = get_run_logger()
    logger.info("corpus %s: %d documents", root, len(corpus.documents))
    if corpus.skipped:
        logger.warning("skipped %d file(s) of unsupported types: %s", len(corpus.skipped), corpus.skipped[:10])
    return corpus


@task(cache_policy=NO_CACHE)
def recover_index_manifest(corpus: LoadedCorpus) -> str | None:
    """Write docs-live's MLflow manifest if a stopped run left it without one."""
    settings = get_settings()
    run_id = indexing.recover_live_manifest(
        settings, corpus, build_vector_index(settings), build_index_builds(settings), build_rag_tracking(settings),
        build_embedder(settings), ledger=build_pointer_ledger(settings), pointer=index_pointer(settings),
    )
    if run_id:
        get_run_logger().warning("docs-live had no MLflow manifest (a run stopped after the alias move): wrote it, run %s", run_id)
    return run_id


@task(cache_policy=NO_CACHE)
def plan_index_build(corpus: LoadedCorpus, force: bool = False) -> indexing.BuildPlan:
    settings = get_settings()
    plan = indexing.plan_build(
        settings, corpus, build_vector_index(settings), build_index_builds(settings), build_embedder(settings),
        force=force, flow_run_id=current_flow_run_id(),
    )
    get_run_logger().info(
        "plan: %s -> %s", plan.summary(), f"build {plan.collection}" + (" (resumed)" if plan.resumed else "") if plan.needed else "nothing to do"
    )
    return plan


@task(cache_policy=NO_CACHE)
def build_index(corpus: LoadedCorpus, plan: indexing.BuildPlan) -> indexing.BuildResult:
    """Copy unchanged documents, embed the rest (on the Dask cluster when one is set), into the plan's collection (resumable)."""
    settings = get_settings()
    logger = get_run_logger()
    with embedding_client(settings) as client:
        result = indexing.build_collection(
            settings, corpus, plan, build_vector_index(settings), build_embedder(settings),
            on_batch=lambda done, total: logger.info("embedded %d/%d documents", done, total), client=client,
        )
    logger.info(
        "%s: %d points (%d documents copied, %d embedded into %d chunks) in %.1f s",
        result.collection, result.points, result.copied_documents, result.embedded_documents, result.embedded_chunks, result.seconds,
    )
    return result


@task(cache_policy=NO_CACHE)
def gate_index(collection: str, golden_path: Path | None = None) -> GateResult:
    """Retrieval on the golden set (default: the settings') against the new collection (not the alias)."""
    settings = get_settings()
    golden = load_golden(golden_path or settings.resolved_golden_path)
    index = build_vector_index(settings)
    golden.check_against(set(index.manifest(collection)))
    cfg = settings.index
    retriever = Retriever(index, build_embedder(settings).llama, collection=collection, top_k=cfg.top_k, score_threshold=cfg.score_threshold,
                          retrieve_chunks=cfg.retrieve_chunks, chunks_per_doc=cfg.chunks_per_doc, mmr_lambda=cfg.mmr_lambda,
                          context_chunks=cfg.context_chunks)
    gate = evaluate_retrieval(retriever, golden, min_hit_rate=cfg.gate_min_hit_rate, min_mrr=cfg.gate_min_mrr, mrr_k=cfg.mrr_k)
    get_run_logger().info("retrieval gate on %s: %s", collection, gate.describe())
    return gate


@task(cache_policy=NO_CACHE)
def release_collection(corpus: LoadedCorpus, plan: indexing.BuildPlan, result: indexing.BuildResult, gate: GateResult) -> dict:
    """Move docs-live if the gate passed (and no rollback pinned it), log the manifest to MLflow, drop old collections, publish a summary."""
    settings = get_settings()
    outcome = release_index(settings, result.collection, gate)  # released | rejected | pinned
    released = outcome == "released"
    manifest = indexing.manifest(corpus, result, plan, gate.to_dict())
    metrics = {**{f"gate_{k}": v for k, v in gate.metrics.items()}, "points": result.points, "embedded_chunks": result.embedded_chunks,
               "copied_points": result.copied_points, "build_seconds": result.seconds}
    run_id = build_rag_tracking(settings).log_index(result.collection, manifest, metrics, gate.passed)
    index = build_vector_index(settings)
    protected = {c for c in (index.live_collection(), result.collection) if c}
    try:  # the rollback target stays (the last change's old value; an unpin row changes nothing)
        protected.add(build_pointer_ledger(settings).rollback_target(index_pointer(settings)).old_value)
    except NothingToRollBack:
        pass
    dropped = indexing.collections_to_drop(index, keep=settings.index.keep_collections, protected=protected)
    for name in dropped:
        index.drop(name)
    create_table_artifact(
        key="reindex-summary",
        table=[{"collection": result.collection, "released": released, "outcome": outcome, **result.plan, "copied_points": result.copied_points,
                "embedded_chunks": result.embedded_chunks, "points": result.points, "seconds": result.seconds,
                "gate": gate.describe(), "dropped": ", ".join(dropped) or "-"}],
        description="Index rebuild: what changed, what was embedded, the retrieval gate, and whether docs-live moved.",
    )
    if run_id:
        link_mlflow_run(run_id, key="mlflow-index-run", text=f"index build {result.collection} (manifest, gate metrics)")
    return {"collection": result.collection, "released": released, "outcome": outcome, "pinned": outcome == "pinned",
            "mlflow_run": run_id, "dropped": dropped}


@task(cache_policy=NO_CACHE)
def publish_eval(result: dict) -> None:
    rows = [{"metric": k, "value": round(v, 4) if isinstance(v, float) else v} for k, v in result["metrics"].items()]
    create_table_artifact(key="rag-eval", table=rows, description=f"Golden-set evaluation: {result['label']}")
    create_markdown_artifact(key="rag-eval-verdict", markdown=f"**{result['label']}**\n\n{result['verdict']}")


@task(cache_policy=NO_CACHE)
def evaluate_golden_set(prompt_version: int | None = None, force: bool = False, golden_path: Path | None = None) -> dict:
    """Evaluate a prompt version (default: production) over docs-live on the golden set (reused from MLflow if unchanged)."""
    from infra.factory import build_gateway, build_prompt_registry
    from infra.rag.evaluation import evaluate_prompt

    settings = get_settings()
    gateway = build_gateway(settings)
    prompt, collection = gateway.live_versions()
    if prompt_version is not None:
        prompt = build_prompt_registry(settings).get(prompt_version)
    golden = load_golden(golden_path or settings.resolved_golden_path)
    gate = evaluate_prompt(gateway, golden, build_rag_tracking(settings), prompt=prompt, collection=collection, force=force)
    label = f"{prompt.name} v{prompt.version} on {collection}" + (f" (reused run {gate.reused_run})" if gate.reused_run else "")
    get_run_logger().info("%s: %s", label, gate.describe())
    return {"label": label, "metrics": gate.metrics, "verdict": gate.describe(), "passed": gate.passed,
            "prompt_version": prompt.version, "collection": collection, "reused_run": gate.reused_run, "golden_set": golden.path}


@task(cache_policy=NO_CACHE)
def release_prompt_version(version: int, reason: str | None = None, golden_path: Path | None = None) -> dict:
    """The prompt release gate on the golden set (default: the settings'), then the alias move if it passed."""
    from infra.rag.release import release_prompt

    release = release_prompt(get_settings(), version, reason=reason, golden_path=golden_path)
    get_run_logger().info(release.message)
    return release.to_dict()
