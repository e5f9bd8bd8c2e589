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
            raise QuestionSpecError(
                f"VECTORDB_METABASE_QUESTIONS entry {entry!r}: start date {fields[2]!r} is not YYYY-MM-DD"
            ) from None
        questions.append(
            MetabaseQuestion(int(fields[0]), fields[1], fields[2], fields[3] if len(fields) == 4 else None)
        )
    return questions


def rows_by_day(export: Path, folder: Path, date_column: str, days: list[str], name: str) -> dict[str, int]:
    """Split the export in one pass: the rows whose `date_column` falls on each of `days` (ISO
    dates) go to `folder/<day>.csv`; returns each day's count (a day without rows gets no file)."""
    counts = dict.fromkeys(days, 0)
    if not export.stat().st_size:
        return counts
    names = pacsv.open_csv(export).schema.names
    if date_column not in names:
        raise UnreadableFileError(f"{name}: date column {date_column!r} not in the export; columns are {names}")
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False)
    wanted = pa.array(days, pa.string())
    writers: dict[str, pacsv.CSVWriter] = {}
    try:
        for batch in pacsv.open_csv(export, convert_options=convert):
            day_of_row = pc.utf8_slice_codeunits(batch.column(date_column), 0, 10)
            kept = batch.filter(pc.is_in(day_of_row, wanted))
            kept_days = pc.utf8_slice_codeunits(kept.column(date_column), 0, 10)
            for day in pc.unique(kept_days).to_pylist():
                rows = kept.filter(pc.equal(kept_days, day))
                writers.setdefault(day, pacsv.CSVWriter(folder / f"{day}.csv", batch.schema)).write_batch(rows)
                counts[day] += rows.num_rows
    except pa.ArrowInvalid as error:
        raise UnreadableFileError(f"{name}: the export is not valid CSV: {error}") from error
    finally:
        for writer in writers.values():
            writer.close()
    return counts
