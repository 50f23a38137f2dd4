"""The OpenAI-compatible generator: any chat-completions endpoint through LlamaIndex's ``OpenAILike``.

vLLM, Ollama, TGI, a LiteLLM proxy and OpenAI itself all speak the same
``POST {base_url}/chat/completions``, so one adapter serves them all. The
caller hands over the prompt already rendered and PII-redacted; this module
only sends it, reads the answer and its token counts back, and turns every
failure into a ``GeneratorError`` that says which endpoint failed and why.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from indexes.generation import Chunk, Generation, GeneratorError
from indexes.rag_metrics import extract_citations


class EndpointGenerator:
    """Any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, TGI, LiteLLM proxy, OpenAI) through LlamaIndex's OpenAILike client.

    One call is one HTTP request: retries are off both in LlamaIndex and in
    the openai SDK underneath, so a dead endpoint costs one ``timeout_s``
    and the gateway can fall back to the offline generator quickly.

    Args:
        base_url: The API root, e.g. ``http://127.0.0.1:8000/v1``.
        model: The model name the endpoint serves.
        api_key: Bearer token; ``None`` for endpoints that need none.
        timeout_s: Seconds allowed for connecting and for reading the reply.
        max_tokens: Default cap on completion tokens (a prompt version may override it).
        temperature: Default sampling temperature (a prompt version may override it).
        context_window: The model's context window, for LlamaIndex's metadata.
    """

    name = "endpoint"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None,
        timeout_s: float = 20.0,
        max_tokens: int = 512,
        temperature: float = 0.0,
        context_window: int = 8192,
    ) -> None:
        # Imported here: the offline profile imports this module without ever
        # calling an endpoint, and the openai SDK is slow to import.
        from llama_index.llms.openai_like import OpenAILike

        self._base_url = base_url.rstrip("/")
        self._model = model
        self._api_key = api_key
        self._timeout_s = float(timeout_s)
        self._max_tokens = int(max_tokens)
        self._temperature = float(temperature)
        self._llm = OpenAILike(
            model=model,
            api_base=self._base_url,
            # The openai SDK refuses an empty key; local servers ignore it.
            api_key=api_key or "not-needed",
            is_chat_model=True,
            timeout=self._timeout_s,
            # 0 disables both retry layers: LlamaIndex's tenacity decorator
            # (skipped when max_retries <= 0) and the openai client's own
            # (it receives max_retries=0 through _get_credential_kwargs).
            max_retries=0,
            # Left unset on purpose: OpenAI._get_model_kwargs writes the
            # instance's max_tokens over a per-call one, which would make a
            # prompt version's max_tokens silently ineffective. It is sent
            # per call instead (see generate).
            max_tokens=None,
            temperature=self._temperature,
            context_window=context_window,
        )

    @property
    def model(self) -> str:
        """The configured model name (what the answers are logged and priced under)."""
        return self._model

    def generate(self, question: str, chunks: Sequence[Chunk], prompt_text: str, params: dict) -> Generation:
        """Send the rendered prompt as one user message and read the answer back.

        Args:
            question: The user's question (already inside ``prompt_text``; unused here).
            chunks: The retrieved chunks; only their documents may be cited.
            prompt_text: The rendered, PII-redacted prompt.
            params: The prompt version's knobs; ``temperature`` and ``max_tokens``
                override the defaults for this call, others are ignored.

        Returns:
            The answer, its citations restricted to the chunks' documents, and
            the token counts the endpoint reported.

        Raises:
            GeneratorError: the endpoint timed out, refused the connection,
                answered an HTTP error, or sent a reply that is not a chat completion.
        """
        from llama_index.core.llms import ChatMessage

        call_kwargs = {
            "temperature": float(params.get("temperature", self._temperature)),
            "max_tokens": int(params.get("max_tokens", self._max_tokens)),
        }
        try:
            response = self._llm.chat([ChatMessage(role="user", content=prompt_text)], **call_kwargs)
        except Exception as exc:  # the SDK, httpx and pydantic each raise their own; all mean "no answer"
            # ``from None``: the SDK's exception may quote the server's error body,
            # which can echo the API key; the scrubbed one-line description is all
            # that travels (and gets logged) from here.
            message = self._describe(exc)
        else:
            message = None
        if message is not None:
            raise GeneratorError(message) from None

        raw = response.raw
        if isinstance(raw, str) or raw is None:
            # The openai SDK hands back the body as text when it is not JSON
            # and LlamaIndex then fails on it; a str here means the same.
            raise GeneratorError(f"{self._where()} sent a reply that is not a chat completion")
        text = (response.message.content or "").strip()
        prompt_tokens, completion_tokens = _usage(raw)
        if prompt_tokens is None or completion_tokens is None:
            # Some servers (older Ollama, TGI) omit usage: estimate ~4/3 tokens
            # per word so budgets still move, rather than logging a free call.
            prompt_tokens = max(1, len(prompt_text.split()) * 4 // 3)
            completion_tokens = max(1, len(text.split()) * 4 // 3)
        allowed = {c.doc_id for c in chunks}
        citations = tuple(doc for doc in extract_citations(text) if doc in allowed)
        return Generation(
            text=text,
            citations=citations,
            prompt_tokens=int(prompt_tokens),
            completion_tokens=int(completion_tokens),
            # What the endpoint reports serving, not what was asked for: a provider
            # that swaps the model behind a name shows up in the request events.
            model=_reported_model(raw) or self._model,
            answered=bool(text),
        )

    def _where(self) -> str:
        from infra.masking import mask_url  # a base URL may carry user:password@

        return f"endpoint {mask_url(self._base_url)} (model {self._model})"

    def _describe(self, exc: BaseException) -> str:
        """One line naming the endpoint and the cause, with the api key scrubbed."""
        import httpx
        import openai

        if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException)):
            message = f"{self._where()} timed out after {self._timeout_s:g} s"
        elif isinstance(exc, (openai.APIConnectionError, httpx.TransportError)):
            cause = exc.__cause__ or exc
            message = f"{self._where()} could not be reached: {type(cause).__name__}: {cause}"
        elif isinstance(exc, openai.APIStatusError):
            message = f"{self._where()} answered HTTP {exc.status_code}: {_short(exc.message)}"
        elif isinstance(exc, IndexError):
            # LlamaIndex reads choices[0] without checking.
            message = f"{self._where()} returned no choices"
        elif isinstance(exc, (json.JSONDecodeError, AttributeError, TypeError, ValueError, KeyError)):
            # Invalid JSON, or JSON / text that is not a chat completion
            # (LlamaIndex then trips over a str or a missing field).
            message = f"{self._where()} sent a malformed reply: {type(exc).__name__}: {_short(str(exc))}"
        else:
            message = f"{self._where()} failed: {type(exc).__name__}: {_short(str(exc))}"
        if self._api_key:
            # An endpoint may echo the key back in its error body.
            message = message.replace(self._api_key, "***")
        return message


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _usage(raw: Any) -> tuple[int | None, int | None]:
    """Prompt and completion tokens from a ChatCompletion object or its dict form."""
    usage = raw.get("usage") if isinstance(raw, dict) else getattr(raw, "usage", None)
    if usage is None:
        return None, None
    if isinstance(usage, dict):
        return usage.get("prompt_tokens"), usage.get("completion_tokens")
    return getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)


def _reported_model(raw: Any) -> str | None:
    """The ``model`` a ChatCompletion (object or dict) says answered, cleaned; None when absent."""
    model = raw.get("model") if isinstance(raw, dict) else getattr(raw, "model", None)
    if not isinstance(model, str) or not model.strip():
        return None
    return "".join(ch for ch in model.strip() if ch.isprintable())[:200] or None
