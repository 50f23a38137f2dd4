"""Reading the RAG corpus: a folder of documents plus the model cards in the lake.

Document ids are paths relative to the corpus root (forward slashes); model
cards get ids ``model-cards/<model>-vN.md`` so "why was version 7 promoted?"
finds its card. Files of other types are skipped and listed; a file that cannot
be read as text rejects the whole corpus before anything is embedded, naming
every bad file, so the live index is never touched by a half-read corpus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import fsspec

from indexes.corpus import CorpusDocument, DocumentRejected, kind_of, parse_document

MODEL_CARD_PREFIX = "model-cards/"
OPS_NOTES_PREFIX = "ops-notes/"  # the nightly loop's scorecards and ticket notes


class CorpusRejected(ValueError):
    """One or more documents cannot be indexed; the message lists each with its reason."""


@dataclass(frozen=True)
class LoadedCorpus:
    documents: list[CorpusDocument]
    skipped: list[str] = field(default_factory=list)  # files of types Tandem does not index

    def manifest(self) -> dict[str, str]:
        return {d.doc_id: d.content_hash for d in self.documents}

    def by_id(self) -> dict[str, CorpusDocument]:
        return {d.doc_id: d for d in self.documents}


def read_corpus(root: Path, *, model_cards_url: str | None = None, ops_notes_url: str | None = None) -> LoadedCorpus:
    """Read every supported document under ``root`` (and the model cards, and the nightly scorecards and tickets).

    Args:
        root: The corpus folder.
        model_cards_url: The lake's ``_model_cards`` folder (any fsspec URL), or None.
        ops_notes_url: The lake's ``_ops_notes`` folder (scorecards and ticket notes of the
            nightly loop; doc ids ``ops-notes/...``), or None.

    Raises:
        CorpusRejected: ``root`` is missing, or documents are undecodable or empty.
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusRejected(f"corpus folder {root} does not exist (set TANDEM_INDEX__CORPUS_DIR)")
    documents: list[CorpusDocument] = []
    skipped: list[str] = []
    errors: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        doc_id = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # hidden files and folders (.git, editor swap files)
        if kind_of(doc_id) is None:
            skipped.append(doc_id)
            continue
        try:
            documents.append(parse_document(doc_id, path.read_bytes()))
        except DocumentRejected as exc:
            errors.append(f"{root / doc_id}: {str(exc).split(': ', 1)[-1]}")
    for url, prefix in ((model_cards_url, MODEL_CARD_PREFIX), (ops_notes_url, OPS_NOTES_PREFIX)):
        if not url:
            continue
        fs, base = fsspec.core.url_to_fs(url)
        if fs.exists(base):
            for entry in sorted(fs.ls(base, detail=False)):
                name = entry.rsplit("/", 1)[-1]
                if name.endswith(".md"):
                    with fs.open(entry, "rb") as fh:
                        try:
                            documents.append(parse_document(prefix + name, fh.read()))
                        except DocumentRejected as exc:
                            errors.append(f"{entry}: {str(exc).split(': ', 1)[-1]}")
    if errors:
        raise CorpusRejected("the corpus has documents that cannot be indexed:\n  " + "\n  ".join(errors))
    if not documents:
        raise CorpusRejected(f"corpus folder {root} holds no documents ({', '.join(sorted({'.md', '.txt', '.html'}))})")
    return LoadedCorpus(documents=documents, skipped=skipped)
