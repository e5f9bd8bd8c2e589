"""The index's full checks after ingestion, so that the asset graph shows them evaluated after a
sensor run, at most once an hour however many runs finish."""

from __future__ import annotations

import time
from typing import Any

import dagster as dg

# One check run per window: the run key is the window's number, and Dagster runs a key once.
WINDOW_SECONDS = 3600


def build_index_checks_sensor(ingest_job: Any, check_job: Any) -> dg.SensorDefinition:
    """The sensor that requests `check_job` when a run of `ingest_job` succeeds, once per window."""

    @dg.run_status_sensor(
        name="index_checks_after_ingest",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[ingest_job],
        request_job=check_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
    )
    def index_checks_after_ingest(context: dg.RunStatusSensorContext) -> dg.RunRequest:
        """Requests the full checks of the index after an ingest run (one run per hour at most)."""
        window = int(time.time() // WINDOW_SECONDS)
        return dg.RunRequest(run_key=f"index-checks-{window}", tags={"vectordb/after_run": context.dagster_run.run_id})

    return index_checks_after_ingest
