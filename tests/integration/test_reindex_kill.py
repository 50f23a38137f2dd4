"""A reindex killed right after the alias move: the rerun writes the missing MLflow manifest.

The child process runs the real reindex flow against the test's Prefect
server and dies (``os._exit``, no cleanup) at the first step after
``docs-live`` moved: logging the manifest. The hook lives here, in the child,
not in production code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL

from flows.reindex import reindex
from infra.factory import build_index_builds, build_rag_tracking, build_vector_index, close_vector_clients
from infra.settings import get_settings
from tests.integration.conftest import configure, reset_settings
from tests.integration.rag_helpers import DOCS, rag_env

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import os
    from infra.clients.mlflow_rag import RagTracking

    def killed(self, collection, *args, **kwargs):
        print("killed before the manifest of", collection, flush=True)
        os._exit(137)

    RagTracking.log_index = killed  # the step right after release_index moved docs-live
    from flows.reindex import reindex
    reindex()
    """
)


def test_a_kill_after_the_alias_move_leaves_no_manifest_behind_after_the_rerun(tmp_path, monkeypatch):
    env = rag_env(tmp_path)
    configure(monkeypatch, tmp_path / "tandem", **env)
    first = reindex()
    assert first["collection"] == "docs-v1" and first["released"] is True
    edited = Path(env["TANDEM_INDEX__CORPUS_DIR"]) / "policy/eligibility.md"
    edited.write_text(edited.read_text() + "\n\nApplicants with a guarantor may be 17 years old.")
    close_vector_clients()  # Qdrant local mode: one process at a time

    child = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()},
    )
    assert child.returncode == 137, child.stderr[-3000:]
    assert "killed before the manifest of docs-v2" in child.stdout
    reset_settings()

    # the kill left docs-live moved but without its MLflow manifest
    tracking = build_rag_tracking(get_settings())
    assert build_vector_index(get_settings()).live_collection() == "docs-v2"
    assert build_index_builds(get_settings()).get("docs-v2")["status"] == "released"
    assert tracking.find_index("docs-v1") and tracking.find_index("docs-v2") is None

    rerun = reindex()
    assert rerun["up_to_date"] is True and rerun["manifest_recovered"]
    run_id = tracking.find_index("docs-v2")
    assert run_id == rerun["manifest_recovered"]
    run = tracking.client.get_run(run_id)
    assert run.data.tags["recovered"] == "true" and run.data.tags["gate"] == "pass"
    manifest = json.loads(Path(tracking.client.download_artifacts(run_id, "manifest.json", str(tmp_path))).read_text())
    assert set(manifest["documents"]) == set(DOCS) and manifest["gate"]["passed"] is True
    assert manifest["collection"] == "docs-v2" and manifest["base_collection"] == "docs-v1"
    assert manifest["config"]["chunk_size"] == get_settings().index.chunk_size
    assert manifest["documents"]["policy/eligibility.md"]["chunks"] >= 1

    # written once: the next run finds it
    assert reindex()["manifest_recovered"] is None
    runs = tracking.client.search_runs([tracking.client.get_experiment_by_name("rag-index").experiment_id],
                                       filter_string="tags.collection = 'docs-v2'")
    assert len(runs) == 1
