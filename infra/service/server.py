"""The service in a background thread of this process: a real uvicorn server on a free loopback port.

For the test suite and the benchmark (``tandem serve-assistant`` runs uvicorn
in the foreground instead).
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import uvicorn


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app, *, timeout_s: float = 60.0):
    """Serve ``app`` on 127.0.0.1 until the block ends; yields the base URL.

    ``log_config=None``: uvicorn leaves logging alone, so its access and error
    records reach the root logger (and pytest's ``caplog``) like every other.
    """
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=True, lifespan="on",
                            server_header=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server stopped before it started (see the log above)")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the test server did not start within {timeout_s:.0f} s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
