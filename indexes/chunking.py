"""Chunking with stable ids: the same document text always gives the same chunk ids.

Chunk ids are UUIDv5 of (document id, content hash, position), so a rerun or a
resumed build upserts onto the same points instead of adding duplicates, and a
changed document gets new ids while its old chunks are simply not carried over.
Chunk size is counted in tokens of the embedding model, because that is what
the model truncates on (all-MiniLM-L6-v2 reads at most 256).
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any, Callable, Sequence

from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import BaseNode, TransformComponent

# Fixed namespace: changing it would change every chunk id (and re-embed everything).
CHUNK_NAMESPACE = uuid.UUID("6f1d3c2e-7a51-4b8e-9a43-2c8f0d1e5b77")


def chunk_id(doc_id: str, doc_hash: str, index: int) -> str:
    """The stable id of chunk ``index`` of one version of a document."""
    return str(uuid.uuid5(CHUNK_NAMESPACE, f"{doc_id}\x1f{doc_hash}\x1f{index}"))


def _stable_id(index: int, document: Any) -> str:
    return chunk_id(document.metadata["doc_id"], document.metadata["doc_hash"], index)


def build_splitter(chunk_size: int, chunk_overlap: int, tokenizer: Callable[[str], list] | None = None) -> SentenceSplitter:
    """LlamaIndex's sentence splitter with stable chunk ids.

    Args:
        chunk_size: Tokens per chunk.
        chunk_overlap: Tokens shared by neighbouring chunks.
        tokenizer: Token counter of the embedding model (``text -> list``).
    """
    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=tokenizer,
        paragraph_separator="\n\n",  # corpus text is normalized to single blank lines
        include_prev_next_rel=False,  # neighbours are not stored, and their ids would tie chunks together
        id_func=_stable_id,
    )


class NumberChunks(TransformComponent):
    """Writes ``chunk_index`` and ``n_chunks`` into each chunk's metadata.

    ``n_chunks`` lets a resumed build tell a complete document (all its chunks
    stored) from one a crash cut short.
    """

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> Sequence[BaseNode]:
        totals = Counter(n.metadata["doc_id"] for n in nodes)
        seen: Counter = Counter()
        for node in nodes:
            doc = node.metadata["doc_id"]
            node.metadata["chunk_index"] = seen[doc]
            node.metadata["n_chunks"] = totals[doc]
            seen[doc] += 1
        return nodes
