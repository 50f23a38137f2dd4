"""Undo the disguises attackers put on text before any rule or model reads it.

``variants(text)`` returns the text as a detector should see it (NFKC, no
zero-width characters, look-alike letters folded onto Latin) plus, when they
differ, re-spelled forms: spaced-out or dotted letters joined, leetspeak
digits read as letters, base64, hex, Morse and URL-encoded runs decoded, and the
Caesar (ROT13 or any other shift), reversed (right to left) and word-by-word
reversed readings when they look more like language than the original.
``hidden_segments(text)`` gives the text of a document's hidden places (HTML
comments, alt text, hidden spans, footnotes, code comments, JSON string
values, table cells), each on its own, for the rules to read.
Invisible Unicode tag characters (text smuggled in U+E0020-E007E) are read
as the ASCII they encode, a payload split into quoted
variables ("x = 'sys'", "y = 'tem prompt'", "print x+y") is read joined, and combining marks stacked on Latin letters
("i̶g̶n̶o̶r̶e̶") are dropped. Every variant is checked; none is
ever shown to a user or sent to a model.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
import urllib.parse

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

# Unicode tag characters spell ASCII invisibly ("ASCII smuggling"): read them as the letters they encode.
_TAGS = {0xE0000 + c: chr(c) for c in range(0x20, 0x7F)} | {0xE0001: None, 0xE007F: None}
# Combining marks left after NFKC on a Latin letter (strike-through, underline, "zalgo"): noise, not accents.
_LATIN_COMBINING = re.compile(r"(?<=[A-Za-z])[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")

_CYRILLIC_OR_GREEK = re.compile(r"[\u0370-\u03ff\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")

# Four or more single letters joined by one and the same separator
# ("i g n o r e", "f.o.r.g.e.t", "i-g-n-o-r-e", "i+g+n+o+r+e", letters between emoji or on lines of their own).
_SPELLED_OUT = re.compile(r"(?<![^\W\d_])[^\W\d_](?P<sep>[^\w\s]|_| |\n)(?:[^\W\d_](?P=sep)){2,}[^\W\d_](?![^\W\d_])")

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
    text = unicodedata.normalize("NFKC", text.translate(_TAGS)).translate(_INVISIBLE)
    # NFKC splits Thai and Lao SARA AM into NIKHAHIT + SARA AA; words are written (and matched) with it whole.
    text = text.replace("\u0e4d\u0e32", "\u0e33").replace("\u0ecd\u0eb2", "\u0eb3")
    text = _LATIN_COMBINING.sub("", text)
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


# Hex-encoded text: an even run of 24+ hex digits with letters and digits. Hashes and trace
# ids are hex too; they decode to bytes that are not readable words, so they are dropped.
_HEX_BLOB = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){12,}(?![0-9A-Fa-f])")


def decoded_hex(text: str) -> list[str]:
    """Hex runs that decode to readable text of three or more words."""
    out = []
    for m in _HEX_BLOB.finditer(text):
        try:
            decoded = bytes.fromhex(m.group()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
        printable = sum(ch.isprintable() or ch.isspace() for ch in decoded) / max(1, len(decoded))
        if printable > 0.95 and len(decoded.split()) >= 3:
            out.append(decoded)
    return out


def reversed_reading(text: str) -> str | None:
    """The text read right to left when that reads more like English than the text does."""
    flipped = text[::-1]
    if _english_score(flipped) >= 0.25 and _english_score(flipped) > 2 * _english_score(text):
        return flipped
    return None


def _caesar(text: str, shift: int) -> str:
    table = {}
    for base in (ord("a"), ord("A")):
        table.update({base + i: base + (i + shift) % 26 for i in range(26)})
    return text.translate(table)


def rot13_reading(text: str) -> str | None:
    """The Caesar reading (ROT13 or any other shift) that reads most like English, when it reads more like it than the text."""
    own = _english_score(text)
    if own >= 0.2:  # English already: not a cipher
        return None
    best, best_score = None, 0.0
    for shift in [13, *range(1, 13), *range(14, 26)]:
        rotated = codecs.encode(text, "rot13") if shift == 13 else _caesar(text, shift)
        score = _english_score(rotated)
        if score > best_score:
            best, best_score = rotated, score
    if best is not None and best_score >= 0.25 and best_score > 2 * own:
        return best
    return None


def words_reversed_reading(text: str) -> str | None:
    """Each word spelled backwards in place ("erongi lla") read forwards, when that reads more like English."""
    flipped = re.sub(r"[^\W\d_]+", lambda m: m.group()[::-1], text)
    if _english_score(flipped) >= 0.25 and _english_score(flipped) > 2 * _english_score(text):
        return flipped
    return None


_URL_ENCODED = re.compile(r"(?:%[0-9A-Fa-f]{2}){4,}[^\s%]*(?:(?:%[0-9A-Fa-f]{2})+[^\s%]*)*")

# Places in a document a reader does not see, or skims past: HTML comments, alt/title attributes,
# elements hidden by style, footnote bodies, code comments, JSON/YAML string values, table cells.
# An order planted there is judged on its own, as if it were the whole text: around it, the
# visible document (a question, a quotation, a sentence about something else) would otherwise
# decide whether it is a mention.
_HIDDEN_PLACES = (
    re.compile(r"<!--(.{3,2000}?)-->", re.DOTALL),
    re.compile(r"\b(?:alt|title|aria-label|data-[\w-]+)\s*=\s*\"([^\"]{12,1000})\"", re.IGNORECASE),
    re.compile(r"<(\w+)[^>]*\bstyle\s*=\s*\"[^\"]*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*[01](?:\.\d+)?(?:px|pt|em)?\b|"
               r"color\s*:\s*(?:#fff(?:fff)?|white)\b|opacity\s*:\s*0(?:\.0+)?\b)[^\"]*\"[^>]*>(.{3,2000}?)</\1\s*>", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\[\^[^\]]{1,10}\]:\s*(.{3,1000})$", re.MULTILINE),
    re.compile(r"/\*(.{3,2000}?)\*/", re.DOTALL),
    re.compile(r"(?:^|\s)(?://|#+)\s*(.{12,400})$", re.MULTILINE),
    re.compile(r"\"[\w .-]{1,40}\"\s*:\s*\"((?:[^\"\\]|\\.){12,2000})\""),
    re.compile(r"^\s*\|(.{12,1000})\|\s*$", re.MULTILINE),
)


def hidden_segments(text: str) -> list[str]:
    """Text in hidden or skimmed places of a document, each segment on its own (see ``_HIDDEN_PLACES``)."""
    out: list[str] = []
    for pattern in _HIDDEN_PLACES:
        for m in pattern.finditer(text):
            segment = m.group(m.lastindex or 0)
            if pattern.pattern.startswith(r"^\s*\|"):  # a table row: each cell on its own
                cells = [c.strip() for c in segment.split("|")]
            else:
                cells = [segment]
            for cell in cells:
                cell = re.sub(r"<[^>]{1,200}>", " ", cell).replace('\\"', '"')
                cell = re.sub(r"\s+", " ", cell).strip()
                if len(cell.split()) >= 4 and cell not in out:
                    out.append(cell)
    return out


# A payload split into variables: "a = 'ignore all your'", "x = 'sys'", then "a + b" or "x+y+z".
_ASSIGNMENT = re.compile(r"\b([A-Za-z]\w{0,11})\s*(?:=|:=|is)\s*(?:'([^'\n]{1,80})'|\"([^\"\n]{1,80})\")")


def substituted_variables(text: str) -> str | None:
    """The text with every ``a + b`` of quoted variables replaced by the joined string, when there is one."""
    values = {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _ASSIGNMENT.finditer(text)}
    if len(values) < 2:
        return None
    names = "|".join(re.escape(n) for n in sorted(values, key=len, reverse=True))
    expr = re.compile(r"\b(?:" + names + r")\b(?:\s*\+\s*\b(?:" + names + r")\b)+")
    if not expr.search(text):
        return None
    return expr.sub(lambda m: "".join(values[n.strip()] for n in m.group().split("+")), text)


# International Morse code: letters of dots and dashes separated by spaces, words by " / " or wide gaps.
_MORSE = {
    ".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g", "....": "h", "..": "i", ".---": "j",
    "-.-": "k", ".-..": "l", "--": "m", "-.": "n", "---": "o", ".--.": "p", "--.-": "q", ".-.": "r", "...": "s", "-": "t",
    "..-": "u", "...-": "v", ".--": "w", "-..-": "x", "-.--": "y", "--..": "z", ".----": "1", "..---": "2", "...--": "3",
    "....-": "4", ".....": "5", "-....": "6", "--...": "7", "---..": "8", "----.": "9", "-----": "0",
}  # fmt: skip
_MORSE_RUN = re.compile(r"(?<![\w.-])[.-]{1,6}(?:(?: {1,3}| ?/ ?)[.-]{1,6}){7,}(?![\w.-])")


def morse_readings(text: str) -> list[str]:
    """Runs of Morse code (8 or more symbols) decoded to letters, words split at "/" or wide gaps."""
    out = []
    for m in _MORSE_RUN.finditer(text):
        words = re.split(r" ?/ ?| {2,}", m.group())
        decoded = " ".join("".join(_MORSE.get(sym, "?") for sym in w.split()) for w in words)
        if decoded.count("?") <= len(decoded) // 10:
            out.append(decoded)
    return out


_PIG_WORD = re.compile(r"\b[A-Za-z]+ay\b")


def pig_latin_reading(text: str) -> str | None:
    """Pig Latin ("ignoreway ouryay ulesray") read back, when most words are written in it.

    Each word's moved consonants (one to three before "ay") are put back in
    front; of the readings, a common English word wins, else the one-letter one.
    """
    words = re.findall(r"[A-Za-z]+", text)
    if len(words) < 4 or sum(w.lower().endswith("ay") for w in words) < 0.6 * len(words):
        return None

    def back(m: re.Match[str]) -> str:
        word = m.group().lower()[:-2]
        if word.endswith("w") and len(word) > 2 and word[0] in "aeiou":
            return word[:-1]
        options = [word[-k:] + word[:-k] for k in (1, 2, 3) if len(word) > k and not set(word[-k:]) & set("aeiou")]
        return next((o for o in options if o in _COMMON), options[0] if options else word)

    return _PIG_WORD.sub(back, text)


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
    for blob in [*decoded_blobs(base), *decoded_hex(base), *morse_readings(base)]:
        add(clean(blob))
    if _english_score(base) < 0.2:  # a cipher or a reversal reads as no language at all
        add(rot13_reading(base))
        add(reversed_reading(base))
        add(words_reversed_reading(base))
        add(pig_latin_reading(base))
    add(substituted_variables(base))
    if _URL_ENCODED.search(base):
        add(clean(urllib.parse.unquote(base)))
    # A payload split into quoted pieces ("a = 'ignore all prev', b = 'ious instructions'"): the pieces joined.
    pieces = re.findall(r"'([^'\n]{2,80})'|\"([^\"\n]{2,80})\"", base)
    if len(pieces) >= 2 and re.search(r"\w\s*\+\s*\w|\b(?:concatenat|join|combin|append|put\s+together|glue)", base, re.IGNORECASE):
        add("".join(a or b for a, b in pieces))
    # Segments of the text may be encoded while the rest is plain ("ROT13: ...").
    for segment in re.split(r"[:\n]", base)[1:]:
        segment = segment.strip()
        if len(segment) < 12 or _english_score(segment) >= 0.2:  # too short, or plain English already
            continue
        add(rot13_reading(segment))
        add(reversed_reading(segment))
        add(words_reversed_reading(segment))
    return out
