"""Text structure and sentences: what the generator quotes and the evaluation checks.

Real documents are hard-wrapped (a sentence runs over several lines) and
structured (headings, list items, table rows, code blocks). A line is
therefore not a sentence: ``text_units`` first cuts a text into its structural
units (a paragraph or list item is unwrapped into one line; a heading, table
row or code block is a unit of its own), then ``sentences`` splits the prose
units with NLTK's Punkt sentence tokenizer, using the English model that ships
inside ``llama-index-core`` (nothing is downloaded).

The same functions serve both sides on purpose: the generator quotes whole
sentences of its chunks, and the evaluation checks that every quoted sentence
exists, whole, in the cited document (``claim_status``).

Pure: no I/O beyond reading the installed Punkt model once per process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Abbreviations Punkt's English model misses in technical prose: without them
# "e.g. the docs" or "see Fig. 2" would end a sentence.
_EXTRA_ABBREVIATIONS = {
    "e.g", "i.e", "etc", "vs", "cf", "fig", "figs", "eq", "approx", "incl", "resp", "esp", "no", "nos", "vol",
    "ch", "sec", "al", "ca", "min", "max", "avg", "dept", "mr", "mrs", "ms", "dr", "prof", "inc", "ltd", "co",
}

_FENCE = re.compile(r"^(```|~~~)")
_ATX_HEADING = re.compile(r"^#{1,6}(\s|$)")
_SETEXT = re.compile(r"^(=+|-+)$")
_LIST_ITEM = re.compile(r"^(?:[-*+\u2022]|\(?\d{1,3}[.)])\s+")
_TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")
_LINK_DEFINITION = re.compile(r"^\[[^\]]+\]:\s*\S+")
_HTML_ONLY = re.compile(r"^(?:<[^>]+>\s*)+$")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_QUOTE = re.compile(r"^>\s?")
_ADMONITION = re.compile(r"^\\?\[!\w+\]\s*")
_THEMATIC_BREAK = re.compile(r"^(?:\*\s*){3,}$|^(?:-\s*){3,}$|^(?:_\s*){3,}$")

# Inline Markdown reduced to what a reader sees: links to their text, images dropped.
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_INLINE_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_SPACES = re.compile(r"\s+")

_TERMINAL = ".!?:"
_CLOSERS = "\"')]}*_`\u201d\u2019"
# A sentence that stops on one of these words was cut, not finished.
_DANGLING = {
    "a", "an", "the", "of", "to", "and", "or", "but", "is", "are", "was", "were", "be", "with", "for", "in", "on",
    "by", "that", "which", "as", "at", "from", "into", "if", "when", "than", "then", "so", "its", "their", "this",
    "these", "can", "may", "must", "should", "will", "not", "nor", "has", "have", "had",
}


@dataclass(frozen=True)
class Unit:
    """One structural unit of a text.

    Attributes:
        kind: ``heading``, ``paragraph``, ``item`` (a list item), ``quote``,
            ``row`` (a table row), ``code`` (a fenced block) or ``html``.
        text: The unit's text; prose units are unwrapped onto one line and
            lose their list or quote marker; a table row keeps its cells.
    """

    kind: str
    text: str


@lru_cache(maxsize=1)
def _punkt():
    """The Punkt English model bundled with llama-index-core (read once, never downloaded)."""
    import llama_index.core
    from nltk.tabdata import PunktDecoder
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    model = Path(llama_index.core.__file__).parent / "_static" / "nltk_cache" / "tokenizers" / "punkt_tab" / "english"
    if not model.is_dir():
        raise RuntimeError(f"NLTK's Punkt model is not installed at {model} (it ships with llama-index-core)")
    params, decode = PunktParameters(), PunktDecoder()
    # Read the tab files directly: nltk's own loader refuses paths outside nltk.data.path.
    with open(model / "collocations.tab", encoding="utf-8") as f:
        params.collocations = set(decode.tab2tups(f))
    with open(model / "sent_starters.txt", encoding="utf-8") as f:
        params.sent_starters = decode.txt2set(f)
    with open(model / "abbrev_types.txt", encoding="utf-8") as f:
        params.abbrev_types = decode.txt2set(f) | _EXTRA_ABBREVIATIONS
    with open(model / "ortho_context.tab", encoding="utf-8") as f:
        params.ortho_context = decode.tab2intdict(f)
    return PunktSentenceTokenizer(params)


def plain(text: str) -> str:
    """Inline Markdown as a reader sees it, on one line: links become their text, spaces collapse."""
    text = _IMAGE.sub(r"\1", text)
    text = _INLINE_LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def _row_text(line: str) -> str:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    return " | ".join(c for c in cells if c)


def text_units(text: str) -> list[Unit]:
    """The structural units of a Markdown, plain-text or HTML-extracted text, in order.

    Paragraphs and list items are unwrapped (their lines joined with a space);
    a blank line, a heading, a new list item, a table, a fence or a quote
    ends them. Link definitions (``[x]: url``), HTML comments, thematic breaks
    and table separator rows are dropped.

    Args:
        text: The text; indentation is not needed (corpus text has none).

    Returns:
        The units in reading order.
    """
    units: list[Unit] = []
    kind: str | None = None
    buf: list[str] = []

    def flush() -> None:
        nonlocal kind, buf
        if kind == "paragraph" and len(buf) == 1 and _title_like(buf[0]):
            kind = "heading"  # a short unpunctuated line on its own: a title (text and HTML documents have no '#')
        if kind and buf:
            joined = plain(" ".join(buf))
            if joined:
                units.append(Unit(kind, joined))
        kind, buf = None, []

    lines = _HTML_COMMENT.sub("", text).splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line:
            flush()
            continue
        if _FENCE.match(line):
            flush()
            fence, body = line[:3], []
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence
            if any(b.strip() for b in body):
                units.append(Unit("code", "\n".join(body).strip()))
            continue
        if _ATX_HEADING.match(line):
            flush()
            heading = plain(line.lstrip("#").strip().rstrip("#").strip())
            if heading:
                units.append(Unit("heading", heading))
            continue
        if _SETEXT.match(line) and kind == "paragraph" and len(buf) == 1:
            kind = "heading"  # "Title\n=====": the line above was a heading
            flush()
            continue
        if _THEMATIC_BREAK.match(line) or _LINK_DEFINITION.match(line):
            flush()
            continue
        if line.startswith("|") or (kind == "row" and "|" in line):
            flush()
            if not _TABLE_SEPARATOR.match(line):
                row = plain(_row_text(line))
                if row:
                    units.append(Unit("row", row))
            kind = None
            continue
        if _HTML_ONLY.match(line):
            flush()
            continue
        if _QUOTE.match(line):
            content = _ADMONITION.sub("", _QUOTE.sub("", line)).strip()
            if kind != "quote":
                flush()
                kind = "quote"
            if content:
                buf.append(content)
            elif buf:
                flush()
            continue
        m = _LIST_ITEM.match(line)
        if m:
            flush()
            kind, buf = "item", [_QUOTE.sub("", line[m.end():]).strip()]
            continue
        if kind == "item" and buf and _starts_upper(line) and not _open_ended(buf[-1]):
            flush()  # "- an item" then "A paragraph": no lazy continuation across a finished item
        elif kind == "paragraph" and len(buf) == 1 and _title_like(buf[0]) and _starts_upper(line):
            kind = "heading"  # a short unpunctuated first line (titles of text and HTML documents)
            flush()
        if kind is None:
            kind = "paragraph"
        buf.append(line)
    flush()
    return units


def _starts_upper(line: str) -> bool:
    return line[:1].isupper()


def _open_ended(line: str) -> bool:
    """A line that stops mid-sentence: on a comma, a hyphen or a word that needs a continuation."""
    stripped = line.rstrip()
    if stripped[-1:] in (",", "-", "(", "/"):
        return True
    last = re.sub(r"\W+$", "", stripped.split()[-1].lower()) if stripped.split() else ""
    return last in _DANGLING


def _title_like(line: str) -> bool:
    stripped = line.rstrip()
    return len(stripped.split()) <= 8 and stripped[-1:] not in _TERMINAL + ";,)" and not _open_ended(stripped)


def split_prose(text: str) -> list[str]:
    """Sentences of one unwrapped prose unit, by Punkt (abbreviations and decimals stay whole)."""
    return [s.strip() for s in _punkt().tokenize(text) if s.strip()]


def sentences(text: str, *, kinds: tuple[str, ...] = ("paragraph", "item", "quote", "row")) -> list[tuple[str, str]]:
    """Whole sentences of a text with the kind of unit each comes from.

    Prose units (paragraphs, list items, quotes) are split into sentences; a
    table row is one piece. Headings and code blocks are units of their own
    and are left out unless ``kinds`` asks for them.

    Args:
        text: The text (a document or a chunk of one).
        kinds: Unit kinds to return.

    Returns:
        ``(sentence, kind)`` pairs in reading order.
    """
    out: list[tuple[str, str]] = []
    for unit in text_units(text):
        if unit.kind not in kinds:
            continue
        if unit.kind in ("paragraph", "item", "quote"):
            out.extend((s, unit.kind) for s in split_prose(unit.text))
        else:
            out.append((unit.text, unit.kind))
    return out


def _core(sentence: str) -> str:
    """A sentence without its closing punctuation, for matching (answers re-punctuate around citations)."""
    s = plain(sentence).rstrip()
    while s and (s[-1] in _TERMINAL + ";," or s[-1] in _CLOSERS and len(s) > 1 and s[-2] in _TERMINAL):
        s = s[:-1].rstrip()
    return s


def looks_whole(sentence: str) -> bool:
    """Text-only check that a piece reads as a whole sentence (for paraphrased answers).

    It must start like a sentence (a capital, a digit, a quote, code or
    emphasis mark), hold at least three words, and not stop on a word that
    leaves it open ("... because the garbage collection is").
    """
    s = plain(sentence)
    core = _core(s)
    words = core.split()
    if len(words) < 3:
        return False
    first = s.lstrip("\"'(*_`\u201c\u2018")[:1]
    if not (first.isupper() or first.isdigit() or s[:1] in "\"'(*_`\u201c\u2018"):
        return False
    last = re.sub(r"\W+$", "", words[-1].lower())
    return last not in _DANGLING and not core.endswith((",", ";", "-", "("))


def claim_status(claim: str, document: str) -> str:
    """Whether a quoted sentence exists, whole, in a document's text.

    Both sides are compared as a reader sees them (unwrapped, inline links as
    text, spaces collapsed, closing punctuation ignored). A match is whole when
    it starts a unit or follows a sentence end, and ends a unit or is followed
    by a sentence end.

    Args:
        claim: One answer sentence without its citation.
        document: The full text of the cited document.

    Returns:
        ``whole``, ``partial`` (found, but cut out of a longer sentence) or
        ``absent`` (not in the document verbatim: a paraphrase or an invention).
    """
    core = _core(claim)
    if not core:
        return "absent"
    found = False
    for unit in text_units(document):
        text = unit.text if unit.kind != "code" else plain(unit.text)
        start = text.find(core)
        while start >= 0:
            found = True
            before, after = text[:start].rstrip(), text[start + len(core):]
            starts = not before or before[-1] in _TERMINAL or (before[-1] in _CLOSERS and before[-2:-1] in tuple(_TERMINAL))
            ends = not after.strip() or (after[0] in _TERMINAL and (len(after) == 1 or after[1] == " " or after[1] in _CLOSERS))
            if starts and ends:
                return "whole"
            start = text.find(core, start + 1)
    return "partial" if found else "absent"
