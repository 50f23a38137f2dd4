"""The HTTP service: the question-answering gateway behind an OpenAI-compatible API.

Endpoints:

* ``POST /v1/chat/completions``: the last ``user`` message is the question;
  the answer comes back as an OpenAI chat completion whose ``id`` is the
  request event's id, with the citations in ``citations`` and Tandem's own
  facts (refused, prompt and index versions, cache hit) in ``tandem``.
* ``POST /v1/feedback``: good or bad (and a note) on one of the caller's
  tenant's requests.
* ``GET /v1/models``: the one model, ``tandem`` (some clients list models first).
* ``GET /healthz``: no key needed; whether the production prompt and the
  live index are there. Versions only, nothing secret.

Every other request carries ``Authorization: Bearer <key>``
(``tandem keys create``). The key decides the tenant (a client cannot pick
one) and its requests-per-minute limit. Unknown, revoked and malformed keys
all get the same 401.

A refusal (budget spent, injection, over-long question) is a 200: the OpenAI
SDKs retry 429 and 5xx on their own, and a budget that resets at midnight or
a question that will be refused again is not worth retrying. The refusal
text is the message's ``content`` (clients that only print the content show
it) and also its ``refusal`` (the field OpenAI's API uses for refusals);
``tandem.refused`` and ``tandem.refusal_reason`` say why. 429 is kept for
the per-key rate limit, where waiting ``Retry-After`` seconds does help.

The gateway is synchronous and CPU-bound: each request runs it in a worker
thread, at most ``service.max_concurrency`` at once. One gateway serves all
requests, so the embedding model, the prompt and the index stay loaded.

Nothing here logs a key or a question: log lines carry the request id, the
key id and the tenant; the gateway stores only the redacted question.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Callable

import anyio
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from infra.rag.gateway import AskResult, EventNotWritten, Gateway, NotReady
from infra.settings import TandemSettings
from infra.stores.api_keys import ApiKey, ApiKeyStore
from infra.stores.feedback import FeedbackStore, UnknownRequest
from infra.stores.opsdb import llm_requests
from infra.stores.requests import for_log

log = logging.getLogger(__name__)

# Guardrail flags that explain a refusal, in the order they are looked for.
REFUSAL_REASONS = (
    ("budget:exceeded", "budget"),
    ("injection:question", "injection"),
    ("input:too-long", "too_long"),
    ("leak:canary", "leak"),
)


class ApiError(Exception):
    """An error answered in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param, self.headers = status, message, type, code, param, headers

    def response(self) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


UNAUTHORIZED = dict(
    status=401, message="invalid or missing API key (send Authorization: Bearer <key>)", code="invalid_api_key",
)


# -- request bodies --------------------------------------------------------------------
class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # [{"type": "text", "text": ...}, ...]: the text parts, in order
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """OpenAI's chat request; sampling knobs (``temperature``, ``max_tokens``, ...) are accepted and not used:
    the production prompt's own knobs decide."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False

    def question(self) -> str:
        """The last user message's text (earlier turns are not used: each question is answered on its own)."""
        if self.stream:
            raise ApiError(400, "streaming is not supported: send \"stream\": false", param="stream", code="unsupported")
        for message in reversed(self.messages):
            if message.role == "user":
                text = message.text()
                if not text.strip():
                    raise ApiError(400, "the last user message is empty", param="messages")
                return text
        raise ApiError(400, "no message has role \"user\": the last user message is the question", param="messages")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=64)
    rating: str
    note: str | None = Field(None, max_length=20_000)


# -- the prompt, kept warm ---------------------------------------------------------------
class FreshPrompts:
    """The prompt registry, with the alias's prompt reused and re-checked in the background.

    Reading ``production`` from MLflow costs two registry queries (the alias,
    then the version). A version never changes once registered, so each is
    read once; the alias is read again when its answer is older than ``ttl_s``
    (``service.prompt_refresh_s``), by a background thread, while requests go
    on with the answer they have: no request waits on MLflow but the first.
    A prompt promotion or rollback reaches the service within ``ttl_s`` plus
    one registry read; while the registry cannot be read, the last prompt is
    kept (and the failure logged). "Not there yet" is asked again on every call.
    Every other attribute is the registry's own.
    """

    def __init__(self, registry, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.registry, self.ttl_s, self._clock = registry, ttl_s, clock
        self._seen: dict[str, tuple[float, Any]] = {}
        self._versions: dict[int, Any] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    def by_alias(self, alias: str):
        seen = self._seen.get(alias)
        if seen is not None:
            if self._clock() - seen[0] >= self.ttl_s:
                self._refresh_later(alias)
            return seen[1]
        with self._lock:  # nothing yet: one reader asks; the others wait for its answer
            seen = self._seen.get(alias)
            if seen is not None:
                return seen[1]
            return self._read(alias)

    def _read(self, alias: str):
        """Read the alias (and its version, once per version); remember a found prompt."""
        version = self.registry.alias_version(alias)
        if version is None:
            self._seen.pop(alias, None)
            return None
        spec = self._versions.get(version)
        if spec is None:
            spec = self._versions[version] = self.registry.get(version)
        self._seen[alias] = (self._clock(), spec)
        return spec

    def _refresh_later(self, alias: str) -> None:
        with self._lock:
            if alias in self._refreshing:
                return
            self._refreshing.add(alias)
        threading.Thread(target=self._refresh, args=(alias,), name=f"prompt-refresh-{alias}", daemon=True).start()

    def _refresh(self, alias: str) -> None:
        try:
            self._read(alias)  # outside the lock: requests go on meanwhile
        except Exception as exc:  # keep serving the prompt we have; try again after ttl_s
            log.warning("could not re-read the prompt alias %r, keeping the current prompt: %s", alias, for_log(exc))
            with self._lock:
                seen = self._seen.get(alias)
                if seen is not None:
                    self._seen[alias] = (self._clock(), seen[1])
        finally:
            with self._lock:
                self._refreshing.discard(alias)

    def __getattr__(self, name: str):
        return getattr(self.registry, name)


def build_service_gateway(settings: TandemSettings, **kwargs) -> Gateway:
    """The gateway the service runs: ``infra.factory.build_gateway`` with the prompt kept for ``prompt_refresh_s``.

    Raises:
        IndexLocked: Qdrant local mode, and another process holds the index folder.
    """
    from infra.factory import build_gateway

    gateway = build_gateway(settings, **kwargs)
    if settings.service.prompt_refresh_s > 0:
        gateway.prompts = FreshPrompts(gateway.prompts, settings.service.prompt_refresh_s)
    # A collection that becomes live while the service runs (a reindex) has its chunks screened in
    # the background, instead of by the first questions that retrieve them.
    gateway.prime_in_background = True
    return gateway


def readiness(gateway: Gateway) -> dict[str, Any]:
    """What ``/healthz`` reports: whether the production prompt and the live index are there."""
    alias = gateway.settings.prompt.production_alias
    prompt = gateway.prompts.by_alias(alias)
    collection = gateway.index.live_collection()
    ready = prompt is not None and collection is not None
    return {
        "status": "ok" if ready else "not_ready",
        "prompt": {"loaded": prompt is not None, "name": gateway.settings.prompt.name, "alias": alias,
                   "version": None if prompt is None else str(prompt.version)},
        "index": {"loaded": collection is not None, "alias": gateway.settings.index.live_alias, "collection": collection},
        "generator": "endpoint" if gateway.endpoint is not None else "offline",
    }


def warm_up(gateway: Gateway) -> dict[str, Any]:
    """Do once what the first request would otherwise pay for; writes no event and charges nobody.

    The guardrails build their detectors lazily, the model's first pass is
    slow, and the generator embeds the sentences of the chunks it sees: one
    answer through ``answer_with`` (no cache, no budget, no event) loads them,
    then the live collection's chunks are screened, redacted and their
    sentences embedded in a background thread (``Gateway.prime_later``: what
    the first question to retrieve each chunk would otherwise pay; 158 chunks
    took 5-16 s on 2 busy cores, so a large corpus must not hold the start).
    """
    state = readiness(gateway)
    gateway.guardrails.check("warm up")
    gateway.guardrails.redact("warm up")
    if state["status"] == "ok":
        prompt, collection = gateway.live_versions()
        gateway.answer_with("What does this service answer questions about?", prompt=prompt, collection=collection, generator="offline")
        gateway.prime_later(collection)
    return state


# -- the app -----------------------------------------------------------------------------
def create_app(settings: TandemSettings, *, gateway: Gateway, keys: ApiKeyStore, limiter=None,
               feedback: FeedbackStore | None = None) -> FastAPI:
    """The service around one warm gateway.

    Args:
        settings: Tandem's settings (``service.*``, ``prompt.*``).
        gateway: Built once (``build_service_gateway``), shared by every request.
        keys: The API keys (the ops database).
        limiter: Per-key rate limiter (default: a new ``RateLimiter``).
        feedback: The feedback store (default: on the keys' database, notes redacted by the gateway's guardrails).

    Returns:
        The FastAPI application; serve it with one uvicorn worker.
    """
    from infra.service.limits import RateLimiter

    cfg = settings.service
    limiter = limiter or RateLimiter()
    feedback = feedback or FeedbackStore(keys.engine, redact=lambda text: gateway.guardrails.redact(text).text)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.workers = anyio.CapacityLimiter(cfg.max_concurrency)
        state = await anyio.to_thread.run_sync(warm_up, gateway)
        if state["status"] != "ok":
            log.warning("not ready yet: prompt loaded %s, index loaded %s; questions get 503 until both are (see /healthz)",
                        state["prompt"]["loaded"], state["index"]["loaded"])
        yield

    app = FastAPI(title="Tandem assistant", version="1", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.gateway = gateway

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Says where and what, never echoes the input (it may be a whole document).
        problems = ["/".join(str(p) for p in e.get("loc", ()) if p != "body") + f": {e.get('msg')}" for e in exc.errors()]
        return ApiError(400, "invalid request body: " + "; ".join(problems)[:1_000], code="invalid_body").response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return ApiError(exc.status_code, str(exc.detail), code="not_found" if exc.status_code == 404 else None,
                        headers=getattr(exc, "headers", None)).response()

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the traceback after this; the client gets the OpenAI shape, not a text page.
        return ApiError(500, "internal error (logged on the server)", type="server_error", code="internal_error").response()

    @app.middleware("http")
    async def _bounded_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > cfg.max_body_bytes):
            return ApiError(413, f"the request body is larger than {cfg.max_body_bytes:,} bytes", code="body_too_large").response()
        return await call_next(request)

    def caller(request: Request) -> ApiKey:
        """The request's API key, after its rate limit; 401 / 429 / 503 otherwise (sync: runs in a worker thread)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            key = keys.verify(token.strip()) if scheme.lower() == "bearer" else None
        except sa.exc.SQLAlchemyError as exc:
            log.error("API key check failed: the ops database did not answer: %s", for_log(type(exc).__name__))
            raise ApiError(503, "the service cannot check API keys right now; try again shortly",
                           type="service_unavailable", code="keys_unavailable") from None
        if key is None:
            raise ApiError(**UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
        per_minute = key.rate_limit_per_minute or cfg.rate_limit_per_minute
        wait = limiter.take(key.key_id, per_minute)
        if wait is not None:
            log.info("rate limited: key %s (tenant %s), %d requests per minute", key.key_id, key.tenant, per_minute)
            raise ApiError(429, f"rate limit reached for this API key ({per_minute} requests per minute); retry in {wait} s",
                           type="rate_limit_error", code="rate_limit_exceeded", headers={"Retry-After": str(wait)})
        return key

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        try:
            state = await anyio.to_thread.run_sync(readiness, gateway)
        except Exception as exc:  # a registry or index that cannot be read: not ready, and say which kind of failure
            log.error("health check failed: %s", for_log(type(exc).__name__))
            return JSONResponse({"status": "error", "error": type(exc).__name__}, status_code=503)
        return JSONResponse(state, status_code=200 if state["status"] == "ok" else 503)

    @app.get("/v1/models")
    def models(key: ApiKey = Depends(caller)) -> JSONResponse:
        """One model, the assistant (some clients list models before they ask)."""
        return JSONResponse({"object": "list", "data": [{"id": "tandem", "object": "model", "created": 0, "owned_by": "tandem"}]})

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest, key: ApiKey = Depends(caller)) -> JSONResponse:
        question = body.question()
        ask = partial(gateway.ask, question, tenant=key.tenant, use_case=cfg.use_case)
        try:
            result: AskResult = await anyio.to_thread.run_sync(ask, limiter=app.state.workers)
        except NotReady as exc:  # its message says what to run; no secret in it
            raise ApiError(503, str(exc), type="service_unavailable", code="not_ready") from None
        except EventNotWritten:
            raise ApiError(503, "the request could not be recorded; try again shortly", type="service_unavailable",
                           code="event_not_written") from None
        except ValueError as exc:  # an empty question after cleaning
            raise ApiError(400, str(exc), param="messages") from None
        event = result.event
        log.info("request %s: key %s, tenant %s, %s%s, %.0f ms", event.request_id, key.key_id, key.tenant, event.kind,
                 " (cache hit)" if event.cache_hit else "", event.latency_ms or 0)
        return JSONResponse(completion(result))

    @app.post("/v1/feedback")
    def post_feedback(body: FeedbackRequest, key: ApiKey = Depends(caller)) -> JSONResponse:
        rating = body.rating.strip().lower()
        request_id = body.request_id.strip()
        with keys.engine.connect() as conn:
            tenant = conn.execute(sa.select(llm_requests.c.tenant).where(llm_requests.c.request_id == request_id)).scalar()
        if tenant != key.tenant:  # another tenant's request is as unknown as a made-up one
            raise ApiError(404, "no request with this id for your API key's tenant", param="request_id", code="unknown_request")
        try:
            row = feedback.record(request_id, rating, actor=f"key:{key.key_id}", note=body.note)
        except UnknownRequest:
            raise ApiError(404, "no request with this id for your API key's tenant", param="request_id", code="unknown_request") from None
        except ValueError as exc:
            raise ApiError(400, str(exc), param="rating") from None
        log.info("feedback %s on request %s: key %s, tenant %s", row.rating, row.request_id, key.key_id, key.tenant)
        return JSONResponse({"object": "feedback", "request_id": row.request_id, "rating": row.rating,
                             "note_stored": row.note is not None, "at": row.at.isoformat()})

    return app


def completion(result: AskResult) -> dict[str, Any]:
    """An ``AskResult`` as an OpenAI chat completion, plus ``citations`` and ``tandem``."""
    event = result.event
    flags = list(event.guardrail_flags)
    reason = next((name for flag, name in REFUSAL_REASONS if flag in flags), "other") if result.refused else None
    return {
        "id": event.request_id,
        "object": "chat.completion",
        "created": int(event.at.timestamp()),
        "model": event.model or f"tandem-{event.generator or 'offline'}",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": result.answer, "refusal": result.answer if result.refused else None},
            "finish_reason": "stop",
            "logprobs": None,
        }],
        "usage": {"prompt_tokens": event.prompt_tokens, "completion_tokens": event.completion_tokens, "total_tokens": event.total_tokens},
        "citations": list(result.citations),
        "tandem": {
            "request_id": event.request_id,
            "tenant": event.tenant,
            "refused": result.refused,
            "refusal_reason": reason,
            "kind": event.kind,
            "prompt_name": event.prompt_name,
            "prompt_version": event.prompt_version,
            "index_version": event.index_version,
            "generator": event.generator,
            "cache_hit": event.cache_hit,
            "budget_state": event.budget_state,
            "flags": flags,
            "latency_ms": event.latency_ms,
        },
    }
