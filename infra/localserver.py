"""The local Prefect server and the process that serves Tandem's deployments: started once, found again, stopped by pid.

``make run``, ``make ui`` and ``make serve`` call ``ensure_server`` (and
``ensure_serve``); ``make stop`` calls ``stop``. Each process is started in a
session of its own (so stopping it stops its children, and only them) and
recorded in ``<data dir>/run/<name>.json``: pid, command, API URL, log file,
and for the serve process the ``TANDEM_*`` environment its flow runs inherit.
A recorded process is reused while it is alive, is still the process that
was started (same command line) and, for the server, answers; anything else
is started afresh.

The server:

- ``PREFECT_API_URL`` set: that server is used as it is (it must answer);
  nothing is started, ``stop`` leaves it alone;
- otherwise ``prefect server start --host 127.0.0.1 --port P`` with
  ``PREFECT_HOME`` under the data dir and telemetry off; ``P`` is
  ``PREFECT_SERVER_API_PORT`` (default 4200), or, when something else already
  answers there (another data dir's server, another program), the next free
  port, and the caller is told which.

The serve process is ``python -m flows.serve`` (registers every deployment of
``prefect.yaml`` and runs their flow runs, each in a subprocess).

Run ``python -m infra.localserver up|serve|stop|status``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PORT = 4200
HOST = "127.0.0.1"
SERVER, SERVE = "server", "serve"
SERVER_START_TIMEOUT_S = 240.0  # a fresh PREFECT_HOME migrates its database first: 37 s seen on 2 busy cores
STOP_GRACE_S = 15.0
RUNNER_POLL_S = "2"  # the serve process looks for new runs every 2 s (Prefect's default: 10 s)


class LocalServerError(RuntimeError):
    """A server or serve process could not be started or found; one line, with the log to read."""


@dataclass(frozen=True)
class Server:
    """A Prefect server that answers.

    Attributes:
        api_url: ``http://host:port/api``.
        started: True when this call started it (False: reused, or ``PREFECT_API_URL``'s).
        external: True when it is ``PREFECT_API_URL``'s (never stopped by ``stop``).
        note: what the person should know (a port moved, a server reused), or "".
    """

    api_url: str
    started: bool
    external: bool
    note: str = ""

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/").removesuffix("/api")


# -- records -----------------------------------------------------------------------
def run_dir(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "run"


def _record_path(data_dir: Path, name: str) -> Path:
    return run_dir(data_dir) / f"{name}.json"


def read_record(data_dir: Path, name: str) -> dict | None:
    """The record of a process ``make run`` started (``server`` or ``serve``), if any."""
    try:
        return json.loads(_record_path(data_dir, name).read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _write_record(data_dir: Path, name: str, record: dict) -> None:
    path = _record_path(data_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2), "utf-8")
    tmp.replace(path)


def _drop_record(data_dir: Path, name: str) -> None:
    _record_path(data_dir, name).unlink(missing_ok=True)


def is_running(record: dict | None) -> bool:
    """Whether the recorded process is alive and is still the one started (its pid not reused by another)."""
    if not record or not record.get("pid"):
        return False
    import psutil

    try:
        proc = psutil.Process(int(record["pid"]))
        args = record["cmd"][1:]  # a console script runs as `python /path/to/prefect ...`: compare its arguments
        cmdline = proc.cmdline()
        for _ in range(20):  # a process caught between fork and exec shows an empty command line for a moment
            if cmdline or proc.status() == psutil.STATUS_ZOMBIE:
                break
            time.sleep(0.05)
            cmdline = proc.cmdline()
        return proc.status() != psutil.STATUS_ZOMBIE and cmdline[-len(args):] == args
    except (psutil.Error, ValueError):
        return False


def recorded_api_url(data_dir: Path) -> str | None:
    """The API URL of the server ``make run`` started for ``data_dir``, while it runs (for the CLI to find it)."""
    record = read_record(data_dir, SERVER)
    return record["api_url"] if is_running(record) else None


# -- probing ---------------------------------------------------------------------------
def server_answers(api_url: str, timeout_s: float = 2.0) -> bool:
    """Whether a Prefect server answers ``GET {api_url}/health`` with 200 within ``timeout_s``."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout_s) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def port_in_use(port: int, host: str = HOST) -> bool:
    """Whether something accepts connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def free_port(after: int, host: str = HOST, tries: int = 100) -> int:
    """The first port above ``after`` that nothing listens on and that can be bound."""
    for port in range(after + 1, after + 1 + tries):
        if port_in_use(port, host):
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        return port
    raise LocalServerError(f"no free port in {after + 1}..{after + tries} on {host}")


def preferred_port(env: Mapping[str, str] = os.environ) -> int:
    """``PREFECT_SERVER_API_PORT`` if set, else 4200 (Prefect's own default)."""
    value = env.get("PREFECT_SERVER_API_PORT") or str(DEFAULT_PORT)
    try:
        return int(value)
    except ValueError:
        raise LocalServerError(f"PREFECT_SERVER_API_PORT={value!r} is not a port number") from None


# -- starting --------------------------------------------------------------------------
def _spawn(cmd: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        # A session of its own: a Ctrl-C in the terminal does not reach it, and
        # `stop` ends it and its children (uvicorn, the runner's flow runs) by its process group.
        return subprocess.Popen(cmd, cwd=ROOT, env=dict(env), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def log_tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text("utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _bin(name: str) -> str:
    """A console script of this interpreter's environment (``.venv/bin/prefect``)."""
    return str(Path(sys.executable).parent / name)


def prefect_env(data_dir: Path, env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment for Tandem's Prefect processes: ``PREFECT_HOME`` under the data dir, telemetry off."""
    out = dict(env)
    out.setdefault("PREFECT_HOME", str(Path(data_dir).resolve() / "prefect"))
    out.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    out.setdefault("DO_NOT_TRACK", "1")
    return out


def ensure_server(
    data_dir: Path,
    *,
    port: int | None = None,
    env: Mapping[str, str] = os.environ,
    timeout_s: float = SERVER_START_TIMEOUT_S,
    say: Callable[[str], None] = lambda _: None,
) -> Server:
    """A Prefect server that answers: ``PREFECT_API_URL``'s, the one recorded for ``data_dir``, or a new one.

    Args:
        data_dir: Tandem's data dir (the record, the log and, by default, ``PREFECT_HOME`` live there).
        port: the port to prefer (default ``preferred_port``); taken by someone else, the next free one.
        env: the environment (``PREFECT_API_URL``, ``PREFECT_HOME``, ...).
        timeout_s: how long a new server may take to answer.
        say: called with a line for the person while it waits (progress).

    Raises:
        LocalServerError: ``PREFECT_API_URL`` does not answer, or the new server died or did not answer in time.
    """
    if env.get("PREFECT_API_URL"):
        url = env["PREFECT_API_URL"].rstrip("/")
        if not server_answers(url):
            from infra.masking import mask_url

            raise LocalServerError(f"no Prefect server answers at {mask_url(url)} (PREFECT_API_URL): start it, or unset it")
        return Server(url, started=False, external=True)
    record = read_record(data_dir, SERVER)
    if is_running(record) and server_answers(record["api_url"]):
        return Server(record["api_url"], started=False, external=False, note=f"reusing the Prefect server at {record['api_url']}")
    if record and is_running(record):  # ours, alive, but not answering: it is still starting (or wedged)
        if _wait_for(record["api_url"], record["pid"], timeout_s):
            return Server(record["api_url"], started=False, external=False)
        raise LocalServerError(f"the Prefect server (pid {record['pid']}) does not answer at {record['api_url']}: "
                               f"`make stop`, then try again; its log: {record['log']}")
    _drop_record(data_dir, SERVER)
    wanted = port or preferred_port(env)
    chosen, note = wanted, ""
    if port_in_use(wanted):
        chosen = free_port(wanted)
        who = "another Prefect server (not this data dir's)" if server_answers(f"http://{HOST}:{wanted}/api") else "another program"
        note = f"port {wanted} is taken by {who}: starting this data dir's server on port {chosen}"
        say(note)
    api_url = f"http://{HOST}:{chosen}/api"
    log = run_dir(data_dir) / "server.log"
    cmd = [_bin("prefect"), "server", "start", "--host", HOST, "--port", str(chosen)]
    proc = _spawn(cmd, prefect_env(data_dir, env), log)
    _write_record(data_dir, SERVER, {"pid": proc.pid, "cmd": cmd, "api_url": api_url, "log": str(log),
                                     "started_at": time.time()})
    say(f"starting a Prefect server at {api_url} (log: {log})")
    if not _wait_for(api_url, proc.pid, timeout_s):
        alive = proc.poll() is None
        stop_process(data_dir, SERVER)
        raise LocalServerError(
            f"the Prefect server {'did not answer within ' + str(int(timeout_s)) + ' s' if alive else 'exited'} "
            f"at {api_url}; the end of its log ({log}):\n{log_tail(log)}"
        )
    return Server(api_url, started=True, external=False, note=note)


def _wait_for(api_url: str, pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server_answers(api_url, timeout_s=2.0):
            return True
        if not _alive(pid):
            return False
        time.sleep(0.5)
    return False


def serve_environment(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The ``TANDEM_*`` variables the served flow runs inherit: a change means the serve process must restart."""
    return {k: v for k, v in sorted(env.items()) if k.startswith("TANDEM_")}


def ensure_serve(
    data_dir: Path,
    server: Server,
    *,
    env: Mapping[str, str] = os.environ,
    say: Callable[[str], None] = lambda _: None,
) -> bool:
    """A ``python -m flows.serve`` process serving every deployment on ``server``; True when started now.

    A recorded one is reused while it is alive, serves the same server and was
    started with the same ``TANDEM_*`` environment (its flow runs inherit it);
    otherwise it is stopped and started again.
    """
    record = read_record(data_dir, SERVE)
    tandem_env = serve_environment(env)
    if is_running(record) and record.get("api_url") == server.api_url and record.get("tandem_env") == tandem_env:
        return False
    if is_running(record):
        say("restarting the serve process (server or TANDEM_* settings changed)")
    stop_process(data_dir, SERVE)
    log = run_dir(data_dir) / "serve.log"
    cmd = [sys.executable, "-m", "flows.serve"]
    child_env = {**prefect_env(data_dir, env), "PREFECT_API_URL": server.api_url}
    child_env.setdefault("PREFECT_RUNNER_POLL_FREQUENCY", RUNNER_POLL_S)
    proc = _spawn(cmd, child_env, log)
    _write_record(data_dir, SERVE, {"pid": proc.pid, "cmd": cmd, "api_url": server.api_url, "log": str(log),
                                    "tandem_env": tandem_env, "started_at": time.time()})
    say(f"starting the serve process (registers the deployments of prefect.yaml; log: {log})")
    return True


# -- stopping --------------------------------------------------------------------------
def stop_process(data_dir: Path, name: str, grace_s: float = STOP_GRACE_S) -> int | None:
    """Stop the recorded process ``name`` and its children (its session), by pid; drop the record.

    Returns:
        The pid stopped, or None when nothing recorded was running.
    """
    record = read_record(data_dir, name)
    pid = int(record["pid"]) if is_running(record) else None
    if pid is not None:
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
        try:  # reap it when it is our own child (make run's process), so it leaves no zombie
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    _drop_record(data_dir, name)
    return pid


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # started with start_new_session: its process group id is its pid
    except ProcessLookupError:
        pass


def stop(data_dir: Path, say: Callable[[str], None] = print) -> list[int]:
    """Stop what ``make run`` started for ``data_dir`` (the serve process, then the server); the data stays."""
    stopped = []
    for name, what in ((SERVE, "serve process"), (SERVER, "Prefect server")):
        pid = stop_process(data_dir, name)
        if pid is not None:
            stopped.append(pid)
            say(f"stopped the {what} (pid {pid})")
    if not stopped:
        say(f"nothing to stop: no server or serve process recorded as running under {run_dir(data_dir)}")
    return stopped


def status(data_dir: Path, say: Callable[[str], None] = print) -> None:
    """One line per recorded process: running or not, pid, URL."""
    for name in (SERVER, SERVE):
        record = read_record(data_dir, name)
        if is_running(record):
            say(f"{name}: running, pid {record['pid']}, {record['api_url']} (log: {record['log']})")
        else:
            say(f"{name}: not running")


def _data_dir() -> Path:
    from infra.settings import get_settings

    return get_settings().data_dir


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m infra.localserver", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("up", "serve", "stop", "status"),
                        help="up: the server; serve: the server and the serve process; stop: both; status: what runs")
    parser.add_argument("--port", type=int, default=None, help="port to prefer (default: PREFECT_SERVER_API_PORT or 4200)")
    args = parser.parse_args(argv)
    data_dir = _data_dir()
    if args.command == "stop":
        stop(data_dir)
        return 0
    if args.command == "status":
        status(data_dir)
        return 0
    try:
        server = ensure_server(data_dir, port=args.port, say=print)
        if args.command == "serve":
            ensure_serve(data_dir, server, say=print)
    except LocalServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Prefect UI: {server.ui_url}" + ("" if server.external else "  (stop it with `make stop`)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
