"""Runs use the caller's inputs: corpus folder and golden set are flow parameters that win over the worker's settings.

Also what `tandem ask` says before an index or a production prompt exists,
and what `tandem eval` prints after its run (read from MLflow).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.prompt_release import prompt_release
from flows.rag_eval import rag_eval
from flows.reindex import reindex
from infra.cli_prompts import not_ready
from infra.factory import build_pointer_ledger, build_vector_index, prompt_pointer
from infra.rag.release import ensure_default_prompt
from infra.runs import RunRequest, RunView, _eval_outcome, _eval_snapshot
from infra.settings import get_settings
from tests.integration.conftest import reset_settings
from tests.integration.rag_helpers import DOCS, write_corpus, write_golden

pytestmark = pytest.mark.integration


@pytest.fixture
def worker_settings_elsewhere(tandem: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The worker's own settings name a corpus folder that does not exist and a golden set for another corpus."""
    other = tmp_path / "worker-golden.yaml"
    other.write_text(yaml.safe_dump({"questions": [{"id": "w1", "question": "What is it?", "relevant": ["elsewhere/doc.md"]}]}))
    monkeypatch.setenv("TANDEM_INDEX__CORPUS_DIR", str(tmp_path / "worker-corpus-that-does-not-exist"))
    monkeypatch.setenv("TANDEM_INDEX__GOLDEN_PATH", str(other))
    monkeypatch.setenv("TANDEM_INDEX__INCLUDE_MODEL_CARDS", "false")
    reset_settings()
    return tandem


def test_rag_flows_use_the_corpus_and_golden_set_they_are_given(worker_settings_elsewhere: Path, tmp_path: Path):
    settings = get_settings()
    corpus, golden = write_corpus(tmp_path / "mine"), write_golden(tmp_path / "my-golden.yaml")
    # before anything: `tandem ask` would name both steps
    assert "no index and no production prompt" in not_ready(settings)

    # when the reindex flow is given the caller's corpus and golden set
    indexed = reindex(corpus_dir=corpus, golden_path=golden)
    # then it indexed exactly that corpus and gated on that golden set (the settings' would have stopped it)
    assert indexed["released"] is True, indexed
    assert set(build_vector_index(settings).manifest(indexed["collection"])) == set(DOCS)
    assert not_ready(settings).startswith("prompt 'rag-answer' has no 'production' version yet")

    # the release gate answers the golden set it is given, and says so in the ledger's evidence
    version = ensure_default_prompt(settings).version
    released = prompt_release(version, golden_path=golden)
    assert released["moved"] is True, released["message"]
    assert build_pointer_ledger(settings).last_move(prompt_pointer(settings)).evidence["golden_set"] == str(golden)
    assert not_ready(settings) is None

    # `tandem eval`: a forced evaluation on the given golden set, then the outcome line read from MLflow
    request = RunRequest("eval", "rag-eval/rag-eval", {"prompt_version": None, "force": True, "golden_path": str(golden)})
    before = _eval_snapshot(settings, request)
    evaluated = rag_eval(force=True, golden_path=golden)
    assert evaluated["golden_set"] == str(golden) and evaluated["prompt_version"] == version
    outcome = _eval_outcome(settings, request, RunView("r1", before, {}))
    assert outcome.summary.startswith(f"prompt rag-answer v{version} on {indexed['collection']}: PASS (evaluated: MLflow run ")
    assert "answered 1.000" in outcome.details[0] and "hit_at_4" in outcome.details[0]
    assert outcome.details[1] == f"golden set {golden}: 5 questions; each question's figures are in the run's per_question.json"
    # an unchanged rerun reuses it, and the line says so
    again = RunRequest("eval", "rag-eval/rag-eval", {"prompt_version": version, "force": False, "golden_path": str(golden)})
    before = _eval_snapshot(settings, again)
    assert rag_eval(prompt_version=version, golden_path=golden)["reused_run"]
    assert "(reused, nothing changed since: MLflow run " in _eval_outcome(settings, again, RunView("r2", before, {})).summary
