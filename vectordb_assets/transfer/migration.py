"""Move a local landing folder and its outputs to S3, verifying every copy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from vectordb_assets.settings import Location, Settings
from vectordb_assets.transfer.uploads import UploadSummary, select_files, upload_folder


def migration_target(settings: Settings, target: str) -> Settings:
    """The settings after switching VECTORDB_SOURCE to `target` (outputs beside it in its bucket)."""
    if Location.parse(target, base=Path.cwd()).scheme != "s3":
        raise ValueError(f"migrate copies to S3; {target!r} is not an s3:// location")
    return settings.with_changes(source_uri=target, output_uri=None)


def files_to_copy(settings: Settings) -> list[Path]:
    """Every local file the migration copies: the landing folder and the outputs folder."""
    folders = [Path(loc.root) for loc in (settings.source, settings.output) if loc.scheme == "file"]
    return [path for folder in folders if folder.is_dir() for path in select_files(folder)]


def migrate(
    settings: Settings, target: str, client: Any, on_file: Callable[[Path], None] | None = None
) -> dict[str, UploadSummary]:
    """Copy the landing folder to `target` and the outputs beside it; each copy's size and sha256
    are checked against the local file."""
    if settings.source.scheme != "file":
        raise ValueError(f"the source is already {settings.source}; migrate moves a local landing folder")
    after = migration_target(settings, target)
    summaries = {
        "landing": upload_folder(
            client, Path(settings.source.root), after.source.root, after.source.prefix, on_file=on_file
        )
    }
    if settings.output.scheme == "file" and Path(settings.output.root).is_dir():
        summaries["outputs"] = upload_folder(
            client, Path(settings.output.root), after.output.root, after.output.prefix, on_file=on_file
        )
    return summaries
