"""Qdrant: versioned collections ``<prefix>-vN`` and the live alias (``docs-live``).

Blue/green: a rebuild writes a new collection; readers always go through the
alias, which moves in one ``update_collection_aliases`` call (delete + create
together) only after the retrieval gate passed. Local mode (a folder under the
data dir) and a Qdrant server expose the same API, so only the client differs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from qdrant_client import QdrantClient, models

from indexes.generation import Chunk

PAYLOAD_KEYS = ["doc_id", "doc_hash", "chunk_index", "n_chunks", "index_config"]


class VectorIndex:
    """The versioned collections of one corpus and their live alias."""

    def __init__(self, client: QdrantClient, *, prefix: str, live_alias: str, dimension: int) -> None:
        self.client = client
        self.prefix = prefix
        self.live_alias = live_alias
        self.dimension = dimension
        self._pattern = re.compile(rf"^{re.escape(prefix)}-v(\d+)$")

    # -- collections ---------------------------------------------------------
    def collections(self) -> list[str]:
        """This corpus's collections, oldest first."""
        names = [c.name for c in self.client.get_collections().collections]
        numbered = [(int(m.group(1)), n) for n in names if (m := self._pattern.match(n))]
        return [n for _, n in sorted(numbered)]

    def version_of(self, collection: str) -> int:
        m = self._pattern.match(collection)
        if not m:
            raise ValueError(f"{collection!r} is not a collection of this index (expected {self.prefix}-vN)")
        return int(m.group(1))

    def next_collection(self) -> str:
        existing = [self.version_of(c) for c in self.collections()]
        return f"{self.prefix}-v{max(existing, default=0) + 1}"

    def exists(self, collection: str) -> bool:
        return self.client.collection_exists(collection)

    def create(self, collection: str) -> None:
        if not self.exists(collection):
            self.client.create_collection(
                collection, vectors_config=models.VectorParams(size=self.dimension, distance=models.Distance.COSINE)
            )

    def drop(self, collection: str) -> None:
        if self.exists(collection):
            self.client.delete_collection(collection)

    def count(self, collection: str) -> int:
        return self.client.count(collection, exact=True).count

    # -- the live alias ------------------------------------------------------
    def live_collection(self) -> str | None:
        """The collection ``docs-live`` points at, or None before the first release."""
        for alias in self.client.get_aliases().aliases:
            if alias.alias_name == self.live_alias:
                return alias.collection_name
        return None

    def point_alias(self, collection: str | None) -> None:
        """Move the live alias in one call (readers never see it missing); None removes it."""
        ops: list = []
        if self.live_collection() is not None:
            ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.live_alias)))
        if collection is not None:
            if not self.exists(collection):
                raise ValueError(f"collection {collection!r} does not exist (was it cleaned up?)")
            ops.append(
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=collection, alias_name=self.live_alias)
                )
            )
        if ops:
            self.client.update_collection_aliases(change_aliases_operations=ops)

    # -- points --------------------------------------------------------------
    def _scroll(self, collection: str, *, flt=None, with_vectors: bool = False, payload=None) -> Iterator[models.Record]:
        offset = None
        while True:
            records, offset = self.client.scroll(
                collection,
                scroll_filter=flt,
                limit=512,
                offset=offset,
                with_payload=payload if payload is not None else PAYLOAD_KEYS,
                with_vectors=with_vectors,
            )
            yield from records
            if offset is None:
                return

    def chunk_texts(self, collection: str, limit: int) -> list[str]:
        """The texts of (at most ``limit``) chunks of ``collection``, as LlamaIndex's retriever reads them."""
        from itertools import islice

        from llama_index.core.vector_stores.utils import metadata_dict_to_node

        texts: list[str] = []
        for record in islice(self._scroll(collection, payload=True), limit):
            try:
                texts.append(metadata_dict_to_node(record.payload).get_content())
            except Exception:  # a point LlamaIndex did not write: the request path screens it when it comes
                continue
        return texts

    def payloads(self, collection: str) -> list[dict]:
        """Bookkeeping payload of every point (doc id, hash, chunk index, chunk count)."""
        if not self.exists(collection):
            return []
        return [r.payload for r in self._scroll(collection)]

    def manifest(self, collection: str) -> dict[str, str]:
        """``doc_id -> content hash`` of what a collection holds."""
        return {p["doc_id"]: p["doc_hash"] for p in self.payloads(collection)}

    def copy_documents(self, source: str, target: str, doc_ids: Iterable[str], batch: int = 256) -> int:
        """Copy the points (vectors included) of ``doc_ids`` from one collection to another.

        Ids are kept, so copying twice overwrites instead of duplicating.

        Returns:
            How many points were copied.
        """
        ids = list(doc_ids)
        copied = 0
        for start in range(0, len(ids), batch):
            flt = models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchAny(any=ids[start : start + batch]))])
            points = [
                models.PointStruct(id=r.id, vector=r.vector, payload=r.payload)
                for r in self._scroll(source, flt=flt, with_vectors=True, payload=True)
            ]
            for i in range(0, len(points), 512):
                self.client.upsert(target, points=points[i : i + 512], wait=True)
            copied += len(points)
        return copied

    def delete_documents(self, collection: str, doc_ids: Iterable[str]) -> None:
        ids = list(doc_ids)
        if ids:
            self.client.delete(
                collection,
                points_selector=models.FilterSelector(
                    filter=models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchAny(any=ids))])
                ),
                wait=True,
            )

    def document_texts(self, collection: str, doc_ids: Iterable[str]) -> dict[str, str]:
        """The indexed text of some documents, stitched back from their chunks.

        Chunks carry their character offsets in the document (LlamaIndex
        records them), so overlapping windows are laid back in place and the
        result is the text that was indexed, whatever the corpus folder holds
        now. The evaluation checks quoted sentences against it.

        Returns:
            ``doc id -> text`` for the ids the collection holds.
        """
        from llama_index.core.vector_stores.utils import metadata_dict_to_node

        ids = sorted(set(doc_ids))
        if not ids or not self.exists(collection):
            return {}
        flt = models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchAny(any=ids))])
        pieces: dict[str, list[tuple[int, int, str]]] = {}
        for record in self._scroll(collection, flt=flt, payload=True):
            node = metadata_dict_to_node(record.payload)
            doc = record.payload.get("doc_id", "?")
            start = node.start_char_idx if node.start_char_idx is not None else 10**12 + int(record.payload.get("chunk_index", 0))
            pieces.setdefault(doc, []).append((start, int(record.payload.get("chunk_index", 0)), node.get_content()))
        out: dict[str, str] = {}
        for doc, parts in pieces.items():
            placed = [(start, chunk) for start, _, chunk in sorted(parts) if start < 10**12]
            size = max((start + len(chunk) for start, chunk in placed), default=0)
            chars = ["\n"] * size  # a gap between windows is whitespace in the source
            for start, chunk in placed:
                chars[start:start + len(chunk)] = chunk
            loose = [chunk for start, _, chunk in sorted(parts) if start >= 10**12]  # no offsets: own blocks
            out[doc] = "\n\n".join(["".join(chars)] + loose).strip()
        return out

    def vector_store(self, collection: str):
        """LlamaIndex's store over one collection (or the alias)."""
        from llama_index.vector_stores.qdrant import QdrantVectorStore

        return QdrantVectorStore(client=self.client, collection_name=collection, batch_size=64)


@dataclass(frozen=True)
class Retrieval:
    """One question's retrieval: the ranked candidates and the context kept from them.

    Attributes:
        ranked: The ``retrieve_chunks`` nearest chunks, best first (what
            MRR@k is measured on).
        context: The chunks handed to the generator: at most ``top_k``
            documents, ``chunks_per_doc`` chunks each, ``context_chunks`` in
            all, picked by maximal marginal relevance, in pick order.
    """

    ranked: list[Chunk]
    context: list[Chunk]

    @property
    def context_docs(self) -> int:
        return len({c.doc_id for c in self.context})


def select_mmr(
    relevance: np.ndarray, vectors: np.ndarray, doc_ids: list[str], *, max_docs: int, chunks_per_doc: int, mmr_lambda: float, max_chunks: int | None = None
) -> list[int]:
    """Maximal marginal relevance across documents: indices of the chunks to keep, in pick order.

    Each step picks the candidate with the best ``lambda * relevance - (1 -
    lambda) * (similarity to the closest chunk already picked)``, among those
    whose document is already kept (while it has fewer than
    ``chunks_per_doc`` chunks) or is new (while fewer than ``max_docs``
    documents are kept). ``mmr_lambda=1`` is plain top-k by relevance under
    the same per-document limits.

    Args:
        relevance: Cosine similarity of each candidate to the question, shape (n,).
        vectors: Candidate embeddings, shape (n, d) (normalized here).
        doc_ids: Document of each candidate.
        max_docs: Documents kept at most.
        chunks_per_doc: Chunks of one document kept at most.
        mmr_lambda: Weight of relevance against redundancy, in [0, 1].
        max_chunks: Chunks kept at most (default ``max_docs * chunks_per_doc``).

    Returns:
        Candidate indices, first picked first.
    """
    n = len(doc_ids)
    if n == 0:
        return []
    vecs = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs = vecs / np.where(norms == 0, 1.0, norms)
    rel = np.asarray(relevance, dtype=np.float32)
    redundancy = np.zeros(n, dtype=np.float32)  # similarity to the closest picked chunk (none yet)
    picked: list[int] = []
    per_doc: dict[str, int] = {}
    available = np.ones(n, dtype=bool)
    while len(picked) < (max_chunks or max_docs * chunks_per_doc):
        allowed = available & np.array(
            [per_doc.get(d, 0) < chunks_per_doc and (d in per_doc or len(per_doc) < max_docs) for d in doc_ids]
        )
        if not allowed.any():
            break
        score = mmr_lambda * rel - (1 - mmr_lambda) * redundancy
        i = int(np.argmax(np.where(allowed, score, -np.inf)))  # ties: the better-ranked candidate
        picked.append(i)
        available[i] = False
        per_doc[doc_ids[i]] = per_doc.get(doc_ids[i], 0) + 1
        redundancy = np.maximum(redundancy, vecs @ vecs[i])
    return picked


class Retriever:
    """Retrieval over one collection or the live alias: ``retrieve_chunks`` candidates, a diverse context.

    The depth is explicit: ``retrieve_chunks`` chunks are fetched (nearest
    first), and the context keeps at most ``top_k`` documents with at most
    ``chunks_per_doc`` chunks each and ``context_chunks`` in all, chosen by
    maximal marginal relevance so that four chunks are not four windows of one
    document. The defaults (``retrieve_chunks=None`` -> ``max(20, 5 * top_k)``,
    one chunk per document, ``context_chunks=None`` -> ``top_k *
    chunks_per_doc``, ``mmr_lambda=0.7``) apply when a caller passes only
    ``top_k``.
    """

    def __init__(
        self,
        index: VectorIndex,
        embed_model,
        *,
        collection: str,
        top_k: int,
        score_threshold: float | None,
        retrieve_chunks: int | None = None,
        chunks_per_doc: int = 1,
        mmr_lambda: float = 0.7,
        context_chunks: int | None = None,
    ) -> None:
        if top_k < 1 or chunks_per_doc < 1:
            raise ValueError(f"top_k ({top_k}) and chunks_per_doc ({chunks_per_doc}) must be >= 1")
        if not 0.0 <= mmr_lambda <= 1.0:
            raise ValueError(f"mmr_lambda must be in [0, 1], got {mmr_lambda}")
        self.index = index
        self.collection = collection
        self.top_k = top_k
        self.chunks_per_doc = chunks_per_doc
        self.context_chunks = context_chunks or top_k * chunks_per_doc
        self.retrieve_chunks = max(retrieve_chunks or max(20, 5 * top_k), self.context_chunks)
        self.mmr_lambda = mmr_lambda
        self.score_threshold = score_threshold
        self._embed_model = embed_model
        # Parsing the payload back into a node is LlamaIndex's job (it wrote it).
        self._store = index.vector_store(collection)

    def search(self, question: str) -> Retrieval:
        """The ranked candidates and the diversified context for one question."""
        query = self._embed_model.get_query_embedding(question)
        points = self.index.client.query_points(
            self.collection, query=query, limit=self.retrieve_chunks, with_payload=True, with_vectors=True
        ).points
        result = self._store.parse_to_query_result(points)
        ranked: list[Chunk] = []
        vectors: list = []
        for node, score in zip(result.nodes, result.similarities):
            if self.score_threshold is not None and float(score) < self.score_threshold:
                continue
            ranked.append(Chunk(chunk_id=node.node_id, doc_id=node.metadata.get("doc_id", node.ref_doc_id or "?"), text=node.get_content(), score=float(score)))
            vectors.append(node.embedding)
        if not ranked:
            return Retrieval([], [])
        keep = select_mmr(
            np.array([c.score for c in ranked]), np.array(vectors), [c.doc_id for c in ranked],
            max_docs=self.top_k, chunks_per_doc=self.chunks_per_doc, mmr_lambda=self.mmr_lambda, max_chunks=self.context_chunks,
        )
        return Retrieval(ranked, [ranked[i] for i in keep])

    def retrieve(self, question: str) -> list[Chunk]:
        """The context for one question (see ``search``)."""
        return self.search(question).context
