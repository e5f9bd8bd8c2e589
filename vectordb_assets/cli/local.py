"""`vectordb seed` and `vectordb dev`: the project on this machine, with the bundled samples."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from vectordb_assets.cli.common import resources_of, settings_from_env


@click.command()
@click.option("--force", is_flag=True, help="Write the samples even if the landing folder has files.")
def seed(force: bool) -> None:
    """Write the bundled sample files into the local landing folder."""
    settings = settings_from_env()
    if settings.source.scheme != "file":
        raise click.ClickException(f"the source is {settings.source}; samples go only into a local folder")
    landing = Path(settings.source.root)
    if not force and landing.is_dir() and any(landing.rglob("*")):
        click.echo(f"{landing} already holds files; nothing written (use --force to add the samples)")
        return
    from vectordb_assets.landing.samples import write_samples

    with resources_of(settings) as resources:
        for path in write_samples(landing, resources.embedder):
            click.echo(f"wrote {path}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the UI listens on.")
@click.option("--port", default=3000, show_default=True, help="Port the UI listens on.")
def dev(host: str, port: int) -> None:
    """Seed the samples on first use, then start the Dagster UI and daemon on this project."""
    project = Path.cwd()
    if not (project / "workspace.yaml").is_file():
        raise click.ClickException(f"run this from the project folder (no workspace.yaml in {project})")
    settings = settings_from_env()
    if settings.source.scheme == "file" and not Path(settings.source.root).exists():
        click.get_current_context().invoke(seed)
    os.environ.setdefault("DAGSTER_HOME", str(project))
    dagster = Path(sys.executable).with_name("dagster")
    os.execv(dagster, [str(dagster), "dev", "-h", host, "-p", str(port), "-w", "workspace.yaml"])


COMMANDS = [seed, dev]
