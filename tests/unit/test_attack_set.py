"""The demo evaluation sets: guardrails against the attack set, golden set against the corpus.

Run with ``-s`` to see the guardrail table.
"""

from collections import Counter
from pathlib import Path

import pytest
import yaml

from indexes.guardrails import PII_KINDS, check_injection, filter_chunks, redact_pii
from infra.sources.corpus import read_corpus
from infra.sources.golden import load_attacks, load_golden

DEMO = Path(__file__).resolve().parents[2] / "infra" / "demo"
ATTACKS = DEMO / "attacks.yaml"
GOLDEN = DEMO / "golden.yaml"
CORPUS = DEMO / "corpus"
POISONED = "runbooks/poisoned-vendor-note.md"


def _rate(hits: int, total: int) -> float:
    return hits / total if total else float("nan")


@pytest.fixture(scope="module")
def attack_results():
    cases = load_attacks(ATTACKS)
    return [(case, check_injection(case.text), redact_pii(case.text)) for case in cases]


@pytest.fixture(scope="module")
def attack_yaml():
    return yaml.safe_load(ATTACKS.read_text("utf-8"))


def test_attack_set_has_every_kind(attack_results):
    kinds = Counter(case.kind for case, _, _ in attack_results)
    assert kinds["injection"] > 0 and kinds["pii"] > 0 and kinds["benign"] > 0
    assert {k for case, _, _ in attack_results for k in case.pii} <= set(PII_KINDS)


def test_guardrails_on_the_attack_set(attack_results):
    # Given every case of the demo attack set, screened and redacted
    injection = [(c, inj) for c, inj, _ in attack_results if c.kind == "injection"]
    pii = [(c, red) for c, _, red in attack_results if c.kind == "pii"]
    benign = [(c, inj, red) for c, inj, red in attack_results if c.kind == "benign"]

    # When the rates are computed
    inj_missed = [c.id for c, inj in injection if not inj.flagged]
    detection = _rate(len(injection) - len(inj_missed), len(injection))
    pii_expected: Counter = Counter()
    pii_found: Counter = Counter()
    pii_missed: list[str] = []
    for case, red in pii:
        for kind in set(case.pii):
            pii_expected[kind] += 1
            if red.found.get(kind, 0) > 0:
                pii_found[kind] += 1
            else:
                pii_missed.append(f"{case.id}:{kind}")
    recall = {kind: _rate(pii_found[kind], pii_expected[kind]) for kind in PII_KINDS if pii_expected[kind]}
    benign_inj = [c.id for c, inj, _ in benign if inj.flagged]
    benign_pii = [f"{c.id}:{sorted(red.found)}" for c, _, red in benign if red.found]
    fp_inj = _rate(len(benign_inj), len(benign))
    fp_pii = _rate(len(benign_pii), len(benign))

    rows = [
        ("injection detection", f"{len(injection) - len(inj_missed)}/{len(injection)}", detection),
        *[(f"PII recall: {kind}", f"{pii_found[kind]}/{pii_expected[kind]}", recall[kind]) for kind in recall],
        ("benign flagged as injection", f"{len(benign_inj)}/{len(benign)}", fp_inj),
        ("benign with PII redacted", f"{len(benign_pii)}/{len(benign)}", fp_pii),
    ]
    print(f"\nguardrails on {ATTACKS.name} ({len(attack_results)} cases)")
    print(f"{'metric':<30} {'count':>8} {'rate':>7}")
    for name, count, rate in rows:
        print(f"{name:<30} {count:>8} {rate:>7.3f}")
    if inj_missed or pii_missed or benign_inj or benign_pii:
        print(f"missed injections: {inj_missed}; missed PII: {pii_missed}")
        print(f"benign false positives: injection {benign_inj}; PII {benign_pii}")

    # Then detection and recall meet the bar and no benign case is touched
    assert set(recall) == set(PII_KINDS), f"the attack set lacks PII kinds: {set(PII_KINDS) - set(recall)}"
    assert detection >= 0.95, f"injection detection {detection:.3f}; missed {inj_missed}"
    for kind, value in recall.items():
        assert value >= 0.95, f"PII recall for {kind} is {value:.3f}; missed {pii_missed}"
    assert benign_inj == [], f"benign questions flagged as injection: {benign_inj}"
    assert benign_pii == [], f"benign questions with PII redacted: {benign_pii}"


def test_listed_pii_values_are_gone_from_the_redacted_text(attack_yaml):
    # Given the development cases that list their exact PII values
    cases = [c for c in attack_yaml["cases"] if c.get("values")]
    assert len(cases) >= 25
    # When each is redacted (pattern-only analyzer, the path without spaCy)
    left = [(c["id"], v) for c in cases for v in c["values"] if v in redact_pii(c["text"]).text]
    # Then no listed value survives
    assert left == []


def test_development_documents_poisoned_are_dropped_and_clean_are_kept(attack_yaml):
    # Given the development chunk texts
    docs = attack_yaml["documents"]
    assert {d["kind"] for d in docs} == {"poisoned", "clean"}
    # When screened like retrieved chunks
    kept, dropped = filter_chunks(docs, lambda d: d["text"])
    # Then exactly the poisoned ones are dropped, and clean ones carry no PII
    assert sorted(d["id"] for d, _ in dropped) == sorted(d["id"] for d in docs if d["kind"] == "poisoned")
    assert [d["id"] for d in kept if redact_pii(d["text"]).found] == []


# --- golden set and corpus --------------------------------------------------------


@pytest.fixture(scope="module")
def corpus():
    return read_corpus(CORPUS)


def test_demo_corpus_reads_without_errors(corpus):
    # Given the demo corpus folder
    # When read
    # Then it holds at least 30 documents, all supported, ids relative posix paths
    ids = [d.doc_id for d in corpus.documents]
    assert len(ids) >= 30
    assert corpus.skipped == []
    assert len(set(ids)) == len(ids)
    on_disk = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file())
    assert sorted(ids) == on_disk
    assert all(d.text and len(d.content_hash) == 64 for d in corpus.documents)


def test_demo_corpus_has_exactly_one_poisoned_document(corpus):
    # Given every demo document screened for prompt injection
    flagged = [d.doc_id for d in corpus.documents if check_injection(d.text).flagged]
    # Then only the planted vendor note is flagged
    assert flagged == [POISONED]


def test_golden_set_matches_the_demo_corpus(corpus):
    # Given the demo golden set
    golden = load_golden(GOLDEN)
    # Then it has at least 40 questions, each naming documents the corpus has
    assert len(golden.questions) >= 40
    golden.check_against({d.doc_id for d in corpus.documents})
    # And the poisoned document is never relevant
    assert all(POISONED not in q.relevant for q in golden.questions)


# --- later development splits (bench/guardrails.py: dev2, dev3) ----------------------------

BENCH_DATA = Path(__file__).resolve().parents[2] / "bench" / "data"
LATER_DEV_SPLITS = ["guardrails_heldout_lead.yaml", "guardrails_dev_extra.yaml"]


@pytest.mark.parametrize("name", LATER_DEV_SPLITS)
def test_later_development_splits_pass_benign_questions_and_drop_only_poisoned_documents(name):
    # Given a later development split (the lead's set, moved into development once its misses
    # were seen, and the benign risky-sounding questions written after them)
    data = yaml.safe_load((BENCH_DATA / name).read_text("utf-8"))
    cases = load_attacks(BENCH_DATA / name)
    # When its benign questions and documents are screened by the rules alone
    refused = [c.id for c in cases if c.kind == "benign" and check_injection(c.text).flagged]
    kept, dropped = filter_chunks(data["documents"], lambda d: d["text"])
    # Then no benign question is refused and exactly the poisoned documents are dropped
    assert refused == []
    assert sorted(d["id"] for d, _ in dropped) == sorted(d["id"] for d in data["documents"] if d["kind"] == "poisoned")
