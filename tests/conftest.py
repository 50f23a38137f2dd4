"""Shared test setup: quiet third-party noise, isolate every test's data dir."""

from __future__ import annotations

import os

# Set before Prefect/MLflow are imported by any test module.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import uuid
from collections.abc import Iterator

import pytest

# The PostgreSQL that every machine of this project runs (trust auth). CI sets
# TANDEM_REQUIRE_SERVICES=1 so an unreachable server fails the run instead of
# skipping the tests that need it.
PG_ADMIN_URL = os.environ.get("TANDEM_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _require_services() -> bool:
    return os.environ.get("TANDEM_REQUIRE_SERVICES", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards.

    Skips (with the reason) when no server answers, unless
    ``TANDEM_REQUIRE_SERVICES=1``, where it fails instead.
    """
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"tandem_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        reason = f"no PostgreSQL answers at {PG_ADMIN_URL.split('@')[-1]}: {str(exc).splitlines()[0]}"
        if _require_services():
            pytest.fail(f"{reason} (TANDEM_REQUIRE_SERVICES is set)")
        pytest.skip(reason)
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pytest_collection_modifyitems(config, items):
    """Markers by what a test touches: its folder (``integration``, ``e2e``) and ``pg_url`` (``postgres``).

    So ``-m "not e2e"`` or ``-m postgres`` select the same tests whatever file
    they live in.
    """
    for item in items:
        parts = item.path.parts
        for folder in ("integration", "e2e"):
            if folder in parts and not item.get_closest_marker(folder):
                item.add_marker(getattr(pytest.mark, folder))
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
