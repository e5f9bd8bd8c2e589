"""What every reader shares: the options, the batches it yields, and the error it raises."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Iterable

import pyarrow as pa

BATCH_ROWS = 10_000
CSV_BLOCK_BYTES = 1 << 20
SNIFF_BYTES = 64 << 10
KNOWN_COLUMNS = {"id", "doc_id", "document_id", "uuid", "key", "_id", "text", "content", "chunk", "body",
                 "page_content", "document", "description", "title", "embedding", "embeddings", "vector", "values"}
FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


class UnreadableFileError(ValueError):
    """The file cannot be read as the format its name claims; the message names file and place,
    and `location` holds the line, item, row or field when one is known."""

    def __init__(self, message: str, **location: Any):
        super().__init__(message)
        self.location = location


@dataclass(frozen=True)
class ReadOptions:
    """How to parse a file, where its name does not say."""

    delimiter: str | None = None  # default: "," for .csv, tab for .tsv
    quote_char: str = '"'
    encoding: str = "utf-8"
    header: bool | None = None  # None: detect whether the first CSV row names the columns
    max_decompression_ratio: float = 100.0
    max_nesting_depth: int = 64  # deeper JSON is refused before any parser sees it


@dataclass
class SourceBatch:
    """Rows of the source file; `repaired_rows` are batch offsets whose invalid UTF-8 was replaced;
    `malformed` are (line number, reason) of CSV rows skipped since the previous batch."""

    batch: pa.RecordBatch
    repaired_rows: set[int]
    malformed: list[tuple[int | None, str]] = field(default_factory=list)


def file_format(key: str) -> tuple[str, bool]:
    """The format named by the key's extension, and whether it is gzip-compressed."""
    suffixes = [s.lower() for s in PurePosixPath(key).suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    name_suffixes = suffixes[:-1] if compressed else suffixes
    if name_suffixes and name_suffixes[-1] in FORMATS:
        return FORMATS[name_suffixes[-1]], compressed
    raise UnreadableFileError(
        f"{key}: unsupported file type (expected .csv, .tsv, .parquet, .jsonl, .ndjson or .json, optionally .gz)"
    )




def refuse_duplicate_columns(names: Iterable[str], key: str) -> None:
    """Two columns of one name cannot both be kept apart in a row: refuse, naming them."""
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise UnreadableFileError(
            f"{key}: column names repeat: {', '.join(map(repr, repeated))} (rename them so each is unique)",
            field=repeated[0],
        )
