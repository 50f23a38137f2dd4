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

from models.alerting import Calibration
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


def levels_from(result: CheckResult) -> str:
    """Where a line's levels come from: "calibrated on v3 (mean 0.01 ± k·σ ...)", or "fixed" (the policy's)."""
    cal = result.calibration
    if not cal or not cal.get("calibrated"):
        return "fixed" + (f" ({cal['note']})" if cal and cal.get("note") and "calibrate: false" not in cal["note"] else "")
    c = Calibration.from_dict(cal)
    where = f"calibrated on {c.version}" if c.version else "calibrated"
    return f"{where} ({c.note})"


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


def what_changed(night: date, results: Sequence[CheckResult], tickets: Sequence[dict[str, Any]] = ()) -> str:
    """The night in plain sentences, first on the scorecard: what was red and which tickets changed.

    Written to answer on-call's "what changed last night?" (the assistant
    indexes the scorecard and quotes sentences, not table rows).
    """
    reds = [r for r in results if r.status == "red"]
    ambers = [r for r in results if r.status == "amber"]
    if reds:
        found = (f"{len(reds)} check{'s were' if len(reds) != 1 else ' was'} red: "
                 + "; ".join(_cell(r.summary, 120) for r in reds[:6]) + ("; ..." if len(reds) > 6 else ""))
    else:
        found = "no check was red"
    if ambers:
        names = ", ".join(dict.fromkeys(r.check + (f" [{r.measurement.subject}]" if r.measurement.subject else "") for r in ambers))
        found += f", and {len(ambers)} amber ({_cell(names, 160)})"
    if tickets:
        moves = "; ".join(f"the {t['kind']} ticket #{t['id']} for {t['asset']} was {t.get('action', 'changed')}" for t in tickets)
    else:
        moves = "no ticket was opened, updated or resolved"
    return f"What changed on the night of {night.isoformat()}: {found}. Tickets: {moves}."


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
        what_changed(night, results, tickets),
        "",
        f"{c['green']} green, {c['amber']} amber, {c['red']} red, {c['insufficient']} insufficient data.",
    ]
    if versions:
        lines += ["", " · ".join(f"**{k}** {v}" for k, v in versions.items())]
    for asset in ASSETS:
        rows = [r for r in results if r.asset == asset]
        if not rows:
            continue
        lines += ["", f"## {asset}", "", "| status | check | figure | warn | fail | levels | n | detail |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in sorted(rows, key=lambda r: (-_WORST[r.status], r.check, r.measurement.subject or "")):
            name = r.check + (f" [{r.measurement.subject}]" if r.measurement.subject else "")
            detail = r.summary if not r.measurement.note else f"{r.summary}; {r.measurement.note}"
            lines.append(
                f"| {_MARK[r.status]} | {_cell(name, 60)} | {_figure(r.measurement.value)} | {_figure(r.warn)} "
                f"| {_figure(r.fail)} | {_cell(levels_from(r), 120)} | {r.measurement.n:,} | {_cell(detail)} |"
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
