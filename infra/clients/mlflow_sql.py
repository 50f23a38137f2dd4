"""A fast, read-only look at MLflow's SQL store, for `tandem champion`.

Importing MLflow costs seconds (2-12 s measured on 2 busy cores), more than
the whole read is allowed to take (1.5 s). When the tracking URI is a database
(``sqlite://``, ``postgresql://``, ...), the champion's alias, version tags and
latest metrics are three small queries on MLflow's own tables
(``registered_model_aliases``, ``model_versions``, ``model_version_tags``,
``latest_metrics``). Those tables are MLflow's internals: any surprise (an
``http://`` tracking server, a table or column that moved, several workspaces)
raises ``StoreUnreadable`` and the caller falls back to ``MlflowClient``.
Never writes: every write goes through MLflow's API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class StoreUnreadable(RuntimeError):
    """This tracking URI cannot be read directly; use MLflow's client instead."""


@dataclass(frozen=True)
class VersionView:
    """A registered version as the CLI shows it."""

    version: str
    run_id: str | None
    tags: dict[str, str]
    metrics: dict[str, float]


def read_alias(tracking_uri: str, model_name: str, alias: str) -> VersionView | None:
    """The version ``alias`` points at, with its tags and its run's latest metrics.

    Args:
        tracking_uri: MLflow's tracking URI (a SQLAlchemy database URL here).
        model_name: the registered model.
        alias: e.g. ``champion``.

    Returns:
        The version, or None when the alias is not set (or the store does not exist yet).

    Raises:
        StoreUnreadable: not a database URI, or MLflow's tables are not as expected.
    """
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    try:
        url = make_url(tracking_uri)
    except Exception as exc:  # http://, file:, databricks: ... not a database URL
        raise StoreUnreadable(f"not a database URI: {type(exc).__name__}") from None
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        if not Path(url.database).exists():
            return None  # nothing trained yet; never create MLflow's database from a read
    try:
        engine = sa.create_engine(url)
    except sa.exc.NoSuchModuleError:  # http:// (an MLflow server) parses as a URL but names no database
        raise StoreUnreadable(f"not a database URI: no SQLAlchemy dialect {url.get_backend_name()!r}") from None
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT version FROM registered_model_aliases WHERE name = :n AND alias = :a"),
                {"n": model_name, "a": alias},
            ).all()
            if len(rows) > 1:
                raise StoreUnreadable("the alias is set in several workspaces")
            if not rows:
                return None
            version = rows[0][0]
            run = conn.execute(
                sa.text("SELECT run_id FROM model_versions WHERE name = :n AND version = :v"),
                {"n": model_name, "v": version},
            ).all()
            run_id = run[0][0] if run else None
            tags = dict(conn.execute(
                sa.text("SELECT key, value FROM model_version_tags WHERE name = :n AND version = :v"),
                {"n": model_name, "v": version},
            ).all())
            metrics = dict(conn.execute(
                sa.text("SELECT key, value FROM latest_metrics WHERE run_uuid = :r"), {"r": run_id}
            ).all()) if run_id else {}
    except sa.exc.SQLAlchemyError as exc:
        raise StoreUnreadable(f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
    return VersionView(version=str(version), run_id=run_id, tags=tags, metrics={k: float(v) for k, v in metrics.items()})


def read_alias_with_client(tracking_uri: str, model_name: str, alias: str) -> VersionView | None:
    """The same view through ``MlflowClient`` (any tracking URI; slower to import)."""
    from mlflow.exceptions import MlflowException

    from infra.clients.mlflow_store import mlflow_client

    client = mlflow_client(tracking_uri)
    try:
        mv = client.get_model_version_by_alias(model_name, alias)
    except MlflowException:
        return None
    metrics = client.get_run(mv.run_id).data.metrics if mv.run_id else {}
    return VersionView(version=str(mv.version), run_id=mv.run_id, tags=dict(mv.tags), metrics=dict(metrics))
