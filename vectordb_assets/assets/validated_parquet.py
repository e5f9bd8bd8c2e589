"""validated_parquet: each raw file in the canonical schema, or quarantined with its report."""

import datetime as dt
import html
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import Field

from resources.embedders import Embedder
from resources.object_store import ObjectNotFoundError, ObjectStore
from resources.state_db import StateDatabase
from vectordb_assets.assets.per_file import ROW_COUNT, FileCheckFailed, FileRun
from vectordb_assets.assets.policies import BACKFILL_POLICY_PARTITIONS, RETRY_POLICY
from vectordb_assets.assets.progress import Progress
from vectordb_assets.assets.raw_files import raw_files
from vectordb_assets.landing.partitions import output_key, source_files
from vectordb_assets.validation.canonical import canonical_schema
from vectordb_assets.validation.enrichment import Enrichment
from vectordb_assets.validation.limits import ReadLimits
from vectordb_assets.validation.readers import ReadOptions
from vectordb_assets.validation.report import ValidationOptions, ValidationReport
from vectordb_assets.validation.validate import validate_file

BLOCKING_CHECKS = ("stored_output_matches", "dimension_matches_index", "rejected_ratio")
CHECK_DESCRIPTIONS = {
    "stored_output_matches": "The stored validated object, read back, has the canonical schema, every kept row and unique ids.",
    "dimension_matches_index": "The file's own vectors have the embedder's dimension.",
    "rejected_ratio": "At most max_rejected_ratio of the file's rows were rejected.",
    "files_readable": "No file of the run was quarantined.",
}


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
    max_rejected_ratio: float = Field(default=0.2, description="Above this share of rejected rows the check fails.")

    def options(self, limits: ReadLimits) -> ValidationOptions:
        """The run's choices, within the settings' bounds on what one file may cost."""
        return ValidationOptions(
            read=ReadOptions(self.delimiter, self.quote_char, self.encoding, self.header, limits),
            id_column=self.id_column,
            text_column=self.text_column,
            embedding_column=self.embedding_column,
            max_text_chars=self.max_text_chars,
            date_column=self.date_column,
            start_date=dt.date.fromisoformat(self.start_date) if self.start_date else None,
        )


def landed_at(modified: dt.datetime) -> dt.datetime:
    """When a file landed: its modification time, but never later than now (a file stamped in the
    future would otherwise own its ids against every later file for good)."""
    return min(modified, dt.datetime.now(dt.UTC))


def markdown_text(value: object) -> str:
    """A landed value as literal text in a Markdown table cell: HTML escaped, Markdown's own
    characters (links, images, emphasis, code, the cell's `|`) backslash-escaped, one line."""
    text = html.escape(" ".join(str(value).split()), quote=False)
    return re.sub(r"([\\`*_{}\[\]()#+!|~>-])", r"\\\1", text)


def _preview_markdown(report: ValidationReport) -> str:
    lines = ["| row | doc_id | text | metadata |", "| --- | --- | --- | --- |"]
    for row in report.preview:
        cells = [markdown_text(row[c]) for c in ("row_number", "doc_id", "text", "metadata")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _metadata(report: ValidationReport, output_store: ObjectStore, key: str) -> dict:
    schema = dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type)) for f in report.source_schema or []])
    return {
        ROW_COUNT: report.rows_kept,
        "rows_read": report.rows_read,
        "rows_kept": report.rows_kept,
        "rows_filtered": report.rows_filtered,
        "rows_repeated": report.rows_repeated,
        "rows_rejected": report.rows_rejected,
        "rejected_by_reason": dict(report.rejected),
        "repaired_by_reason": dict(report.repaired),
        "rejection_examples": report.examples,
        "id_column": report.id_column or "(none: ids derived from source and content)",
        "text_column": report.text_column or "(none)",
        "embedding_column": report.embedding_column or "(none)",
        **({"delimiter": report.delimiter} if report.delimiter else {}),
        **({"id_fallback": report.id_fallback} if report.id_fallback else {}),
        "dimension": report.dimension or 0,
        **(report.document or {}),
        "source_schema": dg.MetadataValue.table_schema(schema),
        "preview": dg.MetadataValue.md(_preview_markdown(report)),
        "location": output_store.describe(output_key("validated", key)),
        "link": dg.MetadataValue.url(output_store.url(output_key("validated", key))),
    }


def _check_file(report: ValidationReport, index_dimension: int, max_rejected_ratio: float) -> dict[str, str]:
    """The checks this file fails before anything is stored, with the reason for each."""
    failures = {}
    if report.dimension not in (None, index_dimension):
        failures["dimension_matches_index"] = (
            f"vectors have {report.dimension} dimensions; the index expects {index_dimension}"
        )
    if report.rows_read and report.rows_rejected / report.rows_read > max_rejected_ratio:
        failures["rejected_ratio"] = (
            f"{report.rows_rejected} of {report.rows_read} rows rejected (limit {max_rejected_ratio:.0%})"
        )
    return failures


def _check_stored(output_store: ObjectStore, key: str, report: ValidationReport) -> dict[str, str]:
    """Read the stored object back: the canonical schema, every kept row, no repeated id."""
    with output_store.local_path(output_key("validated", key)) as path:
        schema = pq.read_schema(path).remove_metadata()
        ids = pq.read_table(path, columns=["doc_id"]).column("doc_id")
    problems = []
    if schema != canonical_schema(report.dimension):
        problems.append(f"schema {schema.to_string(show_schema_metadata=False)!r} is not the canonical schema")
    if len(ids) != report.rows_kept:
        problems.append(f"{len(ids)} rows stored, {report.rows_kept} kept")
    if pc.count_distinct(ids).as_py() != len(ids):
        problems.append(f"{len(ids) - pc.count_distinct(ids).as_py()} repeated doc_id values")
    return {"stored_output_matches": "; ".join(problems)} if problems else {}


@dg.asset(
    partitions_def=source_files,
    deps=[raw_files],
    backfill_policy=dg.BackfillPolicy.multi_run(BACKFILL_POLICY_PARTITIONS),
    retry_policy=RETRY_POLICY,
    group_name="ingest",
    check_specs=[
        *(
            dg.AssetCheckSpec(name, asset="validated_parquet", blocking=True, description=CHECK_DESCRIPTIONS[name])
            for name in BLOCKING_CHECKS
        ),
        dg.AssetCheckSpec(
            "files_readable", asset="validated_parquet", description=CHECK_DESCRIPTIONS["files_readable"]
        ),
    ],
)
def validated_parquet(
    context: dg.AssetExecutionContext,
    config: ValidationConfig,
    source_store: ObjectStore,
    output_store: ObjectStore,
    embedder: Embedder,
    state_db: StateDatabase,
    enrichment: Enrichment,
    read_limits: ReadLimits,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Each raw file as canonical Parquet under validated/; unreadable files go to quarantine/.

    A file that fails a check is quarantined and not stored, so its later stages skip it; in a
    run of one object the failed check (severity ERROR) also blocks them, while in a batch run it
    is a warning, so the other files go on."""
    options = config.options(read_limits)
    if enrichment.enabled:
        enrichment.check(state_db)  # a broken lookup fails the run before any file, not each file
    run = FileRun(context, "validated_parquet", source_store, output_store, state_db)
    check_failures: dict[str, dict[str, str]] = {name: {} for name in BLOCKING_CHECKS}
    measured: dict[str, dict] = {"rejected_ratio": {}, "dimension_matches_index": {}, "stored_output_matches": {}}
    for key in run.files():
        with run.file(key) as metadata, tempfile.TemporaryDirectory(prefix="vectordb-validate-") as folder:
            try:
                obj = source_store.head(key)
            except ObjectNotFoundError:
                output_store.delete(output_key("validated", key))
                metadata["source_deleted"] = True
                continue
            out = Path(folder, "validated.parquet")
            # The row count of a raw file is known only once it is read: lines say rows read so far.
            progress = Progress(context.log.info, key, "validation", None)
            with source_store.local_path(key) as raw:
                report = validate_file(
                    raw,
                    key,
                    obj.etag,
                    out,
                    lineage={"landed_at": landed_at(obj.last_modified).isoformat()},
                    options=options,
                    on_batch=lambda r: progress.update(r.rows_read, r.rows_rejected, kept=r.rows_kept),  # noqa: B023 (called within this pass)
                )
            metadata.update(_metadata(report, output_store, key), **progress.totals())
            if enrichment.enabled:
                enriched = enrichment.apply(state_db, out)
                metadata.update({f"enrichment_{name}": value for name, value in enriched.to_dict().items()})
                if enriched.ids_missing:
                    context.log.warning(
                        f"{key}: the enrichment lookup knows no metadata for {enriched.ids_missing} ids, such as "
                        f"{', '.join(enriched.missing_examples[:5])}"
                    )
            measured["rejected_ratio"][key] = (
                round(report.rows_rejected / report.rows_read, 4) if report.rows_read else 0.0
            )
            measured["dimension_matches_index"][key] = report.dimension or 0
            failed = _check_file(report, embedder.dimension, config.max_rejected_ratio)
            if not failed:
                # Written to a temporary file first: the store only ever holds a complete output.
                output_store.put_file(output_key("validated", key), out)
                failed = _check_stored(output_store, key, report)
                measured["stored_output_matches"][key] = report.rows_kept
            if failed:
                output_store.delete(output_key("validated", key))
                for name, reason in failed.items():
                    check_failures[name][key] = reason
                raise FileCheckFailed(f"{key}: failed check {'; '.join(f'{n}: {r}' for n, r in failed.items())}")
            run.note(key, f"{key}: kept {report.rows_kept} of {report.rows_read} rows")
    severity = dg.AssetCheckSeverity.ERROR if run.one_file else dg.AssetCheckSeverity.WARN
    checks = [
        dg.AssetCheckResult(
            check_name=name,
            passed=not failed,
            severity=severity,
            metadata={"failing_files": failed, "files_checked": len(measured[name]), "measured": measured[name]},
        )
        for name, failed in check_failures.items()
    ]
    quarantined = {key: f.message for key, f in run.failures.items() if not isinstance(f.error, FileCheckFailed)}
    checks.append(
        dg.AssetCheckResult(
            check_name="files_readable",
            passed=not quarantined,
            metadata={"quarantined_files": quarantined, "files_checked": len(run.metadata)},
        )
    )
    try:
        result = run.finish(check_results=checks)
    except dg.Failure:
        yield from checks  # a run of one file that fails still shows what each check found
        raise
    yield result
