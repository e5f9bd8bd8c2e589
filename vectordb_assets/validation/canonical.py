"""The canonical validated schema (the contract between assets) and the hashes it carries."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_WHITESPACE = re.compile(r"\s+")
# C0/C1 control characters other than tab and newline, which carry layout.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def embedding_type(dimension: int | None) -> pa.DataType:
    """Fixed-size float32 lists when the dimension is known, else plain float32 lists (all null)."""
    return pa.list_(pa.float32(), dimension) if dimension else pa.list_(pa.float32())


def canonical_schema(dimension: int | None) -> pa.Schema:
    """The schema of every validated Parquet file."""
    return pa.schema(
        [
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("text", pa.string()),
            pa.field("embedding", embedding_type(dimension)),
            pa.field("metadata", pa.string(), nullable=False),
            pa.field("content_hash", pa.string(), nullable=False),
            pa.field("source_key", pa.string(), nullable=False),
            pa.field("source_etag", pa.string(), nullable=False),
            pa.field("row_number", pa.int64(), nullable=False),
        ]
    )


def parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """A writer of canonical (or embedded) rows: dictionary encoding for every column but the
    vectors, whose distinct floats would fill a dictionary only for the writer to abandon it (a
    slower write and a larger file)."""
    return pq.ParquetWriter(path, schema, use_dictionary=[name for name in schema.names if name != "embedding"])


def sanitise_text(text: str) -> str:
    """Text as it will be embedded: NFC, no control characters, no surrounding whitespace."""
    return _CONTROL.sub(" ", unicodedata.normalize("NFC", text)).strip()


def text_hash(text: str) -> str:
    """sha256 of the text with whitespace runs collapsed, so reflowed text is the same content."""
    return hashlib.sha256(_WHITESPACE.sub(" ", text).encode("utf-8")).hexdigest()


def vector_hash(vector_bytes: bytes) -> str:
    """sha256 of a vector's float32 bytes, for rows that carry a vector and no text."""
    return hashlib.sha256(vector_bytes).hexdigest()


def row_doc_id(source_key: str, row_json: str) -> str:
    """A stable id for a row without an id column: its source and its content."""
    return hashlib.sha256(f"{source_key}\x1f{row_json}".encode()).hexdigest()[:32]
