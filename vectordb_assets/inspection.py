"""What `vectordb inspect` and the HTTP API report about a file or a folder, as plain dictionaries."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain, islice
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from resources.location import Location
from resources.object_store import LocalObjectStore, ObjectNotFoundError, ObjectStore
from vectordb_assets.resources_from_settings import object_store
from vectordb_assets.settings import Settings
from vectordb_assets.validation.duplicate_ids import DuplicateIdFinder
from vectordb_assets.validation.readers import ReadOptions, UnreadableFileError, file_format, read_batches
from vectordb_assets.validation.report import ValidationOptions
from vectordb_assets.validation.validate import ID_CANDIDATES, validate_file
from vectordb_assets.validation.values import find_column, flatten


def store_and_key(uri: str, settings: Settings) -> tuple[ObjectStore, str]:
    """The store holding `uri` (a local path or s3://bucket/key) and the key inside it: inside the
    landing area, the key the landing area gives the file (its partition)."""
    source = settings.source
    if uri.startswith("s3://"):
        location = Location.parse(uri, base=Path.cwd())
        # A trailing "/" names a folder: `exports/` does not take in `exports-old/`.
        key = location.prefix + ("/" if uri.endswith("/") and location.prefix else "")
        if (
            source.scheme == "s3"
            and location.root == source.root
            and source.prefix
            and key.startswith(f"{source.prefix}/")
        ):
            return object_store(source, settings), key[len(source.prefix) + 1 :]
        return object_store(Location("s3", location.root), settings), key
    path = Path(os.path.normpath(Path(uri).expanduser().absolute()))  # links not followed yet
    landing = Path(source.root) if source.scheme == "file" else None
    if landing is not None and path.is_relative_to(landing) and path != landing:
        # Inside the landing area its store reads it, refusing any link that leads outside.
        key = path.relative_to(landing).as_posix()
        return LocalObjectStore(root=str(landing)), f"{key}/" if path.is_dir() else key
    path = path.resolve()
    if path.is_dir():
        return LocalObjectStore(root=str(path)), ""
    return LocalObjectStore(root=str(path.parent)), path.name


@contextmanager
def local_file(uri: str, settings: Settings) -> Iterator[tuple[Path, str]]:
    """A local copy of the file at `uri`, with the key that names its format."""
    store, key = store_and_key(uri, settings)
    with store.local_path(key) as path:
        yield path, key


def list_files(
    uri: str, settings: Settings, suffix: str | None = None, max_keys: int | None = None
) -> list[dict[str, Any]]:
    """Objects under a folder or prefix (only those whose name ends with `suffix`, at most
    `max_keys` of them, listing no further), with size and modification time; a folder or
    prefix with no object at all is `ObjectNotFoundError`."""
    store, prefix = store_and_key(uri, settings)
    found = store.list_objects(prefix)
    first = next(found, None)
    if first is None:
        raise ObjectNotFoundError(f"no objects under {uri}")
    chosen = (o for o in chain([first], found) if not suffix or o.key.lower().endswith(suffix.lower()))
    return [
        {
            "key": o.key,
            "size": o.size,
            "size_mb": round(o.size / 1e6, 3),
            "last_modified": o.last_modified.isoformat(),
            "etag": o.etag,
        }
        for o in islice(chosen, max_keys)
    ]


def file_metadata(uri: str, settings: Settings) -> dict[str, Any]:
    """Rows, columns and, for Parquet, row groups, writer and format version."""
    with local_file(uri, settings) as (path, key):
        fmt, compressed = file_format(key)
        info: dict[str, Any] = {"uri": uri, "format": fmt, "gzip": compressed, "size": path.stat().st_size}
        if fmt == "parquet":
            try:
                meta = pq.ParquetFile(path).metadata
            except (pa.ArrowInvalid, OSError) as error:
                raise UnreadableFileError(f"{key}: not a readable Parquet file: {error}") from error
            schema = meta.schema.to_arrow_schema()
            info.update(
                rows=meta.num_rows,
                columns=[{"name": f.name, "type": str(f.type)} for f in schema],
                row_groups=meta.num_row_groups,
                created_by=meta.created_by,
                format_version=meta.format_version,
            )
            return info
        rows, schema, document = 0, None, None
        for batch in read_batches(path, key, ReadOptions(limits=settings.read_limits)):
            schema = schema or batch.batch.schema
            rows += batch.batch.num_rows
            document = batch.document
        info.update(rows=rows, columns=[{"name": f.name, "type": str(f.type)} for f in schema or []])
        if document:
            info["document"] = document
        return info


def validation_report(
    uri: str, settings: Settings, required_columns: list[str], max_rejected_ratio: float
) -> tuple[bool, dict[str, Any]]:
    """The validation report of a file, and whether it passes."""
    with local_file(uri, settings) as (path, key), tempfile.TemporaryDirectory() as folder:
        try:
            report = validate_file(
                path,
                key,
                "",
                Path(folder, "out.parquet"),
                options=ValidationOptions(read=ReadOptions(limits=settings.read_limits)),
            )
        except UnreadableFileError as error:
            return False, {"uri": uri, "key": key, "valid": False, "error": str(error)}
    summary = report.summary()
    columns = [c["name"] for c in summary["source_schema"]]
    missing = [c for c in required_columns if c not in columns]
    ratio = report.rows_rejected / report.rows_read if report.rows_read else 0.0
    valid = not missing and ratio <= max_rejected_ratio
    return valid, {"uri": uri, "key": key, "valid": valid, "missing_required_columns": missing, **summary}


def sample_rows(uri: str, settings: Settings, count: int) -> list[dict[str, Any]]:
    """The first `count` rows as they are in the file (nested fields flattened)."""
    rows: list[dict[str, Any]] = []
    with local_file(uri, settings) as (path, key):
        for batch in read_batches(path, key, ReadOptions(limits=settings.read_limits)):
            for row in batch.batch.slice(0, count - len(rows)).to_pylist():
                rows.append(flatten(row))
            if len(rows) >= count:
                break
    return rows


def _ids(path: Path, key: str, id_column: str | None, settings: Settings) -> Iterator[tuple[str, Any]]:
    """The id column and its value, for every row in file order."""
    column = id_column
    for batch in read_batches(path, key, ReadOptions(limits=settings.read_limits)):
        names = batch.batch.schema.names
        column = column or find_column(names, ID_CANDIDATES)
        if column not in names:
            raise UnreadableFileError(f"{key}: no id column {column or ''} among {names} (use --id-column)")
        for value in batch.batch.column(column).to_pylist():
            yield column, value


def all_ids(uri: str, settings: Settings, id_column: str | None) -> Iterator[dict[str, Any]]:
    """Every row's id with its row number (from 1), read a batch at a time."""
    with local_file(uri, settings) as (path, key):
        for row, (_, value) in enumerate(_ids(path, key, id_column, settings), 1):
            yield {"row": row, "id": value}


def id_summary(uri: str, settings: Settings, id_column: str | None) -> dict[str, Any]:
    """The id column, how many ids there are, how many are unique, and some repeated ones (found
    in bounded memory, as validation finds them)."""
    total = missing = 0
    column = id_column
    with local_file(uri, settings) as (path, key), tempfile.TemporaryDirectory(prefix="vectordb-ids-") as folder:
        finder = DuplicateIdFinder(Path(folder))
        for column, value in _ids(path, key, id_column, settings):  # noqa: B007 (the last column found is reported)
            total += 1
            if value is None:
                missing += 1
            else:
                finder.add(str(value), total)
        repeats = Counter(finder.duplicates().values())
    return {
        "uri": uri,
        "id_column": column,
        "total": total,
        "unique": total - missing - sum(repeats.values()),
        **({"missing": missing} if missing else {}),
        "repeated_examples": {vid: count + 1 for vid, count in sorted(repeats.items())[:20]},
    }
