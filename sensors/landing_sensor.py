"""The landing sensor: objects in the source store → partitions → batched run requests."""

from datetime import timedelta
from typing import Any

import dagster as dg

from resources.object_store import ObjectStore
from sensors.landing_plan import LandingCursor, plan_landing
from vectordb_assets.assets.vector_index import SOURCE_DELETED
from vectordb_assets.landing.partitions import source_files

# Dagster's tags for a run over a range of partitions (what backfills with a BackfillPolicy use).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def run_request_for(keys: list[str], run_key: str) -> dg.RunRequest:
    """One run over adjacent partitions: a partition key for one, a range for several."""
    if len(keys) == 1:
        return dg.RunRequest(run_key=run_key, partition_key=keys[0])
    return dg.RunRequest(run_key=run_key, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})


def deletion_recorded(instance: dg.DagsterInstance, key: str) -> bool:
    """Whether the latest vector_index materialization of `key` removed its vectors."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("vector_index"), asset_partitions=[key]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return False
    deleted = records[0].asset_materialization.metadata.get(SOURCE_DELETED)
    return deleted is not None and deleted.value is True


def build_landing_sensor(
    job: Any,
    *,
    minimum_interval_seconds: int,
    max_partitions_per_run: int,
    excluded_prefix: str | None,
    max_deleted_fraction: float = 0.5,
    lookback: timedelta = timedelta(hours=1),
) -> dg.SensorDefinition:
    """The sensor over `source_store`, on by default, requesting `job` (an asset job) for new or
    changed objects."""

    @dg.sensor(
        name="landing_sensor",
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def landing_sensor(context: dg.SensorEvaluationContext, source_store: ObjectStore) -> dg.SensorResult:
        """Adds a partition per new object, requests runs (many partitions each) for new, changed and
        deleted objects, and removes a deleted object's partition once its vectors are gone."""
        cursor = LandingCursor.from_json(context.cursor)

        def skipped(key: str, reason: str) -> None:
            context.log.warning(f"{source_store.describe()}: skipped {key!r}: {reason}")

        plan = plan_landing(
            source_store.list_objects(on_skip=skipped),
            context.instance.get_dynamic_partitions(source_files.name),
            cursor,
            max_partitions_per_run=max_partitions_per_run,
            lookback=lookback,
            excluded_prefix=excluded_prefix,
            deletions_done=[key for key in cursor.deleting if deletion_recorded(context.instance, key)],
            max_deleted_fraction=max_deleted_fraction,
        )
        for warning in plan.warnings:
            context.log.warning(f"{source_store.describe()}: {warning}")
        partition_requests = []
        if plan.new_keys:
            partition_requests.append(source_files.build_add_request(plan.new_keys))
        if plan.removed_keys:
            partition_requests.append(source_files.build_delete_request(plan.removed_keys))
        return dg.SensorResult(
            run_requests=[run_request_for(keys, run_key) for keys, run_key in zip(plan.runs, plan.run_keys)],
            dynamic_partitions_requests=partition_requests,
            cursor=plan.cursor.to_json(),
        )

    return landing_sensor
