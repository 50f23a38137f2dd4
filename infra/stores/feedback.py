"""User feedback on answered requests (``tandem feedback REQUEST_ID good|bad``), in the ops database.

One row per (request, actor): a second vote by the same person replaces the
first, so a user who changes their mind is counted once. The note is free
text typed by a user, so it goes through the same path as a question before
it is stored: control characters removed (``clean_text``), PII redacted by
the redactor passed in (the gateway's guardrails), then cut to its column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infra.stores.opsdb import feedback, llm_requests
from infra.stores.requests import clean_label, clean_text, db_safe_row, for_log

RATINGS = ("good", "bad")
MAX_NOTE_CHARS = 2_000


class UnknownRequest(LookupError):
    """Feedback names a request id that has no event in ``llm_requests``."""


@dataclass(frozen=True)
class Feedback:
    request_id: str
    actor: str
    rating: str
    note: str | None
    at: datetime
    tenant: str | None = None  # of the request, joined on read
    request_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def _now() -> datetime:
    return datetime.now(timezone.utc)


class FeedbackStore:
    """Record and read feedback.

    Args:
        engine: The ops database.
        redact: Turns a cleaned note into its PII-redacted form (e.g.
            ``lambda t: guardrails.redact(t).text``); None stores the cleaned
            note as is (tests of the store alone).
        clock: Current time (UTC), for tests.
    """

    def __init__(self, engine: Engine, *, redact: Callable[[str], str] | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self._redact = redact
        self._clock = clock or _now

    def record(self, request_id: str, rating: str, *, actor: str, note: str | None = None, at: datetime | None = None) -> Feedback:
        """Store one vote, replacing the same actor's earlier vote on the same request.

        Args:
            request_id: The request event's id (``tandem requests`` / ``tandem ask`` print it).
            rating: ``good`` or ``bad``.
            actor: Who votes.
            note: Optional free text; cleaned and redacted before it is stored.
            at: When (default: now, UTC).

        Returns:
            The stored row.

        Raises:
            ValueError: the rating is not good|bad, or the actor is empty or too long.
            UnknownRequest: no request event has this id.
        """
        if rating not in RATINGS:
            raise ValueError(f"rating {rating!r} is not one of {', '.join(RATINGS)}")
        actor = clean_label("actor", actor, max_chars=200)
        request_id = clean_text(request_id or "").strip()
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(llm_requests.c.tenant, llm_requests.c.at).where(llm_requests.c.request_id == request_id)).first()
        if found is None:
            raise UnknownRequest(f"no request event with id {for_log(request_id, 80)!r} (see `tandem requests`)")
        cleaned = clean_text(note).strip() if note else ""
        if cleaned and self._redact is not None:
            cleaned = self._redact(cleaned)
        if len(cleaned) > MAX_NOTE_CHARS:
            cleaned = cleaned[: MAX_NOTE_CHARS - 8] + "...[cut]"
        row = db_safe_row(feedback, dict(request_id=request_id, actor=actor, rating=rating, note=cleaned or None, at=at or self._clock()))
        # Replace in one transaction: delete + insert is portable and the key
        # (request, actor) keeps one vote per person whatever the backend.
        with self.engine.begin() as conn:
            conn.execute(sa.delete(feedback).where(feedback.c.request_id == request_id, feedback.c.actor == actor))
            conn.execute(sa.insert(feedback).values(**row))
        return Feedback(**row, tenant=found.tenant, request_at=found.at)

    def for_night(self, night: date) -> list[Feedback]:
        """The feedback given during ``night`` (00:00-24:00 UTC), oldest first, with each request's tenant."""
        start = datetime.combine(night, time.min, tzinfo=timezone.utc)
        return self._between(start, start + timedelta(days=1))

    def _between(self, start: datetime, end: datetime) -> list[Feedback]:
        q = (
            sa.select(feedback, llm_requests.c.tenant, llm_requests.c.at.label("request_at"))
            .select_from(feedback.join(llm_requests, feedback.c.request_id == llm_requests.c.request_id, isouter=True))
            .where(feedback.c.at >= start, feedback.c.at < end)
            .order_by(feedback.c.at, feedback.c.request_id)
        )
        with self.engine.connect() as conn:
            return [Feedback(**dict(r._mapping)) for r in conn.execute(q)]
