"""Parquet, held by what its data decodes to rather than by what its footer says.

Text and binary columns are read dictionary-encoded, so a batch costs its dictionary and indices
however often a value repeats; each row's decoded bytes are counted from the dictionary's value
lengths before anything is decoded. A row over `max_row_bytes` is refused, rows are decoded in
slices of at most `max_batch_bytes`, and the whole file may decode to no more than
`max_decompressed_bytes`: a 2 MB file whose footer claims 2 MB and whose dictionary values
decode to 100 GB is refused after its indices are read, before any value is decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vectordb_assets.validation.limits import ReadLimits
from vectordb_assets.validation.source import BATCH_ROWS, SourceBatch, UnreadableFileError, refuse_duplicate_columns


def _is_text(kind: pa.DataType) -> bool:
    return (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )


def row_bytes(batch: pa.RecordBatch) -> np.ndarray:
    """Each row's decoded size: a dictionary column's value lengths looked up by index, a text
    column's own lengths, any other column's bytes shared evenly among its rows."""
    total = np.zeros(batch.num_rows, dtype=np.int64)
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            lengths = pc.binary_length(column.dictionary).fill_null(0).to_numpy(zero_copy_only=False)
            indices = column.indices.fill_null(0).to_numpy(zero_copy_only=False)
            sizes = np.where(
                column.is_valid().to_numpy(zero_copy_only=False), lengths[indices] if len(lengths) else 0, 0
            )
        elif _is_text(column.type):
            sizes = pc.binary_length(column).fill_null(0).to_numpy(zero_copy_only=False)
        else:
            sizes = np.full(batch.num_rows, column.nbytes // max(batch.num_rows, 1))
        total += sizes.astype(np.int64)
    return total


def slices(sizes: np.ndarray, budget: int) -> Iterator[tuple[int, int]]:
    """(start, length) of consecutive rows whose sizes add up to at most `budget` (a row over it alone)."""
    ends = np.cumsum(sizes)
    start = 0
    while start < len(sizes):
        before = ends[start - 1] if start else 0
        end = max(int(np.searchsorted(ends, before + budget, side="right")), start + 1)
        yield start, end - start
        start = end


def _decoded(piece: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    arrays = [
        (column.dictionary_decode() if pa.types.is_dictionary(column.type) else column).cast(schema.field(name).type)
        for name, column in zip(piece.schema.names, piece.columns)
    ]
    return pa.RecordBatch.from_arrays(arrays, names=piece.schema.names)


def read_parquet(path: Path, key: str, limits: ReadLimits) -> Iterator[SourceBatch]:
    """The file's rows in batches of at most `BATCH_ROWS` rows and `max_batch_bytes` decoded
    bytes. A first pass over the dictionary indices (nothing decoded) measures what the file
    decodes to, so a bomb is refused before any of it is."""
    size = path.stat().st_size
    try:
        schema = pq.read_schema(path)
        limits.check_columns(key, len(schema.names))
        refuse_duplicate_columns(schema.names, key)
        parquet = pq.ParquetFile(path, read_dictionary=[f.name for f in schema if _is_text(f.type)])
        footer = sum(parquet.metadata.row_group(i).total_byte_size for i in range(parquet.metadata.num_row_groups))
        if footer > limits.expansion_limit(size):
            raise limits.refuse_expansion(key, size)
        decoded, offset = 0, 0
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            sizes = row_bytes(batch)
            if len(sizes) and sizes.max() > limits.max_row_bytes:
                row = offset + int(np.argmax(sizes)) + 1
                raise limits.refuse_row(key, f"row {row}", row=row)
            decoded += int(sizes.sum())
            if decoded > limits.max_decompressed_bytes:
                raise limits.refuse_expansion(key, size)
            offset += batch.num_rows
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            sizes = row_bytes(batch)
            for start, length in slices(sizes, limits.max_batch_bytes):
                yield SourceBatch(_decoded(batch.slice(start, length), schema), set())
    except (pa.ArrowInvalid, OSError) as error:
        raise UnreadableFileError(f"{key}: not a readable Parquet file: {error}") from error
