"""Answer-quality metrics: sentences of hard-wrapped text, claims checked against their documents, reference overlap."""

from __future__ import annotations

import pytest

from indexes.rag_metrics import (
    check_claims,
    claim_faithfulness,
    reciprocal_rank,
    rouge_l,
    sentence_completeness,
    strip_citations,
    token_f1,
    token_precision,
)
from indexes.sentences import claim_status, looks_whole, sentences, text_units

# Hard-wrapped at ~70 columns, like most real Markdown.
WRAPPED = """# Objects

An object is freed when the object is garbage-collected, but since garbage collection is
not deterministic, a finalizer may run late or never. Use a context manager
to release resources, e.g. files and sockets, at a known point.

* Finalizers run on an arbitrary thread and must not
  take locks held by the caller.
* Weak references do not keep an object alive.

| Method | Meaning |
| ------ | ------- |
| `close()` | Releases the resource now. |

```python
with open(path) as f:
    data = f.read()
```
"""


def test_hard_wrapped_paragraphs_are_unwrapped_and_structure_is_kept():
    kinds = [u.kind for u in text_units(WRAPPED)]
    assert kinds == ["heading", "paragraph", "item", "item", "row", "row", "code"]
    got = [s for s, _ in sentences(WRAPPED)]
    assert got == [
        "An object is freed when the object is garbage-collected, but since garbage collection is not deterministic, "
        "a finalizer may run late or never.",
        "Use a context manager to release resources, e.g. files and sockets, at a known point.",  # "e.g." does not end it
        "Finalizers run on an arbitrary thread and must not take locks held by the caller.",
        "Weak references do not keep an object alive.",
        "Method | Meaning",
        "`close()` | Releases the resource now.",
    ]


def test_a_fragment_of_a_wrapped_sentence_is_partial_and_a_whole_one_is_whole():
    assert claim_status("An object is freed when the object is garbage-collected, but since garbage collection is", WRAPPED) == "partial"
    assert claim_status("Weak references do not keep an object alive", WRAPPED) == "whole"
    assert claim_status("Use a context manager to release resources, e.g. files and sockets, at a known point.", WRAPPED) == "whole"
    assert claim_status("Objects live forever", WRAPPED) == "absent"


def test_looks_whole_rejects_pieces_that_start_or_stop_mid_sentence():
    assert looks_whole("Weak references do not keep an object alive.")
    assert not looks_whole("not deterministic, a finalizer may run late or never.")
    assert not looks_whole("Note that the value of the setting is.")
    assert not looks_whole("Too short.")


def test_claims_of_a_line_splitting_generator_fail_completeness_and_faithfulness():
    docs = {"objects.md": WRAPPED}
    # Given an answer quoting two lines of the wrapped text and one whole sentence
    fragmented = (
        "An object is freed when the object is garbage-collected, but since garbage collection is [objects.md]. "
        "not deterministic, a finalizer may run late or never [objects.md]. "
        "Weak references do not keep an object alive [objects.md]."
    )
    checks = check_claims(fragmented, docs)
    assert [c.status for c in checks] == ["partial", "partial", "whole"]
    assert sentence_completeness(checks) == pytest.approx(1 / 3)
    assert claim_faithfulness(checks) == pytest.approx(1 / 3)
    # And an answer of whole sentences passes both
    whole = check_claims("Weak references do not keep an object alive [objects.md]. "
                         "Use a context manager to release resources, e.g. files and sockets, at a known point [objects.md].", docs)
    assert sentence_completeness(whole) == 1.0 and claim_faithfulness(whole) == 1.0


def test_uncited_or_miscited_claims_are_not_faithful_and_paraphrases_need_support():
    docs = {"objects.md": WRAPPED, "other.md": "Nothing here."}
    checks = check_claims("Weak references do not keep an object alive. Weak references do not keep an object alive [other.md]. "
                          "Weak refs never keep objects alive [objects.md].", docs)
    assert [c.status for c in checks] == ["uncited", "absent", "absent"]
    assert claim_faithfulness(checks) == 0.0
    assert claim_faithfulness(checks, [False, False, True]) == pytest.approx(1 / 3)  # the caller found support for the paraphrase
    with pytest.raises(ValueError, match="flags"):
        claim_faithfulness(checks, [True])


def test_token_precision_falls_with_padding_while_recall_stays():
    reference = "The limit is 0.45 for unsecured loans."
    answer = "The limit is 0.45 for unsecured loans."
    padded = answer + " Pay slips are checked twice. The bureau feed arrives at night. Fees are waived in March."
    assert token_precision(answer, reference) == pytest.approx(1.0)
    assert token_precision(padded, reference) == pytest.approx(8 / 24)  # "0.45" is two words, "0" and "45"
    assert token_precision("", reference) == 0.0 and token_precision(answer, "") == 0.0


def test_token_f1_and_rouge_l_against_a_reference():
    assert token_f1("The limit is 0.45.", "The limit is 0.45") == pytest.approx(1.0)
    assert token_f1("cats", "dogs") == 0.0 and token_f1("", "x") == 0.0
    # 3 shared words of 4 answer words and 6 reference words
    assert token_f1("the ratio is high", "the ratio is at most 0") == pytest.approx(2 * (3 / 4) * (3 / 6) / (3 / 4 + 3 / 6))
    assert rouge_l("a b c d", "a c d") == pytest.approx(2 * (3 / 4) * 1.0 / (3 / 4 + 1.0))
    assert rouge_l("d c b a", "a b c d") == pytest.approx(0.25)  # order matters, unlike F1
    assert strip_citations("Tests exit 0 [writing-tests.md]. See [1] and [a/b.md; c.md].") == "Tests exit 0. See [1] and."


def test_mrr_at_k_cuts_at_k_distinct_documents():
    ranked = ["a", "a", "b", "c", "d"]
    assert reciprocal_rank(ranked, {"d"}) == pytest.approx(1 / 4)
    assert reciprocal_rank(ranked, {"d"}, 3) == 0.0 and reciprocal_rank(ranked, {"c"}, 3) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        reciprocal_rank(ranked, {"d"}, 0)
