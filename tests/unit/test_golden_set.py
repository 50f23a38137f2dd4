"""The golden set: optional references, every problem listed at once, checked against the corpus before embedding."""

from __future__ import annotations

import pytest
import yaml

from infra.sources.golden import EvalSetRejected, load_golden


def _write(tmp_path, questions) -> str:
    path = tmp_path / "golden.yaml"
    path.write_text(yaml.safe_dump({"questions": questions}))
    return path


def test_reference_is_optional(tmp_path):
    golden = load_golden(_write(tmp_path, [
        {"id": "a", "question": "Q?", "relevant": ["x.md"], "reference": "R."},
        {"id": "b", "question": "Q2?", "relevant": "y.md"},
    ]))
    assert [q.reference for q in golden.questions] == ["R.", None] and golden.with_reference == 1
    assert golden.questions[1].relevant == ("y.md",)


def test_every_malformed_entry_is_listed_at_once_with_file_and_entry(tmp_path):
    path = _write(tmp_path, [
        {"id": "a", "question": "Q?"},
        "not a mapping",
        {"id": "a", "question": "Q?", "relevant": ["x.md"]},
        {"id": "a", "question": "Q?", "relevant": ["x.md"]},
    ])
    with pytest.raises(EvalSetRejected) as exc:
        load_golden(path)
    message = str(exc.value)
    assert str(path) in message and "3 malformed" in message
    assert "questions[0] (a): missing 'relevant'" in message
    assert "questions[1]: expected a mapping" in message
    assert "questions[3] (a): duplicate id 'a'" in message


def test_unknown_documents_are_all_named_with_a_hint_when_only_the_suffix_or_folder_differs(tmp_path):
    golden = load_golden(_write(tmp_path, [
        {"id": "q1", "question": "Q?", "relevant": ["policy/03-dti.txt"]},
        {"id": "q2", "question": "Q?", "relevant": ["eligibility.md", "policy/02-income.md"]},
        {"id": "q3", "question": "Q?", "relevant": ["nowhere.md"]},
    ]))
    corpus = {"policy/03-dti.md", "policy/01-eligibility.md", "policy/eligibility.md", "policy/02-income.md"}
    with pytest.raises(EvalSetRejected) as exc:
        golden.check_against(corpus)
    message = str(exc.value)
    assert "3 document(s)" in message and str(tmp_path) in message
    assert "q1: 'policy/03-dti.txt' (did you mean 'policy/03-dti.md'?)" in message
    assert "q2: 'eligibility.md' (did you mean 'policy/eligibility.md'?)" in message
    assert "q3: 'nowhere.md'\n" in message + "\n" and "did you mean" not in message.split("q3:")[1].split("\n")[0]
    golden.check_against(corpus | {"policy/03-dti.txt", "eligibility.md", "nowhere.md"})  # all present: no error


def test_the_shipped_golden_sets_match_their_corpora():
    from pathlib import Path

    from infra.sources.corpus import read_corpus

    root = Path(__file__).resolve().parents[2]
    for corpus, golden in ((root / "infra/demo/corpus", root / "infra/demo/golden.yaml"),
                           (root / "bench/data/unseen/corpus", root / "bench/data/unseen/golden.yaml")):
        g = load_golden(golden)
        g.check_against({d.doc_id for d in read_corpus(corpus).documents})
        assert g.with_reference == len(g.questions)
    assert len(load_golden(root / "bench/data/unseen/golden.yaml").questions) >= 30
