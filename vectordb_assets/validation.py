"""Validation: any supported raw file → canonical Parquet plus a report of what was rejected."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vectordb_assets.duplicate_ids import DuplicateIdFinder
from vectordb_assets.canonical import canonical_schema, parquet_writer, row_doc_id, sanitise_text, text_hash, vector_hash
from vectordb_assets.readers import ReadOptions, UnreadableFileError, read_batches

ID_CANDIDATES = ("id", "doc_id", "document_id", "uuid", "key", "_id")
TEXT_CANDIDATES = ("text", "content", "chunk", "body", "page_content", "document", "description")
EMBEDDING_CANDIDATES = ("embedding", "embeddings", "vector", "vectors", "values")
ROW_GROUP_ROWS = 10_000
REJECTION_EXAMPLES = 20
PREVIEW_ROWS = 5
LINEAGE_KEY = b"vectordb"


@dataclass(frozen=True)
class ValidationOptions:
    """Choices that the file's own names cannot make."""

    read: ReadOptions = ReadOptions()
    id_column: str | None = None
    text_column: str | None = None
    embedding_column: str | None = None
    max_text_chars: int = 100_000
    date_column: str | None = None
    start_date: dt.date | None = None


@dataclass
class ValidationReport:
    """What validation found in one file."""

    source_key: str
    rows_read: int = 0
    rows_kept: int = 0
    rows_filtered: int = 0
    rejected: Counter = field(default_factory=Counter)
    repaired: Counter = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)
    id_column: str | None = None
    text_column: str | None = None
    embedding_column: str | None = None
    dimension: int | None = None
    source_schema: pa.Schema | None = None
    preview: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    def reject(self, row_number: int, reason: str, column: str | None) -> None:
        self.rejected[reason] += 1
        if len(self.examples) < REJECTION_EXAMPLES:
            self.examples.append({"row": row_number, "reason": reason, "field": column})

    def summary(self) -> dict[str, Any]:
        """JSON-safe form, stored with the validated file and shown as metadata."""
        return {
            "source_key": self.source_key,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_filtered": self.rows_filtered,
            "rows_rejected": self.rows_rejected,
            "rejected_by_reason": dict(self.rejected),
            "repaired_by_reason": dict(self.repaired),
            "rejection_examples": self.examples,
            "id_column": self.id_column,
            "text_column": self.text_column,
            "embedding_column": self.embedding_column,
            "dimension": self.dimension,
            "source_schema": [{"name": f.name, "type": str(f.type)} for f in self.source_schema or []],
        }


def find_column(names: Iterable[str], candidates: tuple[str, ...]) -> str | None:
    """The first candidate present among `names`, matched without regard to case."""
    by_lower = {name.lower(): name for name in names}
    return next((by_lower[c] for c in candidates if c in by_lower), None)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys ({"a": {"b": 1}} → {"a.b": 1}), values JSON-safe."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = _json_safe(value)
    return flat


def _vectors(column: pa.Array) -> list[np.ndarray | None]:
    """Per-row float32 vectors from a list, fixed-size list, binary or JSON-text column."""
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        return [None if v is None else np.frombuffer(v, dtype=np.float32) for v in column.to_pylist()]
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return [None if v in (None, "") else np.asarray(json.loads(v), dtype=np.float32) for v in column.to_pylist()]
    return [None if v is None else np.asarray(v, dtype=np.float32) for v in column.to_pylist()]


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.datetime.fromisoformat(str(value).strip()).date()
    except ValueError:
        return None


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


def _choose_column(names: list[str], configured: str | None, candidates: tuple[str, ...], role: str, key: str) -> str | None:
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
) -> ValidationReport:
    """Read the raw file at `path`, write its canonical form to `out_path`, return the report.

    Raises `UnreadableFileError` when the file cannot be read at all.
    """
    with tempfile.TemporaryDirectory(prefix="vectordb-ids-") as folder:
        id_finder = DuplicateIdFinder(Path(folder))
        report = _write_canonical(path, source_key, source_etag, out_path, lineage, options, id_finder)
        repeated = id_finder.duplicates()
    if repeated:
        _drop_rows(out_path, set(repeated), report)
    return report


def _drop_rows(out_path: Path, row_numbers: set[int], report: ValidationReport) -> None:
    """Rewrite the output without the rows whose id repeated an earlier row's (rare: a second pass
    is cheaper than holding every id of a large file in memory)."""
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
) -> ValidationReport:
    report = ValidationReport(source_key=source_key)
    writer: _CanonicalWriter | None = None
    numbering = _RowNumbers()
    lineage = {"source_key": source_key, "source_etag": source_etag, **(lineage or {})}
    for source in read_batches(path, source_key, options.read):
        batch = source.batch
        if writer is None:
            names = batch.schema.names
            report.source_schema = batch.schema
            report.id_column = _choose_column(names, options.id_column, ID_CANDIDATES, "id", source_key)
            report.text_column = _choose_column(names, options.text_column, TEXT_CANDIDATES, "text", source_key)
            report.embedding_column = _choose_column(
                names, options.embedding_column, EMBEDDING_CANDIDATES, "embedding", source_key
            )
            if options.date_column and options.date_column not in names:
                raise UnreadableFileError(f"{source_key}: date column {options.date_column!r} not found; columns are {names}")
            vectors_preview = _vectors(batch.column(report.embedding_column)) if report.embedding_column else []
            report.dimension = next((len(v) for v in vectors_preview if v is not None), None)
            writer = _CanonicalWriter(out_path, report.dimension, lineage)
        for number, reason in source.malformed:
            report.rows_read += 1
            report.reject(number or 0, reason, None)
            numbering.skipped.add(number)
        _validate_batch(source.batch, source.repaired_rows, report, writer, id_finder, options, numbering)
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
    vectors = _vectors(batch.column(report.embedding_column)) if report.embedding_column in batch.schema.names else [None] * batch.num_rows
    meta_rows = batch.select(meta_names).to_pylist() if meta_names else [{}] * batch.num_rows
    for i in range(batch.num_rows):
        report.rows_read += 1
        row_number = numbering.next()
        if i in repaired_rows:
            report.repaired["invalid UTF-8 replaced"] += 1
        if dates is not None:
            day = _parse_date(dates[i])
            if day is None:
                report.reject(row_number, "unparseable date", options.date_column)
                continue
            if day < options.start_date:
                report.rows_filtered += 1
                continue
        metadata_values = flatten(meta_rows[i])
        metadata = json.dumps(metadata_values, ensure_ascii=False, sort_keys=True)
        vector = vectors[i]
        if vector is not None:
            if len(vector) != report.dimension:
                report.reject(row_number, f"wrong dimension (expected {report.dimension})", report.embedding_column)
                continue
            if not np.isfinite(vector).all():
                report.reject(row_number, "NaN or infinite value in vector", report.embedding_column)
                continue
        text = texts[i]
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
            if ids[i] is None or str(ids[i]).strip() == "":
                report.reject(row_number, "missing id", report.id_column)
                continue
            doc_id = str(ids[i]).strip()
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
            report.preview.append({"row_number": row_number, "doc_id": doc_id, "text": text[:80], "metadata": metadata[:80]})
        report.rows_kept += 1


def read_lineage(path: Path) -> dict[str, Any]:
    """The lineage (source key, etag, landing time) stored in a canonical Parquet file."""
    metadata = pq.read_schema(path).metadata or {}
    return json.loads(metadata.get(LINEAGE_KEY, b"{}"))
