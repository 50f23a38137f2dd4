"""The main job's progress display and summary (infra.mainjob), fed with Prefect's own flow-run objects."""

from __future__ import annotations

from uuid import uuid4

from prefect.client.schemas.objects import FlowRun
from prefect.states import Completed, Failed, Running
from rich.console import Console
from rich.progress import Progress

from infra.mainjob import StageProgress, print_summary


def _run(state) -> FlowRun:
    return FlowRun(flow_id=uuid4(), state=state)


def _tasks(display: StageProgress) -> dict[str, object]:
    return {key: display.progress._tasks[task_id] for key, task_id in display.ids.items()}


def test_a_finished_subflow_shows_its_outcome_and_ends_the_stages_before_it():
    display = StageProgress(Progress(console=Console(file=None, force_terminal=False)), days=40, nights=3)
    display.update([("backfill", _run(Completed(message="40 done, 0 skipped, 0 failed"))),
                    ("train", _run(Running()))], backfill_tasks_done=None, run_final=False)
    tasks = _tasks(display)
    assert tasks["start"].finished
    assert tasks["backfill"].finished and tasks["backfill"].description.endswith(": 40 done, 0 skipped, 0 failed")
    assert tasks["train"].started and not tasks["train"].finished
    assert not tasks["nightly-eval"].started


def test_the_nights_count_finished_nightly_runs_and_a_failed_stage_says_so():
    display = StageProgress(Progress(console=Console(file=None, force_terminal=False)), days=40, nights=3)
    children = [("backfill", _run(Completed())), ("train", _run(Failed(message="gate crashed"))),
                ("reindex", _run(Completed())), ("prompt-release", _run(Completed())),
                ("score", _run(Completed())), ("nightly-eval", _run(Completed())), ("remediate", _run(Completed())),
                ("score", _run(Completed())), ("nightly-eval", _run(Running()))]
    display.update(children, backfill_tasks_done=None, run_final=False)
    tasks = _tasks(display)
    assert "failed" in tasks["train"].description and "gate crashed" in tasks["train"].description
    assert tasks["nightly-eval"].completed == 1 and "1 remedies run" in tasks["nightly-eval"].description


def test_a_rerun_with_every_night_done_ends_with_the_nights_marked_done():
    display = StageProgress(Progress(console=Console(file=None, force_terminal=False)), days=40, nights=3)
    children = [(name, _run(Completed())) for name in ("backfill", "train", "reindex", "prompt-release")]
    display.update(children, backfill_tasks_done=None, run_final=True)
    tasks = _tasks(display)
    assert all(t.finished for t in tasks.values())
    assert tasks["nightly-eval"].description.endswith("every night already evaluated")


def test_the_summary_fits_one_screen_and_names_what_is_live():
    console = Console(record=True, width=120, force_terminal=False)
    summary = {
        "champion": 3, "champion_metrics": {"test_auc": 0.8312, "test_ks": 0.51, "test_n": 9000.0},
        "trained": {"decision": "PROMOTE"}, "prompt_release": {"message": "v1 is already production"},
        "answers": [{"prompt_version": 1, "index_version": "docs-v4"}], "indexed": {"collection": "docs-v4"},
        "partitions": {"applications": 120}, "failed_partitions": 0, "nightly": [{"night": "2026-01-01"}],
        "remedies": [], "mlflow_tracking_uri": "postgresql://tandem:secret@db/mlflow",
        "tickets": [{"id": i, "kind": "re-index", "asset": "rag", "status": "resolved", "opened_night": "2026-01-01",
                     "resolution": "docs-live -> docs-v4", "remedy": ""} for i in range(12, 0, -1)],  # newest first
    }
    print_summary(summary, console, run_url="http://127.0.0.1:4200/runs/flow-run/x", ui_url="http://127.0.0.1:4200",
                  elapsed_s=61)
    text = console.export_text()
    assert "risk-scorer v3 (auc 0.831, ks 0.510; gate: PROMOTE)" in text
    assert "rag-answer v1" in text and "docs-live -> docs-v4" in text
    assert "newest 8 of 12" in text and "#12" in text and "#4 " not in text
    assert "secret" not in text  # a database password never reaches the terminal
    assert len(text.splitlines()) <= 40
