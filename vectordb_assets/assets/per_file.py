"""Each file of a run on its own: an error while one file is handled is that file's.

Every asset loops over its partitions through `FileRun`: a file's error is caught, the file is
quarantined (its raw object and a report naming the file, the stage, the error and, when known,
the row, line or field), and the other files go on. Each partition's materialization carries its
own metadata (`add_asset_metadata(..., partition_key=key)`). A run of one partition whose file
failed fails for real, so that the partition shows red with the error; the landing sensor
re-requests the failed files of a batch run as such single-partition runs.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import dagster as dg

from resources.object_store import ObjectNotFoundError, ObjectStore
from resources.redaction import redact
from resources.retry import ServiceMisconfigured, TransientServiceError
from resources.state_db import StateDatabase
from vectordb_assets.assets.folder_files import folder_files
from vectordb_assets.landing.partitions import is_folder, safe_output_key

QUARANTINE_PREFIX = "quarantine"
# Metadata entries every failed partition carries; the landing sensor reads FAILED_STATUS.
STATUS, FAILED_STATUS = "status", "failed"
# Dagster's tags for a run over a range of partitions (what backfills with a BackfillPolicy use).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# The partitions a run over a sparse range processes (JSON list); the others are unchanged.
CHANGED_PARTITIONS_TAG = "vectordb/changed_partitions"
# A run for changes ("true"): a folder partition's files that the index holds at their current
# version, or that are quarantined at it, are passed over.
CHANGED_FILES_ONLY_TAG = "vectordb/changed_files_only"
UNCHANGED_STATUS = "unchanged"
# A later stage of a file whose landed version an earlier stage did not pass (quarantined).
SKIPPED_STATUS = "skipped"
# Dagster's own entry for a table's rows: shown on the asset's page and plotted across materializations.
ROW_COUNT = "dagster/row_count"


def settings_failure(stage: str, error: ServiceMisconfigured) -> dg.Failure:
    """The run's failure when a service refuses the settings: no file is blamed, and no retry
    can help until the settings change."""
    return dg.Failure(description=f"{stage}: {redact(str(error))}", allow_retries=False)


class FileCheckFailed(Exception):
    """The file failed a check: quarantined and reported by the check, not a failed step."""


@dataclass(frozen=True)
class FileFailure:
    """Why one file failed at one stage."""

    key: str
    stage: str
    error: BaseException

    @property
    def transient(self) -> bool:
        """An outage of a service, as the resource that met it decided: never the file's fault."""
        return isinstance(self.error, TransientServiceError)

    @property
    def message(self) -> str:
        text = redact(str(self.error) or repr(self.error))
        return text if text.startswith(self.key) else f"{self.key}: {text}"

    def report(self) -> dict[str, Any]:
        """What the quarantine report and the partition's metadata say."""
        return {
            "source_key": self.key,
            "stage": self.stage,
            "error_class": type(self.error).__name__,
            "error": self.message,
            "transient": self.transient,
            **{name: value for name, value in getattr(self.error, "location", {}).items() if value is not None},
        }


def folder_metadata(files: dict[str, dict[str, Any]], size: int) -> dict[str, Any]:
    """A folder partition's metadata: a table with a row per file handled (its status, error and
    figures), the figures summed, and how many files the folder holds and were passed over."""
    scalar = (str, int, float, bool)
    columns = [
        STATUS,
        "error",
        *sorted(
            {
                name
                for m in files.values()
                for name, value in m.items()
                if isinstance(value, (int, float)) and not isinstance(value, bool)
            }
        ),
    ]
    records = [
        dg.TableRecord(
            {"file": key, **{name: m.get(name) if isinstance(m.get(name), scalar) else None for name in columns}}
        )
        for key, m in sorted(files.items())
    ]
    failed = sum(m.get(STATUS) == FAILED_STATUS for m in files.values())
    totals = {name: sum(m.get(name) or 0 for m in files.values()) for name in columns[2:]}
    return {
        STATUS: FAILED_STATUS if failed else "ok",
        "files": dg.MetadataValue.table(
            records,
            schema=dg.TableSchema(columns=[dg.TableColumn("file"), *(dg.TableColumn(name) for name in columns)]),
        ),
        "files_in_folder": size,
        "files_handled": len(files),
        "files_failed": failed,
        "files_unchanged": max(size - len(files), 0),
        **totals,
    }


def quarantine_report_key(key: str) -> str:
    """Where the quarantine report of the file `key` is written, and read by the coverage check."""
    return f"{safe_output_key(QUARANTINE_PREFIX, key)}.report.json"


def quarantine(source_store: ObjectStore, output_store: ObjectStore, key: str, report: dict[str, Any]) -> str:
    """Copy the raw file (when it can still be read) and `report`, with the etag of the version
    quarantined, under quarantine/; return the report's key."""
    base = safe_output_key(QUARANTINE_PREFIX, key)
    try:
        report = {**report, "source_etag": source_store.head(key).etag}
        with source_store.local_path(key) as raw:
            output_store.put_file(base, raw)
    except Exception as error:  # the file may be what is broken: the report still goes out
        report = {**report, "raw_copy_error": f"{type(error).__name__}: {error}"}
    with tempfile.TemporaryDirectory(prefix="vectordb-quarantine-") as folder:
        path = Path(folder, "report.json")
        path.write_text(json.dumps(report, indent=2, default=str))
        output_store.put_file(quarantine_report_key(key), path)
    return quarantine_report_key(key)


def read_quarantine_report(output_store: ObjectStore, key: str) -> dict | None:
    """The file's quarantine report, if it has one."""
    try:
        with output_store.local_path(quarantine_report_key(key)) as path:
            return json.loads(path.read_text())
    except ObjectNotFoundError:
        return None


def quarantined_etag(output_store: ObjectStore, key: str) -> str | None:
    """The etag of the version of `key` that is in quarantine, if any."""
    return (read_quarantine_report(output_store, key) or {}).get("source_etag")


class FileRun:
    """The files of one step: each handled in `file(key)`, its metadata and failure kept apart."""

    def __init__(
        self,
        context: dg.AssetExecutionContext,
        stage: str,
        source_store: ObjectStore,
        output_store: ObjectStore,
        state_db: StateDatabase,
    ):
        self.context = context
        self.stage = stage
        self.source_store = source_store
        self.output_store = output_store
        self.state_db = state_db
        self.metadata: dict[str, dict[str, Any]] = {}
        self.failures: dict[str, FileFailure] = {}
        self.partition_of: dict[str, str] = {}  # file → its folder partition
        self.folder_sizes: dict[str, int] = {}  # folder partition → files it holds

    @property
    def one_file(self) -> bool:
        """Whether the run is over one partition that is one object."""
        keys = self.context.partition_keys
        return len(keys) == 1 and not is_folder(keys[0])

    def files(self) -> list[str]:
        """The run's files to handle: those of all its partitions, or in a sparse range only of
        those that changed (each of the others is recorded as unchanged, on its own partition).
        A folder partition stands for the objects under it; in a run for changes
        (`CHANGED_FILES_ONLY_TAG`), for those of them that changed."""
        keys = self.context.partition_keys
        changed = self.context.run.tags.get(CHANGED_PARTITIONS_TAG)
        if changed is not None:
            wanted = set(json.loads(changed))
            for key in keys:
                if key not in wanted:
                    self.metadata[key] = {STATUS: UNCHANGED_STATUS}
            keys = [key for key in keys if key in wanted]
        changed_only = self.context.run.tags.get(CHANGED_FILES_ONLY_TAG) == "true"
        files = []
        for key in keys:
            if not is_folder(key):
                files.append(key)
                continue
            inside, self.folder_sizes[key] = folder_files(
                key, self.source_store, self.state_db, changed_only, partial(quarantined_etag, self.output_store)
            )
            self.partition_of.update(dict.fromkeys(inside, key))
            files += inside
        return files

    def note(self, key: str, message: str) -> None:
        """Log what was done to one file; for a file of a folder partition the folder's table
        says it instead (a line per small file would cost more than handling it)."""
        if key not in self.partition_of:
            self.context.log.info(message)

    @contextmanager
    def file(self, key: str) -> Iterator[dict[str, Any]]:
        """Handle one file; yields the dict that becomes its partition's metadata (the same dict
        again when a file is handled in two parts, such as small files embedded together)."""
        started = time.perf_counter()
        metadata: dict[str, Any] = self.metadata.get(key, {})
        try:
            yield metadata
        except ServiceMisconfigured as error:
            raise settings_failure(self.stage, error) from None
        except Exception as error:
            failure = FileFailure(key, self.stage, error)
            self.failures[key] = failure
            metadata.clear()
            metadata.update({STATUS: FAILED_STATUS, **failure.report()})
            if not failure.transient:
                report_key = quarantine(self.source_store, self.output_store, key, failure.report())
                metadata["quarantine_report"] = self.output_store.describe(report_key)
            self.context.log.error(
                f"{failure.message} ({self.stage}, {type(error).__name__}"
                f"{', will be retried' if failure.transient else ', quarantined'})"
            )
        else:
            metadata.setdefault(STATUS, "ok")
        finally:
            metadata["seconds"] = round(metadata.get("seconds", 0) + time.perf_counter() - started, 3)
            self.metadata[key] = metadata

    def finish(self, **result: Any) -> dg.MaterializeResult:
        """Record each partition's own metadata (a folder's: a table of its files); fail a run of
        one partition whose file failed (in a folder, only for a transient error, so that the step
        is retried: the other errors are quarantined and in the folder's table)."""
        folders: dict[str, dict[str, dict[str, Any]]] = {key: {} for key in self.folder_sizes}
        for key, metadata in self.metadata.items():
            if key in self.partition_of:
                folders[self.partition_of[key]][key] = metadata
            else:
                self.context.add_asset_metadata(metadata, partition_key=key)
        for folder, files in folders.items():
            metadata = folder_metadata(files, self.folder_sizes[folder])
            self.context.add_asset_metadata(metadata, partition_key=folder)
            self.context.log.info(
                f"{folder}: {self.stage} handled {metadata['files_handled']} of {metadata['files_in_folder']} files,"
                f" {metadata['files_failed']} failed (each in the partition's table)"
            )
        keys = self.context.partition_keys
        errors = [f for f in self.failures.values() if not isinstance(f.error, FileCheckFailed)]
        if not self.one_file:
            errors = [f for f in errors if f.transient]
        if errors and len(keys) == 1:
            failure = errors[0]
            raise dg.Failure(
                description=f"{self.stage} failed: {failure.message}"
                + (f" (and {len(errors) - 1} more files)" if len(errors) > 1 else ""),
                metadata={k: v for k, v in failure.report().items() if isinstance(v, (str, int, float, bool))},
                allow_retries=failure.transient,
            ) from failure.error
        if self.failures:
            self.context.log.error(
                f"{len(self.failures)} of {len(keys)} files failed at {self.stage} (each is re-run on its own): "
                + "; ".join(f.message for f in self.failures.values())
            )
        self.context.log.info(f"{self.stage}: {len(keys) - len(self.failures)} of {len(keys)} files done (run-wide)")
        return dg.MaterializeResult(**result)
