"""Failed files of a batch run, re-run one file per run so that each fails (or succeeds) on its own.

A run over many partitions contains a file's error to that file (see `assets/per_file.py`), so
the run succeeds and every partition looks materialized. This sensor reads the finished run's
materializations, and requests a single-partition run for each file that failed: that run fails
for real (a red partition, the error on the run page), is retried by the run's retry policy if
the error was transient, and a deterministic error stays failed after the retries.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from vectordb_assets.assets.per_file import CHANGED_FILES_ONLY_TAG, FAILED_STATUS, STATUS


def failed_partitions(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """Partition → error of every file whose materialization in the run says it failed."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=100_000)
    failed: dict[str, str] = {}
    for record in records.records:
        materialization = record.event_log_entry.asset_materialization
        status = materialization.metadata.get(STATUS) if materialization else None
        if materialization and materialization.partition and status is not None and status.value == FAILED_STATUS:
            error = materialization.metadata.get("error")
            failed.setdefault(materialization.partition, error.value if error else "")
    return failed


def build_isolation_sensor(job: Any) -> dg.SensorDefinition:
    """The sensor that re-runs the failed files of each finished batch run of `job`, one per run."""

    @dg.run_status_sensor(
        name="failed_files_sensor",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[job],
        request_job=job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
    )
    def failed_files_sensor(context: dg.RunStatusSensorContext) -> list[dg.RunRequest] | dg.SkipReason:
        """Requests a single-partition run for each file that failed inside a batch run."""
        run = context.dagster_run
        if run.tags.get("dagster/partition") is not None:
            return dg.SkipReason(f"run {run.run_id} was over one file: it already failed or succeeded on its own")
        failed = failed_partitions(context.instance, run.run_id)
        for key, error in failed.items():
            context.log.warning(f"{key} failed inside batch run {run.run_id}: {error}; re-running it on its own")
        return [
            # A folder's run then handles only its files not indexed at their current version.
            dg.RunRequest(
                run_key=f"isolate-{run.run_id}-{key}",
                partition_key=key,
                tags={"vectordb/isolated_from": run.run_id, CHANGED_FILES_ONLY_TAG: "true"},
            )
            for key in sorted(failed)
        ] or dg.SkipReason(f"no file failed in run {run.run_id}")

    return failed_files_sensor
