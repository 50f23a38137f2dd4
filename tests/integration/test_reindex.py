"""The reindex flow for real: MiniLM embeddings, Qdrant local mode, the retrieval gate, the alias."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.reindex import reindex
from infra.cli import app
from infra.factory import build_index_builds, build_pointer_ledger, build_vector_index, close_vector_clients, index_pointer
from infra.settings import get_settings
from tests.integration.conftest import configure, reset_settings
from tests.integration.rag_helpers import DOCS, rag_env, write_golden

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rag(tmp_path, monkeypatch) -> dict:
    env = rag_env(tmp_path)
    configure(monkeypatch, tmp_path / "tandem", **env)
    return {"corpus": Path(env["TANDEM_INDEX__CORPUS_DIR"]), "tmp": tmp_path, "env": env}


def points(collection: str) -> dict[str, tuple[str, int]]:
    """point id -> (doc id, chunk index) of a collection."""
    index = build_vector_index(get_settings())
    out = {}
    for rec in index._scroll(collection, payload=True):
        out[str(rec.id)] = (rec.payload["doc_id"], rec.payload["chunk_index"])
    return out


def test_first_build_goes_live_and_an_unchanged_rerun_embeds_nothing(rag):
    first = reindex()
    index = build_vector_index(get_settings())
    assert first["released"] is True and first["collection"] == "docs-v1"
    assert index.live_collection() == "docs-v1"
    assert set(index.manifest("docs-v1")) == set(DOCS)

    again = reindex()
    assert again["up_to_date"] is True
    assert again["plan"] == {"added": 0, "changed": 0, "deleted": 0, "unchanged": len(DOCS)}
    assert index.collections() == ["docs-v1"]  # no new collection, nothing embedded
    # touching a file (new mtime, same text) is not a change
    path = rag["corpus"] / "policy/eligibility.md"
    path.write_text(path.read_text())
    assert reindex()["up_to_date"] is True


def test_forced_rebuild_copies_vectors_instead_of_embedding(rag):
    reindex()
    forced = reindex(force=True)
    build = build_index_builds(get_settings()).get(forced["collection"])
    assert forced["collection"] == "docs-v2" and forced["released"] is True
    assert build["status"] == "released"
    assert points("docs-v1") == points("docs-v2")  # same ids, same chunks


def test_editing_one_document_replaces_only_its_chunks(rag):
    reindex()
    before = points("docs-v1")
    (rag["corpus"] / "policy/loan-terms.md").write_text(
        "# Loan amounts and terms\n\nLoan amounts range from 1,000 to 400,000. Terms run from 6 to 60 months."
    )
    result = reindex()
    after = points(result["collection"])
    assert result["plan"] == {"added": 0, "changed": 1, "deleted": 0, "unchanged": len(DOCS) - 1}
    kept = {pid: v for pid, v in before.items() if v[0] != "policy/loan-terms.md"}
    assert {pid: v for pid, v in after.items() if v[0] != "policy/loan-terms.md"} == kept
    old_ids = {pid for pid, v in before.items() if v[0] == "policy/loan-terms.md"}
    new_ids = {pid for pid, v in after.items() if v[0] == "policy/loan-terms.md"}
    assert new_ids and not (old_ids & new_ids)
    assert len(set(after.values())) == len(after)  # no duplicate (doc, chunk)


def test_deleting_a_document_removes_its_chunks(rag):
    reindex()
    (rag["corpus"] / "runbooks/model-rollback.txt").unlink()
    write_golden(rag["tmp"] / "golden.yaml", [g for g in __import__("tests.integration.rag_helpers", fromlist=["GOLDEN"]).GOLDEN if g[0] != "g4"])
    result = reindex()
    assert result["plan"]["deleted"] == 1
    assert "runbooks/model-rollback.txt" not in build_vector_index(get_settings()).manifest(result["collection"])
    assert "runbooks/model-rollback.txt" in build_vector_index(get_settings()).manifest("docs-v1")  # rollback target intact


def test_a_failed_retrieval_gate_leaves_docs_live_where_it_was(rag):
    reindex()
    # A golden set whose relevant document never ranks for its question.
    write_golden(rag["tmp"] / "golden.yaml", [("x1", "How old must an applicant be?", ["runbooks/vendor-note.md"], "-"),
                                              ("x2", "What loan terms exist?", ["runbooks/vendor-note.md"], "-")])
    (rag["corpus"] / "policy/new.md").write_text("# New\n\nA brand new policy about collateral valuation every year.")
    result = reindex()
    index = build_vector_index(get_settings())
    assert result["released"] is False
    assert index.live_collection() == "docs-v1"
    assert build_index_builds(get_settings()).get(result["collection"])["status"] == "rejected"
    assert build_pointer_ledger(get_settings()).history(index_pointer(get_settings()))[0].new_value == "docs-v1"


def test_a_bad_document_fails_the_run_naming_the_file_and_changes_nothing(rag):
    reindex()
    (rag["corpus"] / "policy/broken.md").write_bytes(b"\xff\xfe\x00bad bytes \xc3\x28")
    with pytest.raises(Exception, match=r"policy/broken\.md.*not UTF-8"):
        reindex()
    index = build_vector_index(get_settings())
    assert index.collections() == ["docs-v1"] and index.live_collection() == "docs-v1"


def test_a_killed_build_leaves_docs_live_answering_and_the_next_run_completes(rag, monkeypatch):
    reindex()
    for name in ["policy/eligibility.md", "policy/loan-terms.md", "runbooks/index-rollback.html", "policy/debt-to-income.md"]:
        path = rag["corpus"] / name
        path.write_text(path.read_text() + "\n\nRevised in the annual policy review of this year.")
    close_vector_clients()  # Qdrant local mode: one process at a time
    # A real kill: the child process dies (os._exit, no cleanup) after the first embedded batch.
    child = textwrap.dedent(
        """
        import os
        from infra.settings import get_settings
        from infra import factory
        from infra.rag import indexing
        from infra.sources.corpus import read_corpus
        s = get_settings()
        corpus = read_corpus(s.resolved_corpus_dir)
        index, emb = factory.build_vector_index(s), factory.build_embedder(s)
        plan = indexing.plan_build(s, corpus, index, factory.build_index_builds(s), emb)
        print("building", plan.collection, flush=True)
        indexing.build_collection(s, corpus, plan, index, emb, on_batch=lambda done, total: os._exit(137))
        """
    )
    proc = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ})
    assert proc.returncode == 137, proc.stderr[-2000:]
    assert "building docs-v2" in proc.stdout
    reset_settings()

    index = build_vector_index(get_settings())
    assert index.live_collection() == "docs-v1"  # still the previous complete collection
    assert build_index_builds(get_settings()).get("docs-v2")["status"] == "building"
    partial = index.manifest("docs-v2")
    from infra.factory import build_gateway
    from infra.rag.release import ensure_default_prompt
    from infra.pointers import move_prompt

    move_prompt(get_settings(), ensure_default_prompt(get_settings()).version, reason="test", evidence=None)
    answer = build_gateway(get_settings()).ask("How old does an applicant have to be?")
    assert answer.event.index_version == "docs-v1" and "18" in answer.answer

    result = reindex()
    assert result["collection"] == "docs-v2" and result["released"] is True
    assert len(partial) < len(DOCS)  # the kill really happened midway
    assert index.live_collection() == "docs-v2"
    pts = points("docs-v2")
    assert len(set(pts.values())) == len(pts)  # resumed onto the same ids: no duplicates
    assert set(index.manifest("docs-v2")) == set(DOCS)


def test_rollback_index_moves_docs_live_back_and_is_recorded(rag):
    reindex()
    (rag["corpus"] / "policy/eligibility.md").write_text("# Eligibility\n\nApplicants must be at least 21 years old.")
    reindex()
    assert build_vector_index(get_settings()).live_collection() == "docs-v2"
    out = CliRunner().invoke(app, ["rollback", "index", "--reason", "bad answers after reindex"])
    assert out.exit_code == 0, out.output
    assert "docs-v2 -> docs-v1" in out.output
    assert build_vector_index(get_settings()).live_collection() == "docs-v1"
    last = build_pointer_ledger(get_settings()).last_move(index_pointer(get_settings()))
    assert (last.old_value, last.new_value, last.actor, last.reason) == ("docs-v2", "docs-v1", "pytest", "bad answers after reindex")
    assert "pinned" in out.output and "tandem unpin index" in out.output


def test_a_rollback_pins_docs_live_until_unpinned(rag):
    reindex()
    eligibility = rag["corpus"] / "policy/eligibility.md"
    eligibility.write_text("# Eligibility\n\nApplicants must be at least 21 years old.")
    reindex()
    assert CliRunner().invoke(app, ["rollback", "index", "--reason", "bad answers"]).exit_code == 0
    # given a pinned docs-live, when the corpus changes and the reindex gate passes
    eligibility.write_text("# Eligibility\n\nApplicants must be at least 19 years old.")
    held = reindex()
    # then the verdict is recorded but docs-live stays where the rollback put it
    index, builds = build_vector_index(get_settings()), build_index_builds(get_settings())
    assert (held["released"], held["pinned"], held["outcome"]) == (False, True, "pinned")
    assert index.live_collection() == "docs-v1"
    build = builds.get(held["collection"])
    assert build["status"] == "pinned" and build["gate"]["passed"] is True and build["gate"]["pin"]["actor"] == "pytest"
    ledger = build_pointer_ledger(get_settings())
    assert ledger.last_move(index_pointer(get_settings())).reason == "bad answers"  # no move recorded
    shown = CliRunner().invoke(app, ["pointers"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0 and "PINNED index:docs-live" in shown.output and "tandem unpin index" in shown.output

    # when on-call unpins (recorded: who, why)
    out = CliRunner().invoke(app, ["unpin", "index", "--reason", "v3 checked by hand"])
    assert out.exit_code == 0, out.output
    unpinned = ledger.last_move(index_pointer(get_settings()))
    assert (unpinned.old_value, unpinned.new_value, unpinned.actor, unpinned.reason) == ("docs-v1", "docs-v1", "pytest", "v3 checked by hand")
    assert ledger.pin(index_pointer(get_settings())) is None
    assert "not pinned" in CliRunner().invoke(app, ["unpin", "index", "--reason", "again"]).output
    # then the next reindex gates the pinned build again (nothing re-embedded) and releases it
    released = reindex()
    assert released["collection"] == held["collection"] and released["released"] is True
    assert index.live_collection() == held["collection"]


def test_model_cards_are_indexed_and_found(rag, monkeypatch):
    from infra.stores.model_cards import write_model_card
    from infra.clients.qdrant_index import Retriever
    from infra.factory import build_embedder

    monkeypatch.setenv("TANDEM_INDEX__INCLUDE_MODEL_CARDS", "true")
    reset_settings()
    write_model_card(get_settings(), "risk-scorer", "7", "# risk-scorer v7\n\nGate verdict: PROMOTE. Version 7 was promoted because "
                     "its out-of-time AUC of 0.8123 was not worse than the champion's within the tolerance.\n")
    result = reindex()
    index = build_vector_index(get_settings())
    assert "model-cards/risk-scorer-v7.md" in index.manifest(result["collection"])
    retriever = Retriever(index, build_embedder(get_settings()).llama, collection="docs-live", top_k=2, score_threshold=None)
    assert retriever.retrieve("Why was version 7 promoted and what is its AUC?")[0].doc_id == "model-cards/risk-scorer-v7.md"
