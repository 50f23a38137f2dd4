"""``tandem setup-prefect``: the work pool and the crash automation Tandem's deployments need.

Registered on the main app in ``infra.cli``. ``make deploy`` runs it before
``prefect deploy --all`` (which refuses a work pool that does not exist);
``flows/serve.py`` runs the same setup (without the pool) before serving.
Idempotent: a second run reports every object ``unchanged``.

Exit codes: 0 done, 3 no Prefect server answers (nothing was changed).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)


def setup_prefect(
    work_pool: Annotated[bool, typer.Option("--work-pool/--no-work-pool", help="Also create the work pool of prefect.yaml.")] = True,
    crash_after: Annotated[int, typer.Option(help="Seconds without a flow-run heartbeat before a run is marked Crashed.", min=60)] = 240,
) -> None:
    """Create (or update) the `tandem` work pool and the 'crash zombie runs' automation on the Prefect server."""
    from infra.prefect_setup import ensure_prefect_setup
    from infra.runs import EXIT_NOT_STARTED, NotStarted, find_api_url
    from infra.settings import get_settings

    try:
        api_url = find_api_url()
    except NotStarted as exc:
        err.print("[red]error:[/] ", end="")
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_NOT_STARTED)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        report = ensure_prefect_setup(get_settings(), work_pool=work_pool, crash_after_s=crash_after)
    for line in report.lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
