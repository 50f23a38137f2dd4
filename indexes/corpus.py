"""Corpus documents: from raw bytes to text with a stable id and content hash.

A document's id is its path relative to the corpus root (forward slashes), and
its hash is computed from the extracted text alone: file times, permissions or
other volatile metadata never force a re-embed. Reading files is the caller's
job (``infra.sources.corpus``); this module only parses.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from llama_index.core import Document

# Suffix -> kind. Anything else in a corpus folder is skipped (and listed).
SUPPORTED_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html"}

# Metadata keys that describe a chunk's bookkeeping, not its meaning: kept out
# of the embedded text and out of what a generator reads.
BOOKKEEPING_KEYS = ["doc_hash", "chunk_index", "n_chunks", "kind", "index_config"]


class DocumentRejected(ValueError):
    """A document cannot be indexed (undecodable, empty, unsupported); the message names it."""


@dataclass(frozen=True)
class CorpusDocument:
    doc_id: str
    text: str
    content_hash: str
    kind: str
    title: str


def content_hash(text: str) -> str:
    """SHA-256 of the normalized text: the only input that decides a re-embed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def kind_of(doc_id: str) -> str | None:
    """The document kind for a path, or None when Tandem does not index that suffix."""
    m = re.search(r"(\.[A-Za-z0-9]+)$", doc_id)
    return SUPPORTED_SUFFIXES.get(m.group(1).lower()) if m else None


def _html_to_text(html: str) -> tuple[str, str | None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else None
    for tag in soup(["script", "style", "head"]):
        tag.decompose()
    # Block elements end a line so sentences and headings stay apart.
    text = soup.get_text("\n")
    return text, title


def _normalize(text: str) -> str:
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:  # collapse runs of blank lines: layout changes are not content changes
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _title_of(text: str, doc_id: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()[:200]
    return doc_id


def parse_document(doc_id: str, raw: bytes) -> CorpusDocument:
    """Turn one file's bytes into a corpus document.

    Args:
        doc_id: The path relative to the corpus root, with forward slashes.
        raw: The file's bytes.

    Returns:
        The document with its normalized text and content hash.

    Raises:
        DocumentRejected: unsupported suffix, not UTF-8, or no text; the
            message names the document.
    """
    kind = kind_of(doc_id)
    if kind is None:
        raise DocumentRejected(f"{doc_id}: unsupported file type (Tandem indexes {', '.join(sorted(SUPPORTED_SUFFIXES))})")
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentRejected(f"{doc_id}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    title = None
    if kind == "html":
        decoded, title = _html_to_text(decoded)
    text = _normalize(decoded)
    if not text:
        raise DocumentRejected(f"{doc_id}: the document has no text")
    return CorpusDocument(
        doc_id=doc_id, text=text, content_hash=content_hash(text), kind=kind, title=title or _title_of(text, doc_id)
    )


def to_llama_document(doc: CorpusDocument, index_config: str) -> Document:
    """The LlamaIndex document for a corpus document.

    Args:
        doc: The parsed document.
        index_config: Hash of the chunking and embedding settings; stored on
            every chunk so a collection built with other settings is never
            mistaken for an up-to-date one.
    """
    return Document(
        id_=doc.doc_id,
        text=doc.text,
        metadata={
            "doc_id": doc.doc_id,
            "title": doc.title,
            "doc_hash": doc.content_hash,
            "kind": doc.kind,
            "index_config": index_config,
        },
        excluded_embed_metadata_keys=list(BOOKKEEPING_KEYS),
        excluded_llm_metadata_keys=list(BOOKKEEPING_KEYS) + ["title"],
    )
