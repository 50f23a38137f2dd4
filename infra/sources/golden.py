"""The golden set and the guardrail attack set: YAML files, checked on load."""

from __future__ import annotations

import hashlib
import re
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
    reference: str | None = None  # optional: metrics that need it are skipped without it


@dataclass(frozen=True)
class GoldenSet:
    path: str
    questions: tuple[GoldenQuestion, ...]
    content_hash: str  # results are reused only while this is unchanged

    @property
    def with_reference(self) -> int:
        """How many questions carry a reference answer."""
        return sum(q.reference is not None for q in self.questions)

    def check_against(self, doc_ids: set[str] | frozenset[str]) -> None:
        """Every relevant document must be in the corpus, or the metrics would lie.

        Call it before anything is embedded: a golden set written for another
        corpus (or with a typo) fails in seconds instead of after a build.
        Every problem is listed at once, each with the file and the entry, and
        with a hint when a corpus document differs only by its suffix or
        folder (``policy/03.md`` vs ``policy/03.txt`` or ``03.md``).

        Raises:
            EvalSetRejected: names every question and missing document.
        """
        problems = [f"{q.id}: {d!r}{_hint(d, doc_ids)}" for q in self.questions for d in q.relevant if d not in doc_ids]
        if problems:
            raise EvalSetRejected(
                f"golden set {self.path} names {len(problems)} document(s) the corpus does not have "
                f"({len(doc_ids)} documents):\n  " + "\n  ".join(problems)
                + "\npoint TANDEM_INDEX__GOLDEN_PATH at a golden set for this corpus, or fix the ids"
            )


def _stem(doc_id: str) -> str:
    return re.sub(r"\.[A-Za-z0-9]+$", "", doc_id)


def _hint(doc_id: str, doc_ids) -> str:
    """' (did you mean ...?)' for a corpus id with the same path but another suffix, or the same file name."""
    same_stem = sorted(d for d in doc_ids if _stem(d) == _stem(doc_id))
    if not same_stem:
        name = doc_id.rsplit("/", 1)[-1]
        same_stem = sorted(d for d in doc_ids if d.rsplit("/", 1)[-1] == name or _stem(d.rsplit("/", 1)[-1]) == _stem(name))
    if not same_stem:
        return ""
    return f" (did you mean {', '.join(repr(d) for d in same_stem[:3])}?)"


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
    """Load and check a golden set (``questions: [{id, question, relevant: [...], reference?}]``).

    ``reference`` (a reference answer) is optional; without it the answer
    metrics that compare with it are skipped, and the evaluation says so.

    Raises:
        EvalSetRejected: every malformed entry at once, each with the file and its index and id.
    """
    data, digest = _load_yaml(path)
    items = data.get("questions")
    if not isinstance(items, list) or not items:
        raise EvalSetRejected(f"{path}: 'questions' must be a non-empty list")
    out: list[GoldenQuestion] = []
    problems: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"questions[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        where = f"{where} ({item.get('id', '?')})"
        missing = [key for key in ("id", "question", "relevant") if not item.get(key)]
        if missing:
            problems.append(f"{where}: missing {', '.join(repr(m) for m in missing)}")
            continue
        if str(item["id"]) in seen:
            problems.append(f"{where}: duplicate id {item['id']!r}")
            continue
        seen.add(str(item["id"]))
        relevant = item["relevant"] if isinstance(item["relevant"], list) else [item["relevant"]]
        reference = item.get("reference")
        if reference is not None and not str(reference).strip():
            reference = None
        out.append(GoldenQuestion(str(item["id"]), str(item["question"]), tuple(map(str, relevant)),
                                  None if reference is None else str(reference)))
    if problems:
        raise EvalSetRejected(f"{path}: {len(problems)} malformed question(s):\n  " + "\n  ".join(problems))
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
