"""Readers that stream a raw file as Arrow record batches of its own columns.

Every reader holds at most one batch (or one CSV block) in memory, whatever the file's size or
what it claims about itself: the bounds are the settings' `ReadLimits`.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vectordb_assets.validation.csv_reader import read_csv
from vectordb_assets.validation.document_reader import DOCUMENT_FORMATS, read_document
from vectordb_assets.validation.json_readers import array_prefix, check_nesting, read_json, read_jsonl
from vectordb_assets.validation.parquet_reader import read_parquet
from vectordb_assets.validation.source import (
    SNIFF_BYTES,
    ReadLimits,
    ReadOptions,
    SourceBatch,
    UnreadableFileError,
    file_format,
)

__all__ = ["ReadOptions", "SourceBatch", "UnreadableFileError", "file_format", "read_batches"]


class _ExpansionGuard(io.RawIOBase):
    """Decompresses a gzip file, refusing to expand past what the limits allow a file of its size."""

    def __init__(self, path: Path, key: str, limits: ReadLimits):
        self.inner = gzip.open(path, "rb")
        self.size = path.stat().st_size
        self.limit = limits.expansion_limit(self.size)
        self.key, self.limits = key, limits
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
            raise self.limits.refuse_expansion(self.key, self.size)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


def _open_binary(path: Path, key: str, compressed: bool, options: ReadOptions) -> io.BufferedReader:
    if compressed:
        return io.BufferedReader(_ExpansionGuard(path, key, options.limits), buffer_size=SNIFF_BYTES)
    return open(path, "rb", buffering=SNIFF_BYTES)


def _refuse_binary(head: bytes, key: str, fmt: str) -> None:
    nul = head.find(b"\x00")
    if nul >= 0:
        raise UnreadableFileError(f"{key}: binary data, not {fmt.upper()} (NUL byte at offset {nul})")


def read_batches(path: Path, key: str, options: ReadOptions = ReadOptions()) -> Iterator[SourceBatch]:
    """Stream the file at `path` (landed as `key`) in batches of at most `BATCH_ROWS` rows and
    the limits' bytes."""
    fmt, compressed = file_format(key)
    options.limits.check_object(key, path.stat().st_size)
    if fmt == "parquet":
        if compressed:
            raise UnreadableFileError(f"{key}: gzip around Parquet is not supported (Parquet compresses itself)")
        yield from read_parquet(path, key, options.limits)
        return
    with _open_binary(path, key, compressed, options) as handle:
        if fmt in DOCUMENT_FORMATS:
            yield from read_document(handle, key, fmt, options)
            return
        head = handle.peek(SNIFF_BYTES)[:SNIFF_BYTES]
        _refuse_binary(head, key, fmt)
        if fmt in ("csv", "tsv"):
            yield from read_csv(handle, head, key, "\t" if fmt == "tsv" else ",", options)
            return
        if fmt == "jsonl":
            yield from read_jsonl(handle, key, options)
            return
        check_nesting(handle, key, options.limits.max_nesting_depth)
    with _open_binary(path, key, compressed, options) as handle:
        prefix = array_prefix(handle, key)
    with _open_binary(path, key, compressed, options) as handle:
        yield from read_json(handle, key, prefix, options.limits)
