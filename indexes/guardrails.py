"""Guardrails as pure functions: PII redaction and prompt-injection screening.

Both are deterministic, rule-based first lines of defence. They run inside the
gateway and the index build, where there is no network and no spare model to
call, and they must give the same answer for the same text so a decision can be
replayed from logs. Rules miss paraphrases a trained classifier would catch;
the aim is to stop the common, well-known patterns cheaply while never
flagging ordinary questions about policies, systems or instructions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Iterator, Pattern, Sequence, TypeVar

T = TypeVar("T")

PII_KINDS = ("email", "phone", "card", "national_id")

_PLACEHOLDERS = {kind: f"[{kind.upper()}]" for kind in PII_KINDS}


@dataclass(frozen=True)
class Redaction:
    """Text with its PII replaced.

    Attributes:
        text: The redacted text; each match is replaced by ``[EMAIL]``,
            ``[PHONE]``, ``[CARD]`` or ``[NATIONAL_ID]``.
        found: Number of matches per kind, only for kinds that were found.
    """

    text: str
    found: dict[str, int]


# --- PII patterns -----------------------------------------------------------
# Every pattern is anchored against neighbouring word characters so that a
# match never starts or ends in the middle of a longer token (an order id, a
# URL path, a version string).

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)

# Cards: 13-19 digits written contiguously, or in groups of 3-6 digits split by
# one consistent separator (4-4-4-4, 4-6-5 Amex, 4-4-4-4-3). Groups of two
# (dates, times) never qualify, which keeps "2026-03-01" and the like out.
_CARD = re.compile(r"(?<![\w-])(?:\d{13,19}|\d{4}(?P<sep>[ -])\d{3,6}(?:(?P=sep)\d{3,6}){1,3})(?!\d|[-.]\d)")

# US SSN: area 000, 666 and 900-999, group 00 and serial 0000 are never issued,
# so excluding them cuts false hits on numbers that merely have the shape.
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w]|-\d)")

# UK National Insurance number: prefix letters D, F, I, Q, U, V are never used
# (nor O as second letter), prefixes BG, GB, KN, NK, NT, TN, ZZ are not
# allocated, suffix is A-D. Digits may be written in pairs separated by spaces.
_NINO = re.compile(
    r"(?<![\w])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![\w])",
    re.IGNORECASE,
)

# International numbers start with "+" and a country code; the rest is free
# grouping. Length is checked on the digits afterwards (7-15, per E.164).
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?(?:\(\d{1,5}\)|\d{1,5})){1,6}(?!\d|[.-]\d)")

# National numbers: only shapes that phone numbers actually take, not "any
# digits with separators", so amounts, dates, versions and IP addresses do not
# qualify. NANP: (415) 555-0199, 415-555-0199, 415.555.0199, 1-800-555-0199.
_PHONE_NANP = re.compile(r"(?<![\w+.-])(?:1[ .-])?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w]|[.-]\d)")
# Trunk-prefix "0" numbers (UK and most of Europe): 020 7946 0958, 01632 960123,
# (020) 7946 0958, 01 23 45 67 89.
_PHONE_TRUNK = re.compile(
    r"(?<![\w+.-])(?:(?:\(0\d{1,4}\)|0\d{1,4})[ .-]?\d{3,4}[ .-]?\d{3,4}|0\d(?:[ .-]\d{2}){4})(?![\w]|[.-]\d)"
)


def _digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit())


def luhn_valid(number: str) -> bool:
    """Whether a digit string passes the Luhn checksum used by payment cards.

    Args:
        number: Digits, possibly with separators (non-digits are ignored).

    Returns:
        True when the checksum holds and there is at least one digit.
    """
    digits = _digits(number)
    if not digits:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_spans(text: str) -> Iterator[tuple[int, int]]:
    for m in _CARD.finditer(text):
        start, end = m.span()
        sep = m.group("sep")
        if sep is None:
            if luhn_valid(m.group()):
                yield start, end
            continue
        # A grouped match may have swallowed a trailing group that is not part
        # of the card ("4111 1111 1111 1111 2027"): try shorter prefixes too.
        groups = m.group().split(sep)
        for n in range(len(groups), 2, -1):
            candidate = sep.join(groups[:n])
            if 13 <= len(_digits(candidate)) <= 19 and luhn_valid(candidate):
                yield start, start + len(candidate)
                break


def _phone_spans(text: str) -> Iterator[tuple[int, int]]:
    for m in _PHONE_INTL.finditer(text):
        if 7 <= len(_digits(m.group())) <= 15:
            yield m.span()
    for m in _PHONE_NANP.finditer(text):
        yield m.span()
    for m in _PHONE_TRUNK.finditer(text):
        # A bare run of digits that starts with 0 is more often an account or
        # order number than a phone number: insist on some separator.
        if 10 <= len(_digits(m.group())) <= 11 and not m.group().isdigit():
            yield m.span()


def _national_id_spans(text: str) -> Iterator[tuple[int, int]]:
    for pattern in (_SSN, _NINO):
        for m in pattern.finditer(text):
            yield m.span()


def _email_spans(text: str) -> Iterator[tuple[int, int]]:
    for m in _EMAIL.finditer(text):
        yield m.span()


# Order matters: an earlier kind claims its characters first. Emails go first
# (they may contain digits); cards and national ids go before phones so a card
# number or an SSN is never reported as a phone number.
_SPAN_FINDERS: tuple[tuple[str, Callable[[str], Iterator[tuple[int, int]]]], ...] = (
    ("email", _email_spans),
    ("card", _card_spans),
    ("national_id", _national_id_spans),
    ("phone", _phone_spans),
)


def redact_pii(text: str) -> Redaction:
    """Replaces emails, phone numbers, payment cards and national ids in ``text``.

    Matches are collected on the original text first and replaced in one pass
    afterwards, so replacing one match never shifts the offsets of another.
    Where two matches overlap, the kind earlier in the priority order (email,
    card, national id, phone) wins, then the earlier and longer match.

    Args:
        text: Any text (a question, an answer, a document chunk).

    Returns:
        The redacted text and the count of matches per kind found.
    """
    taken: list[tuple[int, int, str]] = []
    for kind, finder in _SPAN_FINDERS:
        # Within one kind, prefer earlier then longer spans.
        for start, end in sorted(set(finder(text)), key=lambda s: (s[0], -(s[1] - s[0]))):
            if any(start < t_end and t_start < end for t_start, t_end, _ in taken):
                continue
            taken.append((start, end, kind))
    taken.sort()
    parts: list[str] = []
    found: dict[str, int] = {}
    cursor = 0
    for start, end, kind in taken:
        parts.append(text[cursor:start])
        parts.append(_PLACEHOLDERS[kind])
        found[kind] = found.get(kind, 0) + 1
        cursor = end
    parts.append(text[cursor:])
    return Redaction(text="".join(parts), found=found)


# --- Prompt injection --------------------------------------------------------


@dataclass(frozen=True)
class InjectionCheck:
    """Outcome of screening one text for prompt injection.

    Attributes:
        flagged: Whether any rule fired.
        score: 0 when nothing fired, else ``min(1, 0.6 + 0.2 * (n_rules - 1))``.
        rules: Names of the rules that fired, in rule order.
    """

    flagged: bool
    score: float
    rules: tuple[str, ...]


_I = re.IGNORECASE
_IM = re.IGNORECASE | re.MULTILINE

# Each rule is a family of patterns; the rule fires when any of them matches.
# The patterns look for the *shape* of an attack (a verb aimed at the model's
# instructions, a fake role tag, data sent to a URL), never for lone words such
# as "ignore", "system" or "password" that ordinary questions use all the time.
_RULES: tuple[tuple[str, tuple[Pattern[str], ...]], ...] = (
    (
        "ignore_instructions",
        (
            re.compile(
                r"\b(?:ignore|disregard|forget|override|bypass)\s+"
                r"(?:(?:all|any|the|your|my|these|those|each|every|of)\s+)*"
                r"(?:(?:previous|prior|above|earlier|preceding|former|original|initial|system|existing|safety)\s+)*"
                r"(?:instructions?|rules|prompts?|directions|directives|guidelines|context)\b"
                # A following noun makes it a thing, not the model's orders:
                # "override the rules engine", "ignore the prompt version".
                r"(?!\s+(?:engine|file|files|table|config|configuration|module|set|page|list|repo|repository|version|versions|"
                r"template|templates|registry|cache|window|length|size|column|field)\b)",
                _I,
            ),
            re.compile(
                r"\b(?:ignore|disregard|forget)\s+(?:everything|anything|all)\s+"
                r"(?:(?:you\s+(?:were|have\s+been)\s+told|(?:that\s+)?(?:was\s+)?(?:said|written))\s+)?"
                r"(?:above|before|previously|so\s+far|up\s+to\s+now)\b",
                _I,
            ),
        ),
    ),
    (
        "reveal_prompt",
        (
            # "your ..." is addressed to the model; "the ..." only counts with a
            # qualifier, so "show the instructions for a backfill" stays benign.
            re.compile(
                r"\b(?:reveal|print|show|repeat|output|display|dump|leak|recite|disclose)\s+(?:me\s+|us\s+)?"
                r"(?:your\s+(?:(?:system|hidden|initial|original|secret|full)\s+)?"
                r"|the\s+(?:system|hidden|initial|original|secret)\s+)"
                r"(?:prompt|instructions|rules|guidelines|directives|configuration)\b",
                _I,
            ),
            re.compile(r"\bwhat\s+(?:is|are|were)\s+your\s+(?:(?:system|hidden|initial|original)\s+)?(?:prompt|instructions)\b", _I),
        ),
    ),
    (
        "repeat_above",
        (
            re.compile(
                r"\b(?:repeat|print|output|copy)\s+(?:(?:the|all|all\s+the|every)\s+)?"
                r"(?:text|words|content|lines|everything|messages?)\s+(?:above|before\s+this|preceding)\b",
                _I,
            ),
        ),
    ),
    (
        "role_hijack",
        (
            re.compile(r"\byou\s+are\s+now\b", _I),
            re.compile(r"\bfrom\s+now\s+on,?\s+you\s+(?:are|will|must|shall)\b", _I),
            # "act as" only as an imperative: "does the cache act as a fallback?" is benign.
            re.compile(r"(?:^|[.!?:;]\s*|\b(?:you\s+(?:will|must|should|shall|to)|now|please|instead)\s+)act\s+as\b", _IM),
            re.compile(r"\bpretend\s+(?:to\s+be|(?:that\s+)?you\s+are|you're)\b", _I),
            re.compile(r"\bDAN\b|\bdo\s+anything\s+now\b"),  # case-sensitive: "Dan" is a name
            re.compile(r"\b(?:developer|god|unrestricted|jailbreak)\s+mode\b", _I),
            re.compile(r"\bjail\s?break(?:s|ing|ed)?\b|\bjail\s?broken\b", _I),
            # Persona set-ups: a model "without restrictions" that must "stay in character".
            re.compile(
                r"\b(?:ai|assistant|chatbot|bot|llm)\s+(?:without|with\s+no|free\s+of)\s+(?:any\s+)?"
                r"(?:restrictions|limits|limitations|filters|rules|guidelines|guardrails|censorship)\b",
                _I,
            ),
            re.compile(r"\bstay\s+in\s+character\b", _I),
            re.compile(
                r"\byou\s+(?:now\s+)?(?:have|has)\s+no\s+(?:more\s+)?(?:restrictions|limits|limitations|filters|rules|guidelines|guardrails)\b"
                r"|\byou\s+are\s+(?:no\s+longer|not)\s+(?:bound|restricted|limited)\s+by\b",
                _I,
            ),
        ),
    ),
    (
        "fake_delimiter",
        (
            re.compile(r"^[ \t]*#{2,}[ \t]*(?:system|instructions?|assistant)[ \t]*(?::|#|$)", _IM),
            re.compile(r"<\|\s*(?:im_start|im_end|system|user|assistant|endoftext)\s*\|>", _I),
            re.compile(r"</?\s*(?:context|system|instructions?|documents?)\s*>", _I),
            re.compile(r"\[/?INST\]|<</?SYS>>", _I),
            re.compile(r"^[ \t]*(?:system|assistant)[ \t]*:", _IM),
        ),
    ),
    (
        "new_instructions",
        (
            # The phrase has to introduce instructions ("New instructions: ...",
            # "here are your updated instructions"), not merely mention them.
            re.compile(r"\b(?:new|updated|revised|real|actual)\s+instructions?\s*[:\-\u2013\u2014]", _I),
            re.compile(
                r"\b(?:here\s+are|these\s+are|follow|obey)\s+(?:your|my|the|these)\s+(?:new|updated|revised|real)\s+instructions?\b", _I
            ),
            re.compile(r"\byour\s+(?:new|updated|revised|real)\s+instructions?\s+(?:are|is)\b", _I),
        ),
    ),
    (
        "exfiltration",
        (
            # Markdown image to a URL with a query string: rendering it sends data
            # to that host without a click.
            re.compile(r"!\[[^\]\n]*\]\(\s*<?(?:https?:)?//[^)\s]*\?[^)\s]*=", _I),
            # Markdown link whose query is a template to be filled with data.
            re.compile(
                r"\[[^\]\n]*\]\(\s*<?(?:https?:)?//[^)\s]*\?[^)\s]*"
                r"(?:[{<$]|%7B|%3C|\b(?:data|secret|token|key|password|prompt|chat|history|conversation|ssn|creds?)=)",
                _I,
            ),
            re.compile(
                # Only data worth stealing counts, so "upload the file to https://..."
                # in a runbook stays benign.
                r"\b(?:send|post|upload|forward|transmit|submit|exfiltrate|leak|append)\b[^\n]{0,60}?"
                r"\b(?:conversation|chat|history|data|credentials?|passwords?|secrets?|tokens?|keys?|prompt|context|"
                r"documents?|messages?|answers?|responses?|everything|information|info|details|pii|ssns?|e-?mails?|"
                r"records?|summary|contents?)\b[^\n]{0,60}?\b(?:to|into)\s+(?:https?://|www\.)",
                _I,
            ),
            re.compile(
                r"\b(?:e-?mail|send|forward|share|give|tell)\s+(?:me\s+|us\s+|them\s+)?"
                r"(?:(?:the|your|all|any|their|user'?s?|admin)\s+)*"
                r"(?:passwords?|credentials|api[\s_-]?keys?|secrets?|access\s+tokens?)\b"
                r"(?!\s+(?:policy|policies|reset|rotation|manager|expiry|requirements?|rules))",
                _I,
            ),
            re.compile(
                r"\b(?:visit|open|go\s+to|navigate\s+to|click(?:\s+on)?|fetch|load|browse\s+to|follow)\s+"
                r"(?:this|the\s+following|the\s+below|that)\s+(?:url|link|site|website|web\s*page|address)\b",
                _I,
            ),
        ),
    ),
    (
        "addressed_to_ai",
        (
            re.compile(
                r"\bas\s+an?\s+(?:ai|artificial\s+intelligence|(?:ai\s+|large\s+)?language\s+model|llm|ai\s+assistant|chatbot)\b"
                r"[^.\n]{0,40}?\b(?:you\s+(?:must|should|will|shall|are\s+required)|must|are\s+required\s+to)\b",
                _I,
            ),
            re.compile(
                r"\b(?:the|this|any)\s+(?:ai\s+)?(?:assistant|ai|chatbot|llm|language\s+model|ai\s+model)\s+"
                r"(?:must|should|will|shall|is\s+to|needs\s+to)\s+"
                r"(?:now|immediately|instead|henceforth|from\s+now\s+on|ignore|disregard|forget|reveal|stop|only\s+respond|respond\s+only)\b",
                _I,
            ),
            re.compile(
                r"\b(?:attention|note|important|message|instructions?)\s*(?:to|for)\s+(?:the\s+|any\s+)?(?:ai\s+)?"
                r"(?:ai|assistant|llm|language\s+model|chatbot|model|agent)s?\b\s*[:,\-!]",
                _I,
            ),
            re.compile(r"\bif\s+you\s+are\s+an?\s+(?:ai|llm|(?:large\s+)?language\s+model|ai\s+assistant|chatbot)\b", _I),
        ),
    ),
)

# A long base64-looking run is only suspicious together with an instruction to
# decode it: hashes and ids are long too, but nobody asks the model to decode them.
_BASE64_BLOB = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=])")
_DECODE = re.compile(r"\bdecod(?:e|es|ed|ing)\b", re.IGNORECASE)

# Zero-width and BOM characters split words invisibly ("ig\u200bnore") to slip
# past patterns; they carry no meaning, so they are dropped before matching.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


# Letters spelled out one by one ("i-g-n-o-r-e", "i g n o r e") to dodge word
# patterns: four or more single letters joined by one and the same separator,
# so "p-r-e-v-i-o-u-s i-n-s-t-r-u-c-t-i-o-n-s" stays two words.
_SPELLED_OUT = re.compile(r"(?<![^\W\d_])[^\W\d_](?P<sep>[-._ ])(?:[^\W\d_](?P=sep)){2,}[^\W\d_](?![^\W\d_])")


def _normalize(text: str) -> str:
    # NFKC folds full-width and other look-alike forms onto plain ASCII.
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


def _respell(text: str) -> str:
    return _SPELLED_OUT.sub(lambda m: m.group().replace(m.group("sep"), ""), text)


def _looks_base64(blob: str) -> bool:
    # Needs a mix of classes: a run of one letter or a long hex digest is not a payload.
    return any(c.isupper() for c in blob) and any(c.islower() for c in blob) and any(c.isdigit() or c in "+/" for c in blob)


def check_injection(text: str) -> InjectionCheck:
    """Screens ``text`` for prompt-injection attempts with fixed rules.

    This is a heuristic first line of defence: it needs no network and no
    model, is deterministic, and is tuned to leave ordinary questions alone
    (words like "ignore", "instructions", "system" or "password" on their own
    never fire). It will miss novel paraphrases; the prompt itself still tells
    the model that context is data, not instructions.

    Args:
        text: A user question or a retrieved chunk.

    Returns:
        Whether it is flagged, a score in [0, 1] and the names of the rules that fired.
    """
    normalized = _normalize(text)
    # Rules run on the text as written and on a copy with spelled-out words
    # joined up; the copy is only ever used for matching.
    variants = (normalized, respelled) if (respelled := _respell(normalized)) != normalized else (normalized,)
    fired = [name for name, patterns in _RULES if any(p.search(v) for p in patterns for v in variants)]
    if _DECODE.search(normalized) and any(_looks_base64(m.group()) for m in _BASE64_BLOB.finditer(normalized)):
        fired.append("encoded_payload")
    if not fired:
        return InjectionCheck(flagged=False, score=0.0, rules=())
    score = min(1.0, 0.6 + 0.2 * (len(fired) - 1))
    return InjectionCheck(flagged=True, score=round(score, 6), rules=tuple(fired))


def filter_chunks(chunks: Sequence[T], text_of: Callable[[T], str]) -> tuple[list[T], list[tuple[T, InjectionCheck]]]:
    """Drops retrieved chunks that trip the injection detector.

    A poisoned document in the corpus could otherwise steer the answer, since
    its text is pasted into the prompt next to the real instructions.

    Args:
        chunks: Retrieved chunks, in rank order.
        text_of: Gives the text of one chunk.

    Returns:
        The chunks kept (rank order preserved) and the chunks dropped, each
        with the check that flagged it.
    """
    kept: list[T] = []
    dropped: list[tuple[T, InjectionCheck]] = []
    for chunk in chunks:
        check = check_injection(text_of(chunk))
        if check.flagged:
            dropped.append((chunk, check))
        else:
            kept.append(chunk)
    return kept, dropped
