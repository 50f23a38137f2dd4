"""The RAG evaluation flow: the golden set against the production prompt and docs-live."""

from __future__ import annotations

from prefect import flow

from tasks.rag import evaluate_golden_set, publish_eval


@flow(name="rag-eval")
def rag_eval(prompt_version: int | None = None, force: bool = False) -> dict:
    """Score answers and retrieval on the golden set.

    Steps:
    1. resolve the production prompt (or ``prompt_version``) and the live collection;
    2. reuse the MLflow result for exactly these versions, or answer every golden
       question and compute hit@k, MRR, nDCG, context precision/recall,
       faithfulness, answer relevance, citation coverage;
    3. publish the metrics as Prefect artifacts.
    """
    result = evaluate_golden_set(prompt_version, force)
    publish_eval(result)
    return result
