"""Unit tests for indexes.rag_metrics."""

import math

import numpy as np
import pytest

from indexes.rag_metrics import (
    QuestionScores,
    aggregate,
    answer_relevance,
    citation_coverage,
    context_precision,
    context_recall,
    extract_citations,
    faithfulness,
    hit_at_k,
    ndcg_at_k,
    reciprocal_rank,
    split_sentences,
)

# --- Retrieval ------------------------------------------------------------------


def test_single_relevant_doc_at_rank_two():
    # Given retrieved [a, b, c] and relevant {b}
    retrieved, relevant = ["a", "b", "c"], {"b"}
    # Then hit@1 misses, hit@2 hits, RR is 1/2 and nDCG@3 is 1/log2(3)
    assert hit_at_k(retrieved, relevant, 1) == 0.0
    assert hit_at_k(retrieved, relevant, 2) == 1.0
    assert reciprocal_rank(retrieved, relevant) == pytest.approx(0.5)
    assert ndcg_at_k(retrieved, relevant, 3) == pytest.approx(1 / math.log2(3))
    assert context_precision(retrieved, relevant) == pytest.approx(1 / 3)
    assert context_recall(retrieved, relevant) == 1.0


def test_duplicates_keep_their_first_rank():
    # Given chunks of the same document retrieved several times
    retrieved = ["a", "a", "a", "b", "b", "c"]
    relevant = {"b", "d"}
    # Then ranks are counted over distinct documents: b is at rank 2
    assert hit_at_k(retrieved, relevant, 2) == 1.0
    assert hit_at_k(retrieved, relevant, 1) == 0.0
    assert reciprocal_rank(retrieved, relevant) == pytest.approx(0.5)
    # DCG = 1/log2(3); ideal with 2 relevant in top 3 = 1 + 1/log2(3)
    assert ndcg_at_k(retrieved, relevant, 3) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    # 1 of 3 distinct docs relevant; 1 of 2 relevant docs found
    assert context_precision(retrieved, relevant) == pytest.approx(1 / 3)
    assert context_recall(retrieved, relevant) == pytest.approx(0.5)


def test_perfect_ranking_has_ndcg_one():
    assert ndcg_at_k(["a", "b", "x"], {"a", "b"}, 3) == pytest.approx(1.0)
    # The ideal is capped at k: two relevant docs, k=1, top doc relevant.
    assert ndcg_at_k(["a", "b"], {"a", "b"}, 1) == pytest.approx(1.0)


def test_empty_cases():
    # Nothing retrieved
    assert hit_at_k([], {"a"}, 3) == 0.0
    assert reciprocal_rank([], {"a"}) == 0.0
    assert ndcg_at_k([], {"a"}, 3) == 0.0
    assert context_precision([], {"a"}) == 0.0
    assert context_recall([], {"a"}) == 0.0
    # Nothing relevant
    assert hit_at_k(["a"], set(), 3) == 0.0
    assert reciprocal_rank(["a"], set()) == 0.0
    assert ndcg_at_k(["a"], set(), 3) == 0.0
    assert context_precision(["a"], set()) == 0.0
    assert context_recall(["a"], set()) == 1.0
    assert context_recall([], []) == 1.0


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k_is_an_error(k):
    with pytest.raises(ValueError, match="k must be"):
        hit_at_k(["a"], {"a"}, k)
    with pytest.raises(ValueError, match="k must be"):
        ndcg_at_k(["a"], {"a"}, k)


# --- Sentences and citations ----------------------------------------------------------


def test_split_sentences_on_punctuation_and_newlines():
    # Given an answer with sentences, a list, decimals and citation markers
    text = (
        "DTI must stay below 43%. [policy/03-debt-to-income.md]\n"
        "Exceptions need approval! Who approves? The credit committee [policy/07-exceptions.md].\n\n"
        "- Utilization of 0.45 is fine.\n"
        "1. Check the ledger\n"
        "[policy/x.md]"
    )
    # When split
    sentences = split_sentences(text)
    # Then pure citation markers attach to the sentence before them, decimals are not split,
    # bullets are stripped and bare list numbers dropped
    assert sentences == [
        "DTI must stay below 43%. [policy/03-debt-to-income.md]",
        "Exceptions need approval!",
        "Who approves?",
        "The credit committee [policy/07-exceptions.md].",
        "Utilization of 0.45 is fine.",
        "Check the ledger [policy/x.md]",
    ]


def test_split_sentences_drops_empties_and_leading_markers():
    assert split_sentences("") == []
    assert split_sentences("  \n\n . \n") == []
    assert split_sentences("[policy/x.md]\nFine.") == ["Fine."]


def test_extract_citations_unique_in_order():
    # Given an answer citing docs, one twice, plus brackets that are not doc ids
    answer = (
        "Below 43% [policy/03-debt-to-income.md]. See note [1] and [INST]. "
        "Exceptions [policy/07-exceptions.md; runbook.md] apply [policy/03-debt-to-income.md]. "
        "Not a doc [https://example.com/x.md] or [two words.md]."
    )
    # Then only doc ids are returned, once each, in order of first appearance
    assert extract_citations(answer) == ["policy/03-debt-to-income.md", "policy/07-exceptions.md", "runbook.md"]
    assert extract_citations("no citations here") == []


def test_citation_coverage():
    assert citation_coverage([True, False, True, True]) == pytest.approx(0.75)
    assert citation_coverage([]) == 0.0
    sentences = split_sentences("Below 43%. [policy/03.md]\nAsk the committee.")
    assert citation_coverage([bool(extract_citations(s)) for s in sentences]) == pytest.approx(0.5)


# --- Embedding metrics -----------------------------------------------------------


def test_faithfulness_identical_and_orthogonal():
    # Given context sentences along the x and y axes (un-normalized)
    context = np.array([[3.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    # Then an answer sentence parallel to one of them is supported, one along z is not
    assert faithfulness(np.array([[5.0, 0.0, 0.0]]), context) == 1.0
    assert faithfulness(np.array([[0.0, 0.0, 1.0]]), context) == 0.0
    assert faithfulness(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), context) == pytest.approx(0.5)


def test_faithfulness_threshold_and_empty_answer():
    # cos(45 degrees) ~ 0.707: below the default threshold, above 0.7
    answer = np.array([[1.0, 1.0]])
    context = np.array([[1.0, 0.0]])
    assert faithfulness(answer, context) == 0.0
    assert faithfulness(answer, context, threshold=0.7) == 1.0
    # An empty answer earns no credit; neither does an answer with no context
    assert faithfulness(np.zeros((0, 2)), context) == 0.0
    assert faithfulness(answer, np.zeros((0, 2))) == 0.0
    # A zero vector has no direction, so it is unsupported (and does not divide by zero)
    assert faithfulness(np.zeros((1, 2)), context) == 0.0


def test_faithfulness_dimension_mismatch_is_an_error():
    with pytest.raises(ValueError, match="dimension mismatch"):
        faithfulness(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        faithfulness(np.array([[np.nan, 1.0]]), np.ones((1, 2)))


def test_answer_relevance():
    assert answer_relevance(np.array([2.0, 0.0]), np.array([5.0, 0.0])) == pytest.approx(1.0)
    assert answer_relevance(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == 0.0
    # Opposite directions are clipped to 0
    assert answer_relevance(np.array([1.0, 0.0]), np.array([-1.0, 0.0])) == 0.0
    assert answer_relevance(np.array([1.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(1 / math.sqrt(2))
    assert answer_relevance(np.zeros(2), np.array([1.0, 0.0])) == 0.0
    with pytest.raises(ValueError, match="dimension mismatch"):
        answer_relevance(np.ones(3), np.ones(4))


# --- Aggregation ---------------------------------------------------------------------


def test_aggregate_means_and_skips_missing_answer_metrics():
    # Given two questions, only one with answer metrics
    scores = [
        QuestionScores(hit=1.0, rr=1.0, ndcg=1.0, precision=0.5, recall=1.0, faithfulness=0.8, relevance=0.6, citation_coverage=1.0),
        QuestionScores(hit=0.0, rr=0.0, ndcg=0.0, precision=0.0, recall=0.5),
    ]
    # When aggregated at k=4, MRR at 10
    result = aggregate(scores, k=4, mrr_k=10)
    # Then retrieval metrics average over both (k in their names, legacy names kept),
    # answer metrics over the one that has them, and unmeasured ones are NaN
    expected = {
        "hit_at_4": 0.5, "hit_at_k": 0.5,
        "mrr_at_10": 0.5, "mrr": 0.5,
        "ndcg_at_4": 0.5, "ndcg_at_k": 0.5,
        "context_precision": 0.25,
        "context_recall": 0.75,
        "faithfulness": 0.8,
        "answer_relevance": 0.6,
        "citation_coverage": 1.0,
        "n_questions": 2.0,
        "n_with_reference": 0.0,
    }
    assert {k: result[k] for k in expected} == pytest.approx(expected)
    assert all(math.isnan(result[k]) for k in ("sentence_completeness", "answer_similarity", "token_f1", "rouge_l"))
    assert set(result) == set(expected) | {"sentence_completeness", "answer_similarity", "token_f1", "rouge_l"}


def test_aggregate_reports_missing_metrics_as_nan():
    result = aggregate([QuestionScores(hit=1.0, rr=1.0, ndcg=1.0, precision=1.0, recall=1.0)])
    assert math.isnan(result["faithfulness"]) and result["hit_at_k"] == 1.0
    empty = aggregate([])
    assert empty["n_questions"] == 0.0 and math.isnan(empty["mrr"])
