"""Which partition dates a run may touch: refused before any work starts.

Pure: the caller passes ``today`` (the deployment's timezone is the caller's
business), so the same rule serves the CLI, the flows and the tests.
"""

from __future__ import annotations

from datetime import date, timedelta


class ImpossibleRange(ValueError):
    """A date range no run can do: end before start, empty, or in the future."""


def check_range(start: date, end: date | None = None, *, today: date, allow_future: bool = False) -> list[date]:
    """The days ``start``..``end`` (inclusive), or ImpossibleRange saying why not.

    Args:
        start: first day.
        end: last day (inclusive); None means ``start`` alone.
        today: the current date where the run is planned.
        allow_future: accept days after ``today`` (a source that publishes ahead).

    Returns:
        The days, oldest first (never empty).

    Raises:
        ImpossibleRange: ``end`` before ``start``, or a day after ``today``
            without ``allow_future``.
    """
    end = start if end is None else end
    if end < start:
        raise ImpossibleRange(f"end {end} is before start {start}: nothing to run")
    if not allow_future and end > today:
        first_future = max(start, today + timedelta(days=1))
        raise ImpossibleRange(
            f"{first_future} is after today ({today}): no data can exist for it yet "
            "(set allow_future if the source publishes ahead)"
        )
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    if not days:  # pragma: no cover - end >= start always gives at least one day
        raise ImpossibleRange(f"the range {start}..{end} holds no day")
    return days


# Which ledger statuses each backfill mode runs (None: never ingested). One rule
# for the flow's plan and the CLI's --dry-run and outcome.
BACKFILL_MODES: dict[str, frozenset] = {
    "missing": frozenset({None}),
    "failed": frozenset({"failed"}),
    "all": frozenset({None, "ok", "failed"}),
}
