"""`vectordb ingest`, `status` and `runs`: the pipeline's runs, through the Dagster webserver."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any

import click

from vectordb_assets.cli.common import emit, json_option, readable, settings_from_env
from vectordb_assets.settings import Settings


def _runs_api(settings: Settings) -> Any:
    from vectordb_assets.runs_api import RunsApi

    return RunsApi(settings.dagster.url, settings.dagster.location, headers=settings.dagster_header_values)


@contextmanager
def _answered() -> Iterator[None]:
    """The webserver's refusals and failures as one line."""
    from vectordb_assets.runs_api import RunsApiError

    try:
        yield
    except RunsApiError as error:
        raise click.ClickException(str(error)) from None


def _partitions_of(items: tuple[str, ...], settings: Settings) -> list[str]:
    """The partitions of landed objects named by their keys or URIs in the landing area; an
    object that is not there is refused before any run is submitted."""
    from vectordb_assets.landing.landed_keys import NotInLandingArea, landed_key
    from vectordb_assets.landing.partitions import partition_key_for
    from vectordb_assets.resources_from_settings import object_store

    try:
        keys = [landed_key(item, settings.source) for item in items]
    except NotInLandingArea as error:
        raise click.ClickException(str(error)) from None
    landing = object_store(settings.source, settings)
    with readable():
        for key in keys:
            landing.head(key)
    return list(dict.fromkeys(partition_key_for(key, settings.landing.partition_depth) for key in keys))


def _when(timestamp: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


@click.command()
@click.argument("objects", nargs=-1, required=True)
@click.option(
    "--namespace",
    default=None,
    help="Namespace of these files' vectors; default: their route, else VECTORDB_NAMESPACE.",
)
@click.option("--batch-rows", default=None, type=click.IntRange(1), help="Rows embedded per batch.")
@click.option("--wait", is_flag=True, help="Wait for the runs to finish; exit with status 1 if one fails.")
@json_option
def ingest(objects: tuple[str, ...], namespace: str | None, batch_rows: int | None, wait: bool, as_json: bool) -> None:
    """Run the pipeline for OBJECTS (keys in the landing area, or their URIs) through the Dagster
    webserver at VECTORDB_DAGSTER_URL: one run per partition; prints the run ids."""
    from vectordb_assets.indexing.namespaces import check_namespace

    settings = settings_from_env()
    if namespace:
        try:
            check_namespace(namespace)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--namespace") from None
    partitions = _partitions_of(objects, settings)
    api = _runs_api(settings)
    with _answered():
        api.add_partitions(partitions)
        runs = {partition: api.submit(partition, namespace, batch_rows) for partition in partitions}
        if not as_json:
            for partition, run_id in runs.items():
                click.echo(f"{run_id}  {partition}")
        if not wait:
            if as_json:
                emit([{"run_id": run_id, "partition": p} for p, run_id in runs.items()], True)
            return
        states = api.wait(list(runs.values()))
    if as_json:
        emit(states, True)
    else:
        for state in states:
            click.echo(f"{state['run_id']}  {state['status']}" + "".join(f"\n  {error}" for error in state["errors"]))
    if any(state["status"] != "SUCCESS" for state in states):
        raise SystemExit(1)


@click.command()
@click.argument("run_id")
@json_option
def status(run_id: str, as_json: bool) -> None:
    """A run's state, start and end, errors, and each file's progress through each stage; exits
    with status 1 when the run failed or was canceled."""
    with _answered():
        state = _runs_api(settings_from_env()).status(run_id)
    _show_status(state, as_json)
    if state["status"] in ("FAILURE", "CANCELED"):
        raise SystemExit(1)


def _show_status(state: dict[str, Any], as_json: bool) -> None:
    """A run's state as JSON, or as a line per field and a line per file and stage."""
    if as_json:
        emit(state, True)
        return
    for name in ("run_id", "status", "started", "ended", "partition", "namespace"):
        if state[name] is not None:
            value = state[name]
            click.echo(f"{name}: {_when(value) if name in ('started', 'ended') else value}")
    for error in state["errors"]:
        click.echo(f"error: {error}")
    for key, stages in state["files"].items():
        click.echo(key)
        for stage, figures in stages.items():
            counts = f"{figures.get('records_processed', 0)}/{figures.get('records_total', 0)} records"
            failed = f", {figures['records_failed']} failed" if figures.get("records_failed") else ""
            chunks = f", {figures['chunks_completed']} chunks" if figures.get("chunks_completed") else ""
            click.echo(
                f"  {stage:<18} {figures['status']:<9} {counts}{failed}{chunks}"
                + (f"  {figures['error']}" if "error" in figures else "")
            )


@click.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="How many runs.")
@json_option
def runs(limit: int, as_json: bool) -> None:
    """The ingest job's latest runs, newest first."""
    with _answered():
        latest = _runs_api(settings_from_env()).runs(limit)
    emit(
        latest,
        as_json,
        [
            (
                r["run_id"],
                f"{r['status']:<9}",
                _when(r["started"]) if r["started"] else "-",
                r["partition"] or "(several)",
            )
            for r in latest
        ],
    )


COMMANDS = [ingest, status, runs]
