"""Unit tests for indexes.generation: the offline extractive generator, with a fake embedder."""

import re

import numpy as np
import pytest

from indexes.generation import NOT_FOUND, Chunk, ExtractiveGenerator, Generation, split_into_sentences

# A tiny fixed vocabulary: a text embeds as its word counts over it. Words outside
# it are ignored, so the similarities in these tests can be worked out by hand
# (cosine of count vectors). Deterministic, unlike Python's salted str hash.
VOCAB = ("minimum", "loan", "amount", "maximum", "term", "months", "late", "fee", "days", "secured", "age")
_INDEX = {w: i for i, w in enumerate(VOCAB)}


def fake_embed(texts: list[str]) -> np.ndarray:
    out = np.zeros((len(texts), len(VOCAB)), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in re.findall(r"[a-z]+", text.lower()):
            if word in _INDEX:
                out[row, _INDEX[word]] += 1.0
    return out


def count_tokens(text: str) -> int:
    return len(text.split())


def make_generator() -> ExtractiveGenerator:
    return ExtractiveGenerator(embed=fake_embed, count_tokens=count_tokens)


QUESTION = "What is the minimum loan amount?"  # -> minimum, loan, amount

AMOUNTS = Chunk(
    chunk_id="c-amounts",
    doc_id="policy/04-amounts.md",
    # sims to QUESTION: 1.0 ; 0.0
    text="The minimum loan amount is 1,000 dollars. The maximum term is 84 months for every product.",
    score=0.9,
)
FEES = Chunk(
    chunk_id="c-fees",
    doc_id="policy/05-fees.md",
    # sim 0.0
    text="A late fee of 25 dollars applies after ten days.",
    score=0.5,
)
# sim to QUESTION: 2 / (sqrt(3) * sqrt(3)) = 0.667
NEAR = Chunk(
    chunk_id="c-near",
    doc_id="policy/06-secured.md",
    text="A secured loan may exceed the standard minimum with approval.",
    score=0.4,
)

PROMPT = "Context: ... Question: What is the minimum loan amount? Answer:"


def test_fake_embedder_similarities_are_as_designed():
    # Guard for the fixtures below: cosine similarities to QUESTION.
    vecs = fake_embed([QUESTION, AMOUNTS.text.split(". ")[0], FEES.text, NEAR.text])
    vecs = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    assert vecs[1] @ vecs[0] == pytest.approx(1.0)
    assert vecs[2] @ vecs[0] == pytest.approx(0.0)
    assert vecs[3] @ vecs[0] == pytest.approx(2 / 3)


# --- choosing and citing ---------------------------------------------------------


def test_picks_the_sentence_closest_to_the_question_and_cites_it_inside_the_sentence():
    # Given chunks where one sentence answers the question
    gen = make_generator()
    # When asked, with default knobs
    out = gen.generate(QUESTION, [FEES, AMOUNTS], PROMPT, {})
    # Then the answer is that sentence, cited before its final full stop
    assert isinstance(out, Generation)
    assert out.answered
    assert out.text == "The minimum loan amount is 1,000 dollars [policy/04-amounts.md]."
    assert out.citations == ("policy/04-amounts.md",)
    assert out.sentences == (("The minimum loan amount is 1,000 dollars.", "policy/04-amounts.md"),)
    assert out.model == "extractive-minilm"
    assert gen.name == "offline"


def test_token_counts_come_from_the_prompt_and_the_answer():
    out = make_generator().generate(QUESTION, [AMOUNTS], PROMPT, {})
    assert out.prompt_tokens == count_tokens(PROMPT)
    assert out.completion_tokens == count_tokens(out.text)
    assert out.total_tokens == out.prompt_tokens + out.completion_tokens


def test_question_and_exclamation_endings_are_replaced_by_the_citation():
    chunk = Chunk("c", "faq.md", "Is there a minimum loan amount? Yes there is one!", 1.0)
    out = make_generator().generate(QUESTION, [chunk], PROMPT, {"max_gap": 1.0, "min_similarity": 0.0})
    assert out.text.startswith("Is there a minimum loan amount [faq.md].")


# --- knobs ---------------------------------------------------------------------


def _equal_chunks() -> list[Chunk]:
    # Three sentences all at similarity 1.0, in two chunks of two documents.
    return [
        Chunk("c1", "a.md", "The minimum loan amount applies here. Loan amount minimum is fixed by policy.", 0.9),
        Chunk("c2", "b.md", "Every minimum loan amount is reviewed yearly.", 0.8),
    ]


def test_max_sentences_caps_the_answer_and_ties_keep_rank_then_position_order():
    # Given three equally similar sentences
    gen = make_generator()
    # When at most two are allowed
    out = gen.generate(QUESTION, _equal_chunks(), PROMPT, {"max_sentences": 2})
    # Then the first two by chunk rank and position are used
    assert [s for s, _ in out.sentences] == [
        "The minimum loan amount applies here.",
        "Loan amount minimum is fixed by policy.",
    ]
    assert out.citations == ("a.md",)
    # And with three allowed all are used, each cited, citations unique in order
    out3 = gen.generate(QUESTION, _equal_chunks(), PROMPT, {"max_sentences": 3})
    assert len(out3.sentences) == 3
    assert out3.citations == ("a.md", "b.md")
    assert out3.text.count("[a.md].") == 2 and out3.text.count("[b.md].") == 1


def test_max_sentences_one_gives_one_sentence():
    out = make_generator().generate(QUESTION, _equal_chunks(), PROMPT, {"max_sentences": 1})
    assert len(out.sentences) == 1


def test_max_gap_drops_sentences_far_below_the_best():
    # Given a best sentence (sim 1.0) and a weaker relevant one (sim 0.667)
    gen = make_generator()
    chunks = [AMOUNTS, NEAR]
    # When the gap is tight
    tight = gen.generate(QUESTION, chunks, PROMPT, {"max_sentences": 3, "min_similarity": 0.35, "max_gap": 0.15})
    # Then only the best sentence is used
    assert tight.citations == ("policy/04-amounts.md",)
    # And when the gap is wide, the weaker one joins (but the 0.0 ones never do)
    wide = gen.generate(QUESTION, chunks, PROMPT, {"max_sentences": 3, "min_similarity": 0.35, "max_gap": 0.5})
    assert wide.citations == ("policy/04-amounts.md", "policy/06-secured.md")
    assert len(wide.sentences) == 2


def test_min_similarity_above_every_sentence_gives_not_found():
    # Given chunks whose best sentence has similarity 0.667
    gen = make_generator()
    # When the floor is above it
    out = gen.generate(QUESTION, [NEAR, FEES], PROMPT, {"min_similarity": 0.9})
    # Then the generator says it could not find the answer, citing nothing
    assert out.text == NOT_FOUND
    assert out.answered is False
    assert out.citations == ()
    assert out.sentences == ()
    assert out.prompt_tokens == count_tokens(PROMPT)
    assert out.completion_tokens == count_tokens(NOT_FOUND)


def test_unrelated_chunks_give_not_found_with_default_knobs():
    out = make_generator().generate(QUESTION, [FEES], PROMPT, {})
    assert not out.answered and out.text == NOT_FOUND and out.citations == ()


def test_no_chunks_gives_not_found():
    out = make_generator().generate(QUESTION, [], PROMPT, {})
    assert not out.answered and out.text == NOT_FOUND


def test_chunks_with_only_short_fragments_give_not_found():
    # Given chunks holding only fragments under four words
    chunk = Chunk("c", "a.md", "# Minimum loan amount\nLoan amount: 1,000.", 1.0)
    # Then there is nothing to extract
    out = make_generator().generate(QUESTION, [chunk], PROMPT, {})
    assert not out.answered


# --- duplicates and determinism ---------------------------------------------------


def test_sentence_repeated_by_overlapping_chunks_appears_once():
    # Given two overlapping chunks of one document sharing a sentence
    shared = "The minimum loan amount is 1,000 dollars."
    chunks = [
        Chunk("c1", "policy/04-amounts.md", f"Amounts are set by the board each year. {shared}", 0.9),
        Chunk("c2", "policy/04-amounts.md", f"{shared} The maximum term is 84 months for every product.", 0.8),
    ]
    # When answered with room for several sentences
    out = make_generator().generate(QUESTION, chunks, PROMPT, {"max_sentences": 5, "max_gap": 1.0, "min_similarity": 0.0})
    # Then the shared sentence is used once
    assert [s for s, _ in out.sentences].count(shared) == 1
    assert out.text.count("The minimum loan amount is 1,000 dollars") == 1
    assert len(out.sentences) == len(set(out.sentences))


def test_duplicate_sentence_in_two_documents_is_cited_to_the_higher_ranked_one():
    shared = "The minimum loan amount is 1,000 dollars."
    chunks = [Chunk("c1", "first.md", shared, 0.9), Chunk("c2", "second.md", shared, 0.8)]
    out = make_generator().generate(QUESTION, chunks, PROMPT, {})
    assert out.citations == ("first.md",)


def test_generation_is_deterministic_across_runs_and_instances():
    # Given the same inputs twice, on two generator instances
    chunks = [FEES, NEAR, AMOUNTS] + _equal_chunks()
    params = {"max_sentences": 4, "max_gap": 0.5}
    a = make_generator().generate(QUESTION, chunks, PROMPT, params)
    b = make_generator().generate(QUESTION, chunks, PROMPT, params)
    # Then the results are equal field for field
    assert a == b


def test_embed_is_called_once_with_question_first():
    # Given an embedder that records its calls
    calls = []

    def recording_embed(texts):
        calls.append(list(texts))
        return fake_embed(texts)

    gen = ExtractiveGenerator(embed=recording_embed, count_tokens=count_tokens)
    # When generating
    gen.generate(QUESTION, [AMOUNTS, FEES], PROMPT, {})
    # Then the question and each candidate sentence are embedded in one batch
    assert calls == [
        [QUESTION, "The minimum loan amount is 1,000 dollars.", "The maximum term is 84 months for every product.", FEES.text]
    ]


# --- split_into_sentences ----------------------------------------------------------


def test_split_drops_headings_titles_short_fragments_and_list_markers():
    # Given markdown with headings, an unpunctuated title line, bullets, a quote,
    # a short fragment and two sentences on one line
    text = (
        "## Minimum amounts\n"
        "# Loan amounts and terms policy for all products\n"
        "Loan Amounts And Terms\n"
        "- Applicants must be eighteen.\n"
        "- Bullet items count without a full stop\n"
        "* > Quoted rule applies to all.\n"
        "\n"
        "Too short. The minimum loan amount is 1,000, e.g. for cars. Terms run up to 84 months!\n"
    )
    # When split
    # Then headings and short unpunctuated title lines are gone, bullets and quotes
    # lose their markers, fragments under 4 words are gone, and sentences split
    # only before a capital letter or digit
    assert split_into_sentences(text) == [
        "Applicants must be eighteen.",
        "Bullet items count without a full stop",
        "Quoted rule applies to all.",
        "The minimum loan amount is 1,000, e.g. for cars.",
        "Terms run up to 84 months!",
    ]


def test_split_keeps_long_unpunctuated_lines():
    # Given a line of more than eight words with no final punctuation (not a title)
    line = "The minimum loan amount is one thousand dollars for every product"
    # Then it is kept as a sentence
    assert split_into_sentences(line) == [line]


def test_split_of_empty_text_is_empty():
    assert split_into_sentences("") == []
    assert split_into_sentences("\n\n  \n") == []


def test_split_keeps_exactly_four_word_sentences():
    assert split_into_sentences("One two three four. One two three.") == ["One two three four."]


def test_split_skips_short_unpunctuated_titles_but_keeps_list_items():
    # Given HTML-derived text: a title line without '#', a list item without a full stop
    text = "Index rollback\n- Keep the previous collection until two newer releases exist\nRun the rollback command from the repository root."
    # When split
    # Then the title is gone, the list item and the sentence stay
    assert split_into_sentences(text) == [
        "Keep the previous collection until two newer releases exist",
        "Run the rollback command from the repository root.",
    ]


# --- hard-wrapped text: whole sentences, never fragments ---------------------------

WRAPPED_CHUNK = (
    "the previous chunk ended mid-sentence, so this line is the tail of one.\n\n"
    "An object is freed when the object is garbage-collected, but since garbage collection is\n"
    "not deterministic, a finalizer may run late or never. Use a context manager\n"
    "to release resources, e.g. files and sockets, at a known point.\n\n"
    "Weak references do not keep an object\n"
    "alive. The chunk window then stops in the middle of a"
)


def test_wrapped_chunks_give_whole_sentences_and_drop_the_cut_edges():
    assert split_into_sentences(WRAPPED_CHUNK) == [
        "An object is freed when the object is garbage-collected, but since garbage collection is not deterministic, "
        "a finalizer may run late or never.",
        "Use a context manager to release resources, e.g. files and sockets, at a known point.",
        "Weak references do not keep an object alive.",
    ]


def test_the_answer_quotes_whole_sentences_and_the_line_mode_quotes_fragments():
    chunk = Chunk("c", "objects.md", WRAPPED_CHUNK, 1.0)
    question = "When is an object freed by garbage collection?"
    whole = make_generator().generate(question, [chunk], PROMPT, {"max_sentences": 1, "min_similarity": 0.0})
    assert whole.text.startswith("An object is freed when the object is garbage-collected, but since garbage collection is not deterministic")
    lines = ExtractiveGenerator(embed=make_generator()._embed, count_tokens=len, units="lines")
    fragment = lines.generate(question, [chunk], PROMPT, {"max_sentences": 10, "min_similarity": 0.0, "max_gap": 1.0})
    # a line, not a sentence
    assert "An object is freed when the object is garbage-collected, but since garbage collection is" in [s for s, _ in fragment.sentences]
    with pytest.raises(ValueError, match="units"):
        ExtractiveGenerator(embed=make_generator()._embed, count_tokens=len, units="words")


def test_a_sentence_after_a_heading_opens_its_section_even_in_lower_case():
    # Given a chunk that starts at its document's heading, whose first sentence starts with a
    # lower-case name (as a model card's does), and the same sentence at a bare chunk edge
    sentence = "risk-scorer version 7 was trained on 300 labelled applications and promoted to champion."
    after_heading = f"# Model card: risk-scorer version 7\n\n{sentence} Version 7 was promoted."
    at_the_edge = f"{sentence} Version 7 was promoted."
    # Then after the heading it is quoted; at the edge it may be a cut tail, and is dropped
    assert split_into_sentences(after_heading) == [sentence, "Version 7 was promoted."]
    assert split_into_sentences(at_the_edge) == ["Version 7 was promoted."]


def test_a_last_sentence_followed_by_a_heading_was_ended_by_it():
    # Given a paragraph without closing punctuation, then a heading (the chunk did not stop mid-sentence)
    text = "Terms run from twelve to eighty four months. Loans above the limit need a second approver\n\n## Fees"
    assert split_into_sentences(text)[-1] == "Loans above the limit need a second approver"
    # and the same paragraph at the chunk's end is dropped as possibly cut
    assert split_into_sentences(text.split("\n\n")[0]) == ["Terms run from twelve to eighty four months."]
