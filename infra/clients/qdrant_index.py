"""Qdrant: versioned collections ``<prefix>-vN`` and the live alias (``docs-live``).

Blue/green: a rebuild writes a new collection; readers always go through the
alias, which moves in one ``update_collection_aliases`` call (delete + create
together) only after the retrieval gate passed. Local mode (a folder under the
data dir) and a Qdrant server expose the same API, so only the client differs.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

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

    def vector_store(self, collection: str):
        """LlamaIndex's store over one collection (or the alias)."""
        from llama_index.vector_stores.qdrant import QdrantVectorStore

        return QdrantVectorStore(client=self.client, collection_name=collection, batch_size=64)


class Retriever:
    """Top-k retrieval through LlamaIndex over one collection or the live alias."""

    def __init__(self, index: VectorIndex, embed_model, *, collection: str, top_k: int, score_threshold: float | None) -> None:
        from llama_index.core import VectorStoreIndex

        self.collection = collection
        self.top_k = top_k
        self.score_threshold = score_threshold
        # transformations=[]: a read-only index needs no node parser (the default
        # one loads tiktoken's vocabulary, half a second per process).
        self._retriever = VectorStoreIndex.from_vector_store(
            index.vector_store(collection), embed_model=embed_model, transformations=[]
        ).as_retriever(similarity_top_k=top_k)

    def retrieve(self, question: str) -> list[Chunk]:
        found = self._retriever.retrieve(question)
        chunks = [
            Chunk(chunk_id=n.node.node_id, doc_id=n.node.metadata.get("doc_id", n.node.ref_doc_id or "?"), text=n.node.get_content(), score=float(n.score or 0.0))
            for n in found
        ]
        if self.score_threshold is not None:
            chunks = [c for c in chunks if c.score >= self.score_threshold]
        return chunks
