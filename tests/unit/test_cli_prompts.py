"""`tandem prompts init`, `tandem eval`, `tandem reindex --corpus/--golden` and `tandem ask` before anything exists.

No Prefect server is needed: inputs are checked, and ``--dry-run`` prints the
parameters a run would get, before anything starts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from indexes.prompts import DEFAULT_TEMPLATE, validate_prompt
from tests.unit.conftest import run_cli

pytestmark = pytest.mark.usefixtures("data_dir")
NOWHERE = "http://127.0.0.1:9/api"  # no server: nothing may start


def run_fresh(*args: str, **env: str):
    """``run_cli`` with settings read again: each call is a new caller with its own environment."""
    from infra.settings import get_settings

    get_settings.cache_clear()
    return run_cli(*args, **env)


def _golden(path: Path, relevant: str = "guide.md") -> Path:
    path.write_text(yaml.safe_dump({"questions": [{"id": "q1", "question": "How do I install it?", "relevant": [relevant]}]}))
    return path


def test_ask_before_any_index_or_prompt_says_what_to_run_without_loading_a_model(monkeypatch):
    # given a fresh data dir; building the gateway (which loads the embedding model) would fail the test
    import infra.factory

    def no_gateway(*args, **kwargs):
        raise AssertionError("the gateway (and its model) was built")

    monkeypatch.setattr(infra.factory, "build_gateway", no_gateway)
    result = run_cli("ask", "How do I install it?")
    # then one line names both steps, in order, and the exit code is 2
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    line = result.output
    assert "tandem reindex --corpus DIR --golden FILE" in line and "tandem prompts init --promote" in line
    assert line.index("tandem reindex") < line.index("tandem prompts init")


def test_prompts_init_without_register_writes_the_generic_template(tmp_path: Path):
    target = tmp_path / "prompts" / "answer.txt"
    result = run_cli("prompts", "init", "--file", str(target), "--no-register")
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    assert text == DEFAULT_TEMPLATE
    validate_prompt(text, {})  # the registry accepts it as is
    # generic: nothing of the credit demo in it
    assert not any(word in text.lower() for word in ("credit", "loan", "policy/", "tandem"))
    assert "tandem prompts register" in result.output


def test_prompts_init_keeps_a_different_existing_file(tmp_path: Path):
    mine = tmp_path / "answer.txt"
    mine.write_text("my own {{question}} {{context}}", encoding="utf-8")
    result = run_cli("prompts", "init", "--file", str(mine), "--no-register")
    assert result.exit_code == 2 and "--force" in result.output and len(result.output.strip().splitlines()) == 1
    assert mine.read_text(encoding="utf-8") == "my own {{question}} {{context}}"
    assert run_fresh("prompts", "init", "--file", str(mine), "--no-register", "--force").exit_code == 0
    assert mine.read_text(encoding="utf-8") == DEFAULT_TEMPLATE


def test_reindex_passes_the_callers_corpus_and_golden_set_as_parameters(tmp_path: Path):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    golden = _golden(tmp_path / "golden.yaml")
    result = run_cli("reindex", "--corpus", str(corpus), "--golden", str(golden), "--dry-run", PREFECT_API_URL=NOWHERE)
    assert result.exit_code == 0, result.output
    assert f"'corpus_dir': '{corpus.resolve()}'" in result.output and f"'golden_path': '{golden.resolve()}'" in result.output
    assert "nothing was started" in result.output


def test_the_callers_own_settings_travel_as_parameters_and_a_flag_wins(tmp_path: Path):
    corpus, other = tmp_path / "docs", tmp_path / "other"
    corpus.mkdir()
    other.mkdir()
    golden = _golden(tmp_path / "golden.yaml")
    env = {"TANDEM_INDEX__CORPUS_DIR": str(corpus), "TANDEM_INDEX__GOLDEN_PATH": str(golden), "PREFECT_API_URL": NOWHERE}
    from_env = run_fresh("reindex", "--dry-run", **env)
    assert f"'corpus_dir': '{corpus.resolve()}'" in from_env.output and f"'golden_path': '{golden.resolve()}'" in from_env.output
    flag = run_fresh("reindex", "--dry-run", "--corpus", str(other), **env)
    assert f"'corpus_dir': '{other.resolve()}'" in flag.output and f"'golden_path': '{golden.resolve()}'" in flag.output
    # nothing set by the caller: nothing passed, the worker's settings decide
    bare = run_fresh("reindex", "--dry-run", PREFECT_API_URL=NOWHERE)
    assert bare.exit_code == 0 and "corpus_dir" not in bare.output and "golden_path" not in bare.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["reindex", "--corpus", "/no/such/folder"], "--corpus /no/such/folder: no such folder"),
        (["reindex", "--golden", "/no/such/golden.yaml"], "--golden /no/such/golden.yaml: no such file"),
        (["eval", "--golden", "/no/such/golden.yaml"], "--golden /no/such/golden.yaml: no such file"),
    ],
)
def test_missing_inputs_are_refused_with_one_line_and_exit_2(args, expected, data_dir: Path):
    result = run_cli(*args, PREFECT_API_URL=NOWHERE)
    assert result.exit_code == 2, result.output
    assert expected in result.output and len(result.output.strip().splitlines()) == 1


def test_a_setting_that_names_a_missing_folder_is_named_as_the_variable():
    result = run_fresh("reindex", PREFECT_API_URL=NOWHERE, TANDEM_INDEX__CORPUS_DIR="/no/such/corpus")
    assert result.exit_code == 2 and "TANDEM_INDEX__CORPUS_DIR=/no/such/corpus: no such folder" in result.output


def test_a_malformed_golden_set_is_refused_before_a_run_starts(tmp_path: Path):
    bad = tmp_path / "golden.yaml"
    bad.write_text(yaml.safe_dump({"questions": [{"id": "q1", "question": "no relevant ids"}]}))
    result = run_cli("eval", "--golden", str(bad), PREFECT_API_URL=NOWHERE)
    assert result.exit_code == 2, result.output
    assert f"--golden {bad}" in result.output and "'relevant'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_eval_dry_run_names_the_version_and_golden_set(tmp_path: Path):
    golden = _golden(tmp_path / "golden.yaml")
    result = run_cli("eval", "--prompt-version", "3", "--golden", str(golden), "--dry-run", PREFECT_API_URL=NOWHERE)
    assert result.exit_code == 0, result.output
    assert "rag-eval/rag-eval" in result.output and "'prompt_version': 3" in result.output
    assert "would answer the 1 questions of" in result.output and "prompt v3" in result.output
