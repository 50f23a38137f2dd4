"""Shared test setup: quiet third-party noise, isolate every test's data dir."""

from __future__ import annotations

import os

# Set before Prefect/MLflow are imported by any test module.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
