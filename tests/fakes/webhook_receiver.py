"""A FAKE webhook receiver (Slack-like incoming webhook), for tests only.

It stands in for Slack or an on-call tool, which cannot be reached here. It
listens on 127.0.0.1, records every POST (path and JSON body), and answers
from a script: e.g. ``[500, 500, 200]`` fails twice, then accepts; after the
script runs out it keeps answering with its last status.

Example:
    with FakeWebhookReceiver([500, 500, 200]) as receiver:
        url = receiver.url("/services/T000/B000/secret-token")
        ...
        assert len(receiver.requests) == 3
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeWebhookReceiver:
    """Records POSTs and answers with scripted HTTP statuses (a context manager).

    Attributes:
        requests: ``(path, body)`` of each POST received, in order; the body is
            parsed JSON (or the raw text when it is not JSON).
    """

    def __init__(self, statuses: list[int] | None = None) -> None:
        self._statuses = list(statuses or [200])
        self._requests: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def requests(self) -> list[tuple[str, Any]]:
        with self._lock:
            return list(self._requests)

    def url(self, path: str = "/hook") -> str:
        assert self._server is not None, "start the receiver first (with FakeWebhookReceiver() as r: ...)"
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def _next_status(self) -> int:
        with self._lock:
            return self._statuses.pop(0) if len(self._statuses) > 1 else self._statuses[0]

    def __enter__(self) -> "FakeWebhookReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8", "replace")
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw
                with receiver._lock:
                    receiver._requests.append((self.path, body))
                status = receiver._next_status()
                reply = b"ok" if status < 300 else b"server error"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:  # keep the test output (and stderr) clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
