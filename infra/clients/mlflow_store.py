"""MLflow clients whose database is made ready once at a time across processes.

MLflow creates its tables the first time a process opens a database tracking
URI, with no lock of its own on that path (``SqlAlchemyStore`` calls
``_initialize_tables`` directly). Two flow runs starting at once on a fresh
database both create ``alembic_version`` and all but one fail
(``pg_type_typname_nsp_index`` on PostgreSQL; measured here: 3 of 4 spawned
processes failed on a fresh PostgreSQL database). So the first open in each
process runs under a lock: a PostgreSQL advisory lock (every host that shares
the database), or MLflow's own exclusive file lock for a SQLite file (one host
by nature). A process that waited finds the tables and skips the work.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from contextlib import contextmanager
from collections.abc import Iterator

from mlflow import MlflowClient

# "tandeM": next to the ops database's schema and pointer-chain lock keys.
_INIT_LOCK_KEY = 0x74616E64654D
_ready: set[str] = set()
_guard = threading.Lock()


def mlflow_client(tracking_uri: str) -> MlflowClient:
    """An ``MlflowClient`` for tracking and registry at ``tracking_uri``, its database ready."""
    ready_store(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def ready_store(tracking_uri: str) -> None:
    """Make MLflow's tables exist at ``tracking_uri`` (once per process; a no-op for non-database URIs)."""
    if tracking_uri in _ready:
        return
    with _guard:
        if tracking_uri in _ready:
            return
        with _init_lock(tracking_uri) as database:
            if database:
                client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
                client.search_experiments(max_results=1)  # the tracking store creates the tables
                client.search_registered_models(max_results=1)  # and the registry store checks them
        _ready.add(tracking_uri)


@contextmanager
def _init_lock(tracking_uri: str) -> Iterator[bool]:
    """Hold the cross-process init lock for a database URI; yields False (no lock) for anything else."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    try:
        url = make_url(tracking_uri)
        backend = url.get_backend_name()
    except Exception:  # http://, file:, databricks: ... MLflow's server or files, not a database
        yield False
        return
    if backend == "postgresql":
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _INIT_LOCK_KEY})
                try:
                    yield True
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _INIT_LOCK_KEY})
                    conn.commit()
        finally:
            engine.dispose()
    elif backend == "sqlite":
        from mlflow.utils.file_utils import ExclusiveFileLock

        from pathlib import Path

        where = str(Path(url.database).resolve()) if url.database and url.database != ":memory:" else tracking_uri
        digest = hashlib.sha256(where.encode()).hexdigest()[:16]  # one lock per file, however the URI spells it
        with ExclusiveFileLock(f"{tempfile.gettempdir()}/tandem-mlflow-init-{digest}"):
            yield True
    else:  # another database: MLflow's own path, unguarded
        yield True
