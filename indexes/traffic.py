"""A question-traffic simulator for the RAG assistant: nights of questions per tenant, with scenarios.

What real traffic of an internal assistant looks like, and what is kept here:

* several tenants (teams) with different volumes and interests: each tenant
  asks mostly about its own folder of the corpus (underwriting about policy,
  on-call about runbooks), and volumes are Poisson around the tenant's mean,
  lower at weekends;
* a few questions are popular and most are rare (Zipf-like popularity over the
  golden questions, shuffled per seed), each asked in one of several
  paraphrases (greetings, "customer asking: ...", trailing thanks);
* people re-ask the exact same question the same night (a retry, a colleague
  pasting it): those repeats would be cache hits;
* some questions are off-topic even on a quiet night (the office wifi, a
  haiku), so a quiet night is never empty of unanswerable questions.

Scenarios (from ``start``; nights before it are ``none``):

* ``none``: the above;
* ``topic-shift``: a growing share of questions about a product the corpus does
  not cover (buy now, pay later), from ``shift_start_share`` on the first night
  up by ``shift_growth`` a night to ``shift_max_share``;
* ``stale-corpus``: documents are edited (and one added) without a rebuild of
  the index: ``corpus_edits`` says which, on which night; the caller edits a
  copy of the corpus;
* ``cost-spike``: one tenant's volume is multiplied by ``spike_factor``;
* ``model-change``: the endpoint reports ``changed_model`` instead of ``base_model``.

Deterministic per (seed, night): the base traffic of a night is drawn from a
generator seeded by (seed, night) alone, so every scenario shares the same
quiet traffic and differs only by what it adds. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Sequence

import numpy as np

SCENARIOS = ("none", "topic-shift", "stale-corpus", "cost-spike", "model-change")

# Paraphrase templates: {q} the question as written, {lc} with a lower-case first letter.
TEMPLATES = (
    "{q}",
    "{q}",
    "Quick question: {lc}",
    "{q} Thanks.",
    "Hi, {lc}",
    "Can you check this for me? {q}",
    "Customer asking: {lc}",
    "I'm on call and need to know: {lc}",
)

# Off-topic questions people ask any assistant (the corpus answers none of them).
NOISE_QUESTIONS = (
    "What is the wifi password in the Berlin office?",
    "Write a short poem about loans for the team newsletter.",
    "What time is the all-hands meeting on Friday?",
    "How do I submit a taxi receipt for expenses?",
    "Translate 'thank you for your patience' into German.",
    "What will the weather be like tomorrow?",
    "Who won the football match last night?",
    "Can you summarise my unread emails?",
    "How do I book a meeting room for next week?",
    "What is the capital of Australia?",
    "Recommend a good lunch place near the office.",
    "How many vacation days do I have left this year?",
    "Tell me a joke.",
    "How do I reset my laptop password?",
)

# The topic the corpus does not cover: a buy-now-pay-later product.
SHIFT_TOPIC = "buy-now-pay-later"
SHIFT_QUESTIONS = (
    "What is the maximum basket size for a buy now, pay later purchase?",
    "How many pay-later instalments can a customer split a purchase into?",
    "Do we run a hard credit check for buy now, pay later at checkout?",
    "What late fee applies when a BNPL instalment is missed?",
    "Which merchants are eligible to offer our pay-in-four product?",
    "Can a customer have two buy now, pay later plans open at the same time?",
    "How is a BNPL plan reported to the credit bureau?",
    "What is the spending limit for a new pay-later customer?",
    "How do refunds work on a purchase split into instalments?",
    "Is there an age limit for the buy now, pay later product?",
    "What merchant discount rate do we charge on pay-later sales?",
    "When does a missed BNPL payment go to collections?",
    "Can pay-later customers pay off the whole balance early?",
    "How do we verify identity for a checkout instalment plan?",
    "What happens to the pay-later limit after a missed instalment?",
)


@dataclass(frozen=True)
class Tenant:
    """A team using the assistant: mean questions per weekday and the corpus folders it cares about."""

    name: str
    mean_per_night: float
    folders: tuple[str, ...]


DEFAULT_TENANTS = (
    Tenant("branch-ops", 70.0, ("policy", "glossary")),
    Tenant("underwriting", 45.0, ("policy",)),
    Tenant("platform-oncall", 30.0, ("runbooks",)),
    Tenant("risk-analytics", 25.0, ("glossary",)),
)


@dataclass(frozen=True)
class TrafficConfig:
    """The knobs of the simulated traffic (defaults: a mid-size internal assistant).

    Attributes:
        tenants: Who asks, how much and about what.
        weekend_factor: Volume on Saturdays and Sundays relative to weekdays.
        affinity: How much more likely a tenant asks about its own folders.
        zipf: Exponent of the popularity of golden questions (0: uniform).
        repeat_share: Chance a question is an exact repeat of one asked earlier that night.
        noise_share: Off-topic questions on any night.
        shift_start_share, shift_growth, shift_max_share: the topic-shift ramp.
        spike_factor: Volume multiplier of the spiking tenant (cost-spike).
        spike_tenant: Which tenant spikes; None: drawn from the seed.
        stale_edits: Documents edited on the scenario's first night (stale-corpus).
        base_model, changed_model: What the endpoint reports before and after a model change.
    """

    tenants: tuple[Tenant, ...] = DEFAULT_TENANTS
    weekend_factor: float = 0.6
    affinity: float = 3.0
    zipf: float = 0.8
    repeat_share: float = 0.12
    noise_share: float = 0.04
    shift_start_share: float = 0.15
    shift_growth: float = 0.06
    shift_max_share: float = 0.6
    spike_factor: float = 3.0
    spike_tenant: str | None = None
    stale_edits: int = 2
    base_model: str = "tandem-chat-1"
    changed_model: str = "tandem-chat-2"


@dataclass(frozen=True)
class SimQuestion:
    """One simulated question.

    Attributes:
        tenant: Who asked.
        text: The question as typed (no PII: nothing to redact).
        source: ``golden`` (a paraphrase of a golden question), ``noise`` (off-topic) or ``shift``.
        topic: The golden question's first relevant document, ``noise`` or the shift topic.
        at_seconds: Seconds after 00:00 UTC of the night.
        repeat: An exact repeat of a question asked earlier that night (a cache hit).
    """

    tenant: str
    text: str
    source: str
    topic: str
    at_seconds: int
    repeat: bool = False


@dataclass(frozen=True)
class CorpusEdit:
    """A change to make to a copy of the corpus on a night (stale-corpus).

    Attributes:
        doc_id: The document (path relative to the corpus root).
        action: ``edit`` (append ``text``), ``add`` (a new document holding ``text``) or ``remove``.
        text: What to append or write.
    """

    doc_id: str
    action: str
    text: str = ""


@dataclass(frozen=True)
class TrafficNight:
    """A night of traffic: its questions (by time), the model the endpoint reports, corpus edits."""

    night: date
    scenario: str
    questions: tuple[SimQuestion, ...]
    model: str
    corpus_edits: tuple[CorpusEdit, ...] = ()
    volumes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"night": self.night.isoformat(), "scenario": self.scenario, "model": self.model, "volumes": self.volumes,
                "questions": [q.__dict__ for q in self.questions], "corpus_edits": [e.__dict__ for e in self.corpus_edits]}


def _check(scenario: str) -> None:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown traffic scenario {scenario!r}; known: {', '.join(SCENARIOS)}")


def _lower_first(q: str) -> str:
    # Keep acronyms and identifiers ("DTI", "KS") as written.
    if len(q) > 1 and q[0].isupper() and not q[1].isupper():
        return q[0].lower() + q[1:]
    return q


def paraphrase(question: str, template: int) -> str:
    """``question`` in paraphrase template number ``template`` (modulo the number of templates)."""
    t = TEMPLATES[template % len(TEMPLATES)]
    return t.format(q=question, lc=_lower_first(question))


def _golden_pairs(golden: Sequence[Any]) -> list[tuple[str, str]]:
    """(question, topic) from golden questions: objects with ``question`` and ``relevant``, or (question, relevant) pairs."""
    out = []
    for i, g in enumerate(golden):
        if hasattr(g, "question"):
            question, relevant = g.question, g.relevant
        else:
            question, relevant = g
        relevant = [relevant] if isinstance(relevant, str) else list(relevant)
        if not question or not relevant:
            raise ValueError(f"golden question {i} needs a question and at least one relevant document")
        out.append((str(question), str(relevant[0])))
    if not out:
        raise ValueError("the golden set is empty: the simulator draws its questions from it")
    return out


def _popularity(n: int, seed: int, zipf: float) -> np.ndarray:
    ranks = np.random.default_rng([seed, 7]).permutation(n) + 1
    w = 1.0 / ranks.astype(float) ** zipf
    return w / w.sum()


def spike_tenant(seed: int, config: TrafficConfig = TrafficConfig()) -> str:
    """The tenant whose volume triples under ``cost-spike`` for this seed."""
    if config.spike_tenant is not None:
        return config.spike_tenant
    names = [t.name for t in config.tenants]
    return names[int(np.random.default_rng([seed, 11]).integers(len(names)))]


def topic_shift_share(night: date, start: date, config: TrafficConfig = TrafficConfig()) -> float:
    """The share of questions about the uncovered topic on ``night`` (0 before ``start``)."""
    if night < start:
        return 0.0
    return min(config.shift_max_share, config.shift_start_share + config.shift_growth * (night - start).days)


def _times(rng: np.random.Generator, n: int) -> np.ndarray:
    # Office hours: most questions around 13:00 UTC, a tail spread over the day.
    office = rng.normal(13 * 3600, 3 * 3600, n)
    anytime = rng.uniform(0, 86_400, n)
    t = np.where(rng.random(n) < 0.85, office, anytime)
    return np.clip(t, 0, 86_399).astype(int)


def _draw(tenant: str, n: int, rng: np.random.Generator, pairs: list[tuple[str, str]], weights: np.ndarray,
          config: TrafficConfig) -> list[SimQuestion]:
    """``n`` questions of one tenant: repeats, off-topic noise and paraphrased golden questions."""
    times = np.sort(_times(rng, n))
    asked: list[SimQuestion] = []
    for i in range(n):
        if asked and rng.random() < config.repeat_share:
            prev = asked[int(rng.integers(len(asked)))]
            asked.append(SimQuestion(tenant, prev.text, prev.source, prev.topic, int(times[i]), True))
            continue
        if rng.random() < config.noise_share:
            source, topic = "noise", "noise"
            base = NOISE_QUESTIONS[int(rng.integers(len(NOISE_QUESTIONS)))]
        else:
            source = "golden"
            base, topic = pairs[int(rng.choice(len(pairs), p=weights))]
        asked.append(SimQuestion(tenant, paraphrase(base, int(rng.integers(len(TEMPLATES)))), source, topic, int(times[i])))
    return asked


def simulate_night(
    golden: Sequence[Any],
    night: date,
    *,
    scenario: str = "none",
    seed: int = 0,
    start: date | None = None,
    config: TrafficConfig = TrafficConfig(),
    doc_ids: Sequence[str] = (),
) -> TrafficNight:
    """One night of questions.

    Args:
        golden: The golden set's questions (``GoldenQuestion``s or ``(question, relevant)`` pairs).
        night: The night.
        scenario: One of ``SCENARIOS``.
        seed: The run's seed; with ``night`` it decides everything.
        start: The scenario's first night (required unless ``scenario`` is ``none``).
        config: Tenants and scenario knobs.
        doc_ids: The corpus's document ids, for ``stale-corpus``'s edits (default:
            the golden set's relevant documents).

    Returns:
        The night's questions sorted by time, the reported model and the corpus edits of that night.

    Raises:
        ValueError: unknown scenario, a scenario without ``start``, or an empty golden set.
    """
    _check(scenario)
    if scenario != "none" and start is None:
        raise ValueError(f"scenario {scenario!r} needs its start night")
    active = scenario != "none" and start is not None and night >= start
    pairs = _golden_pairs(golden)
    pop = _popularity(len(pairs), seed, config.zipf)
    rng = np.random.default_rng([seed, night.toordinal()])
    extra = np.random.default_rng([seed, night.toordinal(), 1 + SCENARIOS.index(scenario)])
    weekend = night.weekday() >= 5
    spiking = spike_tenant(seed, config) if scenario == "cost-spike" else None
    shift_share = topic_shift_share(night, start, config) if (scenario == "topic-shift" and active) else 0.0

    questions: list[SimQuestion] = []
    volumes: dict[str, int] = {}
    for tenant in config.tenants:
        mean = tenant.mean_per_night * (config.weekend_factor if weekend else 1.0)
        affinity = np.array([config.affinity if topic.split("/")[0] in tenant.folders else 1.0 for _, topic in pairs])
        weights = pop * affinity
        weights /= weights.sum()
        asked = _draw(tenant.name, int(rng.poisson(mean)), rng, pairs, weights, config)
        if active and tenant.name == spiking:
            # The extra volume comes from its own generator: the base traffic stays the same.
            asked += _draw(tenant.name, int(extra.poisson(mean * (config.spike_factor - 1.0))), extra, pairs, weights, config)
        if shift_share:
            # Each question is replaced by one about the uncovered topic with the night's share.
            asked = [
                SimQuestion(q.tenant, paraphrase(SHIFT_QUESTIONS[int(extra.integers(len(SHIFT_QUESTIONS)))], int(extra.integers(len(TEMPLATES)))),
                            "shift", SHIFT_TOPIC, q.at_seconds)
                if extra.random() < shift_share else q
                for q in asked
            ]
        volumes[tenant.name] = len(asked)
        questions += asked
    questions.sort(key=lambda q: (q.at_seconds, q.tenant, q.text))
    model = config.changed_model if (scenario == "model-change" and active) else config.base_model
    edits = corpus_edits(night, scenario=scenario, seed=seed, start=start, doc_ids=doc_ids or sorted({t for _, t in pairs}), config=config)
    return TrafficNight(night, scenario, tuple(questions), model, edits, volumes)


def corpus_edits(
    night: date,
    *,
    scenario: str,
    seed: int,
    start: date | None,
    doc_ids: Sequence[str],
    config: TrafficConfig = TrafficConfig(),
) -> tuple[CorpusEdit, ...]:
    """The corpus changes ``stale-corpus`` makes on ``night`` (none for other scenarios or nights).

    On the first night ``config.stale_edits`` documents (drawn from the seed) get
    a new paragraph; three nights later a new document appears. The index is
    never rebuilt by the simulation, so they stay stale.
    """
    _check(scenario)
    if scenario != "stale-corpus" or start is None or not doc_ids:
        return ()
    docs = sorted(doc_ids)
    if night == start:
        picked = np.random.default_rng([seed, 13]).choice(len(docs), size=min(config.stale_edits, len(docs)), replace=False)
        return tuple(
            CorpusEdit(docs[int(i)], "edit", f"\n\nUpdate {night.isoformat()}: this section was revised; the previous limits no longer apply.\n")
            for i in sorted(picked)
        )
    if (night - start).days == 3:
        folder = docs[0].split("/")[0] + "/" if "/" in docs[0] else ""
        return (CorpusEdit(f"{folder}zz-update-{night.isoformat()}.md", "add",
                           f"# Policy update {night.isoformat()}\n\nNew rules for pay-later products take effect today.\n"),)
    return ()
