"""validated_parquet: each raw file in the canonical schema, or quarantined with its report."""

import datetime as dt
import json
import tempfile
import time
from pathlib import Path

import dagster as dg
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import Field

from resources.embedders import Embedder
from resources.object_store import ObjectNotFoundError, ObjectStore
from vectordb_assets.assets.raw_files import raw_files
from vectordb_assets.assets.reporting import BACKFILL_POLICY_PARTITIONS, batch_metadata
from vectordb_assets.validation.canonical import canonical_schema
from vectordb_assets.landing.partitions import output_key, source_files
from vectordb_assets.validation.readers import ReadOptions, UnreadableFileError
from vectordb_assets.validation.report import ValidationOptions, ValidationReport
from vectordb_assets.validation.validate import validate_file

QUARANTINE_PREFIX = "quarantine"
BLOCKING_CHECKS = ("canonical_schema", "unique_ids", "dimension_matches_index", "rejected_ratio")


class ValidationConfig(dg.Config):
    """Per-run choices for reading and validating files (defaults detect what they can)."""

    id_column: str | None = Field(default=None, description="Id column; default: id, doc_id, document_id, uuid, key.")
    text_column: str | None = Field(default=None, description="Text column; default: text, content, chunk, body, …")
    embedding_column: str | None = Field(default=None, description="Vector column; default: embedding, vector, …")
    delimiter: str | None = Field(default=None, description="CSV delimiter; default ',' (tab for .tsv).")
    quote_char: str = Field(default='"', description="CSV quote character.")
    encoding: str = Field(default="utf-8", description="Text encoding of CSV and JSON files.")
    header: bool | None = Field(default=None, description="Whether CSV files start with a header; default: detect.")
    max_text_chars: int = Field(default=100_000, description="Longer texts are rejected.")
    date_column: str | None = Field(default=None, description="Column holding each row's date, for start_date.")
    start_date: str | None = Field(default=None, description="Keep rows dated on or after this day (YYYY-MM-DD).")
    max_decompression_ratio: float = Field(default=100.0, description="Refuse files that expand more than this.")
    max_rejected_ratio: float = Field(default=0.2, description="Above this share of rejected rows the check fails.")

    def options(self) -> ValidationOptions:
        return ValidationOptions(
            read=ReadOptions(self.delimiter, self.quote_char, self.encoding, self.header, self.max_decompression_ratio),
            id_column=self.id_column,
            text_column=self.text_column,
            embedding_column=self.embedding_column,
            max_text_chars=self.max_text_chars,
            date_column=self.date_column,
            start_date=dt.date.fromisoformat(self.start_date) if self.start_date else None,
        )


def _quarantine(source_store: ObjectStore, output_store: ObjectStore, key: str, reason: str, folder: Path) -> str:
    """Copy the raw file and a report of why it failed under quarantine/; return the report's key."""
    with source_store.local_path(key) as raw:
        output_store.put_file(f"{QUARANTINE_PREFIX}/{key}", raw)
    report_path = folder / "report.json"
    report_path.write_text(json.dumps({"source_key": key, "error": reason}, indent=2))
    report_key = f"{QUARANTINE_PREFIX}/{key}.report.json"
    output_store.put_file(report_key, report_path)
    return report_key


def _preview_markdown(report: ValidationReport) -> str:
    lines = ["| row | doc_id | text | metadata |", "| --- | --- | --- | --- |"]
    for row in report.preview:
        cells = [str(row[c]).replace("|", "\\|").replace("\n", " ") for c in ("row_number", "doc_id", "text", "metadata")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _metadata(report: ValidationReport, output_store: ObjectStore, key: str, seconds: float) -> dict:
    schema = dg.TableSchema(
        columns=[dg.TableColumn(f.name, str(f.type)) for f in report.source_schema or []]
    )
    return {
        "rows_read": report.rows_read,
        "rows_kept": report.rows_kept,
        "rows_filtered": report.rows_filtered,
        "rows_rejected": report.rows_rejected,
        "rejected_by_reason": dict(report.rejected),
        "repaired_by_reason": dict(report.repaired),
        "rejection_examples": report.examples,
        "id_column": report.id_column or "(none: ids derived from source and content)",
        "text_column": report.text_column or "(none)",
        "embedding_column": report.embedding_column or "(none)",
        "dimension": report.dimension or 0,
        "source_schema": dg.MetadataValue.table_schema(schema),
        "preview": dg.MetadataValue.md(_preview_markdown(report)),
        "seconds": round(seconds, 3),
        "location": output_store.describe(output_key("validated", key)),
        "link": dg.MetadataValue.url(output_store.url(output_key("validated", key))),
    }


def _check_file(path: Path, report: ValidationReport, index_dimension: int, max_rejected_ratio: float) -> dict[str, str]:
    """The blocking checks this file fails, with the reason for each."""
    failures = {}
    schema = pq.read_schema(path).remove_metadata()
    if schema != canonical_schema(report.dimension):
        failures["canonical_schema"] = f"schema {schema} is not the canonical schema"
    ids = pq.read_table(path, columns=["doc_id"]).column("doc_id")
    if pc.count_distinct(ids).as_py() != len(ids):
        failures["unique_ids"] = "doc_id values repeat"
    if report.dimension not in (None, index_dimension):
        failures["dimension_matches_index"] = f"vectors have {report.dimension} dimensions; the index expects {index_dimension}"
    if report.rows_read and report.rows_rejected / report.rows_read > max_rejected_ratio:
        failures["rejected_ratio"] = f"{report.rows_rejected} of {report.rows_read} rows rejected (limit {max_rejected_ratio:.0%})"
    return failures


@dg.asset(
    partitions_def=source_files,
    deps=[raw_files],
    backfill_policy=dg.BackfillPolicy.multi_run(BACKFILL_POLICY_PARTITIONS),
    kinds={"parquet"},
    group_name="ingest",
    check_specs=[
        *(dg.AssetCheckSpec(name, asset="validated_parquet", blocking=True) for name in BLOCKING_CHECKS),
        dg.AssetCheckSpec("files_readable", asset="validated_parquet", description="No file of the run was quarantined."),
    ],
)
def validated_parquet(
    context: dg.AssetExecutionContext,
    config: ValidationConfig,
    source_store: ObjectStore,
    output_store: ObjectStore,
    embedder: Embedder,
) -> dg.MaterializeResult:
    """Each raw file as canonical Parquet under validated/; unreadable files go to quarantine/."""
    options = config.options()
    per_partition: dict[str, dict] = {}
    unreadable: dict[str, str] = {}
    check_failures: dict[str, dict[str, str]] = {name: {} for name in BLOCKING_CHECKS}
    for key in context.partition_keys:
        started = time.perf_counter()
        try:
            obj = source_store.head(key)
        except ObjectNotFoundError:
            output_store.delete(output_key("validated", key))
            per_partition[key] = {"source_deleted": True}
            continue
        with tempfile.TemporaryDirectory(prefix="vectordb-validate-") as folder:
            out = Path(folder, "validated.parquet")
            try:
                with source_store.local_path(key) as raw:
                    report = validate_file(
                        raw, key, obj.etag, out, lineage={"landed_at": obj.last_modified.isoformat()}, options=options
                    )
            except UnreadableFileError as error:
                report_key = _quarantine(source_store, output_store, key, str(error), Path(folder))
                context.log.error(f"{error} (quarantined; report at {output_store.describe(report_key)})")
                unreadable[key] = str(error)
                per_partition[key] = {"quarantined": True, "error": str(error)}
                continue
            for name, reason in _check_file(out, report, embedder.dimension, config.max_rejected_ratio).items():
                check_failures[name][key] = reason
            # Written to a temporary file first: the store only ever holds a complete output.
            output_store.put_file(output_key("validated", key), out)
        per_partition[key] = _metadata(report, output_store, key, time.perf_counter() - started)
        context.log.info(f"{key}: kept {report.rows_kept} of {report.rows_read} rows")
    if unreadable and len(unreadable) == len(context.partition_keys):
        raise dg.Failure(
            description="could not read: " + "; ".join(unreadable.values()),
            metadata={"unreadable_files": unreadable},
        )
    checks = [
        dg.AssetCheckResult(check_name=name, passed=not failed, metadata={"failing_files": failed})
        for name, failed in check_failures.items()
    ]
    checks.append(
        dg.AssetCheckResult(check_name="files_readable", passed=not unreadable, metadata={"quarantined_files": unreadable})
    )
    return dg.MaterializeResult(metadata=batch_metadata(per_partition), check_results=checks)
