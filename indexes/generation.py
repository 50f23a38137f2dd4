"""Answer synthesis: the generator interface and the offline extractive generator.

Two generators sit behind one interface (``Generator.generate``): the offline
extractive one here (the embedded default: deterministic, no network, cost 0)
and an OpenAI-compatible endpoint (``infra.clients.llm``). Both take the
rendered production prompt and the retrieved chunks and return a
``Generation`` with its token counts, so the gateway logs them the same way.

Pure: embedding and token counting are functions passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Protocol, Sequence

import numpy as np

from indexes.sentences import sentences, text_units

NOT_FOUND = "I could not find this in the indexed documents."
_QUOTED_KINDS = ("paragraph", "item", "quote", "row")  # the unit kinds ``sentences`` returns


@dataclass(frozen=True)
class Chunk:
    """One retrieved chunk: its stable id, its document, its text and retrieval score."""

    chunk_id: str
    doc_id: str
    text: str
    score: float


@dataclass(frozen=True)
class Generation:
    """What a generator answered, with what it cost in tokens."""

    text: str
    citations: tuple[str, ...]
    prompt_tokens: int
    completion_tokens: int
    model: str
    answered: bool = True  # False when the generator found nothing to say
    sentences: tuple[tuple[str, str], ...] = field(default=())  # (sentence, doc id) for extractive answers

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class GeneratorError(RuntimeError):
    """A generator could not answer (endpoint down, timeout, malformed reply)."""


class Generator(Protocol):
    name: str

    def generate(self, question: str, chunks: Sequence[Chunk], prompt_text: str, params: dict) -> Generation: ...


def split_into_lines(text: str) -> list[str]:
    """The old line-based splitter: each line is taken for a sentence.

    Kept only as ``ExtractiveGenerator(units="lines")``: on hard-wrapped text
    it quotes fragments ("... since garbage collection is"), which is what the
    release gate must be able to catch.
    """
    import re

    out: list[str] = []
    for raw in text.splitlines():
        if raw.lstrip().startswith("#"):
            continue
        line = re.sub(r"^[\s*>|-]+", "", raw).strip()
        if not line:
            continue
        if line[-1] not in ".!?:;)\"'" and len(line.split()) <= 8 and not raw.lstrip().startswith(("-", "*")):
            continue
        for part in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9`\"'(])", line):
            part = part.strip()
            if len(part.split()) >= 4:
                out.append(part)
    return out


def _cut_at_start(sentence: str) -> bool:
    first = sentence.lstrip("\"'(*_`\u201c\u2018[")[:1]
    return not (first.isupper() or first.isdigit() or sentence[:1] in "\"'(*_`\u201c\u2018[")


def _cut_at_end(sentence: str) -> bool:
    return sentence.rstrip("\"')]}*_`\u201d\u2019")[-1:] not in ".!?:"


def split_into_sentences(text: str, *, min_words: int = 4) -> list[str]:
    """Whole sentences of a chunk, for extraction and for the evaluation's context.

    Hard-wrapped paragraphs are unwrapped and split by a real sentence
    tokenizer (``indexes.sentences``); list items and table rows are units
    of their own; headings and code blocks are left out (a heading names a
    topic, it does not answer anything). A chunk is a window of a document,
    so its first and last sentences may be cut by the window: a first
    sentence that does not start like one, or a last prose sentence without
    closing punctuation, is dropped rather than quoted half. Only a sentence
    at the chunk's very edge can be cut: one that follows a heading (or any
    other unit) opens its section, whatever its first letter (a document
    may begin a sentence with a lower-case name, e.g. ``risk-scorer version 7
    was trained ...``), and one followed by another unit was ended by it.

    Args:
        text: A chunk's (or any) text.
        min_words: Shorter pieces say nothing on their own and are dropped.

    Returns:
        The sentences in reading order.
    """
    return list(_split_cached(text, min_words))


@lru_cache(maxsize=4096)
def _split_cached(text: str, min_words: int) -> tuple[str, ...]:
    # The same chunks come back question after question: parse each text once.
    pieces = sentences(text)
    units = text_units(text)
    # The window can cut only what sits at the chunk's edges; a heading (or code block) before
    # the first sentence, or after the last, means the chunk starts (ends) at a boundary there.
    opens_chunk = bool(units) and units[0].kind in _QUOTED_KINDS
    closes_chunk = bool(units) and units[-1].kind in _QUOTED_KINDS
    out: list[str] = []
    for i, (sentence, kind) in enumerate(pieces):
        if len(sentence.split()) < min_words:
            continue
        if i == 0 and opens_chunk and _cut_at_start(sentence):
            continue
        if i == len(pieces) - 1 and closes_chunk and kind == "paragraph" and len(pieces) > 1 and _cut_at_end(sentence):
            continue
        out.append(sentence)
    return tuple(out)


def _normalize(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.where(norms == 0, 1.0, norms)


class ExtractiveGenerator:
    """Answers with whole sentences of the retrieved chunks, the closest to the question, each cited.

    Deterministic (ties broken by chunk rank, then position), no network. The
    prompt version's parameters steer it, so the release gate measures a real
    difference between prompt versions:

    - ``max_sentences`` (default 3): how many sentences the answer holds;
    - ``min_similarity`` (default 0.35): a sentence below it is not used; when
      none qualifies the answer is ``NOT_FOUND`` (an honest "don't know");
    - ``max_gap`` (default 0.15): a sentence more than this below the best one
      is left out, so a precise answer is not padded with loosely related text.

    The best sentence comes first. Token counts are those of the embedding model's
    tokenizer over the rendered prompt and the answer: there is no remote
    model, so cost is 0.

    Args:
        embed: Texts to embedding rows.
        count_tokens: Text to its token count.
        units: ``sentences`` (whole sentences, the default) or ``lines`` (the
            old line-as-sentence splitter, which quotes fragments of
            hard-wrapped text; kept to show that the release gate holds it).
    """

    name = "offline"
    model = "extractive-minilm"

    def __init__(self, *, embed: Callable[[list[str]], np.ndarray], count_tokens: Callable[[str], int], units: str = "sentences") -> None:
        if units not in ("sentences", "lines"):
            raise ValueError(f"units must be 'sentences' or 'lines', got {units!r}")
        self._embed = embed
        self._count = count_tokens
        self._split = split_into_sentences if units == "sentences" else split_into_lines

    def sentences_of(self, text: str) -> list[str]:
        """The sentences ``generate`` may quote from a chunk whose text is ``text``."""
        return self._split(text)

    def generate(self, question: str, chunks: Sequence[Chunk], prompt_text: str, params: dict) -> Generation:
        max_sentences = int(params.get("max_sentences", 3))
        min_similarity = float(params.get("min_similarity", 0.35))
        max_gap = float(params.get("max_gap", 0.15))
        candidates: list[tuple[str, str, int, int]] = []  # sentence, doc id, chunk rank, position
        seen: set[str] = set()
        for rank, chunk in enumerate(chunks):
            for pos, sentence in enumerate(self._split(chunk.text)):
                if sentence not in seen:  # overlapping chunks repeat sentences
                    seen.add(sentence)
                    candidates.append((sentence, chunk.doc_id, rank, pos))
        picked: list[int] = []
        if candidates and max_sentences > 0:
            vecs = _normalize(self._embed([question] + [c[0] for c in candidates]))
            sims = vecs[1:] @ vecs[0]
            order = sorted(range(len(candidates)), key=lambda i: (-round(float(sims[i]), 6), candidates[i][2], candidates[i][3]))
            floor = max(min_similarity, float(sims[order[0]]) - max_gap)
            picked = [i for i in order if sims[i] >= floor][:max_sentences]
        if not picked:
            text = NOT_FOUND
            return Generation(
                text=text,
                citations=(),
                prompt_tokens=self._count(prompt_text),
                completion_tokens=self._count(text),
                model=self.model,
                answered=False,
            )
        chosen = [(candidates[i][0], candidates[i][1]) for i in picked]
        text = cited_text(chosen)
        citations = tuple(dict.fromkeys(doc for _, doc in chosen))
        return Generation(
            text=text,
            citations=citations,
            prompt_tokens=self._count(prompt_text),
            completion_tokens=self._count(text),
            model=self.model,
            answered=True,
            sentences=tuple(chosen),
        )


def cited_text(sentences: Sequence[tuple[str, str]]) -> str:
    """An extractive answer's text: each ``(sentence, doc id)`` cited, in order, joined by spaces.

    The citation sits inside the sentence ("... [doc]."), so every answer
    sentence carries its source when the answer is split into sentences.
    """
    return " ".join(_cite(s, doc) for s, doc in sentences)


def _cite(sentence: str, doc_id: str) -> str:
    """``"Sentence [doc]."``: the citation goes before the sentence's closing mark, which becomes a full stop."""
    return f"{sentence.rstrip().rstrip('.!?;:')} [{doc_id}]."
