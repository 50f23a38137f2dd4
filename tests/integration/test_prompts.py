"""Prompt versions in MLflow's prompt registry and their release gate, for real."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.prompt_release import prompt_release
from flows.reindex import reindex
from infra.cli import app
from infra.factory import build_pointer_ledger, build_prompt_registry, prompt_pointer
from infra.rag.release import ensure_default_prompt, release_prompt
from infra.settings import get_settings
from tests.integration.conftest import reset_settings
from tests.integration.rag_helpers import module_env

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prompts")
    with module_env(tmp):
        reindex()
        yield tmp


def _builtin_version(registry) -> int:
    """The built-in prompt's version, whatever the module's other tests registered after it."""
    ensure_default_prompt(get_settings())  # registers it when the registry is empty
    versions = sorted(int(v.version) for v in registry.versions())
    for version in versions:
        if (registry.client.get_prompt_version(registry.name, version).tags or {}).get("source") == "tandem default":
            return version
    raise AssertionError(f"no built-in prompt among versions {versions}")


def _production(registry) -> int:
    """Production's version; the built-in is released first when no test has yet (tests run in any order)."""
    if registry.alias_version("production") is None:
        release = release_prompt(get_settings(), _builtin_version(registry))
        assert release.moved, release.message
    return registry.alias_version("production")


def write_template(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text)
    return str(path)


def test_the_built_in_prompt_passes_its_gate_and_the_move_is_recorded(indexed):
    # A version of its own (the built-in template, one line longer), so production
    # moves whatever the module's other tests did to it before.
    registry = build_prompt_registry(get_settings())
    builtin = registry.get(_builtin_version(registry))
    path = write_template(indexed, "builtin-copy.txt", builtin.template + "\nCite every sentence.")
    out = CliRunner().invoke(app, ["prompts", "register", path, "-m", "built-in, restated"])
    assert out.exit_code == 0, out.output
    version = registry.alias_version("staging")
    assert registry.alias_version("production") != version
    result = prompt_release(version)
    assert result["moved"] is True and result["gate"]["passed"] is True
    assert build_prompt_registry(get_settings()).alias_version("production") == version
    move = build_pointer_ledger(get_settings()).last_move(prompt_pointer(get_settings()))
    assert move.new_value == str(version) and move.evidence["gate"]["passed"] is True
    assert {c["name"] for c in move.evidence["gate"]["checks"]} == {
        "answered", "faithfulness", "sentence_completeness", "answer_relevance", "citation_coverage", "answer_focus",
        "answer_similarity", "token_f1"}

    again = release_prompt(get_settings(), version)  # same versions: the MLflow result is reused
    assert again.gate.reused_run and again.moved is False


def test_a_version_that_fails_the_gate_is_held_and_production_stays(indexed):
    registry = build_prompt_registry(get_settings())
    before = _production(registry)
    path = write_template(indexed, "strict.txt", registry.get(before).template)
    # A prompt version so strict it declines almost every question.
    out = CliRunner().invoke(app, ["prompts", "register", path, "-m", "too strict", "-p", "min_similarity=0.95"])
    assert out.exit_code == 0, out.output
    bad = registry.alias_version("staging")
    promote = CliRunner().invoke(app, ["prompts", "promote", str(bad)])
    assert promote.exit_code == 1 and "HOLD" in promote.output and "FAIL" in promote.output
    assert registry.alias_version("production") == before
    tags = registry.client.get_prompt_version(registry.name, bad).tags
    assert tags["gate"] == "fail" and float(tags["gate.answered"]) < get_settings().prompt.gate_min_answered


def test_a_template_without_context_is_rejected_before_registration(indexed):
    registry = build_prompt_registry(get_settings())
    count = len(registry.versions())
    path = write_template(indexed, "bad.txt", "Answer {{question}} from memory.")
    out = CliRunner().invoke(app, ["prompts", "register", path, "-m", "no context"])
    assert out.exit_code == 1 and "bad.txt" in out.output and "{{context}}" in out.output
    assert len(registry.versions()) == count


def test_promote_then_rollback_restores_the_previous_production_version(indexed):
    registry = build_prompt_registry(get_settings())
    current = _production(registry)
    path = write_template(indexed, "terse.txt", registry.get(current).template + "\nBe brief.")
    CliRunner().invoke(app, ["prompts", "register", path, "-m", "terse", "-p", "max_sentences=2"])
    new = registry.alias_version("staging")
    out = CliRunner().invoke(app, ["prompts", "promote", "staging", "--reason", "shorter answers"])
    assert out.exit_code == 0, out.output
    assert registry.alias_version("production") == new

    listing = CliRunner().invoke(app, ["prompts", "list"])
    assert f"v{new}" in listing.output and "production" in listing.output
    diff = CliRunner().invoke(app, ["prompts", "diff", str(current), str(new)])
    assert "+Be brief." in diff.output and "max_sentences" in diff.output
    show = CliRunner().invoke(app, ["prompts", "show", "production"])
    assert "Be brief." in show.output

    back = CliRunner().invoke(app, ["prompts", "rollback", "--reason", "answers too short"])
    assert back.exit_code == 0, back.output
    assert registry.alias_version("production") == current
    last = build_pointer_ledger(get_settings()).last_move(prompt_pointer(get_settings()))
    assert (last.old_value, last.new_value, last.reason, last.actor) == (str(new), str(current), "answers too short", "pytest")

    # the rollback pinned production: a passing gate (here a person's promote) records its verdict but moves nothing
    assert "tandem unpin prompt" in back.output
    again = CliRunner().invoke(app, ["prompts", "promote", str(new), "--reason", "try again"])
    assert again.exit_code == 1 and "PINNED" in again.output and "tandem unpin" in again.output
    assert registry.alias_version("production") == current
    assert registry.client.get_prompt_version(registry.name, new).tags["gate"] == "pass"
    assert build_pointer_ledger(get_settings()).last_move(prompt_pointer(get_settings())).id == last.id
    lifted = CliRunner().invoke(app, ["unpin", "prompt", "--reason", "v-next is fine after all"])
    assert lifted.exit_code == 0, lifted.output
    assert build_pointer_ledger(get_settings()).pin(prompt_pointer(get_settings())) is None


def test_llm_as_judge_runs_only_with_an_endpoint_and_averages_several_runs(indexed, monkeypatch):
    from infra.factory import build_gateway, build_rag_tracking
    from infra.rag.evaluation import evaluate_prompt
    from infra.sources.golden import load_golden
    from tests.fakes.chat_server import FakeChatServer

    golden = load_golden(get_settings().resolved_golden_path)
    registry = build_prompt_registry(get_settings())
    spec = registry.get(_builtin_version(registry))
    without = evaluate_prompt(build_gateway(get_settings()), golden, build_rag_tracking(get_settings()), prompt=spec, collection="docs-v1", force=True)
    assert "judge_score" not in without.metrics

    with FakeChatServer() as server:
        server.reply = "4"  # the fake judge grades every answer 4 of 5
        monkeypatch.setenv("TANDEM_LLM__BASE_URL", server.base_url)
        monkeypatch.setenv("TANDEM_LLM__JUDGE_RUNS", "2")
        reset_settings()
        judged = evaluate_prompt(build_gateway(get_settings()), golden, build_rag_tracking(get_settings()), prompt=spec, collection="docs-v1", force=True)
        calls = len(server.requests)
    assert judged.metrics["judge_score"] == pytest.approx(0.75) and judged.metrics["judge_spread"] == 0
    assert calls == 2 * len(golden.questions) and judged.metrics["judge_failures"] == 0
