"""Guardrail figures on the development and the held-out sets, side by side.

Run ``python bench/guardrails.py`` (development splits and the first held-out
set), ``--split devall`` while tuning, ``--tune`` to choose the semantic
threshold on the development splits only. Prints; asserts nothing (this is a
measurement, not a test).

Development splits (rules, exemplars and the threshold are tuned on them):

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

Held-out splits (measured, never tuned on):

* ``heldout`` = ``bench/data/guardrails_heldout.yaml``, written before any tuning.
* ``heldout5`` = ``bench/data/guardrails_heldout_5.yaml``, written by another
  author before this tuning round, never read while tuning; only the lead runs
  it, with ``--split heldout5``, after the last tuning change. It is in no group.

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
# A fifth held-out set by another author: never read while tuning; the lead runs it once.
HELDOUT5 = ROOT / "bench" / "data" / "guardrails_heldout_5.yaml"
SPLITS = {"dev": DEV, "dev2": DEV2, "dev3": DEV3, "dev4": DEV4, "dev5": DEV5, "dev6": DEV6, "dev7": DEV7,
          "heldout": HELDOUT, "heldout5": HELDOUT5}
DEVELOPMENT = ("dev", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7")
# Names that run several splits. heldout5 is never in a group: it runs only when asked by name.
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


# heldout5's author listed PII as Presidio entities ({entity, value}); the other sets use kinds and values.
ENTITY_KINDS = {
    "PERSON": "person", "PHONE_NUMBER": "phone", "NATIONAL_ID": "national_id", "LOCATION": "address",
    "IBAN_CODE": "iban", "EMAIL_ADDRESS": "email", "CREDIT_CARD": "card", "DATE_OF_BIRTH": "date_of_birth",
    "PASSPORT": "passport", "US_SSN": "ssn", "UK_NINO": "national_id", "IP_ADDRESS": "ip_address",
}


def _plain_pii(case: dict) -> dict:
    """A case whose ``pii`` lists ``{entity, value}`` mappings, as kinds and values."""
    pii = case.get("pii") or []
    if not pii or not isinstance(pii[0], dict):
        return case
    return {**case, "pii": [ENTITY_KINDS[p["entity"]] for p in pii], "values": [p["value"] for p in pii]}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=[*SPLITS, *GROUPS], default="all",
                        help="devall = dev .. dev7 (development); both = dev and heldout; all = devall and heldout; "
                             "heldout5 only by name")
    parser.add_argument("--engine", choices=["spacy", "patterns"], default="spacy", help="PII engine")
    parser.add_argument("--no-semantic", action="store_true", help="rules only")
    parser.add_argument("--tune", action="store_true", help="choose the semantic threshold on the development splits")
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
    if not args.no_semantic or args.tune:
        from infra.clients.embedding import get_embedder

        embed = get_embedder().embed_cached
    if args.tune:
        tune(merge_splits(DEVELOPMENT), embed)
        return
    t0 = time.perf_counter()
    semantic = None if args.no_semantic else build_semantic_detector(embed)
    guard = Guardrails(analyzer=analyzer, semantic=semantic)
    if semantic is not None:
        semantic.score(["warm up"])
    build_sem_s = time.perf_counter() - t0
    splits = GROUPS.get(args.split, [args.split])
    results = {}
    for name in splits:
        print(f"{name}: {load_split(name)['path'].relative_to(ROOT)}")
        results[name] = evaluate(load_split(name), guard, verbose=(args.verbose and name in DEVELOPMENT) or args.show_heldout_misses)
    config = f"PII engine {args.engine}, {'rules only' if args.no_semantic else f'rules + semantic (threshold {semantic.threshold:.2f}, margin {semantic.margin:.2f})'}"
    print(f"\nguardrails: {config}; analyzer built in {build_pii_s:.1f} s, semantic bank in {build_sem_s:.1f} s")
    print(f"| {'metric':<34} | " + " | ".join(f"{n:<16}" for n in splits) + " |")
    print(f"|{'-' * 36}|" + "|".join("-" * 18 for _ in splits) + "|")
    keys = list(dict.fromkeys(k for r in results.values() for k in r))
    for key in keys:
        print(f"| {key:<34} | " + " | ".join(f"{_cell(results[n][key]) if key in results[n] else '-':<16}" for n in splits) + " |")


if __name__ == "__main__":
    main()
