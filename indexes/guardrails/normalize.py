"""Undo the disguises attackers put on text before any rule or model reads it.

``variants(text)`` returns the text as a detector should see it (NFKC, no
zero-width characters, look-alike letters folded onto Latin) plus, when they
differ, re-spelled forms: spaced-out or dotted letters joined, leetspeak
digits read as letters, base64 blobs decoded, and the ROT13 reading when it
looks more like language than the original. Every variant is checked; none is
ever shown to a user or sent to a model.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata

# Zero-width, joiners, word joiner, BOM, soft hyphen, invisible separators and
# bidi controls: they change no visible letter and only serve to split words.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)

# Cyrillic and Greek letters that look like Latin ones (NFKC keeps them apart).
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a", "в": "b", "с": "c", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k", "м": "m",
        "н": "h", "о": "o", "р": "p", "т": "t", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ɡ": "g", "ԛ": "q", "ԝ": "w",
        "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Ј": "J", "К": "K", "М": "M", "О": "O", "Р": "P",
        "Т": "T", "Х": "X", "У": "Y", "Ѕ": "S", "Ԁ": "D",
        "α": "a", "ε": "e", "ι": "i", "κ": "k", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ν": "v",
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
        "Τ": "T", "Υ": "Y", "Χ": "X",
        "ı": "i", "ℓ": "l", "ꞵ": "b",
    }
)  # fmt: skip

_CYRILLIC_OR_GREEK = re.compile(r"[\u0370-\u03ff\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")

# Four or more single letters joined by one and the same separator
# ("i g n o r e", "f.o.r.g.e.t", "i-g-n-o-r-e").
_SPELLED_OUT = re.compile(r"(?<![^\W\d_])[^\W\d_](?P<sep>[-._ *|])(?:[^\W\d_](?P=sep)){2,}[^\W\d_](?![^\W\d_])")

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s", "!": "i", "|": "l"})
_LEET_TOKEN = re.compile(r"[\w@$!|]*[A-Za-z][\w@$!|]*")

_BASE64_BLOB = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")

# Common words of English, for deciding whether a ROT13 reading is language.
_COMMON = frozenset(
    "the and you your to of a in is it that for on with as are this be or all now me my what show tell print "
    "ignore previous instructions rules system prompt reveal give secret hidden forget disregard".split()
)


def _fold_homoglyphs(text: str) -> str:
    # Only fold words that mix scripts, so Russian text stays Russian for the
    # Russian rules while "Іgnоrе" (Latin with Cyrillic letters) becomes Latin.
    def fold(m: re.Match[str]) -> str:
        word = m.group()
        return word.translate(_HOMOGLYPHS) if _LATIN.search(word) and _CYRILLIC_OR_GREEK.search(word) else word

    text = re.sub(r"\w+", fold, text)
    # A sentence written entirely in look-alikes has no Latin letter per word;
    # fold it too when most of its letters have a Latin twin and the result is
    # mostly common English words.
    if _CYRILLIC_OR_GREEK.search(text):
        folded = text.translate(_HOMOGLYPHS)
        if _english_score(folded) > _english_score(text) and _english_score(folded) >= 0.3:
            return folded
    return text


def clean(text: str) -> str:
    """NFKC, invisible characters removed, look-alike letters folded, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return _fold_homoglyphs(text)  # spacing kept: wide gaps separate spaced-out words


def respell(text: str) -> str:
    """Spelled-out letters joined: "i g n o r e  t h e" -> "ignore the"."""
    # Word gaps in spaced-out text are wider (2+ spaces); keep them as one space.
    def join(m: re.Match[str]) -> str:
        return m.group().replace(m.group("sep"), "")

    if re.search(r"(?:\b\w {1}){3,}\w\b", text) and "  " in text:
        text = re.sub(r" {2,}", " \x00 ", text)
        text = _SPELLED_OUT.sub(join, text.replace(" \x00 ", "\x00")).replace("\x00", " ")
        return re.sub(r"\s+", " ", text)
    return _SPELLED_OUT.sub(join, text)


def unleet(text: str) -> str:
    """Digits and symbols inside words read as letters: "1gn0r3" -> "ignore"; numbers alone stay."""

    def fix(m: re.Match[str]) -> str:
        word = m.group()
        return word.translate(_LEET) if re.search(r"[0-9@$!|]", word) else word

    return _LEET_TOKEN.sub(fix, text)


def _english_score(text: str) -> float:
    words = re.findall(r"[a-z]+", text.lower())
    return sum(w in _COMMON for w in words) / len(words) if words else 0.0


def decoded_blobs(text: str) -> list[str]:
    """Base64 runs that decode to readable text (hashes and ids do not)."""
    out = []
    for m in _BASE64_BLOB.finditer(text):
        blob = m.group()
        if not (any(c.isupper() for c in blob) and any(c.islower() for c in blob)):
            continue
        try:
            raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        printable = sum(ch.isprintable() or ch.isspace() for ch in decoded) / max(1, len(decoded))
        if printable > 0.95 and len(decoded.split()) >= 3:
            out.append(decoded)
    return out


def rot13_reading(text: str) -> str | None:
    """The ROT13 reading of the text when it reads more like English than the text does."""
    rotated = codecs.encode(text, "rot13")
    if _english_score(rotated) >= 0.25 and _english_score(rotated) > 2 * _english_score(text):
        return rotated
    return None


def variants(text: str) -> list[str]:
    """The cleaned text first, then every distinct re-reading worth checking."""
    raw = clean(text)
    base = re.sub(r"[ \t]+", " ", raw)
    out = [base]

    def add(v: str | None) -> None:
        if v and v not in out:
            out.append(v)

    spelled = re.sub(r"[ \t]+", " ", respell(raw))
    add(spelled)
    add(unleet(spelled))
    for blob in decoded_blobs(base):
        add(clean(blob))
    add(rot13_reading(base))
    # Segments of the text may be encoded while the rest is plain ("ROT13: ...").
    for segment in re.split(r"[:\n]", base)[1:]:
        add(rot13_reading(segment.strip()))
    return out
