"""Readers that stream a raw file as Arrow record batches of its own columns."""

from __future__ import annotations

import csv
import json
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

BATCH_ROWS = 10_000
CSV_BLOCK_BYTES = 4 << 20


class UnreadableFileError(ValueError):
    """The file cannot be read as the format its name claims; the message names file and place."""


def file_format(key: str) -> str:
    """The format named by the key's extension: csv, tsv, parquet, jsonl or json."""
    suffixes = [s.lower() for s in PurePosixPath(key).suffixes]
    for suffix in reversed(suffixes):
        fmt = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
               ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}.get(suffix)
        if fmt:
            return fmt
    raise UnreadableFileError(f"{key}: unsupported file type (expected .csv, .tsv, .parquet, .jsonl or .json)")


def read_batches(path: Path, key: str) -> Iterator[pa.RecordBatch]:
    """Stream the file at `path` (landed as `key`) in batches of at most `BATCH_ROWS` rows."""
    fmt = file_format(key)
    if fmt in ("csv", "tsv"):
        yield from _read_csv(path, key, "\t" if fmt == "tsv" else ",")
    elif fmt == "parquet":
        yield from _read_parquet(path, key)
    elif fmt == "jsonl":
        yield from _read_jsonl(path, key)
    else:
        yield from _read_json(path, key)


def _read_csv(path: Path, key: str, delimiter: str) -> Iterator[pa.RecordBatch]:
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle, delimiter=delimiter), None)
    if not header:
        raise UnreadableFileError(f"{key}: empty file, no CSV header")
    # Every column is read as text: types inferred from the first block would freeze and then
    # reject a later row ("123" then "12a"). Metadata keeps the values exactly as written.
    convert = pacsv.ConvertOptions(column_types={name: pa.string() for name in header}, strings_can_be_null=False)
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=convert,
        )
        for batch in reader:
            yield from _split(batch)
    except pa.ArrowInvalid as error:
        raise UnreadableFileError(f"{key}: {error}") from error


def _read_parquet(path: Path, key: str) -> Iterator[pa.RecordBatch]:
    try:
        parquet = pq.ParquetFile(path)
        yield from parquet.iter_batches(batch_size=BATCH_ROWS)
    except (pa.ArrowInvalid, OSError) as error:
        raise UnreadableFileError(f"{key}: not a readable Parquet file: {error}") from error


def _read_jsonl(path: Path, key: str) -> Iterator[pa.RecordBatch]:
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise UnreadableFileError(f"{key}: line {line_number}: invalid JSON: {error.msg}") from error
            if not isinstance(value, dict):
                raise UnreadableFileError(f"{key}: line {line_number}: expected a JSON object, got {type(value).__name__}")
            rows.append(value)
            if len(rows) == BATCH_ROWS:
                yield _rows_to_batch(rows)
                rows = []
    if rows:
        yield _rows_to_batch(rows)


def _read_json(path: Path, key: str) -> Iterator[pa.RecordBatch]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            document = json.load(handle)
    except json.JSONDecodeError as error:
        raise UnreadableFileError(f"{key}: line {error.lineno}: invalid JSON: {error.msg}") from error
    records = document if isinstance(document, list) else _first_list_of_objects(document)
    if records is None or not all(isinstance(r, dict) for r in records):
        raise UnreadableFileError(f"{key}: expected an array of objects, or an object holding one")
    for start in range(0, len(records), BATCH_ROWS):
        yield _rows_to_batch(records[start : start + BATCH_ROWS])


def _first_list_of_objects(document: Any) -> list | None:
    if isinstance(document, dict):
        for value in document.values():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                return value
    return None


def _rows_to_batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    """Objects to one batch; nested values stay JSON so that no field is lost."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    columns = {}
    for name in names:
        values = [row.get(name) for row in rows]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            columns[name] = pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values])
    return pa.RecordBatch.from_pydict(columns)


def _split(batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
    for start in range(0, batch.num_rows, BATCH_ROWS):
        yield batch.slice(start, BATCH_ROWS)
