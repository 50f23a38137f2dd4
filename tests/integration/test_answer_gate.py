"""The prompt release gate sees answer quality: fragments and badly picked sentences are held, the default passes.

The corpus is hard-wrapped Markdown nobody here wrote (seven Node.js
contributor guides from ``bench/data/unseen``), where quoting lines instead of
sentences produces fragments.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from flows.reindex import reindex
from indexes.generation import ExtractiveGenerator
from indexes.prompts import DEFAULT_PARAMS, DEFAULT_TEMPLATE, PromptSpec
from infra.factory import build_gateway, build_rag_tracking, build_vector_index
from infra.rag.evaluation import evaluate_prompt
from infra.settings import get_settings
from infra.sources.golden import load_golden
from tests.integration.rag_helpers import module_env

pytestmark = pytest.mark.integration

UNSEEN = Path(__file__).resolve().parents[2] / "bench" / "data" / "unseen"
DOCS = ["static-analysis.md", "distribution.md", "using-symbols.md", "gn-build.md", "feature-request-management.md",
        "technical-values.md", "offboarding.md"]


@pytest.fixture(scope="module")
def wrapped(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("answer-gate")
    corpus = tmp / "wrapped-corpus"
    corpus.mkdir()
    for name in DOCS:
        shutil.copy(UNSEEN / "corpus" / name, corpus / name)
    questions = [q for q in yaml.safe_load((UNSEEN / "golden.yaml").read_text())["questions"] if set(q["relevant"]) <= set(DOCS)]
    golden = tmp / "unseen-golden.yaml"  # module_env writes its own golden.yaml
    golden.write_text(yaml.safe_dump({"questions": questions}))
    with module_env(tmp, TANDEM_INDEX__CORPUS_DIR=str(corpus), TANDEM_INDEX__GOLDEN_PATH=str(golden)):
        reindex()
        yield build_vector_index(get_settings()).live_collection()


def _gate(collection: str, *, units: str = "sentences", params: dict | None = None):
    gateway = build_gateway(get_settings())
    if units != "sentences":  # the same generator, configured to quote lines (the old behaviour)
        gateway.offline = ExtractiveGenerator(embed=gateway.embedder.embed_cached, count_tokens=gateway.embedder.count_tokens, units=units)
    spec = PromptSpec("rag-answer", 1, DEFAULT_TEMPLATE, {**DEFAULT_PARAMS, **(params or {})})
    golden = load_golden(get_settings().resolved_golden_path)
    return evaluate_prompt(gateway, golden, build_rag_tracking(get_settings()), prompt=spec, collection=collection, force=True)


def test_the_default_generator_passes_with_whole_sentences(wrapped):
    gate = _gate(wrapped)
    assert gate.passed, gate.describe()
    assert gate.metrics["sentence_completeness"] >= 0.95 and gate.metrics["faithfulness"] >= 0.95
    # every golden question's figures travel with the verdict (and to MLflow)
    assert len(gate.to_dict()["questions"]) == gate.metrics["n_questions"] and not gate.skipped


def test_a_generator_that_quotes_lines_of_wrapped_text_is_held(wrapped):
    gate = _gate(wrapped, units="lines")
    failed = {c.name for c in gate.checks if not c.passed}
    assert not gate.passed, gate.describe()
    assert {"sentence_completeness", "faithfulness"} <= failed


def test_a_prompt_whose_knobs_pad_answers_with_filler_is_held(wrapped):
    # No floor and no gap: every answer is padded with the ten nearest sentences, related or not.
    default, padded = _gate(wrapped), _gate(wrapped, params={"max_sentences": 10, "min_similarity": 0.0, "max_gap": 1.0})
    # the padding is whole, faithful, cited sentences: the old checks alone would let it through
    assert padded.metrics["sentence_completeness"] >= 0.95 and padded.metrics["faithfulness"] >= 0.95
    # answer focus (share of answer sentences that address the question) holds it, without needing references
    failed = {c.name for c in padded.checks if not c.passed}
    assert not padded.passed and "answer_focus" in failed, padded.describe()
    assert default.metrics["answer_focus"] >= 0.95
    # and the reference metrics see the drop
    assert padded.metrics["answer_precision"] < default.metrics["answer_precision"] / 2
    assert padded.metrics["token_f1"] < default.metrics["token_f1"] - 0.05


def test_every_golden_questions_figures_are_in_the_mlflow_run(wrapped):
    import json

    from infra.clients.mlflow_rag import EVAL_EXPERIMENT

    gate = _gate(wrapped)
    client = build_rag_tracking(get_settings()).client
    (run,) = client.search_runs([client.get_experiment_by_name(EVAL_EXPERIMENT).experiment_id],
                                order_by=["attributes.start_time DESC"], max_results=1)
    path = client.download_artifacts(run.info.run_id, "per_question.json")
    questions = json.loads(Path(path).read_text())["questions"]
    golden = load_golden(get_settings().resolved_golden_path)
    assert [q["id"] for q in questions] == [q.id for q in golden.questions]
    for q in questions:  # each with its answer and its figures, not only the averages
        assert q["answer"] and {"hit", "rr", "faithfulness", "completeness", "focus", "f1", "answer_precision"} <= set(q)
    assert run.data.metrics["answer_focus"] == pytest.approx(gate.metrics["answer_focus"])
