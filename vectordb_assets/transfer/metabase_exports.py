"""Metabase questions as daily-partitioned sources: each day's rows land as a CSV in the landing
area, and from there take the same path as every other file."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from vectordb_assets.validation.readers import UnreadableFileError


class QuestionSpecError(ValueError):
    """VECTORDB_METABASE_QUESTIONS holds an entry that is not id:date_column:start_date[:parameter]."""


@dataclass(frozen=True)
class MetabaseQuestion:
    """One saved question exported day by day."""

    question_id: int
    date_column: str
    start_date: str
    parameter: str | None = None

    def landing_key(self, day: str) -> str:
        """Where the day's rows land in the source store."""
        return f"metabase/{self.question_id}/{day}.csv"

    def parameters(self, day: str) -> list[dict]:
        """The question's date parameter (a template tag) set to `day`, when it has one."""
        if not self.parameter:
            return []
        return [{"type": "date/single", "target": ["variable", ["template-tag", self.parameter]], "value": day}]


def parse_questions(raw: str) -> list[MetabaseQuestion]:
    """`42:created_at:2026-01-01,7:day:2025-06-01:day_param` → questions."""
    questions = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        fields = entry.split(":")
        if len(fields) not in (3, 4) or not fields[0].isdigit():
            raise QuestionSpecError(
                f"VECTORDB_METABASE_QUESTIONS entry {entry!r} is not question_id:date_column:start_date[:parameter]"
            )
        try:
            dt.date.fromisoformat(fields[2])
        except ValueError:
            raise QuestionSpecError(f"VECTORDB_METABASE_QUESTIONS entry {entry!r}: start date {fields[2]!r} is not YYYY-MM-DD") from None
        questions.append(MetabaseQuestion(int(fields[0]), fields[1], fields[2], fields[3] if len(fields) == 4 else None))
    return questions


def rows_of_day(export: Path, out: Path, date_column: str, day: str, name: str) -> int:
    """Copy the export's rows whose `date_column` falls on `day` (ISO dates) to `out`; returns the count."""
    if not export.stat().st_size:
        return 0
    names = pacsv.open_csv(export).schema.names
    if date_column not in names:
        raise UnreadableFileError(f"{name}: date column {date_column!r} not in the export; columns are {names}")
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False)
    count = 0
    writer = None
    try:
        for batch in pacsv.open_csv(export, convert_options=convert):
            kept = batch.filter(pc.starts_with(batch.column(date_column), day))
            if kept.num_rows:
                writer = writer or pacsv.CSVWriter(out, batch.schema)
                writer.write_batch(kept)
                count += kept.num_rows
    except pa.ArrowInvalid as error:
        raise UnreadableFileError(f"{name}: the export is not valid CSV: {error}") from error
    finally:
        if writer:
            writer.close()
    return count
