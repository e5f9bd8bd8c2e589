"""`vectordb search`: the nearest indexed rows to a text, from the live model generation."""

from __future__ import annotations

import json

import click

from vectordb_assets.cli.common import pairs, printable, resources_of, settings_from_env
from vectordb_assets.indexing.live_search import nearest


@click.command()
@click.argument("text")
@click.option("--top-k", default=5, show_default=True, type=click.IntRange(1, 1000), help="How many results.")
@click.option("--namespace", default=None, help="Namespace to search; default: VECTORDB_NAMESPACE (default).")
@click.option("--filter", "filters", multiple=True, help="Only rows whose metadata field equals a value: key=value.")
@click.option(
    "--generation", default=None, help="Search this model generation (see `vectordb generations`), not the live one."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def search(
    text: str, top_k: int, namespace: str | None, filters: tuple[str, ...], generation: str | None, as_json: bool
) -> None:
    """Embed TEXT with the live generation's model and print the nearest indexed rows."""
    settings = settings_from_env()
    namespace = namespace or settings.namespaces.default
    conditions = pairs(filters, "--filter")
    with resources_of(settings, only_search=True) as resources:
        store, hits = nearest(resources, text, namespace, top_k, conditions, generation)
    if as_json:
        click.echo(json.dumps([hit.__dict__ for hit in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        where = f"namespace {namespace!r} of collection {store.collection_name!r}"
        if conditions:
            wanted = ", ".join(f"{name}={value}" for name, value in conditions.items())
            click.echo(f"no vectors in {where} match {wanted}")
        else:
            click.echo(f"no vectors in {where}")
        return
    click.echo(f"{'score':>7}  {'id':<34}  {'source':<32}  text")
    for hit in hits:
        snippet = (hit.text or "").replace("\n", " ")
        snippet = snippet if len(snippet) <= 60 else snippet[:57] + "..."
        click.echo(f"{hit.score:7.4f}  {printable(hit.id):<34}  {printable(hit.source_key):<32}  {printable(snippet)}")


COMMANDS = [search]
