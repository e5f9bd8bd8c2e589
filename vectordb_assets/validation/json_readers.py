"""JSON Lines and JSON (an array of objects, or an object holding one), streamed; nesting is
bounded before any parser sees a value, so no input can exhaust the stack or crash the process."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO, Any

import ijson
import pyarrow as pa

from vectordb_assets.validation.source import BATCH_ROWS, ReadLimits, ReadOptions, SourceBatch, UnreadableFileError

# Bytes that open or close a level, start or end a string, escape, or end a line.
_STRUCTURE = re.compile(rb'[\[\]{}"\\\n]')


class _Depth:
    """Tracks JSON nesting across blocks of bytes, outside strings."""

    def __init__(self, key: str, limit: int):
        self.key, self.limit = key, limit
        self.depth = 0
        self.line = 1
        self.in_string = False
        self.escaped_at: int | None = None  # offset in the block of a byte a backslash escapes

    def feed(self, block: bytes) -> None:
        for match in _STRUCTURE.finditer(block):
            char = match.group()
            if match.start() == self.escaped_at:
                continue
            if char == b"\\":
                if self.in_string:
                    self.escaped_at = match.end()
            elif char == b'"':
                self.in_string = not self.in_string
            elif char == b"\n":
                self.line += 1
            elif not self.in_string:
                self.depth += 1 if char in b"[{" else -1
                if self.depth > self.limit:
                    raise UnreadableFileError(
                        f"{self.key}: line {self.line}: nested more than {self.limit} levels deep "
                        "(VECTORDB_MAX_NESTING_DEPTH)",
                        line=self.line,
                    )
        # A backslash ending the block escapes the first byte of the next one.
        self.escaped_at = 0 if self.escaped_at == len(block) else None


def check_nesting(handle: IO[bytes], key: str, limit: int) -> None:
    """Refuse a JSON file nested deeper than `limit` before any parser reads it (a deep enough
    document crashes native parsers or exhausts Python's stack)."""
    depth = _Depth(key, limit)
    for block in iter(lambda: handle.read(1 << 20), b""):
        depth.feed(block)


class _Rows:
    """Objects gathered into batches: the file's distinct keys (null-valued ones too, since each
    costs every row of its batch a column) counted against `max_columns`, a batch closed at
    `BATCH_ROWS` rows or `max_batch_bytes`."""

    def __init__(self, key: str, limits: ReadLimits):
        self.key, self.limits = key, limits
        self.rows: list[dict[str, Any]] = []
        self.size = 0
        self.names: set[str] = set()

    def add(self, value: dict[str, Any], size: int) -> SourceBatch | None:
        self.names.update(value)
        self.limits.check_columns(self.key, len(self.names))
        self.rows.append(value)
        self.size += size
        if len(self.rows) == BATCH_ROWS or self.size >= self.limits.max_batch_bytes:
            return self.batch()
        return None

    def batch(self) -> SourceBatch | None:
        if not self.rows:
            return None
        batch, self.rows, self.size = SourceBatch(rows_to_batch(self.rows), set()), [], 0
        return batch


def read_jsonl(handle: IO[bytes], key: str, options: ReadOptions) -> Iterator[SourceBatch]:
    limits = options.limits
    rows = _Rows(key, limits)
    line_number = 0
    # A line is read up to the longest a row may be: a longer one is refused before it is held.
    while line := handle.readline(limits.max_row_bytes + 1):
        line_number += 1
        if len(line) > limits.max_row_bytes:
            raise limits.refuse_row(key, f"line {line_number}", line=line_number)
        if not line.strip():
            continue
        depth = _Depth(key, limits.max_nesting_depth)
        depth.line = line_number
        depth.feed(line)
        try:
            value = json.loads(line.decode(options.encoding, errors="replace"))
        except json.JSONDecodeError as error:
            raise UnreadableFileError(
                f"{key}: line {line_number}: invalid JSON: {error.msg}", line=line_number
            ) from error
        if not isinstance(value, dict):
            raise UnreadableFileError(
                f"{key}: line {line_number}: expected a JSON object, got {type(value).__name__}", line=line_number
            )
        if batch := rows.add(value, len(line)):
            yield batch
    if batch := rows.batch():
        yield batch


def array_prefix(handle: IO[bytes], key: str) -> str:
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


def read_json(handle: IO[bytes], key: str, prefix: str, limits: ReadLimits) -> Iterator[SourceBatch]:
    rows = _Rows(key, limits)
    number = 0
    try:
        for number, value in enumerate(ijson.items(handle, prefix, use_float=True), start=1):
            if not isinstance(value, dict):
                raise UnreadableFileError(f"{key}: item {number}: expected a JSON object, got {type(value).__name__}")
            # ijson holds no item's bytes: a batch is sized by its rows' keys and text, roughly.
            if batch := rows.add(value, sum(len(name) + len(str(item)) for name, item in value.items())):
                yield batch
    except ijson.JSONError as error:
        raise UnreadableFileError(f"{key}: invalid JSON after {number} objects: {error}") from error
    if batch := rows.batch():
        yield batch


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
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            # Mixed types (1, "two"), or integers beyond 64 bits: kept as text, strings as they are.
            columns[name] = pa.array(
                [v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values],
                pa.string(),
            )
    return pa.RecordBatch.from_pydict(columns)
