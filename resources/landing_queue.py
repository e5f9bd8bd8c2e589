"""The SQS queue that S3 event notifications of the landing bucket are delivered to (optional).

Example::

    queue = LandingQueue(queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/landing")
    queue.client().receive_message(QueueUrl=queue.queue_url)
"""

from __future__ import annotations

from typing import Any

import boto3
from pydantic import Field, PrivateAttr

from resources.settings_only import SettingsOnlyResource


class LandingQueue(SettingsOnlyResource):
    """An SQS queue URL (unset: the landing sensor lists the bucket instead) and its endpoint;
    credentials come from boto3's usual chain."""

    queue_url: str | None = Field(default=None, description="SQS queue receiving the landing bucket's S3 events.")
    endpoint_url: str | None = Field(default=None, description="Another SQS endpoint (an emulator).")
    region_name: str | None = Field(default=None, description="AWS region of the queue.")

    _client: Any = PrivateAttr(default=None)

    def client(self) -> Any:
        """The boto3 SQS client, made on first use and kept for this resource's lifetime."""
        if self._client is None:
            self._client = boto3.client("sqs", endpoint_url=self.endpoint_url, region_name=self.region_name)
        return self._client
