"""Context selection: maximal marginal relevance across documents, with explicit depth."""

from __future__ import annotations

import numpy as np
import pytest

from infra.clients.qdrant_index import select_mmr


def test_relevance_only_still_respects_the_per_document_limit():
    # Given four chunks, the three best from one document
    rel = np.array([0.9, 0.85, 0.8, 0.5])
    vecs = np.eye(4)
    docs = ["a", "a", "a", "b"]
    # When one chunk per document is allowed, up to two documents
    picked = select_mmr(rel, vecs, docs, max_docs=2, chunks_per_doc=1, mmr_lambda=1.0)
    # Then the best chunk of each document is kept
    assert picked == [0, 3]
    assert select_mmr(rel, vecs, docs, max_docs=2, chunks_per_doc=2, mmr_lambda=1.0) == [0, 1, 3]


def test_mmr_prefers_a_different_chunk_over_a_near_duplicate():
    # Given a near-duplicate of the best chunk (other document) and a less relevant, different one
    rel = np.array([0.9, 0.88, 0.7])
    vecs = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0]])
    docs = ["a", "b", "c"]
    assert select_mmr(rel, vecs, docs, max_docs=2, chunks_per_doc=1, mmr_lambda=1.0) == [0, 1]
    assert select_mmr(rel, vecs, docs, max_docs=2, chunks_per_doc=1, mmr_lambda=0.5) == [0, 2]


def test_no_candidates_and_fewer_documents_than_k():
    assert select_mmr(np.array([]), np.zeros((0, 2)), [], max_docs=4, chunks_per_doc=1, mmr_lambda=0.7) == []
    assert select_mmr(np.array([0.5, 0.4]), np.eye(2), ["a", "a"], max_docs=4, chunks_per_doc=1, mmr_lambda=0.7) == [0]


def test_settings_keep_old_top_k_and_default_the_depth(monkeypatch):
    from infra.settings import IndexSettings

    cfg = IndexSettings(top_k=6)
    assert (cfg.top_k, cfg.retrieve_chunks, cfg.chunks_per_doc, cfg.mrr_k) == (6, None, 1, 10)
    with pytest.raises(ValueError):
        IndexSettings(mmr_lambda=1.5)
