"""Rows for PostgreSQL's binary COPY, encoded a column at a time with Arrow and numpy.

psycopg's `write_row` formats one row per Python call; for the hundreds of thousands of rows of a
file, encoding each column in one vectorized step and joining the fields row-wise is several
times faster. Format: https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4

Example::

    columns = [text_column(ids), vector_column(vectors), jsonb_column(metadata)]
    copy_binary(conn, "copy docs (id, embedding, metadata) from stdin with (format binary)", len(ids), columns)
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

# Rows encoded at once (bounds the memory of a COPY's encoded copy).
BLOCK_ROWS = 8192
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# The largest magnitude a `halfvec` value holds (float16's); beyond it a value would be infinite.
HALFVEC_MAX = float(np.finfo(np.float16).max)

# One field of a block of rows: the pieces (arrays with a value per row, or scalars shared by all
# rows) whose bytes, joined, are the field's length word and its value.
Field = list[pa.Array | pa.Scalar]
# A column to copy: gives the field of rows [start, stop).
Column = Callable[[int, int], Field]


def _bytes(value: bytes) -> pa.Scalar:
    return pa.scalar(value, pa.large_binary())


def _int32_words(values: np.ndarray) -> pa.Array:
    """Big-endian int32 values as 4-byte binary values."""
    words = np.ascontiguousarray(values, dtype=">i4")
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(4), len(words), [None, pa.py_buffer(words)])
    return fixed.cast(pa.large_binary())


def _text_field(data: pa.Array, prefix: bytes) -> Field:
    data = data.cast(pa.large_binary())
    lengths = pc.binary_length(data).to_numpy(zero_copy_only=False) + len(prefix)
    if data.null_count:
        lengths = np.where(data.is_null().to_numpy(zero_copy_only=False), -1, lengths)
        data = data.fill_null(b"")
    return [_int32_words(lengths), _bytes(prefix), data] if prefix else [_int32_words(lengths), data]


def text_column(values: pa.Array | pa.ChunkedArray | str | None, prefix: bytes = b"") -> Column:
    """A text column (nulls become SQL NULL), or one string (or NULL) for every row; `prefix` goes
    before each non-null value."""
    if values is None or isinstance(values, str):
        if values is None:
            constant = [_bytes(struct.pack(">i", -1))]
        else:
            payload = prefix + values.encode("utf-8")
            constant = [_bytes(struct.pack(">i", len(payload)) + payload)]
        return lambda start, stop: constant
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return lambda start, stop: _text_field(array.slice(start, stop - start), prefix)


def jsonb_column(values: pa.Array | pa.ChunkedArray) -> Column:
    """A column of JSON texts as jsonb (its binary form is a version byte, 1, and the text)."""
    return text_column(values, prefix=b"\x01")


def _vector_field(vectors: np.ndarray, value_type: str) -> Field:
    rows, dimension = vectors.shape
    encoded = np.empty(
        rows, dtype=[("length", ">i4"), ("dimension", ">u2"), ("unused", ">u2"), ("values", value_type, (dimension,))]
    )
    encoded["length"] = 4 + np.dtype(value_type).itemsize * dimension
    encoded["dimension"] = dimension
    encoded["unused"] = 0
    encoded["values"] = vectors
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(encoded.itemsize), rows, [None, pa.py_buffer(encoded)])
    return [fixed.cast(pa.large_binary())]


def first_beyond_half_range(vectors: np.ndarray) -> int | None:
    """The first row of `vectors` with a value a `halfvec` cannot hold, or None."""
    beyond = (np.abs(vectors) > HALFVEC_MAX).any(axis=1)
    return int(np.argmax(beyond)) if beyond.any() else None


def vector_column(vectors: np.ndarray, half: bool = False) -> Column:
    """A float matrix as pgvector `vector` values (dimension and a reserved 0 as big-endian int16,
    then the values as big-endian float32), or as `halfvec` values with `half` (the values as
    big-endian float16: the caller keeps them within its range)."""
    value_type = ">f2" if half else ">f4"
    return lambda start, stop: _vector_field(vectors[start:stop], value_type)


def timestamptz_column(value: datetime) -> Column:
    """One aware timestamp for every row (microseconds since 2000-01-01 UTC)."""
    if value.tzinfo is None:
        raise ValueError(f"timestamp {value.isoformat()} has no time zone")
    microseconds = (value - POSTGRES_EPOCH) // timedelta(microseconds=1)
    constant = [_bytes(struct.pack(">iq", 8, microseconds))]
    return lambda start, stop: constant


def encode_rows(fields: Sequence[Field]) -> pa.Buffer:
    """The rows made of `fields` (in column order), back to back, as the COPY stream carries them."""
    pieces = [_bytes(struct.pack(">h", len(fields)))] + [piece for field in fields for piece in field]
    rows = pc.binary_join_element_wise(*pieces, _bytes(b""))
    if isinstance(rows, pa.Scalar):
        raise ValueError("at least one field must have a value per row")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)
    start, end = offsets[rows.offset], offsets[rows.offset + len(rows)]
    return rows.buffers()[2].slice(int(start), int(end - start))


def copy_binary(
    conn: psycopg.Connection,
    statement: sql.Composable | str,
    rows: int,
    columns: Sequence[Column],
    block_rows: int = BLOCK_ROWS,
) -> None:
    """Run `statement` (a `COPY … FROM STDIN WITH (FORMAT binary)`) with `rows` rows made of
    `columns`, encoded and sent `block_rows` at a time."""
    with conn.cursor().copy(statement) as copy:
        copy.write(SIGNATURE)
        for start in range(0, rows, block_rows):
            stop = min(start + block_rows, rows)
            copy.write(memoryview(encode_rows([column(start, stop) for column in columns])))
        copy.write(TRAILER)
