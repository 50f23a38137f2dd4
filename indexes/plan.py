"""What a rebuild must do: compare the corpus with the live collection's manifest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class IndexPlan:
    """Document ids by fate. Unchanged ones are copied (vectors and all), never re-embedded."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    deleted: tuple[str, ...]
    unchanged: tuple[str, ...]

    @property
    def to_embed(self) -> tuple[str, ...]:
        return self.added + self.changed

    @property
    def is_noop(self) -> bool:
        return not (self.added or self.changed or self.deleted)

    @property
    def changed_fraction(self) -> float:
        # every document either side knows of: a deletion counts in both places
        total = len(self.added) + len(self.changed) + len(self.unchanged) + len(self.deleted)
        return (len(self.added) + len(self.changed) + len(self.deleted)) / max(total, 1)

    def summary(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in ("added", "changed", "deleted", "unchanged")}


def plan_index(current: Mapping[str, str], live: Mapping[str, str]) -> IndexPlan:
    """Diff two ``doc_id -> content hash`` manifests.

    Args:
        current: The corpus as it is now.
        live: What the live collection holds (empty on the first build).
    """
    return IndexPlan(
        added=tuple(sorted(d for d in current if d not in live)),
        changed=tuple(sorted(d for d in current if d in live and live[d] != current[d])),
        deleted=tuple(sorted(d for d in live if d not in current)),
        unchanged=tuple(sorted(d for d in current if d in live and live[d] == current[d])),
    )


def complete_documents(points: list[dict], index_config: str | None = None) -> dict[str, str]:
    """Documents fully present in a collection, from its points' payloads.

    A document counts only when every one of its ``n_chunks`` chunks of one
    content hash is there: a build killed halfway through a document leaves it
    incomplete, and the resumed build writes it again (same ids, no duplicates).

    Args:
        points: payloads with ``doc_id``, ``doc_hash``, ``chunk_index``, ``n_chunks``
            and ``index_config``.
        index_config: When given, points built with other settings do not count.

    Returns:
        ``doc_id -> doc_hash`` of the complete documents.
    """
    seen: dict[tuple[str, str], set[int]] = {}
    expected: dict[tuple[str, str], int] = {}
    for p in points:
        if index_config is not None and p.get("index_config") != index_config:
            continue
        key = (p["doc_id"], p["doc_hash"])
        seen.setdefault(key, set()).add(int(p["chunk_index"]))
        expected[key] = int(p["n_chunks"])
    return {doc: h for (doc, h), idx in seen.items() if len(idx) == expected[(doc, h)]}
