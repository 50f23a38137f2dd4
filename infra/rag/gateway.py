"""The question-answering gateway: not a flow, a composition at request time.

``Gateway.ask`` runs, for one question:

1. PII redaction of the question (nothing downstream ever sees the raw text);
2. the prompt-injection check on the question (flagged -> refused);
3. the live versions: prompt ``production`` (MLflow) and ``docs-live`` (Qdrant);
4. routing (offline or endpoint) and the tenant's daily token budget;
5. the response cache, keyed on (question, prompt version, index version, generator);
6. retrieval, the injection filter on retrieved chunks, PII redaction of the
   chunks, the prompt, the generator (endpoint failures fall back to offline);
7. one structured event in the ops database, whatever happened.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from indexes.generation import Chunk, ExtractiveGenerator, Generation, GeneratorError
from indexes.guardrails import check_injection, filter_chunks, redact_pii
from indexes.policy import budget_state, cache_key, cost_usd, route
from indexes.prompts import PromptSpec, render
from infra.clients.embedding import Embedder
from infra.clients.mlflow_prompts import PromptRegistry
from infra.clients.qdrant_index import Retriever, VectorIndex
from infra.settings import TandemSettings
from infra.stores.requests import RequestEvent, RequestLog, ResponseCache

log = logging.getLogger(__name__)

REFUSAL_INJECTION = "I can't help with that request: it looks like an attempt to change my instructions."


class NotReady(RuntimeError):
    """The gateway has no production prompt or no live index yet; the message says what to run."""


@dataclass
class Answer:
    """One answer before bookkeeping: what the gateway and the evaluation share."""

    text: str
    citations: list[str]
    chunks: list[Chunk]
    generation: Generation | None
    generator: str
    retrieval_ms: float
    flags: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class AskResult:
    answer: str
    citations: list[str]
    event: RequestEvent
    refused: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.answer, "citations": self.citations, "refused": self.refused, "event": self.event.to_dict()}


class Gateway:
    """Answers questions from ``docs-live`` through the ``production`` prompt, and logs each one."""

    def __init__(
        self,
        settings: TandemSettings,
        *,
        index: VectorIndex,
        embedder: Embedder,
        prompts: PromptRegistry,
        requests: RequestLog,
        cache: ResponseCache,
        endpoint=None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.prompts = prompts
        self.requests = requests
        self.cache = cache
        self.endpoint = endpoint
        self.offline = ExtractiveGenerator(embed=embedder.embed_cached, count_tokens=embedder.count_tokens)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._retrievers: dict[str, Retriever] = {}

    # -- the shared answer path (also used by the golden-set evaluation) --------
    def retriever(self, collection: str) -> Retriever:
        if collection not in self._retrievers:
            cfg = self.settings.index
            self._retrievers[collection] = Retriever(
                self.index, self.embedder.llama, collection=collection, top_k=cfg.top_k, score_threshold=cfg.score_threshold
            )
        return self._retrievers[collection]

    def answer_with(self, question: str, *, prompt: PromptSpec, collection: str, generator: str) -> Answer:
        """Retrieve, guard, generate: no cache, no budget, no event.

        ``question`` must already be redacted. Endpoint failures fall back to
        the offline generator; the error is kept on the answer.
        """
        flags: list[str] = []
        t0 = time.perf_counter()
        retrieved = self.retriever(collection).retrieve(question)
        retrieval_ms = (time.perf_counter() - t0) * 1000
        kept, dropped = filter_chunks(retrieved, lambda c: c.text)
        if dropped:
            flags.append("injection:chunk")
            log.warning("dropped %d retrieved chunk(s) that look like prompt injection: %s", len(dropped), sorted({c.doc_id for c, _ in dropped}))
        chunks = []
        for c in kept:
            red = redact_pii(c.text)
            if red.found:
                flags.append("pii:chunk")
            chunks.append(Chunk(c.chunk_id, c.doc_id, red.text, c.score))
        prompt_text = render(prompt, question, chunks)
        error = None
        used = generator
        if generator == "endpoint" and self.endpoint is not None:
            try:
                gen = self.endpoint.generate(question, chunks, prompt_text, prompt.params)
            except GeneratorError as exc:
                error = str(exc)
                flags.append("fallback:offline")
                log.warning("endpoint failed, answering offline: %s", exc)
                used = "offline"
                gen = self.offline.generate(question, chunks, prompt_text, prompt.params)
        else:
            used = "offline"
            gen = self.offline.generate(question, chunks, prompt_text, prompt.params)
        red = redact_pii(gen.text)
        if red.found:
            flags.append("pii:answer")
            gen = Generation(red.text, gen.citations, gen.prompt_tokens, gen.completion_tokens, gen.model, gen.answered, gen.sentences)
        return Answer(
            text=gen.text,
            citations=list(gen.citations),
            chunks=chunks,
            generation=gen,
            generator=used,
            retrieval_ms=retrieval_ms,
            flags=sorted(set(flags)),
            error=error,
        )

    def live_versions(self) -> tuple[PromptSpec, str]:
        """The production prompt and the live collection, or NotReady saying what to run."""
        prompt = self.prompts.by_alias(self.settings.prompt.production_alias)
        if prompt is None:
            raise NotReady(
                f"prompt {self.settings.prompt.name!r} has no '{self.settings.prompt.production_alias}' version yet: "
                "run `make run`, or `tandem prompts register` then `tandem prompts promote VERSION`"
            )
        collection = self.index.live_collection()
        if collection is None:
            raise NotReady(f"'{self.settings.index.live_alias}' points at no collection yet: run `tandem reindex` (or `make run`)")
        return prompt, collection

    # -- one request ------------------------------------------------------------
    def ask(self, question: str, *, tenant: str | None = None, use_case: str = "qa") -> AskResult:
        """Answer one question and write its event.

        Raises:
            NotReady: no production prompt or no live index.
            ValueError: an empty question.
        """
        if not question or not question.strip():
            raise ValueError("the question is empty")
        started = time.perf_counter()
        tenant = tenant or self.settings.tenant
        now = self._clock()
        event = RequestEvent(request_id=uuid.uuid4().hex, at=now, kind="answer", tenant=tenant, use_case=use_case)
        flags: list[str] = []

        redacted = redact_pii(question)
        flags += [f"pii:{k}" for k in sorted(redacted.found)]
        question = redacted.text
        event.question = question

        def finish(kind: str, text: str, citations: list[str], *, refused: bool = False) -> AskResult:
            event.kind = kind
            event.guardrail_flags = sorted(set(flags))
            event.latency_ms = round((time.perf_counter() - started) * 1000, 3)
            self.requests.append(event)
            return AskResult(answer=text, citations=citations, event=event, refused=refused)

        injection = check_injection(question)
        if injection.flagged:
            flags.append("injection:question")
            flags += [f"injection-rule:{r}" for r in injection.rules]
            event.error = "refused: prompt injection in the question"
            return finish("refused", REFUSAL_INJECTION, [], refused=True)

        prompt, collection = self.live_versions()
        event.prompt_name, event.prompt_version, event.index_version = prompt.name, str(prompt.version), collection

        llm = self.settings.llm
        generator = route(question, endpoint_available=self.endpoint is not None, min_words=llm.route_min_words, keywords=llm.route_keywords)

        budget = self.settings.budget
        limit = budget.per_tenant.get(tenant, budget.daily_tokens)
        used = self.requests.tokens_used(tenant, now.date())
        state = budget_state(used, limit, budget.warn_ratio)
        event.budget_state = state
        if state == "warning" and not self.requests.warned(tenant, now.date()):
            log.warning("tenant %s has used %d of %d tokens today (%.0f%%)", tenant, used, limit, 100 * used / limit)
            self.requests.append(
                RequestEvent(
                    request_id=uuid.uuid4().hex, at=now, kind="budget_warning", tenant=tenant, use_case=use_case,
                    budget_state="warning", error=f"tenant {tenant} has used {used} of {limit} daily tokens ({100 * used / limit:.0f}%)",
                )
            )
        if state == "exceeded":
            flags.append("budget:exceeded")
            message = f"tenant {tenant!r} has used {used} of its {limit} daily tokens; the budget resets at 00:00 UTC"
            if budget.on_exceeded == "refuse":
                event.error = message
                return finish("refused", f"Request refused: {message}.", [], refused=True)
            generator = "offline"

        event.generator = generator
        key = cache_key(question, prompt_version=str(prompt.version), index_version=collection, generator=generator)
        cached = self.cache.get(key)
        if cached is not None:
            event.cache_hit = True
            event.model = cached.get("model")
            event.chunks_used = cached.get("chunks", [])
            flags += cached.get("flags", [])
            return finish("answer", cached["text"], cached["citations"])

        answer = self.answer_with(question, prompt=prompt, collection=collection, generator=generator)
        gen = answer.generation
        flags += answer.flags
        event.generator = answer.generator
        event.model = gen.model
        event.prompt_tokens, event.completion_tokens, event.total_tokens = gen.prompt_tokens, gen.completion_tokens, gen.total_tokens
        event.retrieval_latency_ms = round(answer.retrieval_ms, 3)
        event.chunks_used = [{"chunk_id": c.chunk_id, "doc_id": c.doc_id, "score": round(c.score, 4)} for c in answer.chunks]
        event.error = answer.error
        if answer.generator == "endpoint":
            price = llm.prices.get(gen.model)
            if price is None:
                flags.append("cost:unpriced-model")
            else:
                event.cost_usd = cost_usd(gen.prompt_tokens, gen.completion_tokens, prompt_per_1k=price.prompt_per_1k, completion_per_1k=price.completion_per_1k)
        # A fallback answer is cached under the offline generator's key only, so the
        # endpoint is tried again next time.
        final_key = key if answer.generator == generator else cache_key(question, prompt_version=str(prompt.version), index_version=collection, generator=answer.generator)
        self.cache.put(
            final_key,
            prompt_version=str(prompt.version),
            index_version=collection,
            generator=answer.generator,
            answer={"text": answer.text, "citations": answer.citations, "model": gen.model, "chunks": event.chunks_used, "flags": answer.flags},
        )
        return finish("answer", answer.text, answer.citations)
