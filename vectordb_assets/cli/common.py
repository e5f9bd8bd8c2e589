"""What the commands share: the settings, the resources, key=value options, and output."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from vectordb_assets.settings import Settings, SettingsError

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def settings_from_env() -> Settings:
    """The settings, or the one line that says which variable is wrong."""
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


@contextmanager
def resources_of(settings: Settings, only_search: bool = False) -> Iterator[Any]:
    """The resources the settings select; `only_search`: just the state database, the embedder,
    the vector store and the generation policy, made directly (the other services' SDKs are then
    not even imported)."""
    import dagster as dg

    from vectordb_assets.resources_from_settings import resources_for, search_objects

    if only_search:
        try:
            resources = search_objects(settings)
        except SettingsError as error:
            raise click.ClickException(str(error)) from None
        yield resources
        return
    with dg.build_resources(resources_for(settings)) as resources:
        yield resources


def pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    """key=value options as a dict."""
    found = {}
    for value in values:
        name, sep, item = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r} is not key=value", param_hint=option)
        found[name] = item
    return found


def printable(text: str) -> str:
    """`text` safe for a terminal: control and format characters (an escape sequence that would
    move the cursor, recolour or retitle the terminal) shown as \\xNN / \\uNNNN."""
    return "".join(
        char if unicodedata.category(char) not in ("Cc", "Cf") else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def emit(data: Any, as_json: bool, table_rows: list[tuple] | None = None) -> None:
    """`data` as JSON, or as `table_rows`, or as one `name: value` line per item."""
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif table_rows is not None:
        for row in table_rows:
            click.echo("  ".join(str(cell) for cell in row))
    else:
        for name, value in data.items():
            click.echo(
                f"{name}: {value if not isinstance(value, (list, dict)) else json.dumps(value, ensure_ascii=False, default=str)}"
            )


@contextmanager
def readable() -> Iterator[None]:
    """A file that cannot be found or read, as one line."""
    from resources.object_store import ObjectNotFoundError
    from vectordb_assets.validation.readers import UnreadableFileError

    try:
        yield
    except (UnreadableFileError, ObjectNotFoundError) as error:
        raise click.ClickException(str(error)) from None
