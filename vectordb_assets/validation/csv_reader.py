"""CSV and TSV, streamed with pyarrow in blocks; every column read as bytes and decoded here."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pacsv

from vectordb_assets.validation.source import (
    BATCH_ROWS,
    CSV_BLOCK_BYTES,
    KNOWN_COLUMNS,
    ReadOptions,
    SourceBatch,
    UnreadableFileError,
    refuse_duplicate_columns,
)

BOM = "\ufeff"


class _QuoteCounter(io.RawIOBase):
    """Passes bytes through, counting quote characters: an odd count at the end means a quote
    was opened and never closed, and the last row swallowed the rest of the file."""

    def __init__(self, inner: IO[bytes], quote: bytes):
        self.inner = inner
        self.quote = quote
        self.quotes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        self.quotes += data.count(self.quote)
        buffer[: len(data)] = data
        return len(data)


def csv_header(head: bytes, key: str, delimiter: str, options: ReadOptions) -> tuple[list[str], bool]:
    # A byte-order mark before the header is no part of the first column's name.
    sample = head.decode(options.encoding, errors="replace").removeprefix(BOM)
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
        refuse_duplicate_columns(first, key)
        return first, True
    return [f"column_{i + 1}" for i in range(len(first))], False


def detect_delimiter(head: bytes, default: str, options: ReadOptions) -> str:
    """The delimiter of a CSV whose first line says: `default` unless that line has none of it
    outside quotes and has `;`, a tab or `|` (Excel's semicolon exports in many locales)."""
    first_line = head.decode(options.encoding, errors="replace").removeprefix(BOM).splitlines()[:1]
    if not first_line:
        return default
    fields = {
        d: len(next(csv.reader(first_line, delimiter=d, quotechar=options.quote_char)))
        for d in (default, ";", "\t", "|")
    }
    if fields[default] > 1:
        return default
    best = max(fields, key=fields.__getitem__)
    return best if fields[best] > 1 else default


def read_csv(handle: IO[bytes], head: bytes, key: str, delimiter: str, options: ReadOptions) -> Iterator[SourceBatch]:
    delimiter = options.delimiter or detect_delimiter(head, delimiter, options)
    names, has_header = csv_header(head, key, delimiter, options)
    options.limits.check_columns(key, len(names))
    # Every column is read as bytes and decoded here: types inferred from a first block would
    # freeze and reject a later row ("123", then "12a"), and invalid UTF-8 is replaced and
    # reported rather than failing the whole file.
    read = pacsv.ReadOptions(
        # A row must fit in a block: blocks as long as the longest row allowed, at least 1 MiB.
        block_size=max(CSV_BLOCK_BYTES, options.limits.max_row_bytes),
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
        malformed.append(
            (number, f"wrong number of fields (expected {row.expected_columns}, got {row.actual_columns})")
        )
        return "skip"

    parse = pacsv.ParseOptions(
        delimiter=delimiter, quote_char=options.quote_char, newlines_in_values=True, invalid_row_handler=skip_malformed
    )
    counted = _QuoteCounter(handle, options.quote_char.encode())
    held: SourceBatch | None = None  # the last batch waits: its last row may have swallowed the tail
    try:
        reader = pacsv.open_csv(
            io.BufferedReader(counted), read_options=read, parse_options=parse, convert_options=convert
        )
        for block in reader:
            for start in range(0, block.num_rows, BATCH_ROWS):
                if held is not None:
                    yield held
                held = _decode(block.slice(start, BATCH_ROWS))
                held.malformed, malformed[:] = list(malformed), []
                held.delimiter = delimiter
    except pa.ArrowInvalid as error:
        if "straddling" in str(error):  # pyarrow's words for a row longer than a block
            raise options.limits.refuse_row(key, "a row") from None
        raise UnreadableFileError(f"{key}: {error}") from error
    if held is not None and counted.quotes % 2 and held.batch.num_rows:
        # An opened quote never closed: the last row read the rest of the file into one field.
        held = SourceBatch(held.batch.slice(0, held.batch.num_rows - 1), held.repaired_rows, held.malformed)
        held.malformed.append((None, "unterminated quote: this row and every line after it were read as one field"))
    if held is not None:
        yield held


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
