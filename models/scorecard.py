"""The night's scorecard for on-call: one line per check, green / amber / red.

Pure formatting of graded results (``models.monitoring.CheckResult``) and the
night's ticket changes into Markdown, the body of the Prefect artifact and of
the scorecard document the assistant indexes. An "insufficient" check shows
as an amber "insufficient data" line: it is visible, never silent, never a
ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from models.monitoring import ASSETS, CheckResult

_MARK = {"green": "🟢 green", "amber": "🟠 amber", "red": "🔴 red", "insufficient": "🟠 insufficient data"}
_WORST = {"green": 0, "insufficient": 1, "amber": 1, "red": 2}


def _figure(value: float | None) -> str:
    if value is None:
        return "-"
    if value != 0 and (abs(value) >= 1000 or abs(value) < 0.001):
        return f"{value:.3g}"
    return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"


def _cell(text: Any, limit: int = 160) -> str:
    """A table cell: one line, pipes escaped, clipped (evidence text is data)."""
    s = " ".join(str(text).split()).replace("|", "\\|")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def overall(results: Iterable[CheckResult]) -> str:
    """The night's worst status: red if any check is red, amber if any is amber or insufficient."""
    worst = max((_WORST[r.status] for r in results), default=0)
    return ("green", "amber", "red")[worst]


def counts(results: Iterable[CheckResult]) -> dict[str, int]:
    """How many checks ended in each status."""
    out = {"green": 0, "amber": 0, "red": 0, "insufficient": 0}
    for r in results:
        out[r.status] += 1
    return out


def render_scorecard(
    night: date,
    results: Sequence[CheckResult],
    *,
    versions: dict[str, str] | None = None,
    tickets: Sequence[dict[str, Any]] = (),
    links: dict[str, str] | None = None,
) -> str:
    """The night as Markdown: a header, one table per asset, the ticket changes, links.

    Args:
        night: the evaluated night.
        results: every graded check of the night (both assets).
        versions: what was evaluated, e.g. {"champion": "v3", "prompt": "production v2",
            "index": "docs-live -> docs-v4"}.
        tickets: the night's ticket changes, dicts with id, kind, asset, action
            (opened | updated | resolved | waiting ...), status, severity, summary.
        links: name -> URL (MLflow run, Evidently report artifact, ...).

    Returns:
        Markdown text.
    """
    c = counts(results)
    lines = [
        f"# Nightly evaluation {night.isoformat()}: {overall(results)}",
        "",
        f"{c['green']} green, {c['amber']} amber, {c['red']} red, {c['insufficient']} insufficient data.",
    ]
    if versions:
        lines += ["", " · ".join(f"**{k}** {v}" for k, v in versions.items())]
    for asset in ASSETS:
        rows = [r for r in results if r.asset == asset]
        if not rows:
            continue
        lines += ["", f"## {asset}", "", "| status | check | figure | warn | fail | n | detail |", "|---|---|---|---|---|---|---|"]
        for r in sorted(rows, key=lambda r: (-_WORST[r.status], r.check, r.measurement.subject or "")):
            name = r.check + (f" [{r.measurement.subject}]" if r.measurement.subject else "")
            detail = r.summary if not r.measurement.note else f"{r.summary}; {r.measurement.note}"
            lines.append(
                f"| {_MARK[r.status]} | {_cell(name, 60)} | {_figure(r.measurement.value)} | {_figure(r.warn)} "
                f"| {_figure(r.fail)} | {r.measurement.n:,} | {_cell(detail)} |"
            )
    lines += ["", "## Tickets", ""]
    if tickets:
        for t in tickets:
            lines.append(
                f"- #{t['id']} **{t['kind']}** ({t['asset']}) {t.get('action', '')}: status {t.get('status', '?')}, "
                f"severity {t.get('severity', '?')}. {_cell(t.get('summary', ''), 300)}"
            )
    else:
        lines.append("- none opened or changed tonight")
    if links:
        lines += ["", "## Links", ""] + [f"- {name}: {url}" for name, url in links.items()]
    return "\n".join(lines) + "\n"
