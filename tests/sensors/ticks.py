"""Evaluating the landing sensor in a test as the daemon would."""

from __future__ import annotations

import dagster as dg

from resources.landing_queue import LandingQueue
from vectordb_assets.landing.partitions import source_files


def tick(sensor, instance: dg.DagsterInstance, resources: dict, cursor: str | None) -> dg.SensorResult:
    """One evaluation of the sensor, its partition requests applied as the daemon would."""
    resources = {"landing_queue": LandingQueue(), **resources}
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        result = sensor(context)
    for request in result.dynamic_partitions_requests:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(source_files.name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(source_files.name, key)
    return result
