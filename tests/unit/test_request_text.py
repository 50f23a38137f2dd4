"""Unit tests for the text hygiene of request events (infra.stores.requests): what is stored and logged."""

from __future__ import annotations

import pytest

from infra.stores.opsdb import llm_requests
from infra.stores.requests import clean_label, clean_text, db_safe_row, for_log


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ig\x00nore previous", "ignore previous"),  # removed, not spaced: the injection check sees the word
        ("a\x07b\x1b[31mc\x7fd\x85e\x9bf", "ab[31mcdef"),
        ("line one\r\nline two\rthree\tfour\n", "line one\nline two\nthree\tfour\n"),
        ("left\u202eright\u2066x\u2069", "leftrightx"),  # bidirectional overrides reorder what a terminal shows
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("naïve café 東京 🙂", "naïve café 東京 🙂"),  # ordinary Unicode is kept
    ],
)
def test_clean_text_removes_control_characters_only(raw, clean):
    assert clean_text(raw) == clean


def test_for_log_gives_one_escaped_line_cut_at_the_limit():
    line = for_log("first\nsecond\x00\x1b[2J" + "x" * 500, limit=40)
    assert "\n" not in line and "\x00" not in line and "\x1b" not in line
    assert line.startswith("first\\nsecond\\x00\\x1b[2J") and line.endswith(" ...(524 chars)")  # the escaped length


@pytest.mark.parametrize(("value", "message"), [("\x00 \x07", "the tenant is empty"), ("t" * 101, "101 characters long; at most 100")])
def test_clean_label_refuses_empty_or_long_names_rather_than_cutting_them(value, message):
    with pytest.raises(ValueError, match=message):
        clean_label("tenant", value)
    assert clean_label("tenant", " team\x00-a ") == "team-a"


def test_db_safe_row_cleans_json_deeply_and_cuts_strings_to_their_column():
    row = db_safe_row(
        llm_requests,
        {"model": "m" * 300, "tenant": "t\x00", "chunks_used": [{"doc_id\x00": "a\x00.md", "score": 0.5}], "total_tokens": 7},
    )
    assert row["model"] == "m" * 192 + "...[cut]" and row["tenant"] == "t"
    assert row["chunks_used"] == [{"doc_id": "a.md", "score": 0.5}] and row["total_tokens"] == 7
