"""``tandem feedback REQUEST_ID good|bad [--note ...]``: a user's verdict on one answer.

Registered on the main app in ``infra.cli``; imports lazily like the rest of
the CLI. Exit codes: 0 stored, 2 bad input (unknown request id, rating not
good|bad, empty actor): one line on stderr.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer


def feedback(
    request_id: Annotated[str, typer.Argument(help="The request id printed by `tandem ask` or listed by `tandem requests`.")],
    rating: Annotated[str, typer.Argument(help="good or bad.")],
    note: Annotated[Optional[str], typer.Option("--note", "-n", help="What was wrong or right (PII is redacted before it is stored).")] = None,
    actor: Annotated[Optional[str], typer.Option(help="Who gives the feedback (default: TANDEM_ACTOR or your OS user).")] = None,
) -> None:
    """Record good/bad feedback on an answered request; a second vote by the same person replaces the first."""
    from infra.cli import _usage_error, console
    from infra.factory import build_guardrails, ops_engine
    from infra.settings import get_settings
    from infra.stores.feedback import RATINGS, FeedbackStore, UnknownRequest
    from infra.stores.ledger import default_actor
    from infra.stores.requests import for_log

    rating = rating.strip().lower()
    if rating not in RATINGS:
        _usage_error(f"rating {for_log(rating, 40)!r} is not one of {', '.join(RATINGS)}")
    settings = get_settings()
    redact = None
    if note:
        guardrails = build_guardrails(settings)  # the gateway's PII redaction: a note is stored like a question
        redact = lambda text: guardrails.redact(text).text  # noqa: E731
    store = FeedbackStore(ops_engine(settings.resolved_ops_db_url), redact=redact)
    try:
        row = store.record(request_id, rating, actor=default_actor(actor or settings.actor), note=note)
    except (UnknownRequest, ValueError) as exc:
        _usage_error(str(exc))
    console.print(f"feedback {row.rating} on request {row.request_id} recorded for {row.actor}" + (" (with a note)" if row.note else ""),
                  markup=False, highlight=False)
