"""S3 event notifications from an SQS queue: which object keys changed, read within a bounded time.

Messages are S3 notifications (`Records[].s3`) or EventBridge events (`detail.object.key`).
An event only says that a key may have changed: the sensor reads each key's current state, so
duplicated and out-of-order events are harmless. Messages are deleted once the tick that read
them is committed (see `LandingMessages`), so a tick that is lost is read again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

import psycopg

# What SQS allows per receive and per delete call.
SQS_BATCH = 10


@dataclass
class EventBatch:
    """The keys a batch of messages names, the receipt handles to delete once it is committed,
    the messages that could not be read (their ids and why), and whether the queue ran dry."""

    keys: dict[str, set[str]] = field(default_factory=dict)  # bucket → full object keys
    receipts: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    drained: bool = False  # False: reading stopped at the message or time limit, more may wait


def keys_of_message(body: str) -> list[tuple[str, str]]:
    """The (bucket, object key) pairs an S3 notification or EventBridge event names; none for
    S3's test event. Raises ValueError for anything else."""
    try:
        message = json.loads(body)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return []
    if "Records" in message:
        try:
            return [(r["s3"]["bucket"]["name"], unquote_plus(r["s3"]["object"]["key"])) for r in message["Records"]]
        except (KeyError, TypeError):
            raise ValueError("an S3 notification without s3.bucket.name and s3.object.key") from None
    if message.get("source") == "aws.s3" and isinstance(message.get("detail"), dict):
        detail = message["detail"]
        try:
            return [(detail["bucket"]["name"], detail["object"]["key"])]  # EventBridge keys are not URL-encoded
        except (KeyError, TypeError):
            raise ValueError("an EventBridge event without detail.bucket.name and detail.object.key") from None
    raise ValueError("neither an S3 notification nor an EventBridge event from aws.s3")


def receive(sqs: Any, queue_url: str, max_messages: int, max_seconds: float) -> EventBatch:
    """Read up to `max_messages` messages, for at most about `max_seconds`, without deleting them;
    the batch says whether the queue answered with no message (nothing more waits)."""
    batch = EventBatch()
    deadline = time.monotonic() + max_seconds
    received = 0
    while received < max_messages and time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=min(SQS_BATCH, max_messages - received), WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            batch.drained = True
            break
        for message in messages:
            received += 1
            batch.receipts.append(message["ReceiptHandle"])
            try:
                for bucket, key in keys_of_message(message["Body"]):
                    batch.keys.setdefault(bucket, set()).add(key)
            except ValueError as error:
                batch.unreadable.append((message["MessageId"], str(error)))
    return batch


class LandingMessages:
    """Receipt handles of messages read by each tick, kept until the tick is known committed."""

    def __init__(self, source: str):
        self.source = source

    def keep(self, conn: psycopg.Connection, tick: int, receipts: list[str]) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(
                "insert into vectordb_landing_messages (source, tick, receipt_handle) values (%s, %s, %s)",
                [(self.source, tick, receipt) for receipt in receipts],
            )

    def settle(self, conn: psycopg.Connection, sqs: Any, queue_url: str, committed_tick: int) -> int:
        """Delete from the queue the messages of ticks up to `committed_tick`; forget those of later
        ticks, which were never committed (SQS shows them again after their visibility timeout)."""
        rows = conn.execute(
            "delete from vectordb_landing_messages where source = %s returning tick, receipt_handle", (self.source,)
        ).fetchall()
        committed = [receipt for tick, receipt in rows if tick <= committed_tick]
        for start in range(0, len(committed), SQS_BATCH):
            entries = [{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(committed[start : start + SQS_BATCH])]
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        return len(committed)
