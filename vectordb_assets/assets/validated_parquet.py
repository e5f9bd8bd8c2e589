"""validated_parquet: each raw file in the canonical schema, or quarantined with its report."""

import json
import tempfile
import time
from pathlib import Path

import dagster as dg

from resources.object_store import ObjectNotFoundError, ObjectStore
from vectordb_assets.assets.raw_files import raw_files
from vectordb_assets.assets.reporting import BACKFILL_POLICY_PARTITIONS, batch_metadata
from vectordb_assets.partitions import output_key, source_files
from vectordb_assets.readers import UnreadableFileError
from vectordb_assets.validation import ValidationReport, validate_file

QUARANTINE_PREFIX = "quarantine"


def _quarantine(source_store: ObjectStore, output_store: ObjectStore, key: str, reason: str, folder: Path) -> str:
    """Copy the raw file and a report of why it failed under quarantine/; return the report's key."""
    with source_store.local_path(key) as raw:
        output_store.put_file(f"{QUARANTINE_PREFIX}/{key}", raw)
    report_path = folder / "report.json"
    report_path.write_text(json.dumps({"source_key": key, "error": reason}, indent=2))
    report_key = f"{QUARANTINE_PREFIX}/{key}.report.json"
    output_store.put_file(report_key, report_path)
    return report_key


def _metadata(report: ValidationReport, output_store: ObjectStore, key: str, seconds: float) -> dict:
    return {
        "rows_read": report.rows_read,
        "rows_kept": report.rows_kept,
        "rows_rejected": report.rows_rejected,
        "rejected_by_reason": report.summary()["rejected_by_reason"],
        "rejection_examples": report.examples,
        "id_column": report.id_column or "(none: ids derived from source and content)",
        "text_column": report.text_column or "(none)",
        "embedding_column": report.embedding_column or "(none)",
        "dimension": report.dimension or 0,
        "seconds": round(seconds, 3),
        "location": output_store.describe(output_key("validated", key)),
        "link": dg.MetadataValue.url(output_store.url(output_key("validated", key))),
    }


@dg.asset(
    partitions_def=source_files,
    deps=[raw_files],
    backfill_policy=dg.BackfillPolicy.multi_run(BACKFILL_POLICY_PARTITIONS),
    kinds={"parquet"},
    group_name="ingest",
)
def validated_parquet(
    context: dg.AssetExecutionContext, source_store: ObjectStore, output_store: ObjectStore
) -> dg.MaterializeResult:
    """Each raw file as canonical Parquet under validated/; unreadable files go to quarantine/."""
    per_partition: dict[str, dict] = {}
    failures: dict[str, str] = {}
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
                        raw, key, obj.etag, out, lineage={"landed_at": obj.last_modified.isoformat()}
                    )
            except UnreadableFileError as error:
                report_key = _quarantine(source_store, output_store, key, str(error), Path(folder))
                context.log.error(f"{error} (quarantined; report at {output_store.describe(report_key)})")
                failures[key] = str(error)
                continue
            output_store.put_file(output_key("validated", key), out)
        per_partition[key] = _metadata(report, output_store, key, time.perf_counter() - started)
        context.log.info(f"{key}: kept {report.rows_kept} of {report.rows_read} rows")
    if failures:
        raise dg.Failure(
            description=f"{len(failures)} file(s) could not be read: " + "; ".join(failures.values()),
            metadata={"unreadable_files": failures, "validated_files": list(per_partition)},
        )
    return dg.MaterializeResult(metadata=batch_metadata(per_partition))
