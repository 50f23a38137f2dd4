"""Guardrails as pure functions: PII redaction, prompt-injection screening, prompt-leak canaries.

* ``redact_pii``: Presidio with this package's recognizers (``pii``); the
  engine is built once per process and passed in.
* ``check_injection``: text is normalized first (``normalize``: NFKC,
  look-alike letters, zero-width characters, spaced-out letters, leetspeak,
  base64 and ROT13), then checked by rules in several languages (``rules``),
  together with the text of a document's hidden places (comments, alt text,
  hidden spans, footnotes, JSON values, table cells) read on their own,
  then, when a ``SemanticDetector`` is passed, by nearest attack exemplars in
  embedding space (``semantic``), and, when an ``InjectionClassifier`` is
  passed, by a logistic regression trained on every labelled development text
  (``classifier``: the same embedding plus character n-grams). Questions
  *about* attacks are told apart from instructions to the assistant in all layers.
* ``filter_chunks``: retrieved chunks are checked the same way.
* ``new_canary`` / ``leaked_canary``: a random token in the prompt; seeing it
  in an answer means the prompt leaked.

Deterministic for a given text, analyzer and detector, so a decision can be
replayed from logs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar

from indexes.guardrails.classifier import ClassifierScore, ClassifierWeights, InjectionClassifier, fit_classifier
from indexes.guardrails.normalize import hidden_segments, variants
from indexes.guardrails.pii import PII_KINDS, Redaction, build_analyzer, default_analyzer, luhn_valid, redact_pii
from indexes.guardrails.rules import fired_rules, mask_quoted_mentions
from indexes.guardrails.semantic import SemanticDetector, SemanticScore, choose_threshold

__all__ = [
    "PII_KINDS",
    "ClassifierScore",
    "ClassifierWeights",
    "InjectionClassifier",
    "fit_classifier",
    "Guardrails",
    "InjectionCheck",
    "Redaction",
    "SemanticDetector",
    "SemanticScore",
    "build_analyzer",
    "check_injection",
    "choose_threshold",
    "default_analyzer",
    "filter_chunks",
    "leaked_canary",
    "luhn_valid",
    "new_canary",
    "redact_pii",
]

T = TypeVar("T")


@dataclass(frozen=True)
class InjectionCheck:
    """Outcome of screening one text for prompt injection.

    Attributes:
        flagged: Whether any rule, the semantic detector or the classifier fired.
        score: 0 when nothing fired; rules give ``min(1, 0.6 + 0.2 * (n_rules - 1))``;
            a semantic-only hit gives its cosine similarity to the nearest attack exemplar,
            a classifier-only hit its probability.
        rules: Names of what fired, in rule order; ``semantic`` and ``classifier`` for the detectors.
    """

    flagged: bool
    score: float
    rules: tuple[str, ...]


def check_injection(text: str, *, semantic: SemanticDetector | None = None,
                    classifier: InjectionClassifier | None = None) -> InjectionCheck:
    """Screens ``text`` for prompt-injection attempts.

    Args:
        text: A user question or a retrieved chunk.
        semantic: The embedding-based detector; ``None`` runs the rules only.
        classifier: The trained detector, run after the semantic one (it reuses
            the vectors that one computed); ``None`` skips it.

    Returns:
        Whether it is flagged, a score in [0, 1] and the names of what fired.
    """
    forms = variants(text)
    # Hidden places of a document are read by the rules on their own; the semantic detector
    # reads the text as a whole (a lone table cell or heading is too short to embed reliably).
    segments = [s for s in hidden_segments(forms[0]) if s not in forms]
    per_form = [fired_rules(form) for form in forms]
    fired = list(dict.fromkeys(name for names in per_form for name in names))
    if len(forms) > 1 and fired and not set(per_form[0]) >= set(fired):
        fired.append("obfuscated")  # it only showed once a disguise was removed
    hidden = [name for segment in segments for name in fired_rules(segment) if name not in fired]
    if hidden:
        fired.extend(dict.fromkeys(hidden))
        fired.append("hidden_place")  # it only showed in a comment, alt text, hidden span...
    score = min(1.0, 0.6 + 0.2 * (len(fired) - 1)) if fired else 0.0
    if (semantic is not None or classifier is not None) and not fired:
        # The learned detectors read the text without the quotations it only talks about.
        forms = list(dict.fromkeys(mask_quoted_mentions(form) for form in forms))
    if semantic is not None and not fired:
        s = semantic.score(forms)
        if semantic.flags(s):
            fired.append("semantic")
            score = min(1.0, s.attack)
    if classifier is not None and not fired:
        c = classifier.score(forms)
        if classifier.flags(c):
            fired.append("classifier")
            score = c.probability
    if not fired:
        return InjectionCheck(flagged=False, score=0.0, rules=())
    return InjectionCheck(flagged=True, score=round(score, 6), rules=tuple(fired))


def filter_chunks(
    chunks: Sequence[T], text_of: Callable[[T], str], *, check: Callable[[str], InjectionCheck] | None = None
) -> tuple[list[T], list[tuple[T, InjectionCheck]]]:
    """Drops retrieved chunks that trip the injection detector.

    A poisoned document in the corpus could otherwise steer the answer, since
    its text is pasted into the prompt next to the real instructions.

    Args:
        chunks: Retrieved chunks, in rank order.
        text_of: Gives the text of one chunk.
        check: The screening function (default: rules only, ``check_injection``).

    Returns:
        The chunks kept (rank order preserved) and the chunks dropped, each
        with the check that flagged it.
    """
    screen = check or check_injection
    kept: list[T] = []
    dropped: list[tuple[T, InjectionCheck]] = []
    for chunk in chunks:
        result = screen(text_of(chunk))
        if result.flagged:
            dropped.append((chunk, result))
        else:
            kept.append(chunk)
    return kept, dropped


# --- canary -------------------------------------------------------------------------------


def new_canary() -> str:
    """A fresh random token to place in one rendered prompt (16 hex digits after a fixed prefix)."""
    return f"CANARY-{secrets.token_hex(8)}"


def leaked_canary(answer: str, canary: str | None) -> bool:
    """Whether an answer repeats the prompt's canary (ignoring case, spaces and separators).

    A model that was talked into printing its prompt prints the canary with it.
    """
    if not canary or not answer:
        return False
    squash = lambda s: "".join(ch for ch in s.lower() if ch.isalnum())  # noqa: E731
    token = squash(canary.split("-", 1)[-1])
    return token in squash(answer)


# --- one object for the gateway ----------------------------------------------------------


@dataclass(frozen=True)
class Guardrails:
    """The guardrails one process uses: a PII analyzer and optional semantic and trained injection detectors.

    Built once (``infra.clients.pii.build_guardrails``) and passed to the gateway.
    ``Guardrails()`` is the pattern-only, rules-only configuration.
    """

    analyzer: Any = None
    semantic: SemanticDetector | None = None
    classifier: InjectionClassifier | None = None

    def redact(self, text: str) -> Redaction:
        """``redact_pii`` with this process's analyzer."""
        return redact_pii(text, self.analyzer)

    def check(self, text: str) -> InjectionCheck:
        """``check_injection`` with this process's semantic detector and classifier (if any)."""
        return check_injection(text, semantic=self.semantic, classifier=self.classifier)

    def filter_chunks(self, chunks: Sequence[T], text_of: Callable[[T], str]) -> tuple[list[T], list[tuple[T, InjectionCheck]]]:
        """``filter_chunks`` screening each chunk with ``check``."""
        return filter_chunks(chunks, text_of, check=self.check)
