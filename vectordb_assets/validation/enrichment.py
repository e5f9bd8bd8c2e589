"""Enrichment: columns of a PostgreSQL table or query, keyed by document id, merged into the
metadata of each validated row.

The lookup goes a batch of ids at a time, in a read-only transaction. A value the file has for
a field wins over the looked-up one (the file is never silently changed; an empty or null value
is filled); ids the lookup does not know are counted and named in the report.

Example::

    enrichment = Enrichment(query="select doc_id, title, author from documents where doc_id = any(%(ids)s)")
    enrichment.apply(state_db, Path("validated.parquet"))  # → EnrichmentReport(...)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import OperationalError, sql
from psycopg.errors import Error as PostgresError
from pydantic import Field

from resources.settings_only import SettingsOnlyResource
from resources.state_db import StateDatabase
from vectordb_assets.validation.canonical import parquet_writer
from vectordb_assets.validation.values import flatten

MISSING_EXAMPLES = 20


class EnrichmentError(RuntimeError):
    """The enrichment query or table cannot be used (a setting to fix, not a file to quarantine)."""


@dataclass
class EnrichmentReport:
    """What enrichment did to one file."""

    rows_enriched: int = 0
    ids_missing: int = 0
    missing_examples: list[str] = field(default_factory=list)
    fields_kept_from_file: int = 0  # looked-up fields not taken because the row has its own value

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Enrichment(SettingsOnlyResource):
    """A lookup of extra metadata by document id: `query` (one `%(ids)s` parameter, the id as its
    first column), or `table` and `key_column`; neither set: no enrichment."""

    query: str | None = Field(
        default=None, description="SELECT whose first column is the document id, filtered by %(ids)s."
    )
    table: str | None = Field(default=None, description="Table (schema.table allowed) whose other columns are merged.")
    key_column: str = Field(default="id", description="The table's document id column.")
    batch_ids: int = Field(default=5_000, ge=1, description="Ids looked up per query.")

    @property
    def enabled(self) -> bool:
        return bool(self.query or self.table)

    def _statement(self) -> sql.Composable:
        if self.query:
            return sql.SQL(self.query)  # the operator's own SQL, from the settings; ids are bound
        table = sql.Identifier(*self.table.split(".", 1)) if self.table else sql.SQL("")
        key = sql.Identifier(self.key_column)
        return sql.SQL("select {key}::text as vectordb_id, * from {table} where {key}::text = any(%(ids)s)").format(
            key=key, table=table
        )

    def lookup(self, state_db: StateDatabase, ids: list[str]) -> dict[str, dict[str, Any]]:
        """id → its looked-up fields (flattened, JSON-safe)."""
        try:
            with state_db.connect() as conn, conn.transaction():
                conn.execute("set transaction read only")
                cursor = conn.execute(self._statement(), {"ids": ids})
                names = [column.name for column in cursor.description or []]
                rows = cursor.fetchall()
        except OperationalError:
            raise  # the database is down or restarting: transient, the step is retried
        except PostgresError as error:
            setting = "VECTORDB_ENRICH_SQL" if self.query else f"VECTORDB_ENRICH_TABLE {self.table!r}"
            raise EnrichmentError(f"{setting} failed: {str(error).strip().splitlines()[0]}") from None
        if not names:
            raise EnrichmentError(
                "VECTORDB_ENRICH_SQL returns no columns: it must be a SELECT whose first column is the id"
            )
        skip = {names[0], self.key_column} if self.table else {names[0]}
        return {
            str(row[0]): flatten({name: value for name, value in zip(names, row) if name not in skip})
            for row in rows
            if row[0] is not None
        }

    def check(self, state_db: StateDatabase) -> None:
        """Run the lookup once with no ids, so that a broken query fails the run before any file."""
        self.lookup(state_db, [])

    def apply(self, state_db: StateDatabase, path: Path) -> EnrichmentReport:
        """Merge looked-up fields into the metadata of the canonical Parquet file at `path` (rewritten
        in place, a batch of ids at a time)."""
        report = EnrichmentReport()
        source = pq.ParquetFile(path)
        staging = path.with_name(path.name + ".enriched")
        with parquet_writer(staging, source.schema_arrow) as writer:
            for batch in source.iter_batches(batch_size=self.batch_ids):
                ids = batch.column("doc_id").to_pylist()
                found = self.lookup(state_db, ids)
                merged = []
                for doc_id, metadata in zip(ids, batch.column("metadata").to_pylist()):
                    extra = found.get(doc_id)
                    if extra is None:
                        report.ids_missing += 1
                        if len(report.missing_examples) < MISSING_EXAMPLES:
                            report.missing_examples.append(doc_id)
                        merged.append(metadata)
                        continue
                    values = json.loads(metadata)
                    own = {name: value for name, value in values.items() if value not in (None, "")}
                    report.fields_kept_from_file += sum(1 for name in extra if name in own)
                    report.rows_enriched += 1
                    merged.append(json.dumps({**values, **extra, **own}, ensure_ascii=False, sort_keys=True))
                index = batch.schema.get_field_index("metadata")
                writer.write_batch(batch.set_column(index, batch.schema.field(index), pa.array(merged, pa.string())))
        staging.replace(path)
        return report
