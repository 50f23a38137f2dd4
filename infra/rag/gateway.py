"""The question-answering gateway: not a flow, a composition at request time.

``Gateway.ask`` runs, for one question:

1. PII redaction of the question (nothing downstream ever sees the raw text);
2. the prompt-injection check on the question (flagged -> refused);
3. the live versions: prompt ``production`` (MLflow) and ``docs-live`` (Qdrant);
4. routing (offline or endpoint) and the tenant's daily token budget;
5. the response cache, keyed on (question, prompt version, index version, generator);
6. retrieval, the injection filter on retrieved chunks, PII redaction of the
   chunks, the prompt (chunks as delimited data, a per-request canary token),
   the generator (endpoint failures fall back to offline); an answer that
   repeats the canary is withheld and flagged ``leak:canary``; the answer is
   redacted, unless it is an offline answer made only of sentences of the
   redacted chunks (``composed_of_chunks``: it holds nothing the chunk check
   has not passed);
7. one structured event in the ops database, exactly once, whatever happened:
   an exception after the endpoint was called still writes its event, tokens
   included, before it propagates.

Before all of this, control characters are stripped from the question and a
question longer than ``budget.max_question_chars`` is refused (with its event).

A warm gateway remembers, in memory, what is a pure function of its input
(``Memo``): the guardrails' verdict and redaction of a text (a question asked
again, a chunk retrieved for another question, an answer given before), keyed
by the text's hash and valid for one ``Guardrails`` object; and the response-cache
entries it has read or written, keyed like the cache (question, prompt, index and
generator versions). Budgets are still read and one event is still written per
request, hit or miss. ``prime`` does a collection's chunk work (screen, redact,
embed the quotable sentences) ahead of the questions: the service primes the
live collection in the background from its start, and each collection that becomes live.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from indexes.generation import Chunk, ExtractiveGenerator, Generation, GeneratorError, cited_text
from indexes.guardrails import Guardrails, leaked_canary, new_canary
from indexes.policy import budget_state, cache_key, cost_usd, route
from indexes.prompts import PromptSpec, render
from infra.clients.embedding import Embedder
from infra.clients.mlflow_prompts import PromptRegistry
from infra.clients.qdrant_index import Retriever, VectorIndex
from infra.rag.indexing import collection_embedder
from infra.settings import TandemSettings
from infra.stores.opsdb import response_cache
from infra.stores.requests import RequestEvent, RequestLog, ResponseCache, clean_label, clean_text, db_safe_row, for_log

log = logging.getLogger(__name__)

REFUSAL_INJECTION = "I can't help with that request: it looks like an attempt to change my instructions."
REFUSAL_LEAK = "I can't share that answer: it repeated part of my instructions."


class NotReady(RuntimeError):
    """The gateway has no production prompt or no live index yet; the message says what to run."""


class EmbedderMismatch(NotReady):
    """The live collection was embedded by another embedder than this process's; the message says what to set or run."""


class EventNotWritten(RuntimeError):
    """A request's event could not be written to the ops database (its tokens are not counted)."""


class Memo:
    """A bounded, thread-safe least-recently-used map, for values that are a pure function of their key.

    ``owner`` is the object the values were computed with (the guardrails, the
    response cache): handing another one empties the memo, so a gateway whose
    guardrails or cache are replaced never serves what the old ones decided.

    Args:
        size: Entries kept at most; the least recently used go first.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._owner: Any = None
        self._lock = threading.Lock()

    def get(self, owner: Any, key: Any) -> Any | None:
        with self._lock:
            if owner is not self._owner:
                return None
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, owner: Any, key: Any, value: Any) -> None:
        with self._lock:
            if owner is not self._owner:
                self._items.clear()
                self._owner = owner
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def text_key(text: str) -> bytes:
    """A text's memo key: its SHA-256 (the memo never holds a question as typed, PII included)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def composed_of_chunks(gen: Generation, chunks: list[Chunk]) -> bool:
    """Whether an offline answer is made only of text the chunk check has already redacted.

    True when the answer is exactly its cited sentences (``cited_text``) and
    each sentence is, character for character, part of the (redacted) text of
    a chunk of the document it cites: the redaction that produced that text
    saw those very characters, in their context. The answer then holds no
    character the chunk check did not pass but the citations (document ids,
    which the response's ``citations`` carry as they are anyway), so it is not
    analysed again. Anything else (an endpoint's answer, a refusal, a sentence
    the splitter rejoined across a line break) is redacted as a whole.
    """
    if not gen.answered or not gen.sentences:
        return False
    by_doc: dict[str, list[str]] = {}
    for chunk in chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk.text)
    for sentence, doc_id in gen.sentences:
        if not any(sentence in text for text in by_doc.get(doc_id, ())):
            return False
    return gen.text == cited_text(gen.sentences)


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
        guardrails: Guardrails | None = None,
    ) -> None:
        self.settings = settings
        # PII analyzer and semantic detector, built once per process by the factory;
        # the default is the pattern-only, rules-only set (no model to load).
        self.guardrails = guardrails or Guardrails()
        self.index = index
        self.embedder = embedder
        self.prompts = prompts
        self.requests = requests
        self.cache = cache
        self.endpoint = endpoint
        self.offline = ExtractiveGenerator(embed=embedder.embed_cached, count_tokens=embedder.count_tokens)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._retrievers: dict[str, Retriever] = {}
        # Guardrail verdicts and redactions by text (a chunk comes back for many questions),
        # and the response-cache entries this process has read or written.
        self.verdicts = Memo(20_000)
        self.answers = Memo(10_000)
        # Collections whose chunks were screened ahead of the questions (``prime``); the service
        # turns on priming a newly live collection in the background (``prime_in_background``).
        self.prime_in_background = False
        self._primed: set[str] = set()
        self._priming_lock = threading.Lock()
        self._priming: dict[str, threading.Thread] = {}

    # -- what a warm gateway remembers ----------------------------------------------
    def redact(self, text: str):
        """``guardrails.redact(text)``, remembered (it is deterministic for one text and one ``Guardrails``)."""
        return self._guarded("redact", text)

    def check(self, text: str):
        """``guardrails.check(text)``, remembered (see ``redact``)."""
        return self._guarded("check", text)

    def _guarded(self, kind: str, text: str):
        guardrails = self.guardrails
        key = (kind, text_key(text))
        verdict = self.verdicts.get(guardrails, key)
        if verdict is None:
            verdict = getattr(guardrails, kind)(text)
            self.verdicts.put(guardrails, key, verdict)
        return verdict

    def screen_chunks(self, chunks: list[Chunk]) -> tuple[list[Chunk], list[tuple[Chunk, Any]]]:
        """``guardrails.filter_chunks`` one chunk at a time, each verdict remembered by the chunk's text.

        Returns:
            The chunks kept (rank order) and the chunks dropped with the check that flagged each.
        """
        guardrails = self.guardrails
        kept: list[Chunk] = []
        dropped: list[tuple[Chunk, Any]] = []
        for chunk in chunks:
            key = ("screen", text_key(chunk.text))
            verdict = self.verdicts.get(guardrails, key)
            if verdict is None:
                _, flagged = guardrails.filter_chunks([chunk], lambda c: c.text)
                verdict = ("drop", flagged[0][1]) if flagged else ("keep", None)
                self.verdicts.put(guardrails, key, verdict)
            if verdict[0] == "drop":
                dropped.append((chunk, verdict[1]))
            else:
                kept.append(chunk)
        return kept, dropped

    def prime(self, collection: str, *, limit: int | None = None) -> int:
        """Do ahead of the questions what every chunk of ``collection`` costs the first question that retrieves it.

        Each chunk's text is screened for injection and, when kept, redacted,
        and the sentences of its redacted text are embedded for the offline
        generator: the very calls the request path makes (``screen_chunks``,
        ``redact``, the embedder's cache), so their results are the same,
        remembered by the text's hash. Done once per collection; a chunk that
        an earlier collection shares (same text) costs nothing. At most
        ``limit`` chunks (default: a quarter of the verdict memo's size, so
        the screens and redactions fill at most half of it); chunks beyond
        are screened by the first question that retrieves them, as before.

        Returns:
            How many chunks were primed.
        """
        with self._priming_lock:
            if collection in self._primed:
                return 0
            self._primed.add(collection)
        started = time.perf_counter()
        texts = self.index.chunk_texts(collection, self.verdicts.size // 4 if limit is None else limit)
        sentences: dict[str, None] = {}
        for i, text in enumerate(texts):
            kept, _ = self.screen_chunks([Chunk(f"prime-{i}", "", text, 0.0)])
            if kept:
                for sentence in self.offline.sentences_of(self.redact(text).text):
                    sentences[sentence] = None
        batch = 256
        pending = list(sentences)
        for start in range(0, len(pending), batch):
            self.embedder.embed_cached(pending[start:start + batch])
        log.info("primed %d chunk(s) (%d sentences) of %s in %.1f s", len(texts), len(pending), collection, time.perf_counter() - started)
        return len(texts)

    def prime_later(self, collection: str) -> None:
        """Prime ``collection`` in a background thread (once): questions are answered meanwhile, screening their own chunks."""
        def run() -> None:
            try:
                self.prime(collection)
            except Exception as exc:  # priming is an optimisation: the request path does the same work itself
                log.warning("could not prime collection %s: %s", collection, for_log(exc))

        with self._priming_lock:  # two requests seeing a new collection at once start one thread
            if collection in self._primed or collection in self._priming:
                return
            thread = threading.Thread(target=run, name=f"prime-{collection}", daemon=True)
            self._priming[collection] = thread
        thread.start()

    def wait_primed(self, collection: str, timeout: float | None = None) -> bool:
        """Wait for a background priming of ``collection`` (``prime_later``); whether none is still running."""
        thread = self._priming.get(collection)
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def cached_answer(self, key: str) -> dict[str, Any] | None:
        """The response cache's entry under ``key``: from memory when this process has seen it, else the ops database.

        An entry is never changed in place: its key holds the question and every
        version that made it, so a copy in memory stays right.
        """
        cache = self.cache
        entry = self.answers.get(cache, key)
        if entry is None:
            entry = cache.get(key)
            if entry is not None:
                self.answers.put(cache, key, entry)
        return None if entry is None else copy.deepcopy(entry)  # the caller's lists are its own

    def cache_answer(self, key: str, *, prompt_version: str, index_version: str, generator: str, answer: dict[str, Any]) -> None:
        """Write the answer to the response cache, then remember it (only once it is written)."""
        cache = self.cache
        cache.put(key, prompt_version=prompt_version, index_version=index_version, generator=generator, answer=answer)
        # What the database holds (cleaned, JSON-shaped), so a hit from memory is a hit from the table.
        self.answers.put(cache, key, db_safe_row(response_cache, {"answer": answer})["answer"])

    # -- the shared answer path (also used by the golden-set evaluation) --------
    def retriever(self, collection: str) -> Retriever:
        """The retriever of one collection, after checking that it was built by this process's embedder.

        Questions are embedded through the embedder's cache (``embedder.queries``):
        the guardrails' check has usually embedded the question already, and
        the offline generator embeds it again; one model call serves all three.

        Raises:
            EmbedderMismatch: the collection was embedded by another embedder.
        """
        if collection not in self._retrievers:
            built_with = collection_embedder(self.index, collection)
            if built_with is not None and built_with != self.embedder.variant:
                raise EmbedderMismatch(
                    f"collection {collection} was embedded with {built_with}, but this process embeds questions with "
                    f"{self.embedder.variant} (index.embedder): set TANDEM_INDEX__EMBEDDER={built_with}, or run `tandem reindex` "
                    f"to rebuild the index with {self.embedder.variant}"
                )
            cfg = self.settings.index
            self._retrievers[collection] = Retriever(
                self.index, self.embedder.queries, collection=collection, top_k=cfg.top_k, score_threshold=cfg.score_threshold,
                retrieve_chunks=cfg.retrieve_chunks, chunks_per_doc=cfg.chunks_per_doc, mmr_lambda=cfg.mmr_lambda,
                context_chunks=cfg.context_chunks,
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
        kept, dropped = self.screen_chunks(retrieved)
        if dropped:
            flags.append("injection:chunk")
            log.warning("dropped %d retrieved chunk(s) that look like prompt injection: %s", len(dropped), sorted({c.doc_id for c, _ in dropped}))
        chunks = []
        for c in kept:
            red = self.redact(c.text)
            if red.found:
                flags.append("pii:chunk")
            chunks.append(Chunk(c.chunk_id, c.doc_id, red.text, c.score))
        canary = new_canary()  # per request: an answer that repeats it has leaked the prompt
        prompt_text = render(prompt, question, chunks, canary=canary)
        error = None
        used = generator
        if generator == "endpoint" and self.endpoint is not None:
            try:
                gen = self.endpoint.generate(question, chunks, prompt_text, prompt.params)
            except GeneratorError as exc:
                error = str(exc)
                flags.append("fallback:offline")
                log.warning("endpoint failed, answering offline: %s", for_log(exc))
                used = "offline"
                gen = self.offline.generate(question, chunks, prompt_text, prompt.params)
        else:
            used = "offline"
            gen = self.offline.generate(question, chunks, prompt_text, prompt.params)
        if leaked_canary(gen.text, canary):
            flags.append("leak:canary")
            log.warning("the %s generator's answer repeated the prompt's canary; answer withheld", used)
            gen = Generation(REFUSAL_LEAK, (), gen.prompt_tokens, gen.completion_tokens, gen.model, False, ())
        if not (used == "offline" and composed_of_chunks(gen, chunks)):
            red = self.redact(gen.text)
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
        if self.prime_in_background and collection not in self._primed:
            self.prime_later(collection)
        return prompt, collection

    # -- one request ------------------------------------------------------------
    def ask(self, question: str, *, tenant: str | None = None, use_case: str = "qa") -> AskResult:
        """Answer one question and write its event: exactly once, on every path.

        Control characters are stripped from the question before anything
        else sees it; a question longer than ``budget.max_question_chars`` is
        refused before any work. From there on, whatever happens (an answer,
        a refusal, an exception), one event is written with the tokens already
        spent, so the budget always counts them; an exception is re-raised
        after its ``error`` event is written.

        Args:
            question: The question as the user typed it.
            tenant: Who is charged (default ``settings.tenant``).
            use_case: Recorded on the event, for cost attribution.

        Returns:
            The answer (or the refusal) with its event.

        Raises:
            NotReady: no production prompt or no live index (an ``error`` event is written).
            ValueError: an empty question, or an empty or over-long tenant or use case (nothing is written).
            EventNotWritten: the event could not be written (the event is logged in full at CRITICAL first).
        """
        if not isinstance(question, str) or not clean_text(question).strip():
            raise ValueError("the question is empty")
        tenant = clean_label("tenant", tenant or self.settings.tenant)
        use_case = clean_label("use case", use_case)
        started = time.perf_counter()
        event = RequestEvent(request_id=uuid.uuid4().hex, at=self._clock(), kind="answer", tenant=tenant, use_case=use_case)
        flags: list[str] = []
        try:
            text, citations, refused = self._serve(question, event, flags)
        except BaseException as exc:  # KeyboardInterrupt too: tokens already spent must still be counted
            event.kind = "error"
            event.error = "; ".join(filter(None, [f"{type(exc).__name__}: {exc}", event.error]))
            self._record(event, flags, started, failure=exc)
            raise
        self._record(event, flags, started)
        return AskResult(answer=text, citations=citations, event=event, refused=refused)

    def _serve(self, question: str, event: RequestEvent, flags: list[str]) -> tuple[str, list[str], bool]:
        """The work of one request: fills ``event`` and ``flags`` as it goes; ``ask`` writes them.

        Returns:
            The answer text, its citations, and whether the request was refused.
        """
        limit = self.settings.budget.max_question_chars
        if len(question) > limit:
            # The question itself is not stored: redacting a cut-off prefix could
            # leave half a card number, and the point is to do no work on it.
            flags.append("input:too-long")
            event.kind = "refused"
            event.error = (
                f"refused: the question is {len(question):,} characters long; the limit is {limit:,} "
                "(budget.max_question_chars, TANDEM_BUDGET__MAX_QUESTION_CHARS)"
            )
            return f"Request refused: the question is {len(question):,} characters long; ask in at most {limit:,}.", [], True

        tenant, now = event.tenant, event.at
        question = clean_text(question)
        redacted = self.redact(question)
        flags += [f"pii:{k}" for k in sorted(redacted.found)]
        question = redacted.text
        event.question = question

        injection = self.check(question)
        if injection.flagged:
            flags.append("injection:question")
            flags += [f"injection-rule:{r}" for r in injection.rules]
            event.kind = "refused"
            event.error = "refused: prompt injection in the question"
            return REFUSAL_INJECTION, [], True

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
            log.warning("tenant %r has used %d of %d tokens today (%.0f%%)", tenant, used, limit, 100 * used / limit)
            try:
                self.requests.append(
                    RequestEvent(
                        request_id=uuid.uuid4().hex, at=now, kind="budget_warning", tenant=tenant, use_case=event.use_case,
                        budget_state="warning", error=f"tenant {tenant} has used {used} of {limit} daily tokens ({100 * used / limit:.0f}%)",
                    )
                )
            except Exception as exc:  # the warning is advice; the request's own event still follows
                log.error("could not write the budget warning for tenant %r: %s", tenant, for_log(exc))
        if state == "exceeded":
            flags.append("budget:exceeded")
            message = f"tenant {tenant!r} has used {used} of its {limit} daily tokens; the budget resets at 00:00 UTC"
            if budget.on_exceeded == "refuse":
                event.kind = "refused"
                event.error = message
                return f"Request refused: {message}.", [], True
            generator = "offline"

        event.generator = generator
        key = cache_key(question, prompt_version=str(prompt.version), index_version=collection, generator=generator)
        try:
            cached = self.cached_answer(key)
        except Exception as exc:  # a cache that cannot be read is a miss, not a failed request
            flags.append("cache:read-failed")
            log.warning("request %s: response cache unreadable, answering anew: %s", event.request_id, for_log(exc))
            cached = None
        if cached is not None:
            event.cache_hit = True
            event.model = cached.get("model")
            event.chunks_used = cached.get("chunks", [])
            flags += cached.get("flags", [])
            return cached["text"], cached["citations"], False

        answer = self.answer_with(question, prompt=prompt, collection=collection, generator=generator)
        # Tokens go on the event first: whatever fails below, they are counted.
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
        try:
            self.cache_answer(
                final_key,
                prompt_version=str(prompt.version),
                index_version=collection,
                generator=answer.generator,
                answer={"text": answer.text, "citations": answer.citations, "model": gen.model, "chunks": event.chunks_used, "flags": answer.flags},
            )
        except Exception as exc:  # the answer is good and paid for: serve it uncached
            flags.append("cache:write-failed")
            event.error = "; ".join(filter(None, [event.error, f"response cache write failed: {for_log(exc)}"]))
            log.warning("request %s: the answer was not cached: %s", event.request_id, for_log(exc))
        return answer.text, answer.citations, False

    def _record(self, event: RequestEvent, flags: list[str], started: float, *, failure: BaseException | None = None) -> None:
        """Write the request's event; if even that fails, say so loudly.

        The event is logged in full at CRITICAL (so its tokens can be recovered
        from the log), then ``EventNotWritten`` is raised, or, when the request
        is already failing with ``failure``, a note is added to that exception.
        """
        event.guardrail_flags = sorted(set(flags))
        event.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        try:
            self.requests.append(event)
        except Exception as exc:
            log.critical(
                "request event %s was NOT written to the ops database (%s); its %d tokens are not counted against "
                "tenant %r's budget. The event: %s",
                event.request_id, for_log(exc), event.total_tokens, event.tenant, json.dumps(event.to_dict(), default=str),
            )
            message = f"request {event.request_id}: its event could not be written to the ops database: {for_log(exc)}"
            if failure is not None:
                failure.add_note(message)
                return
            raise EventNotWritten(message) from exc
