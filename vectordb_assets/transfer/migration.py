"""Move a local landing folder and its outputs to S3, verifying every copy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from resources.location import Location
from vectordb_assets.transfer.uploads import UploadSummary, select_files, upload_folder


def check_migration(source: Location, target: Location) -> None:
    """Refuses a migration that is not from a local landing folder to S3."""
    if target.scheme != "s3":
        raise ValueError(f"migrate copies to S3; {str(target)!r} is not an s3:// location")
    if source.scheme != "file":
        raise ValueError(f"the source is already {source}; migrate moves a local landing folder")


def files_to_copy(source: Location, output: Location) -> list[Path]:
    """Every local file the migration copies: the landing folder and the outputs folder."""
    folders = [Path(loc.root) for loc in (source, output) if loc.scheme == "file"]
    return [path for folder in folders if folder.is_dir() for path in select_files(folder)]


def migrate(
    before: tuple[Location, Location],
    after: tuple[Location, Location],
    client: Any,
    on_file: Callable[[Path], None] | None = None,
) -> dict[str, UploadSummary]:
    """Copy the landing folder and the outputs beside it from `before` to `after` (each a source
    and an output location); each copy's size and sha256 are checked against the local file."""
    (source, output), (new_source, new_output) = before, after
    check_migration(source, new_source)
    summaries = {
        "landing": upload_folder(client, Path(source.root), new_source.root, new_source.prefix, on_file=on_file)
    }
    if output.scheme == "file" and Path(output.root).is_dir():
        summaries["outputs"] = upload_folder(
            client, Path(output.root), new_output.root, new_output.prefix, on_file=on_file
        )
    return summaries
