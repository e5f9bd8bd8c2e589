"""Readers that stream a raw file as Arrow record batches of its own columns.

Every reader holds at most one batch (or one CSV block) in memory, whatever the file's size.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Iterator

import ijson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

BATCH_ROWS = 10_000
CSV_BLOCK_BYTES = 1 << 20
SNIFF_BYTES = 64 << 10
KNOWN_COLUMNS = {"id", "doc_id", "document_id", "uuid", "key", "_id", "text", "content", "chunk", "body",
                 "page_content", "document", "description", "title", "embedding", "embeddings", "vector", "values"}
FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


class UnreadableFileError(ValueError):
    """The file cannot be read as the format its name claims; the message names file and place."""


@dataclass(frozen=True)
class ReadOptions:
    """How to parse a file, where its name does not say."""

    delimiter: str | None = None  # default: "," for .csv, tab for .tsv
    quote_char: str = '"'
    encoding: str = "utf-8"
    header: bool | None = None  # None: detect whether the first CSV row names the columns
    max_decompression_ratio: float = 100.0


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
            yield from _read_csv(handle, head, key, "\t" if fmt == "tsv" else ",", options)
        elif fmt == "jsonl":
            yield from _read_jsonl(handle, key, options)
        else:
            prefix = _array_prefix(handle, key)
            with _open_binary(path, key, compressed, options) as again:
                yield from _read_json(again, key, prefix)


def _csv_header(head: bytes, key: str, delimiter: str, options: ReadOptions) -> tuple[list[str], bool]:
    sample = head.decode(options.encoding, errors="replace")
    if not sample.strip():
        raise UnreadableFileError(f"{key}: empty file, no CSV header")
    first_line = sample.splitlines()[0]
    first = next(csv.reader([first_line], delimiter=delimiter, quotechar=options.quote_char))
    has_header = options.header
    if has_header is None:
        # A first row naming a familiar column ("id", "text", ...) is a header whatever the
        # sniffer thinks of rows that are all text.
        try:
            has_header = csv.Sniffer().has_header(sample[: sample.rfind("\n") + 1] or sample)
        except csv.Error:
            has_header = True
        has_header = has_header or any(name.strip().lower() in KNOWN_COLUMNS for name in first)
    if has_header:
        return first, True
    return [f"column_{i + 1}" for i in range(len(first))], False


def _read_csv(handle: IO[bytes], head: bytes, key: str, delimiter: str, options: ReadOptions) -> Iterator[SourceBatch]:
    delimiter = options.delimiter or delimiter
    names, has_header = _csv_header(head, key, delimiter, options)
    # Every column is read as bytes and decoded here: types inferred from a first block would
    # freeze and reject a later row ("123", then "12a"), and invalid UTF-8 is replaced and
    # reported rather than failing the whole file.
    read = pacsv.ReadOptions(
        block_size=CSV_BLOCK_BYTES,
        use_threads=False,  # so that malformed rows come with their line numbers
        encoding=options.encoding,
        column_names=names,
        skip_rows=1 if has_header else 0,
    )
    convert = pacsv.ConvertOptions(column_types={n: pa.binary() for n in names}, strings_can_be_null=False)
    malformed: list[tuple[int | None, str]] = []

    def skip_malformed(row: Any) -> str:
        # pyarrow numbers file lines from 1, header included; rows are numbered from the first data row.
        number = row.number - (1 if has_header else 0) if row.number is not None else None
        malformed.append((number, f"wrong number of fields (expected {row.expected_columns}, got {row.actual_columns})"))
        return "skip"

    parse = pacsv.ParseOptions(
        delimiter=delimiter, quote_char=options.quote_char, newlines_in_values=True, invalid_row_handler=skip_malformed
    )
    try:
        reader = pacsv.open_csv(handle, read_options=read, parse_options=parse, convert_options=convert)
        for block in reader:
            for start in range(0, block.num_rows, BATCH_ROWS):
                decoded = _decode(block.slice(start, BATCH_ROWS))
                decoded.malformed, malformed[:] = list(malformed), []
                yield decoded
    except pa.ArrowInvalid as error:
        raise UnreadableFileError(f"{key}: {error}") from error


def _decode(batch: pa.RecordBatch) -> SourceBatch:
    repaired: set[int] = set()
    columns = []
    for column in batch.columns:
        try:
            columns.append(column.cast(pa.string()))
        except pa.ArrowInvalid:
            values = []
            for i, raw in enumerate(column.to_pylist()):
                try:
                    values.append(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    values.append(raw.decode("utf-8", errors="replace"))
                    repaired.add(i)
            columns.append(pa.array(values, pa.string()))
    return SourceBatch(pa.RecordBatch.from_arrays(columns, names=batch.schema.names), repaired)


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
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            yield SourceBatch(batch, set())
    except (pa.ArrowInvalid, OSError) as error:
        raise UnreadableFileError(f"{key}: not a readable Parquet file: {error}") from error


def _read_jsonl(handle: IO[bytes], key: str, options: ReadOptions) -> Iterator[SourceBatch]:
    rows: list[dict[str, Any]] = []
    text = io.TextIOWrapper(handle, encoding=options.encoding, errors="replace")
    for line_number, line in enumerate(text, start=1):
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
            yield SourceBatch(rows_to_batch(rows), set())
            rows = []
    if rows:
        yield SourceBatch(rows_to_batch(rows), set())


def _array_prefix(handle: IO[bytes], key: str) -> str:
    """The ijson prefix of the objects: the top-level array, or the first array of objects in the
    top-level object (scraper outputs such as {"count": 2, "products": [...]})."""
    candidate = None
    try:
        for prefix, event, _ in ijson.parse(handle):
            if prefix == "" and event == "start_array":
                return "item"
            if prefix == "" and event == "start_map":
                continue
            if event == "start_array" and "." not in prefix:
                candidate = prefix
            elif candidate and prefix == f"{candidate}.item":
                if event == "start_map":
                    return f"{candidate}.item"
                candidate = None
    except ijson.JSONError as error:
        raise UnreadableFileError(f"{key}: invalid JSON: {error}") from error
    raise UnreadableFileError(f"{key}: expected an array of objects, or an object holding one")


def _read_json(handle: IO[bytes], key: str, prefix: str) -> Iterator[SourceBatch]:
    rows: list[dict[str, Any]] = []
    try:
        for number, value in enumerate(ijson.items(handle, prefix, use_float=True), start=1):
            if not isinstance(value, dict):
                raise UnreadableFileError(f"{key}: item {number}: expected a JSON object, got {type(value).__name__}")
            rows.append(value)
            if len(rows) == BATCH_ROWS:
                yield SourceBatch(rows_to_batch(rows), set())
                rows = []
    except ijson.JSONError as error:
        raise UnreadableFileError(f"{key}: invalid JSON after {len(rows)} objects: {error}") from error
    if rows:
        yield SourceBatch(rows_to_batch(rows), set())


def rows_to_batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    """Objects to one batch; a field whose values Arrow cannot type alike is kept as JSON text."""
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
