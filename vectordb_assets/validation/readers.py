"""Readers that stream a raw file as Arrow record batches of its own columns.

Every reader holds at most one batch (or one CSV block) in memory, whatever the file's size.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from vectordb_assets.validation.csv_reader import read_csv
from vectordb_assets.validation.json_readers import array_prefix, check_nesting, read_json, read_jsonl
from vectordb_assets.validation.source import (
    BATCH_ROWS,
    SNIFF_BYTES,
    ReadOptions,
    SourceBatch,
    UnreadableFileError,
    file_format,
    refuse_duplicate_columns,
)

__all__ = ["ReadOptions", "SourceBatch", "UnreadableFileError", "file_format", "read_batches"]

class _RatioGuard(io.RawIOBase):
    """Decompresses a gzip file, refusing to expand past `max_ratio` times its compressed size."""

    def __init__(self, path: Path, key: str, max_ratio: float):
        self.inner = gzip.open(path, "rb")
        self.limit = max(path.stat().st_size, 1) * max_ratio
        self.key = key
        self.max_ratio = max_ratio
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.inner.read(len(buffer))
        except (OSError, EOFError) as error:
            raise UnreadableFileError(f"{self.key}: corrupt gzip data: {error}") from error
        self.total += len(data)
        if self.total > self.limit:
            raise UnreadableFileError(
                f"{self.key}: decompresses to more than {self.max_ratio:g}x its size; refused as a likely "
                "decompression bomb (raise max_decompression_ratio if the file is genuine)"
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


def _open_binary(path: Path, key: str, compressed: bool, options: ReadOptions) -> io.BufferedReader:
    if compressed:
        return io.BufferedReader(_RatioGuard(path, key, options.max_decompression_ratio), buffer_size=SNIFF_BYTES)
    return open(path, "rb", buffering=SNIFF_BYTES)


def _refuse_binary(head: bytes, key: str, fmt: str) -> None:
    nul = head.find(b"\x00")
    if nul >= 0:
        raise UnreadableFileError(f"{key}: binary data, not {fmt.upper()} (NUL byte at offset {nul})")


def read_batches(path: Path, key: str, options: ReadOptions = ReadOptions()) -> Iterator[SourceBatch]:
    """Stream the file at `path` (landed as `key`) in batches of at most `BATCH_ROWS` rows."""
    fmt, compressed = file_format(key)
    if fmt == "parquet":
        if compressed:
            raise UnreadableFileError(f"{key}: gzip around Parquet is not supported (Parquet compresses itself)")
        yield from _read_parquet(path, key, options)
        return
    with _open_binary(path, key, compressed, options) as handle:
        head = handle.peek(SNIFF_BYTES)[:SNIFF_BYTES]
        _refuse_binary(head, key, fmt)
        if fmt in ("csv", "tsv"):
            yield from read_csv(handle, head, key, "\t" if fmt == "tsv" else ",", options)
            return
        if fmt == "jsonl":
            yield from read_jsonl(handle, key, options)
            return
        check_nesting(handle, key, options.max_nesting_depth)
    with _open_binary(path, key, compressed, options) as handle:
        prefix = array_prefix(handle, key)
    with _open_binary(path, key, compressed, options) as handle:
        yield from read_json(handle, key, prefix)


def _read_parquet(path: Path, key: str, options: ReadOptions) -> Iterator[SourceBatch]:
    try:
        parquet = pq.ParquetFile(path)
        metadata = parquet.metadata
        expanded = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        if expanded > max(path.stat().st_size, 1) * options.max_decompression_ratio:
            raise UnreadableFileError(
                f"{key}: decompresses to more than {options.max_decompression_ratio:g}x its size; refused as a "
                "likely decompression bomb (raise max_decompression_ratio if the file is genuine)"
            )
        refuse_duplicate_columns(parquet.schema_arrow.names, key)
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            yield SourceBatch(batch, set())
    except (pa.ArrowInvalid, OSError) as error:
        raise UnreadableFileError(f"{key}: not a readable Parquet file: {error}") from error


