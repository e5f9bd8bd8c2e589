"""The landing sensor against S3 through real boto3 on moto's server."""

from __future__ import annotations

import boto3
import dagster as dg

from resources.object_store import S3ObjectStore
from sensors.landing_sensor import build_landing_sensor
from tests.sensors.ticks import tick
from vectordb_assets.assets.jobs import ingest_files
from vectordb_assets.assets.per_file import RANGE_END_TAG, RANGE_START_TAG
from vectordb_assets.landing.partitions import source_files


def test_sensor_adds_partitions_batches_runs_and_sees_changes(s3_bucket, s3_resource, state_db, moto_endpoint) -> None:
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    for i in range(250):
        client.put_object(Bucket=s3_bucket, Key=f"landing/pages/{i:03d}.jsonl", Body=b'{"text": "page %d"}\n' % i)
    client.put_object(Bucket=s3_bucket, Key="elsewhere/x.csv", Body=b"id,text\n1,x\n")
    store = S3ObjectStore(s3=s3_resource, bucket=s3_bucket, prefix="landing")
    sensor = build_landing_sensor(
        ingest_files, minimum_interval_seconds=30, max_partitions_per_run=100, excluded_prefix=None
    )

    resources = {"source_store": store, "state_db": state_db}
    with dg.instance_for_test() as instance:
        first = tick(sensor, instance, resources, None)
        assert len(instance.get_dynamic_partitions(source_files.name)) == 250
        assert len(first.run_requests) == 3
        assert first.run_requests[0].tags[RANGE_START_TAG] == "pages/000.jsonl"
        assert first.run_requests[-1].tags[RANGE_END_TAG] == "pages/249.jsonl"

        second = tick(sensor, instance, resources, first.cursor)
        assert second.run_requests == [] and second.dynamic_partitions_requests == []

        client.put_object(Bucket=s3_bucket, Key="landing/pages/007.jsonl", Body=b'{"text": "page seven, edited"}\n')
        third = tick(sensor, instance, resources, second.cursor)
        assert [r.partition_key for r in third.run_requests] == ["pages/007.jsonl"]
        assert third.run_requests[0].run_key not in {r.run_key for r in first.run_requests}
        assert len(instance.get_dynamic_partitions(source_files.name)) == 250
