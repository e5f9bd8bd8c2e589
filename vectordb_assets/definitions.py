"""The code location's one `Definitions`, built from the environment when Dagster loads it."""

import dagster as dg

from sensors.landing_sensor import build_landing_sensor
from vectordb_assets.jobs import PIPELINE_ASSETS, ingest_files
from vectordb_assets.resources_from_settings import resources_for
from vectordb_assets.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """Assets, job, sensor and resources for the given settings."""
    return dg.Definitions(
        assets=PIPELINE_ASSETS,
        jobs=[ingest_files],
        sensors=[
            build_landing_sensor(
                ingest_files,
                minimum_interval_seconds=settings.sensor_interval_seconds,
                max_partitions_per_run=settings.max_partitions_per_run,
                excluded_prefix=settings.source_excluded_prefix,
            )
        ],
        resources=resources_for(settings),
        # The chain is linear: one process per run loads the model once and runs every step.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Definitions for the current environment (see README: Configuration)."""
    return build_definitions(Settings.from_env())
