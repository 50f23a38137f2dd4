"""The golden set and the guardrail attack set: YAML files, checked on load."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml


class EvalSetRejected(ValueError):
    """A golden or attack set file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class GoldenQuestion:
    id: str
    question: str
    relevant: tuple[str, ...]
    reference: str


@dataclass(frozen=True)
class GoldenSet:
    path: str
    questions: tuple[GoldenQuestion, ...]
    content_hash: str  # results are reused only while this is unchanged

    def check_against(self, doc_ids: set[str]) -> None:
        """Every relevant document must be in the corpus, or the metrics would lie.

        Raises:
            EvalSetRejected: names the questions and missing documents.
        """
        missing = [(q.id, d) for q in self.questions for d in q.relevant if d not in doc_ids]
        if missing:
            shown = ", ".join(f"{qid}->{d}" for qid, d in missing[:8])
            raise EvalSetRejected(
                f"golden set {self.path} names {len(missing)} document(s) the corpus does not have ({shown}); "
                "point TANDEM_INDEX__GOLDEN_PATH at a golden set for this corpus"
            )


def _load_yaml(path: Path) -> dict:
    try:
        raw = Path(path).read_bytes()
        data = yaml.safe_load(raw)
    except FileNotFoundError:
        raise EvalSetRejected(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise EvalSetRejected(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise EvalSetRejected(f"{path}: expected a mapping at the top")
    return data, hashlib.sha256(raw).hexdigest()


def load_golden(path: Path) -> GoldenSet:
    """Load and check a golden set (``questions: [{id, question, relevant: [...], reference}]``)."""
    data, digest = _load_yaml(path)
    items = data.get("questions")
    if not isinstance(items, list) or not items:
        raise EvalSetRejected(f"{path}: 'questions' must be a non-empty list")
    out: list[GoldenQuestion] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"{path}: questions[{i}]"
        if not isinstance(item, dict):
            raise EvalSetRejected(f"{where}: expected a mapping")
        for key in ("id", "question", "relevant", "reference"):
            if not item.get(key):
                raise EvalSetRejected(f"{where} ({item.get('id', '?')}): missing '{key}'")
        if item["id"] in seen:
            raise EvalSetRejected(f"{where}: duplicate id {item['id']!r}")
        seen.add(item["id"])
        relevant = item["relevant"] if isinstance(item["relevant"], list) else [item["relevant"]]
        out.append(GoldenQuestion(str(item["id"]), str(item["question"]), tuple(map(str, relevant)), str(item["reference"])))
    return GoldenSet(path=str(path), questions=tuple(out), content_hash=digest)


@dataclass(frozen=True)
class AttackCase:
    id: str
    kind: str  # injection | pii | benign
    text: str
    pii: tuple[str, ...]


def load_attacks(path: Path) -> list[AttackCase]:
    """Load the guardrail evaluation set (``cases: [{id, kind, text, pii?}]``)."""
    data, _ = _load_yaml(path)
    cases = data.get("cases")
    if not isinstance(cases, list) or not cases:
        raise EvalSetRejected(f"{path}: 'cases' must be a non-empty list")
    out = []
    for i, c in enumerate(cases):
        if not isinstance(c, dict) or c.get("kind") not in ("injection", "pii", "benign") or not c.get("text"):
            raise EvalSetRejected(f"{path}: cases[{i}] needs kind (injection|pii|benign) and text")
        out.append(AttackCase(str(c.get("id", i)), c["kind"], str(c["text"]), tuple(c.get("pii") or ())))
    return out
