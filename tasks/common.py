"""Small helpers shared by tasks: the current run's id and retry policy."""

from __future__ import annotations

from prefect.runtime import flow_run

from models.schema import SchemaError
from models.validation import PartitionRejected

# Bad input is not a transient fault: retrying it only delays the clear error.
NOT_RETRIED = (PartitionRejected, SchemaError, ValueError, KeyError, FileNotFoundError)


def retry_unless_bad_input(task, task_run, state) -> bool:
    """Prefect ``retry_condition_fn``: retry I/O hiccups, never rejected input."""
    try:
        state.result()
    except NOT_RETRIED:
        return False
    except Exception:
        return True
    return False


def current_flow_run_id() -> str | None:
    run_id = flow_run.get_id()
    return str(run_id) if run_id else None
