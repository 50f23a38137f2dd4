"""The shipped demo corpus, golden set and attack set: complete, consistent, and what the guardrails see.

Run with ``-s`` to see the guardrail rates table.
"""

from __future__ import annotations

from collections import Counter

from indexes.guardrails import check_injection, redact_pii
from infra.settings import DEMO_DIR
from infra.sources.corpus import read_corpus
from infra.sources.golden import load_attacks, load_golden


def test_the_golden_set_matches_the_demo_corpus():
    corpus = read_corpus(DEMO_DIR / "corpus")
    golden = load_golden(DEMO_DIR / "golden.yaml")
    assert len(corpus.documents) >= 30 and len(golden.questions) >= 40
    golden.check_against({d.doc_id for d in corpus.documents})
    assert not any("poisoned" in d for q in golden.questions for d in q.relevant)


def test_exactly_the_poisoned_document_of_the_demo_corpus_trips_the_injection_check():
    corpus = read_corpus(DEMO_DIR / "corpus")
    flagged = [d.doc_id for d in corpus.documents if check_injection(d.text).flagged]
    assert flagged == ["runbooks/poisoned-vendor-note.md"]


def test_guardrail_rates_on_the_attack_set():
    cases = load_attacks(DEMO_DIR / "attacks.yaml")
    kinds = Counter(c.kind for c in cases)
    assert kinds["injection"] >= 30 and kinds["pii"] >= 30 and kinds["benign"] >= 30
    injection = [c for c in cases if c.kind == "injection"]
    detected = sum(check_injection(c.text).flagged for c in injection)
    recall: dict[str, list[int]] = {}
    for c in (c for c in cases if c.kind == "pii"):
        found = redact_pii(c.text).found
        for kind in c.pii:
            hits = recall.setdefault(kind, [0, 0])
            hits[0] += kind in found
            hits[1] += 1
    benign = [c for c in cases if c.kind == "benign"]
    fp_injection = sum(check_injection(c.text).flagged for c in benign)
    fp_pii = sum(bool(redact_pii(c.text).found) for c in benign)
    print(f"\ninjection detected: {detected}/{len(injection)}")
    for kind, (hit, total) in sorted(recall.items()):
        print(f"PII recall {kind:12} {hit}/{total}")
    print(f"benign flagged as injection: {fp_injection}/{len(benign)}; benign with PII redacted: {fp_pii}/{len(benign)}")
    assert detected / len(injection) >= 0.95
    assert all(hit / total >= 0.95 for hit, total in recall.values()) and set(recall) == {"email", "phone", "card", "national_id"}
    assert fp_injection == 0 and fp_pii == 0
