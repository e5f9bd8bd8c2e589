"""`vectordb`: the command line beside the Dagster UI."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import click

from vectordb_assets.settings import Settings, SettingsError


@contextmanager
def _resources(settings: Settings) -> Iterator[Any]:
    import dagster as dg

    from vectordb_assets.resources_from_settings import resources_for

    with dg.build_resources(resources_for(settings)) as resources:
        yield resources


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


@click.group()
def main() -> None:
    """Keep vector indexes in step with the files that land in object storage."""


@main.command()
@click.option("--force", is_flag=True, help="Write the samples even if the landing folder has files.")
def seed(force: bool) -> None:
    """Write the bundled sample files into the local landing folder."""
    settings = _settings()
    if settings.source.scheme != "file":
        raise click.ClickException(f"the source is {settings.source}; samples go only into a local folder")
    landing = Path(settings.source.root)
    if not force and landing.is_dir() and any(landing.rglob("*")):
        click.echo(f"{landing} already holds files; nothing written (use --force to add the samples)")
        return
    from vectordb_assets.samples import write_samples

    with _resources(settings) as resources:
        for path in write_samples(landing, resources.embedder):
            click.echo(f"wrote {path}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the UI listens on.")
@click.option("--port", default=3000, show_default=True, help="Port the UI listens on.")
def dev(host: str, port: int) -> None:
    """Seed the samples on first use, then start the Dagster UI and daemon on this project."""
    project = Path.cwd()
    if not (project / "workspace.yaml").is_file():
        raise click.ClickException(f"run this from the project folder (no workspace.yaml in {project})")
    settings = _settings()
    if settings.source.scheme == "file" and not Path(settings.source.root).exists():
        click.get_current_context().invoke(seed)
    os.environ.setdefault("DAGSTER_HOME", str(project))
    dagster = Path(sys.executable).with_name("dagster")
    os.execv(dagster, [str(dagster), "dev", "-h", host, "-p", str(port), "-w", "workspace.yaml"])


@main.command()
@click.argument("text")
@click.option("--top-k", default=5, show_default=True, type=click.IntRange(1, 1000), help="How many results.")
@click.option("--namespace", default="default", show_default=True, help="Namespace to search.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def search(text: str, top_k: int, namespace: str, as_json: bool) -> None:
    """Embed TEXT with the configured model and print the nearest indexed rows."""
    settings = _settings()
    with _resources(settings) as resources:
        vector = resources.embedder.embed([text])[0]
        store = resources.vector_store.for_dimension(resources.embedder.dimension)
        hits = store.query(namespace, vector, top_k)
    if as_json:
        click.echo(json.dumps([hit.__dict__ for hit in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo(f"no vectors in namespace {namespace!r} of collection {store.collection_name!r}")
        return
    click.echo(f"{'score':>7}  {'id':<34}  {'source':<32}  text")
    for hit in hits:
        snippet = (hit.text or "").replace("\n", " ")
        snippet = snippet if len(snippet) <= 60 else snippet[:57] + "..."
        click.echo(f"{hit.score:7.4f}  {hit.id:<34}  {hit.source_key:<32}  {snippet}")
