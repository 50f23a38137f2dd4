"""Unit tests for indexes.corpus: parsing bytes into documents with stable hashes."""

import pytest

from indexes.corpus import (
    BOOKKEEPING_KEYS,
    CorpusDocument,
    DocumentRejected,
    content_hash,
    kind_of,
    parse_document,
    to_llama_document,
)

# --- kinds ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc_id", "kind"),
    [
        ("policy/01-eligibility.md", "markdown"),
        ("notes/readme.markdown", "markdown"),
        ("glossary/terms.txt", "text"),
        ("policy/fees.html", "html"),
        ("policy/fees.htm", "html"),
        ("policy/UPPER.MD", "markdown"),
        ("policy/scan.pdf", None),
        ("Makefile", None),
    ],
)
def test_kind_of_maps_suffixes(doc_id, kind):
    # Given a document id
    # When its kind is looked up
    # Then supported suffixes (any case) give their kind and others give None
    assert kind_of(doc_id) == kind


# --- markdown and text ----------------------------------------------------------


def test_markdown_document_keeps_text_and_takes_title_from_first_heading():
    # Given a small markdown file
    raw = b"# Debt to income\n\nThe maximum ratio is 0.45.\n"
    # When parsed
    doc = parse_document("policy/03-dti.md", raw)
    # Then id, kind, text, title and hash are filled
    assert isinstance(doc, CorpusDocument)
    assert doc.doc_id == "policy/03-dti.md"
    assert doc.kind == "markdown"
    assert doc.text == "# Debt to income\n\nThe maximum ratio is 0.45."
    assert doc.title == "Debt to income"
    assert doc.content_hash == content_hash(doc.text)
    assert len(doc.content_hash) == 64


def test_text_document_title_is_its_first_non_blank_line():
    # Given a plain-text file starting with blank lines
    raw = b"\n\n  Region codes  \nNorth is N.\n"
    # When parsed
    doc = parse_document("glossary/05-region.txt", raw)
    # Then the title is the first line with text, trimmed
    assert doc.kind == "text"
    assert doc.title == "Region codes"
    assert doc.text == "Region codes\nNorth is N."


def test_utf8_bom_is_dropped():
    # Given the same text with and without a UTF-8 byte-order mark
    plain = parse_document("a.md", b"Hello world.")
    bom = parse_document("a.md", b"\xef\xbb\xbfHello world.")
    # Then both parse to the same text and hash
    assert bom.text == "Hello world."
    assert bom.content_hash == plain.content_hash


# --- HTML -----------------------------------------------------------------------


def test_html_title_comes_from_title_tag_and_scripts_styles_head_are_dropped():
    # Given an HTML page with a title, style, scripts and body text
    raw = (
        b"<html><head><title> Late fees </title><style>p{color:red}</style>"
        b"<script>var secret = 1;</script></head>"
        b"<body><h1>Fees</h1><p>A fee of   25 applies\r\nafter ten days.</p>"
        b"<script>track()</script></body></html>"
    )
    # When parsed
    doc = parse_document("policy/fees.html", raw)
    # Then the title is the <title> text and the body text is normalized
    assert doc.kind == "html"
    assert doc.title == "Late fees"
    assert doc.text == "Fees\nA fee of 25 applies\nafter ten days."
    # And nothing from <head>, <style> or <script> leaks into the text
    for leaked in ("secret", "track", "color", "Late fees"):
        assert leaked not in doc.text


def test_html_without_title_tag_uses_first_line():
    # Given an HTML fragment with no <title>
    raw = b"<p>Collections start at day 30.</p><p>Second paragraph.</p>"
    # When parsed
    doc = parse_document("policy/07.htm", raw)
    # Then block elements end lines and the first line is the title
    assert doc.text == "Collections start at day 30.\nSecond paragraph."
    assert doc.title == "Collections start at day 30."


# --- normalization and hashing --------------------------------------------------


def test_layout_only_changes_give_the_same_hash():
    # Given one text, and the same text with CRLF, tabs, runs of spaces,
    # trailing spaces and extra blank lines
    clean = b"# Title\n\nFirst line here.\nSecond line.\n\nLast paragraph."
    messy = b"\r\n\r\n#   Title  \r\n\r\n\r\n\r\nFirst\tline  here.   \r\n  Second line.\r\n\n\n\nLast paragraph.\r\n\r\n"
    old_mac = b"# Title\r\rFirst line here.\rSecond line.\r\rLast paragraph."
    # When both are parsed
    a = parse_document("doc.md", clean)
    b = parse_document("doc.md", messy)
    c = parse_document("doc.md", old_mac)
    # Then text and content hash are identical
    assert a.text == b.text == c.text
    assert a.content_hash == b.content_hash == c.content_hash


def test_a_real_text_change_gives_a_different_hash():
    # Given two versions differing in one figure
    before = parse_document("doc.md", b"The maximum ratio is 0.45.")
    after = parse_document("doc.md", b"The maximum ratio is 0.40.")
    # Then their hashes differ
    assert before.content_hash != after.content_hash


def test_hash_does_not_depend_on_doc_id():
    # Given the same bytes under two ids
    a = parse_document("a.md", b"Same words.")
    b = parse_document("b/c.txt", b"Same words.")
    # Then the content hash is the same (it is computed from the text alone)
    assert a.content_hash == b.content_hash


# --- rejections -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc_id", "raw", "reason"),
    [
        ("policy/scan.pdf", b"%PDF-1.7", "unsupported file type"),
        ("policy/noext", b"text", "unsupported file type"),
        ("policy/latin1.md", "Caf\u00e9 policy".encode("latin-1"), "not UTF-8"),
        ("policy/empty.md", b"", "no text"),
        ("policy/blank.txt", b" \r\n\t\n\n   \n", "no text"),
        ("policy/only-script.html", b"<html><head><title>T</title></head><body><script>x()</script></body></html>", "no text"),
    ],
)
def test_unindexable_documents_are_rejected_naming_the_doc(doc_id, raw, reason):
    # Given a file Tandem cannot index
    # When parsed
    with pytest.raises(DocumentRejected) as exc:
        parse_document(doc_id, raw)
    # Then the error names the document and says why
    assert str(exc.value).startswith(f"{doc_id}: ")
    assert reason in str(exc.value)


def test_document_rejected_is_a_value_error():
    assert issubclass(DocumentRejected, ValueError)


# --- LlamaIndex document --------------------------------------------------------


def test_to_llama_document_carries_metadata_and_excluded_keys():
    # Given a parsed document
    doc = parse_document("policy/03-dti.md", b"# Debt to income\n\nThe maximum ratio is 0.45.")
    # When converted with an index config hash
    ld = to_llama_document(doc, "cfg-123")
    # Then the id, text and metadata match the document
    assert ld.id_ == "policy/03-dti.md"
    assert ld.text == doc.text
    assert ld.metadata == {
        "doc_id": "policy/03-dti.md",
        "title": "Debt to income",
        "doc_hash": doc.content_hash,
        "kind": "markdown",
        "index_config": "cfg-123",
    }
    # And bookkeeping keys are excluded from embedding; the LLM also skips the title
    assert ld.excluded_embed_metadata_keys == BOOKKEEPING_KEYS
    assert ld.excluded_llm_metadata_keys == BOOKKEEPING_KEYS + ["title"]


def test_to_llama_document_content_modes_hide_bookkeeping():
    # Given a converted document
    doc = parse_document("policy/03-dti.md", b"# Debt to income\n\nThe maximum ratio is 0.45.")
    ld = to_llama_document(doc, "cfg-123")
    # When its content is rendered for embedding and for the LLM
    embed_text = ld.get_content(metadata_mode="embed")
    llm_text = ld.get_content(metadata_mode="llm")
    # Then the hash and config never appear; the title is embedded but not shown to the LLM
    for text in (embed_text, llm_text):
        assert doc.content_hash not in text
        assert "cfg-123" not in text
        assert "policy/03-dti.md" in text
        assert "The maximum ratio is 0.45." in text
    assert "title: Debt to income" in embed_text
    assert "title:" not in llm_text


def test_to_llama_document_does_not_share_the_bookkeeping_list():
    # Given a converted document
    doc = parse_document("a.md", b"Some text here.")
    ld = to_llama_document(doc, "cfg")
    # When its exclusion list is mutated
    ld.excluded_embed_metadata_keys.append("doc_id")
    # Then the module constant is untouched
    assert "doc_id" not in BOOKKEEPING_KEYS
