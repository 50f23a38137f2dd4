"""``tandem serve-assistant`` and ``tandem keys create | list | revoke``: the HTTP service and its API keys.

Registered on the main app in ``infra.cli``; imports lazily like the rest of
the CLI. Exit codes: 0 done, 1 the service could not start (index held by
another process), 2 bad input (one line on stderr).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

keys_app = typer.Typer(help="API keys of the HTTP service (`tandem serve-assistant`): each maps to one tenant.", no_args_is_help=True)


def _store():
    from infra.factory import ops_engine
    from infra.settings import get_settings
    from infra.stores.api_keys import ApiKeyStore

    return ApiKeyStore(ops_engine(get_settings().resolved_ops_db_url))


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="The tenant every request with this key is charged to (the client cannot choose).")],
    name: Annotated[Optional[str], typer.Option(help="A label for people, e.g. support-desk.")] = None,
    rate_limit: Annotated[Optional[int], typer.Option(min=1, help="Requests per minute (default: TANDEM_SERVICE__RATE_LIMIT_PER_MINUTE).")] = None,
    actor: Annotated[Optional[str], typer.Option(help="Who creates it (default: TANDEM_ACTOR or your OS user).")] = None,
) -> None:
    """Create a key and print it once: only its salted hash is stored, so it cannot be shown again."""
    from infra.cli import _usage_error, console
    from infra.settings import get_settings
    from infra.stores.ledger import default_actor

    try:
        key, secret = _store().create(tenant, name=name, rate_limit_per_minute=rate_limit,
                                      actor=default_actor(actor or get_settings().actor))
    except ValueError as exc:
        _usage_error(str(exc))
    limit = f"{key.rate_limit_per_minute}/min" if key.rate_limit_per_minute else f"{get_settings().service.rate_limit_per_minute}/min (default)"
    console.print(f"API key {key.key_id} for tenant {key.tenant} ({limit}); shown once, store it now:", markup=False, highlight=False,
                  soft_wrap=True)
    # Plain print: the key alone on its own line, for `| tail -1` in scripts; rich could wrap it.
    print(secret)


@keys_app.command("list")
def keys_list(
    tenant: Annotated[Optional[str], typer.Option(help="Only this tenant's keys.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every key: id, tenant, name, limit, created, revoked. Never the key itself."""
    import json

    from rich.table import Table

    from infra.cli import console

    rows = _store().list(tenant=tenant)
    if as_json:
        console.print_json(json.dumps([k.to_dict() for k in rows]))
        return
    table = Table("id", "tenant", "name", "limit/min", "created", "by", "revoked")
    for k in rows:
        table.add_row(k.key_id, k.tenant, k.name or "-", str(k.rate_limit_per_minute or "default"),
                      f"{k.created_at:%Y-%m-%d %H:%M}", k.created_by or "-",
                      f"{k.revoked_at:%Y-%m-%d %H:%M} by {k.revoked_by or '-'}" if k.revoked_at else "-")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (first column of `tandem keys list`).")],
    actor: Annotated[Optional[str], typer.Option(help="Who revokes it (default: TANDEM_ACTOR or your OS user).")] = None,
) -> None:
    """Revoke a key: its next request gets 401."""
    from infra.cli import _usage_error, console
    from infra.settings import get_settings
    from infra.stores.api_keys import UnknownKey
    from infra.stores.ledger import default_actor

    try:
        key = _store().revoke(key_id, actor=default_actor(actor or get_settings().actor))
    except UnknownKey as exc:
        _usage_error(str(exc))
    console.print(f"API key {key.key_id} (tenant {key.tenant}) revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S} UTC",
                  markup=False, highlight=False)


def serve_assistant(
    host: Annotated[Optional[str], typer.Option(help="Address to listen on (default: TANDEM_SERVICE__HOST, 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(min=1, max=65535, help="Port (default: TANDEM_SERVICE__PORT, 8100).")] = None,
    lock_wait: Annotated[float, typer.Option(min=0, help="Seconds to wait while another process holds the local vector index.")] = 30.0,
) -> None:
    """Serve the assistant over HTTP: OpenAI-compatible /v1/chat/completions, /v1/feedback, /healthz.

    One process (Qdrant local mode allows one holder of the index; the rate
    limits are counted in memory). Every request but /healthz needs a key from
    `tandem keys create`.
    """
    import logging

    import uvicorn

    from infra.cli import _fail, console
    from infra.factory import IndexLocked, ops_engine
    from infra.service.app import build_service_gateway, create_app
    from infra.settings import get_settings
    from infra.stores.api_keys import ApiKeyStore

    settings = get_settings()
    host, port = host or settings.service.host, port or settings.service.port
    try:
        gateway = build_service_gateway(settings, lock_wait_s=lock_wait)
    except IndexLocked as exc:
        _fail(str(exc))
    keys = ApiKeyStore(ops_engine(settings.resolved_ops_db_url))
    if not keys.list(include_revoked=False):
        console.print("[yellow]no API key yet[/]: every request will get 401; create one with "
                      "`tandem keys create --tenant NAME`", soft_wrap=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    console.print(f"serving the assistant on http://{host}:{port} (OpenAI base URL http://{host}:{port}/v1)", markup=False, highlight=False,
                  soft_wrap=True)
    # One worker: the gateway, its model and the index's local-mode lock live in this process.
    uvicorn.run(create_app(settings, gateway=gateway, keys=keys), host=host, port=port, workers=1, log_level="info",
                server_header=False)
