"""The report validation keeps for one file, and the options that steer it."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from vectordb_assets.validation.readers import ReadOptions

REJECTION_EXAMPLES = 20


@dataclass(frozen=True)
class ValidationOptions:
    """Choices that the file's own names cannot make."""

    read: ReadOptions = ReadOptions()
    id_column: str | None = None
    text_column: str | None = None
    embedding_column: str | None = None
    max_text_chars: int = 100_000
    date_column: str | None = None
    start_date: dt.date | None = None


@dataclass
class ValidationReport:
    """What validation found in one file."""

    source_key: str
    rows_read: int = 0
    rows_kept: int = 0
    rows_filtered: int = 0
    rows_repeated: int = 0  # exact repeats of an earlier row (no id column): kept once
    rejected: Counter = field(default_factory=Counter)
    repaired: Counter = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)
    id_column: str | None = None
    text_column: str | None = None
    embedding_column: str | None = None
    delimiter: str | None = None  # a CSV's, as given or detected
    id_fallback: str | None = None  # why a guessed id column was not used
    dimension: int | None = None
    source_schema: pa.Schema | None = None
    preview: list[dict[str, Any]] = field(default_factory=list)
    document: dict[str, Any] | None = None  # a document's format, title, pages, sections and chunks

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    def reject(self, row_number: int, reason: str, column: str | None) -> None:
        self.rejected[reason] += 1
        if len(self.examples) < REJECTION_EXAMPLES:
            self.examples.append({"row": row_number, "reason": reason, "field": column})

    def summary(self) -> dict[str, Any]:
        """JSON-safe form, stored with the validated file and shown as metadata."""
        return {
            "source_key": self.source_key,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_filtered": self.rows_filtered,
            "rows_repeated": self.rows_repeated,
            "rows_rejected": self.rows_rejected,
            "rejected_by_reason": dict(self.rejected),
            "repaired_by_reason": dict(self.repaired),
            "rejection_examples": self.examples,
            "id_column": self.id_column,
            "text_column": self.text_column,
            "embedding_column": self.embedding_column,
            **({"delimiter": self.delimiter} if self.delimiter else {}),
            **({"id_fallback": self.id_fallback} if self.id_fallback else {}),
            "dimension": self.dimension,
            **({"document": self.document} if self.document else {}),
            "source_schema": [{"name": f.name, "type": str(f.type)} for f in self.source_schema or []],
        }
