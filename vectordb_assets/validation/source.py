"""What every reader shares: the options, the batches it yields, and the error it raises."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa

from vectordb_assets.validation.errors import UnreadableFileError
from vectordb_assets.validation.limits import ReadLimits

__all__ = ["ReadLimits", "ReadOptions", "SourceBatch", "UnreadableFileError", "file_format", "refuse_duplicate_columns"]

BATCH_ROWS = 10_000
CSV_BLOCK_BYTES = 1 << 20
SNIFF_BYTES = 64 << 10
KNOWN_COLUMNS = {
    "id",
    "doc_id",
    "document_id",
    "uuid",
    "key",
    "_id",
    "text",
    "content",
    "chunk",
    "body",
    "page_content",
    "document",
    "description",
    "title",
    "embedding",
    "embeddings",
    "vector",
    "values",
}
FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".docx": "docx",
}


@dataclass(frozen=True)
class ReadOptions:
    """How to parse a file, where its name does not say."""

    delimiter: str | None = None  # default: "," for .csv, tab for .tsv
    quote_char: str = '"'
    encoding: str = "utf-8"
    header: bool | None = None  # None: detect whether the first CSV row names the columns
    limits: ReadLimits = field(default_factory=ReadLimits)  # the settings' bounds, never a run's


@dataclass
class SourceBatch:
    """Rows of the source file; `repaired_rows` are batch offsets whose invalid UTF-8 was replaced;
    `malformed` are (line number, reason) of CSV rows skipped since the previous batch."""

    batch: pa.RecordBatch
    repaired_rows: set[int]
    malformed: list[tuple[int | None, str]] = field(default_factory=list)
    delimiter: str | None = None  # a CSV's, as given or detected
    document: dict[str, Any] | None = None  # a document's pages, sections and chunks (tables: None)


def file_format(key: str) -> tuple[str, bool]:
    """The format named by the key's extension, and whether it is gzip-compressed."""
    suffixes = [s.lower() for s in PurePosixPath(key).suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    name_suffixes = suffixes[:-1] if compressed else suffixes
    if name_suffixes and name_suffixes[-1] in FORMATS:
        return FORMATS[name_suffixes[-1]], compressed
    raise UnreadableFileError(
        f"{key}: unsupported file type (expected .csv, .tsv, .parquet, .jsonl, .ndjson, .json, .pdf, .html, .md,"
        " .txt or .docx, optionally .gz)"
    )


def refuse_duplicate_columns(names: Iterable[str], key: str) -> None:
    """Two columns of one name cannot both be kept apart in a row: refuse, naming them."""
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise UnreadableFileError(
            f"{key}: column names repeat: {', '.join(map(repr, repeated))} (rename them so each is unique)",
            field=repeated[0],
        )
