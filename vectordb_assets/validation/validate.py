"""Validation: any supported raw file → canonical Parquet plus a report of what was rejected."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from resources.vector_store import RESERVED_FIELDS, reserved_renamed
from vectordb_assets.validation.canonical import (
    canonical_schema,
    parquet_writer,
    row_doc_id,
    sanitise_text,
    text_hash,
    vector_hash,
)
from vectordb_assets.validation.duplicate_ids import DuplicateIdFinder
from vectordb_assets.validation.readers import UnreadableFileError, read_batches
from vectordb_assets.validation.report import ValidationOptions, ValidationReport
from vectordb_assets.validation.values import find_column, flatten, parse_date, vectors_of

ID_CANDIDATES = ("id", "doc_id", "document_id", "uuid", "key", "_id")
TEXT_CANDIDATES = ("text", "content", "chunk", "body", "page_content", "document", "description")
EMBEDDING_CANDIDATES = ("embedding", "embeddings", "vector", "vectors", "values")
ROW_GROUP_ROWS = 10_000
PREVIEW_ROWS = 5
LINEAGE_KEY = b"vectordb"


class _CanonicalWriter:
    """Writes canonical rows in bounded row groups to a local Parquet file."""

    def __init__(self, out_path: Path, dimension: int | None, lineage: dict[str, Any]):
        self.schema = canonical_schema(dimension).with_metadata({LINEAGE_KEY: json.dumps(lineage).encode()})
        self.lineage = lineage
        self.writer = parquet_writer(out_path, self.schema)
        self.rows: dict[str, list] = {name: [] for name in self.schema.names}

    def add(self, **row: Any) -> None:
        for name, value in row.items():
            self.rows[name].append(value)
        if len(self.rows["doc_id"]) >= ROW_GROUP_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.rows["doc_id"]:
            self.writer.write_table(pa.Table.from_pydict(self.rows, schema=self.schema))
            self.rows = {name: [] for name in self.schema.names}

    def close(self) -> None:
        self.flush()
        self.writer.close()


# An id column that was guessed (not configured) and whose values repeat in more than half of
# the rows is not an id: the file's ids are derived from content instead.
MAX_GUESSED_ID_REPEATS = 0.5
# `id_column` for "none: derive ids from content".
NO_COLUMN = ""


def _choose_column(
    names: list[str], configured: str | None, candidates: tuple[str, ...], role: str, key: str
) -> str | None:
    if configured == NO_COLUMN:
        return None
    if configured is None:
        return find_column(names, candidates)
    if configured not in names:
        raise UnreadableFileError(f"{key}: configured {role} column {configured!r} not found; columns are {names}")
    return configured


def validate_file(
    path: Path,
    source_key: str,
    source_etag: str,
    out_path: Path,
    lineage: dict[str, Any] | None = None,
    options: ValidationOptions = ValidationOptions(),
    on_batch: Callable[[ValidationReport], None] = lambda report: None,
) -> ValidationReport:
    """Read the raw file at `path`, write its canonical form to `out_path`, return the report;
    `on_batch(report)` is called after each batch read.

    Raises `UnreadableFileError` when the file cannot be read at all.
    """
    report, repeated = _write_once(path, source_key, source_etag, out_path, lineage, options, on_batch)
    guessed = report.id_column if options.id_column is None else None
    if guessed and len(repeated) > MAX_GUESSED_ID_REPEATS * report.rows_read:
        # A column the platform guessed, repeated this often, names something else (an order of
        # many line items): the file is read again with ids derived from each row's content.
        repeats = len(repeated)
        derived = replace(options, id_column=NO_COLUMN)
        report, repeated = _write_once(path, source_key, source_etag, out_path, lineage, derived, on_batch)
        report.id_fallback = (
            f"the guessed id column {guessed!r} repeats in {repeats} rows:"
            " ids derived from each row's content instead (set id_column to keep it)"
        )
    if repeated:
        _drop_rows(out_path, set(repeated), report)
    return report


def _write_once(
    path: Path,
    source_key: str,
    source_etag: str,
    out_path: Path,
    lineage: dict[str, Any] | None,
    options: ValidationOptions,
    on_batch: Callable[[ValidationReport], None],
) -> tuple[ValidationReport, dict[int, str]]:
    """One pass over the file: its report, and the rows whose id repeated an earlier row's."""
    with tempfile.TemporaryDirectory(prefix="vectordb-ids-") as folder:
        id_finder = DuplicateIdFinder(Path(folder))
        report = _write_canonical(path, source_key, source_etag, out_path, lineage, options, id_finder, on_batch)
        return report, id_finder.duplicates()


def _drop_rows(out_path: Path, row_numbers: set[int], report: ValidationReport) -> None:
    """Rewrite the output without the rows whose id repeated an earlier row's (rare: a second pass
    is cheaper than holding every id of a large file in memory). Without an id column an id is a
    hash of the row's content, so a repeat is the same row again: kept once, counted as repeated,
    not rejected."""
    if report.id_column is None:
        report.rows_repeated += len(row_numbers)
    else:
        for row in sorted(row_numbers):
            report.reject(row, "duplicate id within the file", report.id_column)
    report.rows_kept -= len(row_numbers)
    report.preview = [r for r in report.preview if r["row_number"] not in row_numbers]
    report.examples.sort(key=lambda e: e["row"])
    dropped = pa.array(sorted(row_numbers), pa.int64())
    staging = out_path.with_name(out_path.name + ".dedup")
    source = pq.ParquetFile(out_path)
    with parquet_writer(staging, source.schema_arrow) as writer:
        for batch in source.iter_batches(batch_size=ROW_GROUP_ROWS):
            writer.write_batch(batch.filter(pc.invert(pc.is_in(batch.column("row_number"), dropped))))
    staging.replace(out_path)


def _write_canonical(
    path: Path,
    source_key: str,
    source_etag: str,
    out_path: Path,
    lineage: dict[str, Any] | None,
    options: ValidationOptions,
    id_finder: DuplicateIdFinder,
    on_batch: Callable[[ValidationReport], None],
) -> ValidationReport:
    report = ValidationReport(source_key=source_key)
    writer: _CanonicalWriter | None = None
    numbering = _RowNumbers()
    lineage = {"source_key": source_key, "source_etag": source_etag, **(lineage or {})}
    for source in read_batches(path, source_key, options.read):
        batch = source.batch
        report.delimiter = source.delimiter or report.delimiter
        report.document = source.document
        if writer is None and source.document is not None:
            # A document's rows are the platform's own: their id and text columns, no vectors or dates.
            options = replace(options, id_column="id", text_column="text", embedding_column=NO_COLUMN, date_column=None)
        if writer is None:
            names = batch.schema.names
            report.source_schema = batch.schema
            report.id_column = _choose_column(names, options.id_column, ID_CANDIDATES, "id", source_key)
            report.text_column = _choose_column(names, options.text_column, TEXT_CANDIDATES, "text", source_key)
            report.embedding_column = _choose_column(
                names, options.embedding_column, EMBEDDING_CANDIDATES, "embedding", source_key
            )
            if options.date_column and options.date_column not in names:
                raise UnreadableFileError(
                    f"{source_key}: date column {options.date_column!r} not found; columns are {names}"
                )
            vectors_preview = vectors_of(batch.column(report.embedding_column)) if report.embedding_column else []
            report.dimension = next((len(v) for v in vectors_preview if v is not None), None)
            writer = _CanonicalWriter(out_path, report.dimension, lineage)
        for number, reason in source.malformed:
            if number is not None:
                report.rows_read += 1
                report.reject(number, reason, None)
                numbering.skipped.add(number)
        _validate_batch(source.batch, source.repaired_rows, report, writer, id_finder, options, numbering)
        for number, reason in source.malformed:
            if number is None:  # a row the reader could place only after the batch (a swallowed tail)
                report.rows_read += 1
                report.reject(numbering.next(), reason, None)
        on_batch(report)
    if writer is None:
        raise UnreadableFileError(f"{source_key}: no rows (a header alone, or an empty file)")
    writer.close()
    return report


class _RowNumbers:
    """Numbers data rows from 1, passing over rows the reader skipped as malformed."""

    def __init__(self) -> None:
        self.last = 0
        self.skipped: set[int | None] = set()

    def next(self) -> int:
        self.last += 1
        while self.last in self.skipped:
            self.last += 1
        return self.last


def _column(batch: pa.RecordBatch, name: str | None) -> list[Any]:
    return batch.column(name).to_pylist() if name in batch.schema.names else [None] * batch.num_rows


def _validate_batch(
    batch: pa.RecordBatch,
    repaired_rows: set[int],
    report: ValidationReport,
    writer: _CanonicalWriter,
    id_finder: DuplicateIdFinder,
    options: ValidationOptions,
    numbering: _RowNumbers,
) -> None:
    special = {report.id_column, report.text_column, report.embedding_column}
    meta_names = [n for n in batch.schema.names if n not in special]
    ids = _column(batch, report.id_column)
    texts = _column(batch, report.text_column)
    dates = _column(batch, options.date_column) if options.start_date and options.date_column else None
    vectors = (
        vectors_of(batch.column(report.embedding_column))
        if report.embedding_column in batch.schema.names
        else [None] * batch.num_rows
    )
    meta_rows = batch.select(meta_names).to_pylist() if meta_names else [{}] * batch.num_rows
    for i in range(batch.num_rows):
        report.rows_read += 1
        row_number = numbering.next()
        if i in repaired_rows:
            report.repaired["invalid UTF-8 replaced"] += 1
        if dates is not None:
            day = parse_date(dates[i])
            if day is None:
                report.reject(row_number, "unparseable date", options.date_column)
                continue
            if day < options.start_date:
                report.rows_filtered += 1
                continue
        metadata_values = flatten(meta_rows[i])
        for name in RESERVED_FIELDS & metadata_values.keys():
            renamed = reserved_renamed(name, metadata_values)
            metadata_values[renamed] = metadata_values.pop(name)
            report.repaired[f"field {name!r} kept as {renamed!r} (a name the vector stores keep for the platform)"] += 1
        metadata = json.dumps(metadata_values, ensure_ascii=False, sort_keys=True)
        too_much = options.read.limits.metadata_problem(metadata, report.source_key)
        if too_much:
            report.reject(row_number, too_much, None)
            continue
        vector = vectors[i]
        if vector is not None:
            if len(vector) != report.dimension:
                report.reject(row_number, f"wrong dimension (expected {report.dimension})", report.embedding_column)
                continue
            if not np.isfinite(vector).all():
                report.reject(row_number, "NaN or infinite value in vector", report.embedding_column)
                continue
        text, raw_id = texts[i], ids[i]
        try:  # text or ids stored as bytes without a UTF-8 annotation (Parquet BYTE_ARRAY)
            text, raw_id = (v.decode("utf-8") if isinstance(v, bytes) else v for v in (text, raw_id))
        except UnicodeDecodeError:
            report.reject(row_number, "text or id is bytes that are not UTF-8", report.text_column)
            continue
        if report.text_column is None and report.embedding_column is None:
            text = "\n".join(f"{k}: {v}" for k, v in metadata_values.items() if isinstance(v, str) and v.strip())
        text = sanitise_text(str(text)) if text is not None else ""
        if not text and vector is None:
            report.reject(row_number, "empty text and no embedding", report.text_column)
            continue
        if len(text) > options.max_text_chars:
            report.reject(row_number, f"text longer than {options.max_text_chars} characters", report.text_column)
            continue
        if report.id_column:
            if raw_id is None or str(raw_id).strip() == "":
                report.reject(row_number, "missing id", report.id_column)
                continue
            doc_id = str(raw_id).strip()
        else:
            doc_id = row_doc_id(report.source_key, f"{text}\x1f{metadata}")
        id_finder.add(doc_id, row_number)
        writer.add(
            doc_id=doc_id,
            text=text or None,
            embedding=vector.tolist() if vector is not None else None,
            metadata=metadata,
            content_hash=text_hash(text) if text else vector_hash(vector.tobytes()),
            source_key=report.source_key,
            source_etag=writer.lineage["source_etag"],
            row_number=row_number,
        )
        if len(report.preview) < PREVIEW_ROWS:
            report.preview.append(
                {"row_number": row_number, "doc_id": doc_id, "text": text[:80], "metadata": metadata[:80]}
            )
        report.rows_kept += 1


def read_lineage(path: Path) -> dict[str, Any]:
    """The lineage (source key, etag, landing time) stored in a canonical Parquet file."""
    metadata = pq.read_schema(path).metadata or {}
    return json.loads(metadata.get(LINEAGE_KEY, b"{}"))
