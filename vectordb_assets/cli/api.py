"""`vectordb api` (the HTTP API) and `vectordb api-keys create | list | revoke`."""

from __future__ import annotations

import logging

import click

from vectordb_assets.cli.common import emit, json_option, settings_from_env


@click.command()
@click.option("--host", default=None, help="Address to listen on; default: VECTORDB_API_HOST (127.0.0.1).")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Port; default: VECTORDB_API_PORT (8080).")
def api(host: str | None, port: int | None) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs) over the settings' webserver, state database,
    landing area and index. Requests need a key from `vectordb api-keys create`."""
    import uvicorn

    from vectordb_assets.api.app import create_app

    settings = settings_from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("vectordb.api").setLevel(logging.INFO)
    # The API logs each request with its key's name; uvicorn's access log would repeat it.
    uvicorn.run(
        create_app(settings),
        host=host or settings.api.host,
        port=port or settings.api.port,
        access_log=False,
        log_level="info",
        server_header=False,
    )


@click.group("api-keys")
def api_keys() -> None:
    """The HTTP API's keys, kept hashed in the state database."""


def _keys():  # type: ignore[no-untyped-def]
    from vectordb_assets.api.keys import ApiKeys
    from vectordb_assets.resources_from_settings import search_objects

    return ApiKeys(search_objects(settings_from_env()).state_db)


def _listed(key) -> dict:  # type: ignore[no-untyped-def]
    return {
        "name": key.name,
        "key_id": key.key_id,
        "scopes": list(key.scopes),
        "requests_per_minute": key.requests_per_minute,
        "created_at": key.created_at.isoformat(timespec="seconds"),
        "last_used_at": key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else None,
    }


@api_keys.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(["ingest", "read", "search", "admin"]),
    help="What the key may do (repeat for several): ingest, read, search, admin (all).",
)
@click.option(
    "--requests-per-minute",
    type=click.IntRange(1),
    default=None,
    help="The key's own budget; default: VECTORDB_API_REQUESTS_PER_MINUTE.",
)
@json_option
def create(name: str, scopes: tuple[str, ...], requests_per_minute: int | None, as_json: bool) -> None:
    """Make a key NAME; the key is printed once and cannot be shown again."""
    from vectordb_assets.api.keys import ApiKeyError

    try:
        made = _keys().create(name, list(scopes), requests_per_minute)
    except ApiKeyError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        emit({**_listed(made.key), "key": made.secret}, True)
    else:
        click.echo(made.secret)
        click.echo(
            f"(key {made.key.name!r}, scopes {', '.join(made.key.scopes)}: keep it now, it is not shown again)",
            err=True,
        )


@api_keys.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Revoked keys too.")
@json_option
def list_keys(include_revoked: bool, as_json: bool) -> None:
    """The keys' names, scopes and last use (never the keys)."""
    listed = [_listed(key) for key in _keys().list(include_revoked)]
    emit(
        listed,
        as_json,
        [
            (
                k["name"],
                ",".join(k["scopes"]),
                k["last_used_at"] or "never used",
                f"revoked {k['revoked_at']}" if k["revoked_at"] else "",
            )
            for k in listed
        ],
    )


@api_keys.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke the key NAME: refused from the next request on."""
    from vectordb_assets.api.keys import ApiKeyError

    try:
        key = _keys().revoke(name)
    except ApiKeyError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"revoked {key.name!r} ({key.key_id})")


COMMANDS = [api, api_keys]
