"""Guardrail figures on the development and the held-out sets, side by side.

Run ``python bench/guardrails.py`` (development splits and the first held-out
set), ``--split devall`` while tuning, ``--tune`` to choose the semantic
threshold on the development splits only, ``--cv`` for the leave-one-set-out
cross-validation of the trained classifier over the development files (its
threshold, and the honest estimate of what it adds). Prints; asserts nothing
(this is a measurement, not a test).

Development splits (rules, exemplars and the threshold are tuned on them, and the
classifier is trained on them: ``infra.clients.injection_model.TRAINING_SETS``):

* ``dev`` = ``infra/demo/attacks.yaml`` (cases and documents) plus the demo
  corpus (``runbooks/poisoned-vendor-note.md`` poisoned, every other document
  clean).
* ``dev2`` = ``bench/data/guardrails_heldout_lead.yaml``. Written by the lead as
  a second held-out set; its misses were seen on 2026-11-30 (4/30 benign
  refused, one NI number and one poisoned document missed), so it can no longer
  measure generalization and was moved into development. The file keeps its name.
* ``dev3`` = ``bench/data/guardrails_dev_extra.yaml``: benign risky-sounding
  questions written after those misses, by failure family rather than by case,
  with imperative counterparts among its injections.
* ``dev4`` = ``bench/data/guardrails_heldout_3.yaml``. Written by another
  author as a third held-out set; run once as held-out and seen on 2026-11-30
  (injection 56/73, benign refused 4/104, PII 56/61, poisoned documents 7/8,
  clean documents dropped 2/8), so it was moved into development. The file
  keeps its name.
* ``dev5`` = ``bench/data/guardrails_dev_5.yaml``: new examples of the failure
  families seen on dev4 (not its cases), attacks and benign look-alikes, PII of
  many countries and formats, injections in 10+ languages and obfuscations.
* ``dev6`` = ``bench/data/guardrails_heldout_4.yaml``. Written by another
  author as a fourth held-out set; run once as held-out on 2026-11-30
  (injection 80/100, benign refused 2/98, PII 86/95 with addresses 3/7 and
  person names 17/20, poisoned documents 11/13, clean documents dropped 1/13),
  so it was moved into development. The file keeps its name.
* ``dev7`` = ``bench/data/guardrails_dev_6b.yaml``: new examples of the failure
  families seen on dev6 (not its cases): subtle overrides, multilingual and
  obfuscated injections, role-play, prompt exfiltration, each with benign
  look-alikes; addresses of several countries and person names; poisoned
  documents hiding their order in comments, alt text, hidden spans, footnotes,
  code comments, JSON values and base64, with clean look-alikes.
* ``dev8`` = ``bench/data/guardrails_heldout_5.yaml``. Written blind by another
  author as a fifth held-out set; run once by the lead on 2026-11-30
  (injection 77/117, benign refused 2/108, PII 103/116 with IP addresses 0/5,
  dates of birth 4/7, addresses 8/11 and national ids 16/18, poisoned
  documents 9/16, clean documents dropped 2/16), so it was moved into
  development. The file keeps its name; its PII is listed as Presidio
  entities (``{entity, value}``), converted by ``_plain_pii``.
* ``dev9`` = ``bench/data/guardrails_heldout_6.yaml``. Written blind by another
  author as a sixth held-out set; run once by the lead on 2026-11-30
  (injection 90/100, benign refused 5/100, PII 93/104 with person names 23/28,
  addresses 9/12, dates of birth 8/10, phones 12/13; poisoned documents 10/16,
  clean documents dropped 1/16), so it was moved into development.
* ``dev10`` = ``bench/data/guardrails_heldout_7.yaml``. Written blind by another
  author as a seventh held-out set before the tuning on dev9; run once by the
  lead on 2026-11-30 after it (injection 108/121, benign refused 2/114, PII
  115/131 with addresses 10/18 and person names 31/36, poisoned documents
  18/24, clean documents dropped 4/24), so it was moved into development.
* ``dev11`` = ``bench/data/guardrails_heldout_8.yaml``. Written blind by another
  author as an eighth held-out set before the tuning on dev10; run once by the
  lead on 2026-11-30 after it (injection 97/108, benign refused 2/105, PII
  119/139 with addresses 23/35 and person names 27/34, poisoned documents
  18/23, clean documents dropped 3/24), so it was moved into development.
* ``dev12`` = ``bench/data/guardrails_dev_12.yaml``: PII of the families the
  blind sets missed (addresses of 30+ countries with and without labels,
  in lower case, on forms; names in lower case, with particles, honorifics,
  initials, names that are English words), benign look-alikes (ids, versions,
  internal addresses, column names, placeholders) and injections carrying
  personal data. Written by another author who read no code, after dev11's
  misses were seen; a development set from the start.
* ``dev13`` = ``bench/data/guardrails_heldout_9.yaml``. Written blind by another
  author as a ninth held-out set before the tuning on dev11 and dev12; run once
  by the lead on 2026-12-01 after it (injection 116/121, benign refused 1/106,
  benign redacted 4/106, PII 152/165 with person names 37/46, dates of birth
  12/14, national ids 14/16, addresses 38/38; poisoned documents 18/24, clean
  documents dropped 6/24), so it was moved into development.
* ``dev14`` = ``bench/data/guardrails_heldout_10.yaml``. Written blind by another
  author as a tenth held-out set; run once by the lead on 2026-12-01 at
  fea2988 (injection 113/120, benign refused 1/105, benign redacted 1/105,
  PII 158/170 with person names 47/53, dates of birth 15/17; poisoned
  documents 19/24, clean documents dropped 3/24), so it was moved into
  development.
* ``dev15`` = ``bench/data/guardrails_heldout_11.yaml``. Written blind by another
  author as an eleventh held-out set; run by the lead on 2026-12-01 at 3dce325
  and 564751f (injection 106/110, benign refused 3/100, benign redacted 1/100,
  PII 158/178 with person names 45/58, addresses 31/34; poisoned documents
  21/24, clean documents dropped 6/24), then moved into development.

Held-out splits (measured, never tuned on):

* ``heldout`` = ``bench/data/guardrails_heldout.yaml``, written before any tuning.
* ``heldout12`` = ``bench/data/guardrails_heldout_12.yaml``, written blind by
  another author (who read none of the guardrails' code, exemplars or other
  sets) before the tuning on dev15, never read while tuning; only the lead runs
  it, with ``--split heldout12``, after the last tuning change. It is in no group.
  Its one run (2026-12-01 05:53, at 7516b09): injection 111/120, benign
  refused 1/102, benign redacted 4/102, PII 216/227 (person names 68/72,
  addresses 39/41), poisoned documents 20/26, clean documents dropped 2/25.
  Its misses were not looked at.
* ``heldout13`` = ``bench/data/guardrails_heldout_13.yaml``, written blind by
  another author after heldout12's run, with no change to the guardrails in
  between: a second measurement of the same code. Only the lead runs it.

Figures: injection questions detected; benign questions refused (flagged as
injection) and benign questions with anything redacted; PII values redacted,
per kind (a value counts when neither it nor any of its digit-bearing parts,
nor for names any of its words, is left in the text); poisoned documents
blocked and clean documents dropped; milliseconds per call.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import yaml  # noqa: E402

DEV = ROOT / "infra" / "demo" / "attacks.yaml"
CORPUS = ROOT / "infra" / "demo" / "corpus"
POISONED = "runbooks/poisoned-vendor-note.md"
HELDOUT = ROOT / "bench" / "data" / "guardrails_heldout.yaml"
# Written as a second held-out set; moved into development once its misses were seen (2026-11-30).
DEV2 = ROOT / "bench" / "data" / "guardrails_heldout_lead.yaml"
DEV3 = ROOT / "bench" / "data" / "guardrails_dev_extra.yaml"
# Written as a third held-out set; run once and its misses seen (2026-11-30), so now development.
DEV4 = ROOT / "bench" / "data" / "guardrails_heldout_3.yaml"
DEV5 = ROOT / "bench" / "data" / "guardrails_dev_5.yaml"
# Written as a fourth held-out set; run once and its misses seen (2026-11-30), so now development.
DEV6 = ROOT / "bench" / "data" / "guardrails_heldout_4.yaml"
DEV7 = ROOT / "bench" / "data" / "guardrails_dev_6b.yaml"
# Written blind as a fifth held-out set; run once by the lead (2026-11-30), so now development.
DEV8 = ROOT / "bench" / "data" / "guardrails_heldout_5.yaml"
# Written blind as a sixth held-out set; run once by the lead (2026-11-30), so now development.
DEV9 = ROOT / "bench" / "data" / "guardrails_heldout_6.yaml"
# Written blind as a seventh held-out set; run once by the lead (2026-11-30), so now development.
DEV10 = ROOT / "bench" / "data" / "guardrails_heldout_7.yaml"
# Written blind as an eighth held-out set; run once by the lead (2026-11-30), so now development.
DEV11 = ROOT / "bench" / "data" / "guardrails_heldout_8.yaml"
DEV12 = ROOT / "bench" / "data" / "guardrails_dev_12.yaml"
# Written blind as a ninth held-out set; run once by the lead (2026-12-01), so now development.
DEV13 = ROOT / "bench" / "data" / "guardrails_heldout_9.yaml"
# Written blind as a tenth held-out set; run once by the lead (2026-12-01), so now development.
DEV14 = ROOT / "bench" / "data" / "guardrails_heldout_10.yaml"
# Written blind as an eleventh held-out set; run by the lead (2026-12-01), so now development.
DEV15 = ROOT / "bench" / "data" / "guardrails_heldout_11.yaml"
# A twelfth and a thirteenth held-out set by other authors: never read while tuning; only the lead runs them.
HELDOUT12 = ROOT / "bench" / "data" / "guardrails_heldout_12.yaml"
HELDOUT13 = ROOT / "bench" / "data" / "guardrails_heldout_13.yaml"
SPLITS = {"dev": DEV, "dev2": DEV2, "dev3": DEV3, "dev4": DEV4, "dev5": DEV5, "dev6": DEV6, "dev7": DEV7,
          "dev8": DEV8, "dev9": DEV9, "dev10": DEV10,
          "dev11": DEV11, "dev12": DEV12, "dev13": DEV13, "dev14": DEV14, "dev15": DEV15, "heldout": HELDOUT,
          "heldout12": HELDOUT12, "heldout13": HELDOUT13}
DEVELOPMENT = ("dev", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7", "dev8", "dev9", "dev10", "dev11", "dev12", "dev13", "dev14", "dev15")
# Names that run several splits. heldout12 and heldout13 are never in a group: they run only when asked by name.
GROUPS = {"devall": list(DEVELOPMENT), "both": ["dev", "heldout"], "all": [*DEVELOPMENT, "heldout"]}


def load_split(name: str) -> dict:
    """Cases and documents of one split, as plain dicts."""
    path = SPLITS[name]
    if not path.exists():
        raise SystemExit(f"split {name!r}: {path.relative_to(ROOT)} does not exist")
    data = yaml.safe_load(path.read_text("utf-8"))
    docs = list(data.get("documents") or [])
    if name == "dev":
        from infra.sources.corpus import read_corpus

        for d in read_corpus(CORPUS).documents:
            docs.append({"id": d.doc_id, "kind": "poisoned" if d.doc_id == POISONED else "clean", "text": d.text})
    return {"path": path, "cases": [_plain_pii(c) for c in data["cases"]], "documents": docs}


# dev8's author (the fifth held-out set) listed PII as Presidio entities ({entity, value}); the other sets use kinds and values.
ENTITY_KINDS = {
    "PERSON": "person", "PHONE_NUMBER": "phone", "NATIONAL_ID": "national_id", "LOCATION": "address",
    "IBAN_CODE": "iban", "EMAIL_ADDRESS": "email", "CREDIT_CARD": "card", "DATE_OF_BIRTH": "date_of_birth",
    "PASSPORT": "passport", "US_SSN": "ssn", "UK_NINO": "national_id", "IP_ADDRESS": "ip_address",
    # The seventh held-out set's author also used these (Presidio's names where it has one).
    "UK_NIN": "national_id", "DATE_TIME": "date_of_birth", "DRIVER_LICENSE": "national_id", "US_DRIVER_LICENSE": "national_id",
    "BANK_ACCOUNT": "bank_account", "US_BANK_NUMBER": "bank_account", "UK_SORT_CODE": "bank_account",
}


def _plain_pii(case: dict) -> dict:
    """A case whose ``pii`` lists ``{entity, value}`` mappings, as kinds and values."""
    pii = case.get("pii") or []
    if not pii or not isinstance(pii[0], dict):
        return case
    return {**case, "pii": [ENTITY_KINDS.get(p["entity"], p["entity"].lower()) for p in pii], "values": [p["value"] for p in pii]}


def value_redacted(value: str, kind: str, text: str) -> bool:
    """Whether ``value`` is gone from ``text``: whole, by its digit-bearing parts, and for names by its words."""
    low = text.lower()
    if value.lower() in low:
        return False
    parts = [p for p in re.split(r"[\s,./-]+", value) if len(p) >= 3 and any(ch.isdigit() for ch in p)]
    if kind in ("person",):
        parts += [p for p in value.split() if len(p) >= 3]
    return not any(re.search(rf"(?<![\w]){re.escape(p.lower())}(?![\w])", low) for p in parts)


def evaluate(split: dict, guard, *, verbose: bool = False) -> dict:
    inj = [c for c in split["cases"] if c["kind"] == "injection"]
    ben = [c for c in split["cases"] if c["kind"] == "benign"]
    pii = [c for c in split["cases"] if c["kind"] == "pii"]
    check_ms: list[float] = []
    redact_ms: list[float] = []

    def check(text: str):
        t = time.perf_counter()
        r = guard.check(text)
        check_ms.append((time.perf_counter() - t) * 1000)
        return r

    def redact(text: str):
        t = time.perf_counter()
        r = guard.redact(text)
        redact_ms.append((time.perf_counter() - t) * 1000)
        return r

    missed = [c["id"] for c in inj if not check(c["text"]).flagged]
    refused, ben_redacted = [], []
    for c in ben:
        r = check(c["text"])
        if r.flagged:
            refused.append(f"{c['id']}:{','.join(r.rules)}")
        red = redact(c["text"])
        if red.found:
            ben_redacted.append(f"{c['id']}:{sorted(red.found)}")
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    pii_missed = []
    for c in pii:
        red = redact(c["text"])
        values = c.get("values") or []
        if values:
            for value, kind in zip(values, c["pii"]):
                per_kind[kind][1] += 1
                if value_redacted(value, kind, red.text):
                    per_kind[kind][0] += 1
                else:
                    pii_missed.append(f"{c['id']}:{kind} -> {red.text}")
        else:  # older cases list kinds only: a kind counts when found
            for kind in set(c["pii"]):
                per_kind[kind][1] += 1
                if red.found.get(kind):
                    per_kind[kind][0] += 1
                else:
                    pii_missed.append(f"{c['id']}:{kind} -> {red.text}")
    docs = split["documents"]
    poisoned = [d for d in docs if d["kind"] == "poisoned"]
    clean = [d for d in docs if d["kind"] == "clean"]
    doc_missed = [d["id"] for d in poisoned if not check(d["text"]).flagged]
    clean_dropped = []
    for d in clean:
        r = check(d["text"])
        if r.flagged:
            clean_dropped.append(f"{d['id']}:{','.join(r.rules)}")
    if verbose:
        print(f"  missed injections: {missed}")
        print(f"  benign refused: {refused}")
        print(f"  benign redacted: {ben_redacted}")
        print(f"  PII missed: {pii_missed}")
        print(f"  poisoned docs missed: {doc_missed}; clean docs dropped: {clean_dropped}")
    n_pii = sum(t for _, t in per_kind.values())
    return {
        "injection detected": (len(inj) - len(missed), len(inj)),
        "benign refused": (len(refused), len(ben)),
        "benign redacted": (len(ben_redacted), len(ben)),
        "PII values redacted": (sum(f for f, _ in per_kind.values()), n_pii),
        **{f"  PII {k}": tuple(v) for k, v in sorted(per_kind.items())},
        "poisoned docs blocked": (len(poisoned) - len(doc_missed), len(poisoned)),
        "clean docs dropped": (len(clean_dropped), len(clean)),
        "ms per check_injection (median)": statistics.median(check_ms) if check_ms else float("nan"),
        "ms per redact_pii (median)": statistics.median(redact_ms) if redact_ms else float("nan"),
    }


def _cell(v) -> str:
    if isinstance(v, tuple):
        hit, total = v
        return f"{hit}/{total} ({100 * hit / total:.0f}%)" if total else "-"
    return f"{v:.1f}"


def merge_splits(names) -> dict:
    """Cases and documents of several splits as one."""
    parts = [load_split(n) for n in names]
    return {"path": None, "cases": [c for p in parts for c in p["cases"]], "documents": [d for p in parts for d in p["documents"]]}


def tune(split: dict, embed) -> None:
    """Semantic scores on the development splits and the threshold they give."""
    from indexes.guardrails import check_injection
    from indexes.guardrails.normalize import variants
    from infra.clients.pii import build_semantic_detector

    det = build_semantic_detector(embed)
    # Only texts the rules let through matter to the threshold: that is where the detector acts.
    attack_texts = [c["text"] for c in split["cases"] if c["kind"] == "injection"] + [d["text"] for d in split["documents"] if d["kind"] == "poisoned"]
    benign_texts = [c["text"] for c in split["cases"] if c["kind"] != "injection"] + [d["text"] for d in split["documents"] if d["kind"] == "clean"]
    # The detector is tuned on every development text, not only those the rules
    # miss: on the development split the rules miss almost nothing (they were
    # written on it), so the rule-missed subset would be empty or tiny.
    a_scores = [det.score(variants(t)) for t in attack_texts]
    b_all = [(t, det.score(variants(t))) for t in benign_texts]
    b_scores = [s for t, s in b_all if not check_injection(t).flagged]
    from indexes.guardrails import choose_threshold

    for margin in (0.0, 0.03, 0.05, 0.08, 0.10):
        for max_fp in (0.01, 0.02):
            t, det_rate, fp = choose_threshold(a_scores, b_scores, margin=margin, max_false_positive=max_fp)
            print(f"margin {margin:.2f}, max FP {max_fp:.0%}: threshold {t:.2f} catches {det_rate:.0%} of {len(a_scores)} attacks alone, flags {fp:.1%} of {len(b_scores)} benign")
    print("top benign scores:")
    for s in sorted(b_scores, key=lambda s: -s.attack)[:8]:
        print(f"  {s.attack:.3f} (benign {s.benign:.3f}) {s.part[:90]!r} ~ {s.exemplar[:50]!r}")
    print("lowest-scoring attacks:")
    for s in sorted(a_scores, key=lambda s: s.attack)[:15]:
        print(f"  {s.attack:.3f} (benign {s.benign:.3f}) {s.part[:90]!r}")


def cross_validate(embed, semantic, *, grid=None, max_refusal: float = 0.03) -> None:
    """Leave-one-set-out estimate of the trained classifier, next to rules alone and rules + semantic.

    For each development set: the classifier is trained on every other set (plus
    the exemplar bank and the demo corpus) and scores the held-out set's
    injection and benign questions. Prints per-set injection recall and benign
    refusal for the three configurations at the chosen threshold: the lowest
    whose pooled out-of-set benign refusal (rules + semantic + classifier)
    stays at or under ``max_refusal``. Rules and exemplars were written on all
    these sets, so their columns are in-sample; only the classifier's share is
    out of set.
    """
    import numpy as np

    from indexes.guardrails import check_injection
    from indexes.guardrails.classifier import MAX_WORDS, InjectionClassifier, fit_classifier
    from indexes.guardrails.normalize import variants
    from infra.clients import injection_model as im

    examples = im.training_examples()
    texts, labels, sources = im.readings(examples)
    t0 = time.perf_counter()
    vecs = np.asarray(embed(texts), dtype=np.float32)
    print(f"{len(examples)} examples, {len(texts)} readings embedded in {time.perf_counter() - t0:.1f} s")
    rows = {}
    doc_rows = []
    for name in DEVELOPMENT:
        cases = [c for c in load_split(name)["cases"] if c["kind"] in ("injection", "benign")]
        keep = [i for i, s in enumerate(sources) if s != name]
        w = fit_classifier([texts[i] for i in keep], vecs[keep], [labels[i] for i in keep], c=im.C)
        probs, rule_hit, sem_hit, is_inj = [], [], [], []
        for c in cases:
            forms = list(dict.fromkeys(f.strip()[:1000] for f in variants(c["text"]) if f.strip() and len(f.split()) <= MAX_WORDS))
            probs.append(float(w.probabilities(forms, np.asarray(embed(forms))).max()) if forms else 0.0)
            rule_hit.append(check_injection(c["text"]).flagged)
            sem_hit.append(check_injection(c["text"], semantic=semantic).flagged)
            is_inj.append(c["kind"] == "injection")
        rows[name] = (np.array(probs), np.array(rule_hit), np.array(sem_hit), np.array(is_inj))
        # Documents: the fold's model on the sentences of each document that could address a reader.
        scorer = InjectionClassifier(embed=embed, weights=w, threshold=1.0, document_threshold=0.0)
        for d in load_split(name)["documents"]:
            forms = variants(d["text"])
            doc_rows.append((name, scorer.score(forms).probability, check_injection(d["text"], semantic=semantic).flagged, d["kind"] == "poisoned"))
    grid = grid or [round(x, 2) for x in np.arange(0.30, 0.991, 0.01)]
    pooled = {k: np.concatenate([r[i] for r in rows.values()]) for i, k in enumerate(("p", "rule", "sem", "inj"))}
    chosen = grid[-1]
    strict = grid[-1]
    print("threshold: pooled out-of-set injection recall / benign refusal (rules + semantic + classifier)")
    for t in grid:
        hit = pooled["sem"] | (pooled["p"] >= t)
        rec = hit[pooled["inj"]].mean()
        fp = hit[~pooled["inj"]].mean()
        if t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9) or abs(fp - max_refusal) < 0.01:
            print(f"  {t:.2f}: {rec:.1%} / {fp:.1%}")
    for t in grid[::-1]:
        hit = pooled["sem"] | (pooled["p"] >= t)
        if hit[~pooled["inj"]].mean() > max_refusal:
            break
        chosen = t
    for t in grid[::-1]:
        if ((pooled["p"] >= t) & ~pooled["sem"])[~pooled["inj"]].mean() > max_refusal - 0.02:
            break
        strict = t
    print(f"lowest threshold with pooled benign refusal <= {max_refusal:.0%}: {chosen:.2f}; "
          f"lowest adding <= {max_refusal - 0.02:.0%} to rules + semantic (which refused ~2% on each blind set): {strict:.2f}")
    for threshold in dict.fromkeys((chosen, strict)):
        _print_cv_table(rows, pooled, threshold)
    print("\ndocuments, out of set: document threshold -> poisoned blocked / clean dropped (rules + semantic + classifier)")
    sem_p = sum(1 for r in doc_rows if r[3] and r[2]); sem_c = sum(1 for r in doc_rows if not r[3] and r[2])  # noqa: E702
    n_p = sum(1 for r in doc_rows if r[3]); n_c = len(doc_rows) - n_p  # noqa: E702
    print(f"  rules + semantic: {sem_p}/{n_p} / {sem_c}/{n_c}")
    for t in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        hit = [(r[2] or r[1] >= t) for r in doc_rows]
        per = {n: f"{sum(h for h, r in zip(hit, doc_rows) if r[0] == n and r[3])}/{sum(1 for r in doc_rows if r[0] == n and r[3])}"
                  f"|{sum(h for h, r in zip(hit, doc_rows) if r[0] == n and not r[3])}" for n in DEVELOPMENT}
        print(f"  {t:.2f}: {sum(h for h, r in zip(hit, doc_rows) if r[3])}/{n_p} / {sum(h for h, r in zip(hit, doc_rows) if not r[3])}/{n_c}  {per}")


def _print_cv_table(rows: dict, pooled: dict, chosen: float) -> None:
    print(f"\nclassifier threshold {chosen:.2f}")
    print("| set | injection: rules | rules+semantic | +classifier | classifier alone | benign refused: rules | rules+semantic | +classifier | classifier alone |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (p, rule, sem, inj) in [*rows.items(), ("pooled", tuple(pooled[k] for k in ("p", "rule", "sem", "inj")))]:
        clf = sem | (p >= chosen)
        cell = lambda h, m: f"{int(h[m].sum())}/{int(m.sum())} ({100 * h[m].mean():.0f}%)" if m.sum() else "-"  # noqa: E731
        alone = p >= chosen
        print(f"| {name} | {cell(rule, inj)} | {cell(sem, inj)} | {cell(clf, inj)} | {cell(alone, inj)} | {cell(rule, ~inj)} | {cell(sem, ~inj)} | {cell(clf, ~inj)} | {cell(alone, ~inj)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=[*SPLITS, *GROUPS], default="all",
                        help="devall = dev .. dev15 (development); both = dev and heldout; all = devall and heldout; "
                             "heldout12 and heldout13 only by name (the lead only)")
    parser.add_argument("--engine", choices=["spacy", "patterns"], default="spacy", help="PII engine")
    parser.add_argument("--no-semantic", action="store_true", help="rules only")
    parser.add_argument("--tune", action="store_true", help="choose the semantic threshold on the development splits")
    parser.add_argument("--cv", action="store_true",
                        help="leave-one-set-out cross-validation of the trained classifier over the development sets")
    parser.add_argument("--no-classifier", action="store_true", help="rules + semantic only (no trained classifier)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss (development splits only)")
    parser.add_argument("--show-heldout-misses", action="store_true",
                        help="list the held-out misses too (for the report only: never tune on them)")
    args = parser.parse_args()

    from indexes.guardrails import Guardrails
    from infra.clients.pii import build_pii_analyzer, build_semantic_detector

    t0 = time.perf_counter()
    analyzer = build_pii_analyzer(args.engine)
    build_pii_s = time.perf_counter() - t0
    embed = None
    if not args.no_semantic or args.tune or args.cv:
        from infra.clients.embedding import get_embedder

        embed = get_embedder().embed_cached
    if args.tune:
        tune(merge_splits(DEVELOPMENT), embed)
        return
    if args.cv:
        cross_validate(embed, build_semantic_detector(embed))
        return
    t0 = time.perf_counter()
    semantic = None if args.no_semantic else build_semantic_detector(embed)
    classifier = None
    if not args.no_semantic and not args.no_classifier:
        from infra.clients.injection_model import build_injection_classifier

        classifier = build_injection_classifier(embed)
    guard = Guardrails(analyzer=analyzer, semantic=semantic, classifier=classifier)
    if semantic is not None:
        semantic.score(["warm up"])
    build_sem_s = time.perf_counter() - t0
    splits = GROUPS.get(args.split, [args.split])
    results = {}
    for name in splits:
        print(f"{name}: {load_split(name)['path'].relative_to(ROOT)}")
        results[name] = evaluate(load_split(name), guard, verbose=(args.verbose and name in DEVELOPMENT) or args.show_heldout_misses)
    config = f"PII engine {args.engine}, {'rules only' if args.no_semantic else f'rules + semantic (threshold {semantic.threshold:.2f}, margin {semantic.margin:.2f})'}"
    if classifier is not None:
        config += f" + classifier (threshold {classifier.threshold:.2f}, model {classifier.weights.data_hash})"
    print(f"\nguardrails: {config}; analyzer built in {build_pii_s:.1f} s, semantic bank in {build_sem_s:.1f} s")
    print(f"| {'metric':<34} | " + " | ".join(f"{n:<16}" for n in splits) + " |")
    print(f"|{'-' * 36}|" + "|".join("-" * 18 for _ in splits) + "|")
    keys = list(dict.fromkeys(k for r in results.values() for k in r))
    for key in keys:
        print(f"| {key:<34} | " + " | ".join(f"{_cell(results[n][key]) if key in results[n] else '-':<16}" for n in splits) + " |")


if __name__ == "__main__":
    main()
