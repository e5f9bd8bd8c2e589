"""What the transfer tests share: a boto3 S3 client on moto's server, which the CLI uses too."""

from __future__ import annotations

import boto3
import pytest


@pytest.fixture
def s3(moto_endpoint: str, aws_env: None, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VECTORDB_S3_ENDPOINT_URL", moto_endpoint)
    return boto3.client("s3", endpoint_url=moto_endpoint)
