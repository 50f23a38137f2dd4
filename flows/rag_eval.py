"""The RAG evaluation flow: the golden set against the production prompt and docs-live."""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from prefect.states import Completed

from infra.flow_runs import RAG, rag_eval_run_name, run_hooks
from tasks.rag import evaluate_golden_set, publish_eval


@flow(name="rag-eval", flow_run_name=rag_eval_run_name, **run_hooks(RAG))
def rag_eval(prompt_version: int | None = None, force: bool = False, golden_path: Path | None = None) -> dict:
    """Score answers and retrieval on the golden set.

    Steps:
    1. resolve the production prompt (or ``prompt_version``) and the live collection;
    2. reuse the MLflow result for exactly these versions, or answer every golden
       question and compute hit@k, MRR, nDCG, context precision/recall,
       faithfulness, answer relevance, citation coverage;
    3. publish the metrics as Prefect artifacts.

    Args:
        prompt_version: the prompt version to evaluate (default: the one ``production`` points at).
        force: evaluate again even if MLflow holds a result for exactly these versions.
        golden_path: the golden set to answer (default: the worker's TANDEM_INDEX__GOLDEN_PATH, else the demo golden set).
    """
    result = evaluate_golden_set(prompt_version, force, golden_path)
    publish_eval(result)
    return Completed(message=f"{'PASS' if result['passed'] else 'FAIL'}: {result['label']}", data=result)
