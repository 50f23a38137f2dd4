"""The gateway's rules, as pure functions: routing, budgets, cost, cache keys."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Iterable, Literal

BudgetState = Literal["ok", "warning", "exceeded"]


def normalize_question(question: str) -> str:
    """Case, accents of width, whitespace and trailing punctuation do not make a new question."""
    text = unicodedata.normalize("NFKC", question).casefold()
    text = re.sub(r"\s+", " ", text).strip()
    return text.rstrip(" ?!.")


def cache_key(question: str, *, prompt_version: str, index_version: str, generator: str) -> str:
    """Key of a cached answer: a new prompt, index or generator never hits an old entry."""
    raw = "\x1f".join([normalize_question(question), prompt_version, index_version, generator])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def route(question: str, *, endpoint_available: bool, min_words: int, keywords: Iterable[str]) -> str:
    """Which generator answers: ``endpoint`` when configured and the rule matches, else ``offline``.

    The rule: at least ``min_words`` words, or any of ``keywords`` in the question
    (case-insensitive). ``min_words=0`` with no keywords sends everything to the endpoint.
    """
    if not endpoint_available:
        return "offline"
    text = question.casefold()
    keywords = [k.casefold() for k in keywords]
    if keywords and any(k in text for k in keywords):
        return "endpoint"
    return "endpoint" if len(question.split()) >= min_words and (min_words > 0 or not keywords) else "offline"


def budget_state(used_tokens: int, limit: int, warn_ratio: float) -> BudgetState:
    """Where a tenant stands against its daily token budget before a request."""
    if used_tokens >= limit:
        return "exceeded"
    if used_tokens >= warn_ratio * limit:
        return "warning"
    return "ok"


def cost_usd(prompt_tokens: int, completion_tokens: int, *, prompt_per_1k: float, completion_per_1k: float) -> float:
    return round(prompt_tokens / 1000 * prompt_per_1k + completion_tokens / 1000 * completion_per_1k, 8)
