"""The endpoint generator against a fake OpenAI-compatible server, over real HTTP.

The server is ``tests.fakes.chat_server.FakeChatServer`` (a fake: no real LLM
can run here); the client side is the real stack (LlamaIndex's OpenAILike,
the openai SDK, httpx), so timeouts, retries and parsing are exercised for real.
"""

from __future__ import annotations

import socket
import time
import traceback
from collections.abc import Iterator

import pytest

from indexes.generation import Chunk, Generation, GeneratorError
from indexes.prompts import DEFAULT_TEMPLATE, PromptSpec, render
from infra.clients.llm import EndpointGenerator
from tests.fakes.chat_server import FakeChatServer

pytestmark = pytest.mark.integration

MODEL = "fake-model-7b"
API_KEY = "sk-test-SECRET-do-not-leak-0123456789"
QUESTION = "What is the maximum debt-to-income ratio?"
CHUNKS = (
    Chunk("c1", "policy/03-debt-to-income.md", "The maximum debt-to-income ratio is 43 percent. Exceptions need approval.", 0.9),
    Chunk("c2", "ops/runbook.md", "Rerun the scoring flow after a failed load.", 0.5),
)


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    with FakeChatServer() as fake:
        yield fake


def prompt_text() -> str:
    return render(PromptSpec(name="rag-answer", version=1, template=DEFAULT_TEMPLATE), QUESTION, CHUNKS)


def generator(server: FakeChatServer, **kwargs) -> EndpointGenerator:
    return EndpointGenerator(base_url=server.base_url, model=MODEL, api_key=API_KEY, **kwargs)


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ok_answer_with_tokens_citations_and_one_request(server: FakeChatServer) -> None:
    # Given a healthy endpoint and a rendered prompt
    prompt = prompt_text()

    # When the generator answers
    result = generator(server).generate(QUESTION, CHUNKS, prompt, {})

    # Then it returns the endpoint's answer, cited, with the endpoint's own token counts
    assert isinstance(result, Generation)
    assert result.text == "The maximum debt-to-income ratio is 43 percent [policy/03-debt-to-income.md]."
    assert result.answered
    assert result.citations == ("policy/03-debt-to-income.md",)
    assert result.model == MODEL
    assert result.prompt_tokens == len(prompt.split())
    assert result.completion_tokens == len(result.text.split())
    # And the endpoint received exactly one request: the prompt as the only user message, for the configured model
    assert len(server.requests) == 1
    body = server.requests[0]
    assert body["model"] == MODEL
    assert body["messages"] == [{"role": "user", "content": prompt}]
    assert body["temperature"] == 0.0
    assert body["max_tokens"] == 512


def test_citations_are_restricted_to_the_retrieved_documents(server: FakeChatServer) -> None:
    # Given an endpoint that also cites a document it was not given
    server.reply = "Rerun it [ops/runbook.md]. The ratio is 43 percent [policy/invented.md] [policy/03-debt-to-income.md]."

    # When the generator answers
    result = generator(server).generate(QUESTION, CHUNKS, prompt_text(), {})

    # Then only the retrieved documents are kept as citations, in answer order
    assert result.citations == ("ops/runbook.md", "policy/03-debt-to-income.md")
    assert result.text == server.reply


def test_prompt_version_params_override_temperature_and_max_tokens(server: FakeChatServer) -> None:
    # Given a generator with defaults and a prompt version that sets its own knobs
    gen = generator(server, temperature=0.0, max_tokens=512)

    # When it answers with those params, then without
    gen.generate(QUESTION, CHUNKS, prompt_text(), {"temperature": 0.7, "max_tokens": 64, "max_sentences": 2})
    gen.generate(QUESTION, CHUNKS, prompt_text(), {})

    # Then the first request carries the overrides and the second the defaults
    first, second = server.requests
    assert (first["temperature"], first["max_tokens"]) == (0.7, 64)
    assert (second["temperature"], second["max_tokens"]) == (0.0, 512)
    assert "max_sentences" not in first


def test_a_slow_endpoint_times_out_once_without_retries(server: FakeChatServer) -> None:
    # Given an endpoint slower than the generator's timeout
    server.mode = "slow"
    server.delay_s = 5.0
    gen = generator(server, timeout_s=1.0)

    # When the generator asks
    started = time.monotonic()
    with pytest.raises(GeneratorError) as info:
        gen.generate(QUESTION, CHUNKS, prompt_text(), {})
    elapsed = time.monotonic() - started

    # Then it fails after one timeout (no hidden retries), naming the endpoint and the cause
    message = str(info.value)
    assert "timed out" in message
    assert server.base_url in message and MODEL in message
    assert elapsed < 4.0
    assert len(server.requests) == 1


def test_an_http_error_names_the_endpoint_and_status(server: FakeChatServer) -> None:
    # Given an endpoint that answers HTTP 500
    server.mode = "error"

    # When the generator asks
    with pytest.raises(GeneratorError) as info:
        generator(server).generate(QUESTION, CHUNKS, prompt_text(), {})

    # Then the error names the URL, the model and the status, and the request was not retried
    message = str(info.value)
    assert server.base_url in message and MODEL in message
    assert "HTTP 500" in message
    assert len(server.requests) == 1


def test_a_reply_that_is_not_json_is_an_error(server: FakeChatServer) -> None:
    # Given an endpoint whose 200 reply is not JSON
    server.mode = "garbage"

    # When the generator asks
    with pytest.raises(GeneratorError) as info:
        generator(server).generate(QUESTION, CHUNKS, prompt_text(), {})

    # Then it is reported as a malformed reply from that endpoint
    message = str(info.value)
    assert "malformed" in message
    assert server.base_url in message


def test_a_refused_connection_is_an_error() -> None:
    # Given a base URL where nothing listens
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    gen = EndpointGenerator(base_url=base_url, model=MODEL, api_key=API_KEY, timeout_s=2.0)

    # When the generator asks
    with pytest.raises(GeneratorError) as info:
        gen.generate(QUESTION, CHUNKS, prompt_text(), {})

    # Then the error names the endpoint and says it could not be reached
    message = str(info.value)
    assert base_url in message
    assert "could not be reached" in message


@pytest.mark.parametrize("mode", ["error", "garbage", "slow"])
def test_the_api_key_never_appears_in_errors(server: FakeChatServer, mode: str) -> None:
    # Given a failing endpoint and a generator holding a secret key
    server.mode = mode
    server.delay_s = 3.0

    # When the generator fails
    with pytest.raises(GeneratorError) as info:
        generator(server, timeout_s=0.5).generate(QUESTION, CHUNKS, prompt_text(), {})

    # Then the endpoint did receive the key (and echoed it, except when it timed out)
    assert server.authorizations and all(API_KEY in a for a in server.authorizations)
    # ... but neither the message, nor its chained cause or context, nor the traceback shows it
    assert API_KEY not in str(info.value)
    assert API_KEY not in repr(info.value)
    assert API_KEY not in str(info.value.__cause__)
    assert API_KEY not in str(info.value.__context__)
    assert API_KEY not in "".join(traceback.format_exception(info.value))
