"""Landing-sensor ticks against buckets of 1k, 10k and 50k objects on moto's S3 server.

For each bucket size, in listing mode and in SQS mode (S3 event notifications to a queue): the
time and cursor bytes of a tick with nothing new, the ticks a full listing pass takes, and the
runs requested for 1 % new objects and for 10 % of the objects changed, scattered (every 10th).

Run: .venv/bin/python bench/sensor_ticks.py [--sizes 1000 10000 50000]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

warnings.simplefilter("ignore")

import boto3  # noqa: E402
import dagster as dg  # noqa: E402
from dagster_aws.s3 import S3Resource  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.s3.models import s3_backends  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resources.landing_queue import LandingQueue  # noqa: E402
from resources.object_store import S3ObjectStore  # noqa: E402
from resources.state_db import StateDatabase, embedded_server_uri  # noqa: E402
from sensors.landing_plan import LandingCursor  # noqa: E402
from sensors.landing_sensor import build_landing_sensor  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.sensors.ticks import tick  # noqa: E402
from vectordb_assets.assets.jobs import ingest_files  # noqa: E402

OBJECTS_PER_TICK = 5_000


def put(s3, bucket: str, keys: list[str], body: bytes) -> None:
    """Objects written through the S3 API (with their event notifications)."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=f"landing/{key}", Body=body), keys))


def preload(bucket: str, keys: list[str], body: bytes) -> None:
    """The bucket's initial objects, written into moto's S3 directly (its server runs in this
    process) and without events: tens of thousands of API puts would take most of the run, and
    the initial load is found by the first listing pass anyway."""
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for key in keys:
        backend.put_object(bucket, f"landing/{key}", body, disable_notification=True)


def timed_tick(sensor, instance, resources, cursor):
    started = time.perf_counter()
    result = tick(sensor, instance, resources, cursor)
    return result, time.perf_counter() - started


def until_pass_ends(sensor, instance, resources, cursor):
    """Ticks until a full listing pass ends: (the last result, ticks, runs requested, slowest tick)."""
    ticks = runs = 0
    slowest = 0.0
    while True:
        result, seconds = timed_tick(sensor, instance, resources, cursor)
        ticks, runs, slowest = ticks + 1, runs + len(result.run_requests), max(slowest, seconds)
        cursor = result.cursor
        if '"after": null' in cursor:
            return result, ticks, runs, slowest


def until_released(sensor, instance, resources, cursor):
    """Ticks until the queue is read and nothing is held: (the last result, runs requested).
    Events come at most 1,000 a tick, and runs wait while a backlog is read."""
    runs = 0
    while True:
        result, _ = timed_tick(sensor, instance, resources, cursor)
        runs, cursor = runs + len(result.run_requests), result.cursor
        if not result.run_requests and LandingCursor.from_json(cursor).holding_since is None:
            return result, runs


def scenario(endpoint: str, state_db: StateDatabase, size: int, events: bool) -> dict:
    s3 = boto3.client("s3", endpoint_url=endpoint)
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    queue = LandingQueue()
    if events:
        url = sqs.create_queue(QueueName=bucket)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]
            },
        )
        queue = LandingQueue(queue_url=url, endpoint_url=endpoint, region_name="us-east-1")
    keys = [f"k/{i:06d}.jsonl" for i in range(size)]
    preload(bucket, keys, b'{"text": "x"}\n')
    store = S3ObjectStore(
        s3=S3Resource(endpoint_url=endpoint, region_name="us-east-1"), bucket=bucket, prefix="landing"
    )
    sensor = build_landing_sensor(
        ingest_files,
        minimum_interval_seconds=30,
        max_partitions_per_run=100,
        excluded_prefix=None,
        objects_per_tick=OBJECTS_PER_TICK,
        reconcile_seconds=3600,
    )
    resources = {"source_store": store, "state_db": state_db, "landing_queue": queue}
    row = {"objects": size, "mode": "SQS events" if events else "listing"}
    with dg.instance_for_test() as instance:
        result, row["ticks per pass"], _, _ = until_pass_ends(sensor, instance, resources, None)
        cursor = result.cursor
        if events:
            idle, row["no-change tick (s)"] = timed_tick(sensor, instance, resources, cursor)
        else:
            idle, _, _, row["no-change tick (s)"] = until_pass_ends(sensor, instance, resources, cursor)
        row["cursor bytes"] = len(idle.cursor.encode())
        cursor = idle.cursor
        put(s3, bucket, [f"new/{i:06d}.jsonl" for i in range(size // 100)], b'{"text": "new"}\n')
        if events:
            new, row["runs for 1 % new"] = until_released(sensor, instance, resources, cursor)
        else:
            new, _, row["runs for 1 % new"], _ = until_pass_ends(sensor, instance, resources, cursor)
        put(s3, bucket, keys[::10], b'{"text": "changed"}\n')
        if events:
            _, row["runs for 10 % changed"] = until_released(sensor, instance, resources, new.cursor)
        else:
            _, _, row["runs for 10 % changed"], _ = until_pass_ends(sensor, instance, resources, new.cursor)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    columns = [
        "objects",
        "mode",
        "ticks per pass",
        "no-change tick (s)",
        "cursor bytes",
        "runs for 1 % new",
        "runs for 10 % changed",
    ]
    print(f"objects listed per tick: {OBJECTS_PER_TICK}; moto's S3 and SQS on this machine ({os.cpu_count()} cores)")
    print("| " + " | ".join(columns) + " |")
    print("| " + " | ".join("---" if c == "mode" else "---:" for c in columns) + " |", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="vectordb-bench-") as folder:
            state_db = StateDatabase(database_url=embedded_server_uri(Path(folder) / "pgdata"))
            for size in args.sizes:
                for events in (False, True):
                    row = scenario(endpoint, state_db, size, events)
                    cells = [
                        f"{v:.2f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)
                        for v in (row[c] for c in columns)
                    ]
                    print("| " + " | ".join(cells) + " |", flush=True)  # each row as soon as it is measured
    finally:
        server.stop()


if __name__ == "__main__":
    main()
