"""A FAKE OpenAI-compatible chat-completions server, for tests only.

It stands in for a remote LLM endpoint (vLLM, Ollama, OpenAI...), which cannot
run here: no GPU, no network. It speaks just enough of
``POST /v1/chat/completions`` for the openai SDK to parse its replies, answers
deterministically, and can be switched into the failure modes a real endpoint
shows (slow, HTTP 500, a body that is not JSON).

Example:
    with FakeChatServer() as server:
        generator = EndpointGenerator(base_url=server.base_url, model="m", api_key=None)
        server.mode = "slow"
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_DOC_ID = re.compile(r"\[([^\[\]\s]+(?:/|\.)[^\[\]\s]*)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class FakeChatServer:
    """A fake chat-completions endpoint on 127.0.0.1, started and stopped as a context manager.

    Attributes:
        mode: ``"ok"`` (deterministic answer), ``"slow"`` (wait ``delay_s``,
            then answer), ``"error"`` (HTTP 500 with a JSON error body) or
            ``"garbage"`` (HTTP 200, ``application/json``, whose body is not JSON).
        delay_s: How long ``"slow"`` waits before answering.
        reply: When set, ``"ok"`` answers exactly this text instead of the
            built-in answer (to script citations a test needs).
        model: When set, the model the replies report (a provider that swapped
            the model behind the name); None echoes the requested model.
        requests: JSON bodies received on ``/v1/chat/completions``, in order.
        authorizations: the ``Authorization`` headers received, in order.

    In ``"error"`` and ``"garbage"`` modes the reply echoes the request's
    ``Authorization`` header, as careless proxies and servers do, so a test
    can show that the caller scrubs the key from what it reports.
    """

    def __init__(self, mode: str = "ok", *, delay_s: float = 5.0) -> None:
        self.mode = mode
        self.delay_s = delay_s
        self.reply: str | None = None
        self.model: str | None = None
        self._requests: list[dict[str, Any]] = []
        self._authorizations: list[str] = []
        self._lock = threading.Lock()
        # Set on exit so a "slow" handler stops waiting instead of outliving the test.
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        if self._server is None:
            raise RuntimeError("FakeChatServer is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A copy of the request bodies received so far."""
        with self._lock:
            return list(self._requests)

    @property
    def authorizations(self) -> list[str]:
        """A copy of the ``Authorization`` headers received so far."""
        with self._lock:
            return list(self._authorizations)

    def __enter__(self) -> FakeChatServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-chat-server", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _record(self, body: dict[str, Any], authorization: str) -> None:
        with self._lock:
            self._requests.append(body)
            self._authorizations.append(authorization)

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages") or []
        contents = [m.get("content") if isinstance(m.get("content"), str) else "" for m in messages]
        prompt = next((c for m, c in zip(reversed(messages), reversed(contents)) if m.get("role") == "user"), "")
        text = self.reply if self.reply is not None else _built_in_answer(prompt)
        prompt_tokens = sum(len(c.split()) for c in contents)
        completion_tokens = len(text.split())
        return {
            "id": f"chatcmpl-fake-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model or body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def _built_in_answer(prompt: str) -> str:
    """The first context sentence, cited with the first doc id of the context.

    Both come from after ``Context:`` when the prompt has one, so the answer
    cites the document it quotes rather than an example id in the instructions.
    """
    _, marker, after = prompt.partition("Context:")
    context = after if marker else prompt
    # Chunks rendered as delimited data (<document id="ID">...</document>) are
    # read like the older "[ID]" headings; the data-not-instructions line before them is skipped.
    if "<document id=" in context:
        context = context[context.index("<document id=") :]
        context = re.sub(r'<document id="([^"]+)">', r"[\1]", context).replace("</document>", " ")
    match = _DOC_ID.search(context)
    prose = _DOC_ID.sub(" ", context)
    words = " ".join(prose.split())
    sentence = _SENTENCE_END.split(words, maxsplit=1)[0].rstrip(".!?") if words else "I could not find this"
    return f"{sentence} [{match.group(1)}]." if match else f"{sentence}."


def _handler_for(server: FakeChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
            pass  # keep pytest output clean

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                return
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(400, {"error": {"message": "request body is not JSON", "type": "invalid_request_error"}})
                return
            authorization = self.headers.get("Authorization") or ""
            server._record(body, authorization)
            mode = server.mode
            if mode == "slow":
                if server._closing.wait(server.delay_s):
                    return
                self._send(200, server._answer(body))
            elif mode == "error":
                message = f"fake internal error for request with Authorization: {authorization}"
                self._send(500, {"error": {"message": message, "type": "server_error", "code": None}})
            elif mode == "garbage":
                # Claims JSON and is not: the nastier case (a proxy's error page
                # with the wrong header, a truncated body).
                page = f"<html>upstream hiccup, this is not json (Authorization: {authorization})"
                self._send_bytes(200, page.encode(), "application/json")
            else:
                self._send(200, server._answer(body))

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            self._send_bytes(status, json.dumps(payload).encode(), "application/json")

        def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test): nothing to answer

    return Handler
