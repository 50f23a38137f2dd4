"""The trained injection classifier's data, training and cache (the model itself is ``indexes.guardrails.classifier``).

Nothing is downloaded: the model is fitted from the repository's own labelled
texts, with the shipped MiniLM embedder, and cached next to the ONNX model
(``.venv/tandem-cache/injection/``). The cache file's name is a hash of every
training file's bytes, the recipe and the embedder variant, so editing a data
set or the exemplar bank retrains on next use; ``make setup`` trains it ahead
of time (``python -m infra.clients.injection_model``). Fitting takes seconds
(embedding the texts); loading the cached file takes milliseconds.

Training data (``training_examples``):

* every development set (``TRAINING_SETS``, the files of ``bench/guardrails.py``'s
  ``dev`` .. ``dev15``): injection cases positive; benign and PII cases negative;
  sentences of clean documents negative;
* the exemplar bank (``injection_exemplars.yaml``): ``attacks`` positive, ``benign`` negative;
* sentences of the demo corpus's documents (all but the poisoned one) negative.

Each text is trained on in all its normalized readings (``normalize.variants``,
quotations it only talks about masked by ``rules.mask_quoted_mentions``), as it is scored. The held-out sets are never read here.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import yaml

from indexes.guardrails.classifier import EMBED_WEIGHT, N_HASH_FEATURES, NGRAM_RANGE, ClassifierWeights, InjectionClassifier, fit_classifier

ROOT = Path(__file__).resolve().parents[2]
EXEMPLARS = ROOT / "infra" / "clients" / "injection_exemplars.yaml"
CORPUS = ROOT / "infra" / "demo" / "corpus"
POISONED = "runbooks/poisoned-vendor-note.md"
# The development sets, by bench/guardrails.py's split name. Held-out sets must never be listed here.
TRAINING_SETS = {
    "dev": "infra/demo/attacks.yaml",
    "dev2": "bench/data/guardrails_heldout_lead.yaml",
    "dev3": "bench/data/guardrails_dev_extra.yaml",
    "dev4": "bench/data/guardrails_heldout_3.yaml",
    "dev5": "bench/data/guardrails_dev_5.yaml",
    "dev6": "bench/data/guardrails_heldout_4.yaml",
    "dev7": "bench/data/guardrails_dev_6b.yaml",
    "dev8": "bench/data/guardrails_heldout_5.yaml",
    "dev9": "bench/data/guardrails_heldout_6.yaml",
    "dev10": "bench/data/guardrails_heldout_7.yaml",
    "dev11": "bench/data/guardrails_heldout_8.yaml",
    "dev12": "bench/data/guardrails_dev_12.yaml",
    "dev13": "bench/data/guardrails_heldout_9.yaml",
    "dev14": "bench/data/guardrails_heldout_10.yaml",
    "dev15": "bench/data/guardrails_heldout_11.yaml",
}
C = 16.0
# Chosen by leave-one-set-out cross-validation over TRAINING_SETS (bench/guardrails.py --cv), by the rule
# fixed on 2026-11-30 before dev9 and dev10 were added: the rules and exemplars were written on those sets (~2%
# benign refused on each blind set), so the classifier gets at most 1% more: the lowest threshold adding <= 1%
# pooled out-of-set benign refusal. dev .. dev8: 0.67; dev .. dev9 (quoted mentions masked): 0.77;
# dev .. dev10 (2026-11-30, 22:45): 0.75; dev .. dev11 (2026-12-01): 0.80; dev .. dev12: 0.77; dev .. dev13
# (2026-12-01, 03:08): 0.70; dev .. dev14 (03:30): 0.69 (pooled out-of-set injection 1130/1163, benign refused
# 22/1208 against 10/1208 without it); dev .. dev15 (05:58, after the tuning on dev15): 0.77 (pooled out-of-set
# injection 1225/1273, benign refused 19/1308 against 6/1308 without it).
THRESHOLD = 0.77
RECIPE = f"logreg-balanced-C{C}-charwb{NGRAM_RANGE[0]}{NGRAM_RANGE[1]}-h{N_HASH_FEATURES}-e{EMBED_WEIGHT}-v1"


@dataclass(frozen=True)
class Example:
    """One labelled training text and the set it came from (``exemplars``, ``corpus`` or a split name)."""

    text: str
    label: int
    source: str


def _sentences(text: str) -> list[str]:
    from indexes.guardrails.semantic import split_sentences

    return split_sentences(text, max_parts=200)


def training_examples(root: Path = ROOT) -> list[Example]:
    """Every labelled text the classifier learns from (see the module docstring)."""
    out: list[Example] = []
    bank = yaml.safe_load((root / EXEMPLARS.relative_to(ROOT)).read_text("utf-8"))
    out += [Example(t, 1, "exemplars") for t in bank["attacks"]]
    out += [Example(t, 0, "exemplars") for t in bank.get("benign") or ()]
    for name, rel in TRAINING_SETS.items():
        path = root / rel
        if not path.exists():
            continue
        data = yaml.safe_load(path.read_text("utf-8"))
        for case in data.get("cases") or ():
            out.append(Example(case["text"], int(case["kind"] == "injection"), name))
        for doc in data.get("documents") or ():
            if doc.get("kind") == "clean":
                out += [Example(s, 0, name) for s in _sentences(doc["text"])]
    for path in sorted((root / CORPUS.relative_to(ROOT)).rglob("*")):
        if path.is_file() and path.suffix in (".md", ".txt") and path.relative_to(root / CORPUS.relative_to(ROOT)).as_posix() != POISONED:
            out += [Example(s, 0, "corpus") for s in _sentences(path.read_text("utf-8"))]
    return out


def training_files(root: Path = ROOT) -> list[Path]:
    """The files whose bytes decide the model (for the cache key)."""
    corpus = root / CORPUS.relative_to(ROOT)
    files = [root / EXEMPLARS.relative_to(ROOT), *(root / rel for rel in TRAINING_SETS.values())]
    files += sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix in (".md", ".txt"))
    return [p for p in files if p.exists()]


# The code that turns a text into the readings trained on (normalized variants, quoted mentions masked):
# a change there changes the training data as much as a changed file does.
READING_CODE = (ROOT / "indexes" / "guardrails" / "normalize.py", ROOT / "indexes" / "guardrails" / "rules.py")


def data_hash(root: Path = ROOT, *, variant: str = "") -> str:
    """Hash of the training files' paths and bytes, the code that reads them, the recipe and the embedder variant."""
    h = hashlib.sha256(f"{RECIPE}|{variant}".encode())
    for p in READING_CODE:
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    for p in training_files(root):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:20]


def readings(examples: Iterable[Example]) -> tuple[list[str], list[int], list[str]]:
    """Every normalized reading of every example (as scored at run time), with its label and source."""
    from indexes.guardrails.normalize import variants
    from indexes.guardrails.rules import mask_quoted_mentions

    texts, labels, sources = [], [], []
    for ex in examples:
        for form in dict.fromkeys(mask_quoted_mentions(v) for v in variants(ex.text)):
            form = form.strip()[:1000]
            if form:
                texts.append(form)
                labels.append(ex.label)
                sources.append(ex.source)
    return texts, labels, sources


def train(embed: Callable[[list[str]], np.ndarray], examples: list[Example], *, key: str = "") -> ClassifierWeights:
    """Fits the classifier on ``examples`` (all their readings), embedding them with ``embed``."""
    texts, labels, _ = readings(examples)
    vecs = np.asarray(embed(texts), dtype=np.float32)
    return fit_classifier(texts, vecs, labels, c=C, data_hash=key)


def default_cache_dir() -> Path:
    """Next to the ONNX model: inside the virtual environment, else the user's cache."""
    from infra.clients.onnx_export import default_cache_dir as onnx_dir

    return onnx_dir().parent / "injection"


def save_weights(weights: ClassifierWeights, path: Path) -> None:
    """Writes the weights atomically (a half-written file is never read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, chars=weights.chars, embedding=weights.embedding, intercept=np.float64(weights.intercept),
                 data_hash=np.array(weights.data_hash))
    os.replace(tmp, path)


def load_weights(path: Path) -> ClassifierWeights:
    """Reads weights written by ``save_weights``."""
    with np.load(path, allow_pickle=False) as z:
        return ClassifierWeights(chars=z["chars"], embedding=z["embedding"], intercept=float(z["intercept"]),
                                 data_hash=str(z["data_hash"]))


def ensure_weights(embed: Callable[[list[str]], np.ndarray], *, variant: str = "", root: Path = ROOT,
                   cache_dir: Path | None = None) -> ClassifierWeights:
    """The cached model for the current training data, trained (and cached) when there is none."""
    key = data_hash(root, variant=variant)
    path = (cache_dir or default_cache_dir()) / f"injection-{key}.npz"
    if path.exists():
        return load_weights(path)
    weights = train(embed, training_examples(root), key=key)
    save_weights(weights, path)
    return weights


def _variant_of(embed: Callable) -> str:
    owner = getattr(embed, "__self__", None)
    return str(getattr(owner, "variant", "") or "")


@lru_cache(maxsize=4)
def _cached_weights(embed: Callable, variant: str) -> ClassifierWeights:
    return ensure_weights(embed, variant=variant)


def build_injection_classifier(embed: Callable[[list[str]], np.ndarray], *, threshold: float | None = None) -> InjectionClassifier:
    """The classifier over the cached model (trained on first use), with the cross-validated threshold."""
    weights = _cached_weights(embed, _variant_of(embed))
    return InjectionClassifier(embed=embed, weights=weights, threshold=THRESHOLD if threshold is None else threshold)


def main(argv: list[str] | None = None) -> None:
    """``python -m infra.clients.injection_model``: train and cache the model for the default embedder."""
    import time

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from infra.clients.embedding import get_embedder

    embedder = get_embedder()
    t = time.perf_counter()
    w = ensure_weights(embedder.embed_cached, variant=embedder.variant)
    print(f"injection classifier {w.data_hash} ready in {time.perf_counter() - t:.1f} s ({default_cache_dir()})", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
