"""`vectordb upload`, `download`, `url` and `migrate`: files between this machine and S3."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vectordb_assets.cli.common import emit, json_option, pairs, readable, settings_from_env
from vectordb_assets.settings import Settings


def _s3_client(settings: Settings) -> Any:
    from vectordb_assets.resources_from_settings import s3_resource

    return s3_resource(settings).get_client()


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("destination")
@click.option("--include", multiple=True, help="Glob of relative paths to upload (repeatable; default: all).")
@click.option("--exclude", multiple=True, help="Glob of relative paths to leave out (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Object tag key=value (repeatable).")
@click.option("--multipart-threshold-mb", default=64, show_default=True, help="Larger files go multipart.")
@json_option
def upload(
    folder: Path,
    destination: str,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    tags: tuple[str, ...],
    multipart_threshold_mb: int,
    as_json: bool,
) -> None:
    """Upload FOLDER's files to DESTINATION (s3://bucket/prefix); unchanged files are skipped.

    Exits with status 1 unless every file was uploaded or skipped."""
    from resources.location import Location
    from vectordb_assets.transfer.uploads import upload_folder

    settings = settings_from_env()
    target = Location.parse(destination, base=Path.cwd())
    if target.scheme != "s3":
        raise click.ClickException(f"destination {destination!r} is not an s3:// location")
    summary = upload_folder(
        _s3_client(settings),
        folder,
        target.root,
        target.prefix,
        include=include,
        exclude=exclude,
        tags=pairs(tags, "--tag"),
        multipart_threshold=multipart_threshold_mb << 20,
    )
    emit(summary.to_dict(), as_json)
    if summary.status != "success":
        raise SystemExit(1)


@click.command()
@click.argument("uri")
@click.argument("destination")
@json_option
def download(uri: str, destination: str, as_json: bool) -> None:
    """Download the object at URI (s3://bucket/key) to DESTINATION (a file, or a folder that gets
    the object's name; one ending in / is made if missing), streamed and verified against S3's
    checksum before it takes the name."""
    from resources.location import Location
    from vectordb_assets.transfer.downloads import DownloadVerificationError, download_object

    source = Location.parse(uri, base=Path.cwd()) if uri.startswith("s3://") else None
    if source is None or not source.prefix:
        raise click.ClickException(f"{uri!r} is not an s3:// URI of an object")
    if destination.endswith("/"):
        Path(destination).mkdir(parents=True, exist_ok=True)
    with readable():
        try:
            summary = download_object(_s3_client(settings_from_env()), source.root, source.prefix, Path(destination))
        except (DownloadVerificationError, NotADirectoryError) as error:
            raise click.ClickException(str(error)) from None
    emit(summary.to_dict(), as_json)


@click.command()
@click.argument("key")
@click.option("--expires", default=None, type=click.IntRange(1, 7 * 24 * 3600), help="Seconds a presigned link lives.")
@click.option("--source", "in_source", is_flag=True, help="KEY is in the landing area, not the outputs.")
def url(key: str, expires: int | None, in_source: bool) -> None:
    """Print a link to KEY: an object of the outputs (validated/…, embeddings/…), of the landing area
    with --source, or any s3://bucket/key. Presigned on S3, file:// locally."""
    from vectordb_assets.inspection import store_and_key
    from vectordb_assets.resources_from_settings import object_store

    settings = settings_from_env()
    if expires:
        settings = settings.with_changes(VECTORDB_LINK_EXPIRY_SECONDS=expires)
    if key.startswith("s3://"):
        store, key = store_and_key(key, settings)
    else:
        store = object_store(settings.source if in_source else settings.output, settings)
    with readable():
        store.head(key)
        click.echo(store.url(key))


@click.command()
@click.option("--to", "target", required=True, help="s3://bucket/prefix that becomes VECTORDB_SOURCE.")
@json_option
def migrate(target: str, as_json: bool) -> None:
    """Copy the local landing folder (and the outputs beside it) to S3, verifying every copy."""
    from vectordb_assets.transfer.migration import check_migration, files_to_copy
    from vectordb_assets.transfer.migration import migrate as run_migration

    settings = settings_from_env()
    try:
        # VECTORDB_SOURCE switched to the target, the outputs beside it in its bucket.
        after = settings.with_changes(VECTORDB_SOURCE=target, VECTORDB_OUTPUT=None)
        check_migration(settings.source, after.source)
        files = files_to_copy(settings.source, settings.output)
        with click.progressbar(length=len(files), label="copying", file=sys.stderr) as bar:
            summaries = run_migration(
                (settings.source, settings.output),
                (after.source, after.output),
                _s3_client(settings),
                on_file=lambda _: bar.update(1),
            )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    report = {name: summary.to_dict() for name, summary in summaries.items()}
    report["next"] = f"export VECTORDB_SOURCE={after.source} (outputs go to {after.output})"
    emit(report, as_json)
    if any(summary.status != "success" for summary in summaries.values()):
        raise SystemExit(1)


COMMANDS = [upload, download, url, migrate]
