"""The landing sensor fed by S3 event notifications through SQS, on moto's server (real boto3)."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import dagster as dg
import pytest

from resources.landing_queue import LandingQueue
from resources.object_store import S3ObjectStore
from sensors import landing_sensor
from sensors.landing_events import keys_of_message, receive
from sensors.landing_plan import LandingCursor
from sensors.landing_sensor import build_landing_sensor
from tests.sensors.ticks import tick
from vectordb_assets.assets.jobs import ingest_files
from vectordb_assets.assets.per_file import CHANGED_PARTITIONS_TAG
from vectordb_assets.landing.partitions import source_files


@pytest.fixture
def notified_bucket(s3_bucket: str, moto_endpoint: str) -> tuple[str, str]:
    """The bucket, with every object created or removed under landing/ notified to a new queue."""
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    queue_url = sqs.create_queue(QueueName=f"landing-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("s3", endpoint_url=moto_endpoint).put_bucket_notification_configuration(
        Bucket=s3_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "landing/"}]}},
                }
            ]
        },
    )
    sqs.purge_queue(QueueUrl=queue_url)  # S3's test event, sent when the configuration is set
    return s3_bucket, queue_url


def sensor_resources(s3_resource, state_db, bucket: str, queue_url: str, moto_endpoint: str) -> dict:
    """What the landing sensor reads: the bucket's landing/ folder, the state database, the queue."""
    return {
        "source_store": S3ObjectStore(s3=s3_resource, bucket=bucket, prefix="landing"),
        "state_db": state_db,
        "landing_queue": LandingQueue(queue_url=queue_url, endpoint_url=moto_endpoint, region_name="us-east-1"),
    }


def waiting_messages(sqs, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_events_become_runs_without_listing_and_messages_go_once_committed(
    notified_bucket, s3_resource, state_db, moto_endpoint
) -> None:
    bucket, queue_url = notified_bucket
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    for i in range(30):
        s3.put_object(Bucket=bucket, Key=f"landing/pages/{i:02d}.jsonl", Body=b'{"text": "page %d"}\n' % i)
    sensor = build_landing_sensor(
        ingest_files,
        minimum_interval_seconds=30,
        max_partitions_per_run=100,
        excluded_prefix=None,
        reconcile_seconds=3600,
    )
    resources = sensor_resources(s3_resource, state_db, bucket, queue_url, moto_endpoint)
    with dg.instance_for_test() as instance:
        # The first tick also lists (no listing pass has finished yet); later ticks read events only.
        first = tick(sensor, instance, resources, None)
        assert len(instance.get_dynamic_partitions(source_files.name)) == 30 and len(first.run_requests) == 1
        assert LandingCursor.from_json(first.cursor).pass_finished is not None
        assert waiting_messages(sqs, queue_url) == 30  # read, kept until the tick is known committed

        second = tick(sensor, instance, resources, first.cursor)
        assert second.run_requests == [] and waiting_messages(sqs, queue_url) == 0

        # An edit and a removal arrive as events; a listing would not run for another hour.
        s3.put_object(Bucket=bucket, Key="landing/pages/07.jsonl", Body=b'{"text": "page seven, edited"}\n')
        s3.delete_object(Bucket=bucket, Key="landing/pages/21.jsonl")
        s3.put_object(Bucket=bucket, Key="landing/pages/30.jsonl", Body=b'{"text": "page thirty"}\n')
        s3.put_object(Bucket=bucket, Key="landing/pages/07.jsonl", Body=b'{"text": "page seven, edited twice"}\n')
        sqs.send_message(QueueUrl=queue_url, MessageBody="not an event")
        third = tick(sensor, instance, resources, second.cursor)
        # One run over the range from 07 to the new 30, processing only the three that changed.
        (request,) = third.run_requests
        assert json.loads(request.tags[CHANGED_PARTITIONS_TAG]) == [
            "pages/07.jsonl",
            "pages/21.jsonl",
            "pages/30.jsonl",
        ]
        assert "pages/30.jsonl" in instance.get_dynamic_partitions(source_files.name)

        # The same events again (redelivered): nothing new, same run keys if requested again.
        lost = tick(sensor, instance, resources, third.cursor)
        assert lost.run_requests == []


def test_a_tick_that_is_not_committed_is_read_again(notified_bucket, s3_resource, state_db, moto_endpoint) -> None:
    bucket, queue_url = notified_bucket
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    sensor = build_landing_sensor(
        ingest_files, minimum_interval_seconds=30, max_partitions_per_run=100, excluded_prefix=None
    )
    resources = sensor_resources(s3_resource, state_db, bucket, queue_url, moto_endpoint)
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "1"})
    with dg.instance_for_test() as instance:
        first = tick(sensor, instance, resources, None)
        s3.put_object(Bucket=bucket, Key="landing/a.csv", Body=b"id,text\n1,one\n")
        lost = tick(sensor, instance, resources, first.cursor)  # Dagster never keeps this result
        assert [r.partition_key for r in lost.run_requests] == ["a.csv"]
        again = tick(sensor, instance, resources, first.cursor)
        assert [(r.partition_key, r.run_key) for r in again.run_requests] == [
            (r.partition_key, r.run_key) for r in lost.run_requests
        ]
        # The lost tick's message is not deleted: SQS delivers it again once its visibility ends.
        time.sleep(1.5)
        assert waiting_messages(sqs, queue_url) == 1
        redelivered = tick(sensor, instance, resources, again.cursor)
        assert redelivered.run_requests == []  # a.csv is requested already
        tick(sensor, instance, resources, redelivered.cursor)
        assert waiting_messages(sqs, queue_url) == 0


def test_a_backlog_of_scattered_changes_is_requested_in_few_runs(
    notified_bucket, s3_resource, state_db, moto_endpoint, monkeypatch
) -> None:
    """Ticks that read full batches hold their runs back; the tick after the backlog (or the one
    that reaches the hold's limit) requests everything held, so scattered changes share runs."""
    monkeypatch.setattr(landing_sensor, "MAX_HELD_TICKS", 2)
    bucket, queue_url = notified_bucket
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    keys = [f"landing/pages/{i:03d}.jsonl" for i in range(90)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b'{"text": "first"}\n')
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        sqs.delete_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in messages]
        )
    sensor = build_landing_sensor(
        ingest_files, minimum_interval_seconds=30, max_partitions_per_run=100, excluded_prefix=None, events_per_tick=10
    )
    resources = sensor_resources(s3_resource, state_db, bucket, queue_url, moto_endpoint)
    with dg.instance_for_test() as instance:
        cursor = tick(sensor, instance, resources, None).cursor  # the listing pass: every object known
        changed = keys[::4][:20]  # 20 changes scattered over the 90 objects: two full batches
        for key in changed:
            s3.put_object(Bucket=bucket, Key=key, Body=b'{"text": "second"}\n')
        held = []
        for _ in range(2):
            result = tick(sensor, instance, resources, cursor)
            held.append(result.run_requests)
            cursor = result.cursor
        assert held == [[], []] and LandingCursor.from_json(cursor).holding_since is not None
        released = tick(sensor, instance, resources, cursor)  # the queue is read: the backlog is over
        assert len(released.run_requests) == 1
        processed = json.loads(released.run_requests[0].tags[CHANGED_PARTITIONS_TAG])
        assert processed == [key.removeprefix("landing/") for key in changed]
        assert LandingCursor.from_json(released.cursor).holding_since is None

        # A backlog that lasts is held for at most MAX_HELD_TICKS ticks.
        for key in keys[1::2][:35]:
            s3.put_object(Bucket=bucket, Key=key, Body=b'{"text": "third"}\n')
        cursor, runs = released.cursor, []
        for _ in range(3):
            result = tick(sensor, instance, resources, cursor)
            runs.append(len(result.run_requests))
            cursor = result.cursor
        assert runs == [0, 0, 1]
        assert len(json.loads(result.run_requests[0].tags[CHANGED_PARTITIONS_TAG])) == 30
        last = tick(sensor, instance, resources, cursor)
        assert len(json.loads(last.run_requests[0].tags[CHANGED_PARTITIONS_TAG])) == 5
        tick(sensor, instance, resources, last.cursor)
        assert waiting_messages(sqs, queue_url) == 0


def test_a_read_says_whether_the_queue_ran_dry(moto_endpoint, aws_env) -> None:
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    queue_url = sqs.create_queue(QueueName=f"dry-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    for _ in range(5):
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"Records": []}))
    stopped_by_count = receive(sqs, queue_url, 3, 10.0)
    stopped_by_time = receive(sqs, queue_url, 1000, 0.0)
    dry = receive(sqs, queue_url, 1000, 10.0)
    assert (len(stopped_by_count.receipts), stopped_by_count.drained) == (3, False)
    assert (len(stopped_by_time.receipts), stopped_by_time.drained) == (0, False)
    assert (len(dry.receipts), dry.drained) == (2, True)  # the other three are still invisible


def test_s3_notifications_and_eventbridge_events_name_their_keys() -> None:
    notification = {"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "landing/a+b%C3%A9.csv"}}}]}
    assert keys_of_message(json.dumps(notification)) == [("b", "landing/a bé.csv")]
    bridge = {
        "source": "aws.s3",
        "detail-type": "Object Deleted",
        "detail": {"bucket": {"name": "b"}, "object": {"key": "landing/a b.csv"}},
    }
    assert keys_of_message(json.dumps(bridge)) == [("b", "landing/a b.csv")]
    assert keys_of_message(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    with pytest.raises(ValueError, match="neither an S3 notification"):
        keys_of_message('{"hello": 1}')
    with pytest.raises(ValueError, match="not JSON"):
        keys_of_message("not an event")
