"""Service fixtures: the production profile's real backends, started on loopback for a test session.

- PostgreSQL: the server every machine of this project runs at 127.0.0.1:5432;
  each database here is created with a unique name and dropped afterwards.
- S3: moto's server mode (``moto_server``), a real HTTP S3 endpoint; Tandem
  reaches it through the standard ``AWS_ENDPOINT_URL`` variable, exactly as
  it reaches a real bucket (s3fs for the lake, boto3 for MLflow artifacts).
- Prefect: ``prefect server start`` on its own PostgreSQL database.

A missing service skips its tests with the reason, unless
``TANDEM_REQUIRE_SERVICES=1`` (``.ci/run`` sets it), where it fails them.
Every server is a subprocess this session started, stopped by its fixture
(also when a test fails).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL, _require_services

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# How long a server may take to answer: Prefect migrates a fresh PostgreSQL
# database at start (29 s measured on 2 idle cores; more when they are busy).
STARTUP_S = 240


def reset_settings() -> None:
    """Settings and engines are cached per process: a test's environment must not leak into the next."""
    from infra.factory import close_vector_clients, ops_engine
    from infra.settings import get_settings

    get_settings.cache_clear()
    ops_engine.cache_clear()
    close_vector_clients()


def unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail when the run requires services (CI)."""
    if _require_services():
        pytest.fail(f"{reason} (TANDEM_REQUIRE_SERVICES is set)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = STARTUP_S) -> None:
    """Wait until ``url`` answers 2xx; fail naming the log's tail if the process dies or never answers."""
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if 200 <= response.status < 300:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.5)


def stop(proc: subprocess.Popen, *, group: bool = False) -> None:
    """SIGTERM (the whole process group with ``group``), then SIGKILL after 20 s."""
    if proc.poll() is not None:
        return
    send = (lambda sig: os.killpg(proc.pid, sig)) if group else proc.send_signal
    try:
        send(signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait(timeout=20)
    except ProcessLookupError:
        pass


# -- PostgreSQL ----------------------------------------------------------------------------
class PgDatabases:
    """Creates uniquely named databases on the test server; ``drop_all`` removes them (with open connections)."""

    def __init__(self) -> None:
        import sqlalchemy as sa

        self._sa = sa
        self._admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        self._names: list[str] = []
        try:
            with self._admin.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.OperationalError as exc:
            self._admin.dispose()
            unavailable(f"no PostgreSQL answers at {PG_ADMIN_URL.split('@')[-1]}: {str(exc).splitlines()[0]}")

    def create(self, tag: str) -> str:
        """A fresh database; returns its SQLAlchemy URL (``postgresql://...``, psycopg)."""
        name = f"tandem_svc_{tag}_{uuid.uuid4().hex[:8]}"
        with self._admin.connect() as conn:
            conn.execute(self._sa.text(f'CREATE DATABASE "{name}"'))
        self._names.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop_all(self) -> None:
        with self._admin.connect() as conn:
            while self._names:
                conn.execute(self._sa.text(f'DROP DATABASE IF EXISTS "{self._names.pop()}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture
def pg() -> Iterator[PgDatabases]:
    """Databases for one test, dropped after it."""
    databases = PgDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def session_pg() -> Iterator[PgDatabases]:
    """Databases for the session's servers, dropped at its end."""
    databases = PgDatabases()
    yield databases
    databases.drop_all()


def asyncpg_url(url: str) -> str:
    """The same database for Prefect's server, which needs an async driver."""
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


# -- S3 (moto's server mode) ---------------------------------------------------------------
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "tandem-test",
    "AWS_SECRET_ACCESS_KEY": "tandem-test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto S3 server on a free loopback port, for the session; yields its URL."""
    exe = shutil.which("moto_server", path=str(BIN)) or shutil.which("moto_server")
    if exe is None:
        unavailable("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/moto-api/", proc, log, timeout_s=60)
        yield url
    finally:
        stop(proc)


@dataclass(frozen=True)
class S3:
    endpoint: str
    bucket: str
    env: dict[str, str]  # what a process needs to reach it: AWS_ENDPOINT_URL and the (fake) credentials

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, **{
            "aws_access_key_id": self.env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": self.env["AWS_SECRET_ACCESS_KEY"],
            "region_name": self.env["AWS_DEFAULT_REGION"],
        })

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3:
    """A fresh bucket on the moto server; this process reaches it through ``AWS_ENDPOINT_URL``."""
    env = {"AWS_ENDPOINT_URL": s3_endpoint, **S3_CREDENTIALS}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    store = S3(s3_endpoint, f"tandem-{uuid.uuid4().hex[:12]}", env)
    store.client().create_bucket(Bucket=store.bucket)
    _clear_s3fs_cache()
    yield store
    _clear_s3fs_cache()


def _clear_s3fs_cache() -> None:
    # fsspec caches filesystem instances (and their listings) per process; a test
    # starts from a fresh one, as a new process would.
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


# -- Prefect server on PostgreSQL ----------------------------------------------------------
@dataclass(frozen=True)
class PrefectServer:
    api_url: str
    database_url: str  # the server's own PostgreSQL database (SQLAlchemy URL, psycopg)
    home: Path


@pytest.fixture(scope="session")
def prefect_pg_server(session_pg: PgDatabases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """``prefect server start`` with its database on PostgreSQL, on a free loopback port."""
    database = session_pg.create("prefect")
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    log = home / "server.log"
    env = {
        # No API URL of another server leaks into this one.
        **{k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"},
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": asyncpg_url(database),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        api_url = f"http://127.0.0.1:{port}/api"
        wait_for_http(f"{api_url}/health", proc, log)
        yield PrefectServer(api_url, database, home)
    finally:
        stop(proc, group=True)


@pytest.fixture
def use_prefect(prefect_pg_server: PrefectServer) -> Iterator[PrefectServer]:
    """Flows run in this process report to the PostgreSQL-backed server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_pg_server.api_url}):
        yield prefect_pg_server


# -- Tandem's production profile -----------------------------------------------------------
@pytest.fixture
def production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg: PgDatabases, s3: S3) -> Iterator[dict[str, str]]:
    """Tandem on the production profile: ops database and MLflow on PostgreSQL, lake and artifacts on S3.

    Only URLs change (``TANDEM_*`` settings); returns the environment a worker
    process needs too.
    """
    env = {
        "TANDEM_DATA_DIR": str(tmp_path / "tandem"),  # only Qdrant's local folder would live here
        "TANDEM_OPS_DB_URL": pg.create("ops"),
        "TANDEM_MLFLOW_TRACKING_URI": pg.create("mlflow"),
        "TANDEM_MLFLOW_ARTIFACT_ROOT": f"s3://{s3.bucket}/mlartifacts",
        "TANDEM_LAKE_URL": f"s3://{s3.bucket}/lake",
        "TANDEM_SYNTHETIC__ROWS_PER_DAY": "300",
        "TANDEM_SYNTHETIC__LABEL_DELAY_DAYS": "2",
        "TANDEM_ACTOR": "pytest",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    yield {**env, **s3.env}
    reset_settings()


@pytest.fixture
def start_process(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen, Path]]]:
    """Start a subprocess in its own process group, its output in a log file; all stopped after the test."""
    started: list[subprocess.Popen] = []

    def start(args: list[str], *, env: dict[str, str], name: str) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        started.append(proc)
        return proc, log

    yield start
    for proc in started:
        stop(proc, group=True)


# -- MLflow server (its UI and HTTP API) on PostgreSQL --------------------------------------
@pytest.fixture
def mlflow_server(production: dict[str, str], start_process) -> str:
    """``mlflow server`` on the profile's tracking database, artifacts left to the bucket (not proxied); yields its URL."""
    port = free_port()
    proc, log = start_process(
        [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", production["TANDEM_MLFLOW_TRACKING_URI"],
         "--default-artifact-root", production["TANDEM_MLFLOW_ARTIFACT_ROOT"], "--no-serve-artifacts"],
        env={**os.environ, **production}, name="mlflow-server",
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/health", proc, log)
    return url
