"""Unit tests for indexes.chunking (stable chunk ids) and indexes.plan (rebuild plans)."""

import uuid

import pytest
from llama_index.core.schema import TextNode

from indexes.chunking import CHUNK_NAMESPACE, NumberChunks, build_splitter, chunk_id
from indexes.corpus import parse_document, to_llama_document
from indexes.plan import IndexPlan, complete_documents, plan_index


def whitespace_tokens(text: str) -> list[str]:
    return text.split()


def _paragraphs(n: int, word: str = "rule") -> bytes:
    return "\n\n".join(f"Paragraph {i} says the applicant must meet {word} number {i} before approval." for i in range(n)).encode()


def _llama_doc(doc_id: str, raw: bytes, config: str = "cfg"):
    return to_llama_document(parse_document(doc_id, raw), config)


def _split(document, chunk_size: int = 64, overlap: int = 8):
    splitter = build_splitter(chunk_size, overlap, tokenizer=whitespace_tokens)
    return splitter.get_nodes_from_documents([document] if not isinstance(document, list) else document)


# --- chunk_id -------------------------------------------------------------------


def test_chunk_id_is_a_stable_uuid5():
    # Given the same (doc, hash, index) twice
    a = chunk_id("policy/a.md", "h1", 0)
    b = chunk_id("policy/a.md", "h1", 0)
    # Then the ids are equal, valid UUIDv5 strings under the fixed namespace
    assert a == b
    parsed = uuid.UUID(a)
    assert parsed.version == 5
    assert a == str(uuid.uuid5(CHUNK_NAMESPACE, "policy/a.md\x1fh1\x1f0"))


@pytest.mark.parametrize(
    "other",
    [("policy/b.md", "h1", 0), ("policy/a.md", "h2", 0), ("policy/a.md", "h1", 1)],
)
def test_chunk_id_differs_when_doc_hash_or_index_differs(other):
    # Given a base chunk and one that differs in exactly one part
    # Then their ids differ
    assert chunk_id("policy/a.md", "h1", 0) != chunk_id(*other)


def test_chunk_id_parts_cannot_run_together():
    # Given parts that would concatenate to the same string without a separator
    # Then the ids still differ
    assert chunk_id("ab", "c", 1) != chunk_id("a", "bc", 1)


# --- splitter ------------------------------------------------------------------


def test_splitter_gives_the_same_ids_on_two_runs():
    # Given one document long enough for several chunks
    doc = _llama_doc("policy/a.md", _paragraphs(12))
    # When it is split twice with fresh splitters
    first = _split(doc)
    second = _split(_llama_doc("policy/a.md", _paragraphs(12)))
    # Then there are several chunks and the ids and texts match run for run
    assert len(first) > 1
    assert [n.node_id for n in first] == [n.node_id for n in second]
    assert [n.get_content() for n in first] == [n.get_content() for n in second]


def test_splitter_ids_are_chunk_ids_of_doc_hash_and_position():
    # Given a document and its parsed hash
    parsed = parse_document("policy/a.md", _paragraphs(12))
    # When split
    nodes = _split(to_llama_document(parsed, "cfg"))
    # Then chunk k has id chunk_id(doc, hash, k), and chunks inherit the metadata
    assert [n.node_id for n in nodes] == [chunk_id("policy/a.md", parsed.content_hash, k) for k in range(len(nodes))]
    for n in nodes:
        assert n.metadata["doc_id"] == "policy/a.md"
        assert n.metadata["doc_hash"] == parsed.content_hash
        assert n.metadata["index_config"] == "cfg"


def test_splitter_ids_change_when_the_text_changes():
    # Given two versions of a document differing in one word
    old = _split(_llama_doc("policy/a.md", _paragraphs(12, "rule")))
    new = _split(_llama_doc("policy/a.md", _paragraphs(12, "condition")))
    # Then no chunk id is shared between the versions
    assert set(n.node_id for n in old).isdisjoint(n.node_id for n in new)


def test_splitter_ids_do_not_change_for_layout_only_edits():
    # Given a document and the same document with CRLF and extra blank lines
    raw = _paragraphs(12)
    messy = raw.replace(b"\n\n", b"\r\n\r\n\r\n")
    # Then the chunk ids are the same
    assert [n.node_id for n in _split(_llama_doc("policy/a.md", raw))] == [
        n.node_id for n in _split(_llama_doc("policy/a.md", messy))
    ]


def test_splitter_does_not_link_neighbouring_chunks():
    # Given a split document
    nodes = _split(_llama_doc("policy/a.md", _paragraphs(12)))
    # Then chunks carry no prev/next relationships (only their source document)
    for n in nodes:
        assert n.prev_node is None and n.next_node is None


def test_different_documents_with_same_text_get_different_ids():
    # Given two documents with identical text
    a = _split(_llama_doc("policy/a.md", _paragraphs(6)))
    b = _split(_llama_doc("policy/b.md", _paragraphs(6)))
    # Then their chunk ids do not collide
    assert set(n.node_id for n in a).isdisjoint(n.node_id for n in b)


# --- NumberChunks ---------------------------------------------------------------


def test_number_chunks_sets_index_and_total_per_document():
    # Given interleaved chunks of two documents
    nodes = [TextNode(text=f"t{i}", metadata={"doc_id": d}) for i, d in enumerate(["a", "b", "a", "a", "b"])]
    # When numbered
    out = NumberChunks()(nodes)
    # Then each document's chunks count 0..n-1 in order, with n_chunks = n
    assert [(n.metadata["doc_id"], n.metadata["chunk_index"], n.metadata["n_chunks"]) for n in out] == [
        ("a", 0, 3),
        ("b", 0, 2),
        ("a", 1, 3),
        ("a", 2, 3),
        ("b", 1, 2),
    ]


def test_number_chunks_after_splitting_a_real_document():
    # Given the chunks of one split document
    nodes = _split(_llama_doc("policy/a.md", _paragraphs(12)))
    # When numbered
    out = NumberChunks()(nodes)
    # Then indexes run 0..n-1 and every chunk knows n
    n = len(out)
    assert [c.metadata["chunk_index"] for c in out] == list(range(n))
    assert {c.metadata["n_chunks"] for c in out} == {n}


def test_number_chunks_on_no_nodes_is_empty():
    assert list(NumberChunks()([])) == []


# --- plan_index -----------------------------------------------------------------


def test_plan_sorts_documents_by_fate():
    # Given a corpus and a live manifest that overlap
    current = {"new.md": "h1", "edited.md": "h2-new", "same.md": "h3"}
    live = {"edited.md": "h2-old", "same.md": "h3", "gone.md": "h4"}
    # When planned
    plan = plan_index(current, live)
    # Then each document lands in exactly one bucket
    assert plan == IndexPlan(added=("new.md",), changed=("edited.md",), deleted=("gone.md",), unchanged=("same.md",))
    assert plan.to_embed == ("new.md", "edited.md")
    assert not plan.is_noop
    assert plan.summary() == {"added": 1, "changed": 1, "deleted": 1, "unchanged": 1}


def test_plan_buckets_are_sorted():
    # Given ids in arbitrary order
    plan = plan_index({"c": "1", "a": "1", "b": "1"}, {})
    # Then they come back sorted
    assert plan.added == ("a", "b", "c")


def test_first_build_adds_everything():
    # Given an empty live collection
    plan = plan_index({"a.md": "1", "b.md": "2"}, {})
    # Then everything is added and the whole corpus changes
    assert plan.added == ("a.md", "b.md")
    assert plan.changed == plan.deleted == plan.unchanged == ()
    assert plan.changed_fraction == 1.0


def test_identical_manifests_are_a_noop():
    # Given the same manifest on both sides
    manifest = {"a.md": "1", "b.md": "2"}
    plan = plan_index(manifest, dict(manifest))
    # Then nothing is to be done
    assert plan.is_noop
    assert plan.to_embed == ()
    assert plan.unchanged == ("a.md", "b.md")
    assert plan.changed_fraction == 0.0


def test_deletion_alone_is_not_a_noop():
    # Given a document removed from the corpus
    plan = plan_index({"a.md": "1"}, {"a.md": "1", "b.md": "2"})
    # Then the plan deletes it and is not a no-op
    assert plan.deleted == ("b.md",)
    assert not plan.is_noop
    assert plan.to_embed == ()


def test_changed_fraction_counts_changed_over_the_corpus():
    # Given four documents of which one changed
    plan = plan_index({"a": "1", "b": "2", "c": "3", "d": "4-new"}, {"a": "1", "b": "2", "c": "3", "d": "4"})
    # Then a quarter of the corpus changes
    assert plan.changed_fraction == pytest.approx(0.25)


def test_empty_plan_has_zero_changed_fraction():
    plan = plan_index({}, {})
    assert plan.is_noop
    assert plan.changed_fraction == 0.0


# --- complete_documents ---------------------------------------------------------


def _point(doc, h, i, n, cfg="cfg"):
    return {"doc_id": doc, "doc_hash": h, "chunk_index": i, "n_chunks": n, "index_config": cfg}


def test_complete_documents_keeps_only_fully_stored_documents():
    # Given one document with all 3 chunks and one with 2 of 3 (a build cut short)
    points = [
        _point("full.md", "h1", 0, 3),
        _point("full.md", "h1", 2, 3),
        _point("full.md", "h1", 1, 3),
        _point("partial.md", "h2", 0, 3),
        _point("partial.md", "h2", 1, 3),
    ]
    # When the complete ones are listed
    # Then only the full document is there, with its hash
    assert complete_documents(points) == {"full.md": "h1"}


def test_complete_documents_counts_duplicate_points_once():
    # Given a chunk stored twice (a resumed build) and one chunk missing
    points = [_point("a.md", "h", 0, 2), _point("a.md", "h", 0, 2)]
    # Then the document is still incomplete
    assert complete_documents(points) == {}


def test_complete_documents_tells_hashes_apart():
    # Given a complete old version and a half-written new version of one document
    points = [_point("a.md", "old", 0, 1), _point("a.md", "new", 0, 2)]
    # Then only the complete version counts
    assert complete_documents(points) == {"a.md": "old"}


def test_complete_documents_filters_by_index_config():
    # Given chunks built with two configs
    points = [_point("a.md", "h", 0, 1, cfg="old-cfg"), _point("b.md", "h", 0, 1, cfg="new-cfg")]
    # When filtered on the new config
    # Then only documents built with it count; without a filter both do
    assert complete_documents(points, "new-cfg") == {"b.md": "h"}
    assert complete_documents(points) == {"a.md": "h", "b.md": "h"}


def test_complete_documents_accepts_string_numbers_and_no_points():
    # Given payloads whose numbers came back as strings
    points = [_point("a.md", "h", "0", "2"), _point("a.md", "h", "1", "2")]
    # Then they are read as integers
    assert complete_documents(points) == {"a.md": "h"}
    assert complete_documents([]) == {}
