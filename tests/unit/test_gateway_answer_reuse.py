"""When the gateway may skip re-analysing an offline answer: only when it is made of already-redacted chunk text."""

from __future__ import annotations

from indexes.generation import NOT_FOUND, Chunk, Generation, cited_text
from infra.rag.gateway import composed_of_chunks

CHUNKS = [
    Chunk("c1", "policy/eligibility.md", "# Eligibility\n\nApplicants must be at least 18 years old. Write to <EMAIL_ADDRESS> for exceptions.", 0.8),
    Chunk("c2", "policy/loan-terms.md", "Terms run from 12 to 84 months. Loans above 250,000 require a second approver.", 0.7),
]


def answer(sentences, text=None, answered=True) -> Generation:
    sentences = tuple(sentences)
    return Generation(text if text is not None else cited_text(sentences), tuple(d for _, d in sentences), 10, 5, "m", answered, sentences)


def test_an_answer_of_cited_chunk_sentences_is_made_of_checked_text():
    gen = answer([("Applicants must be at least 18 years old.", "policy/eligibility.md"),
                  ("Terms run from 12 to 84 months.", "policy/loan-terms.md")])
    assert gen.text == "Applicants must be at least 18 years old [policy/eligibility.md]. Terms run from 12 to 84 months [policy/loan-terms.md]."
    assert composed_of_chunks(gen, CHUNKS)


def test_anything_else_is_analysed_again():
    sentence = ("Applicants must be at least 18 years old.", "policy/eligibility.md")
    # a word the chunk does not hold (a name, a number...) in the text or in a sentence
    assert not composed_of_chunks(answer([sentence], text=cited_text([sentence]) + " Call Jane Doe on 555-0100."), CHUNKS)
    assert not composed_of_chunks(answer([("Applicants must be at least 21 years old.", "policy/eligibility.md")]), CHUNKS)
    # a sentence of one document cited as another's, or of a chunk that was not passed (dropped, or never redacted)
    assert not composed_of_chunks(answer([("Applicants must be at least 18 years old.", "policy/loan-terms.md")]), CHUNKS)
    assert not composed_of_chunks(answer([sentence]), CHUNKS[1:])
    # no sentences: an endpoint's answer, "not found", a withheld answer
    assert not composed_of_chunks(Generation("Applicants must be 18.", ("policy/eligibility.md",), 10, 5, "gpt"), CHUNKS)
    assert not composed_of_chunks(Generation(NOT_FOUND, (), 10, 5, "m", answered=False), CHUNKS)
    assert not composed_of_chunks(answer([sentence], answered=False), CHUNKS)
