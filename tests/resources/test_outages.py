"""Each service's outage leaves its resource as TransientServiceError once the retries give up,
and a refusal of the settings as ServiceMisconfigured: the stages blame no file for either."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dagster_aws.s3 import S3Resource

from resources.metabase import MetabaseResource
from resources.object_store import S3ObjectStore
from resources.openai_embedder import OpenAIEmbedder
from resources.pinecone_store import PineconeStore
from resources.retry import ServiceMisconfigured, TransientServiceError
from resources.s3vectors_store import S3VectorsStore
from resources.state_db import StateDatabase
from tests.conftest import free_port
from tests.fake_openai import FakeOpenAI
from tests.fake_pinecone import FakePinecone
from tests.resources.test_pgvector_store import records


@pytest.fixture
def closed() -> str:
    """The address of a loopback port nothing listens on: connections are refused."""
    return f"http://127.0.0.1:{free_port()}"


def quick(embedder: OpenAIEmbedder) -> OpenAIEmbedder:
    embedder._sleep = lambda seconds: None
    return embedder


def test_an_openai_5xx_storm_is_an_outage(openai_server: FakeOpenAI) -> None:
    openai_server.faults = ["500"] * 3
    embedder = quick(OpenAIEmbedder(api_key="sk-test", base_url=openai_server.url, max_attempts=3))
    with pytest.raises(TransientServiceError, match="OpenAI is unavailable.*InternalServerError"):
        embedder.embed(["a"])
    assert len(openai_server.requests) == 3


def test_openai_refusing_connections_is_an_outage(closed: str) -> None:
    embedder = quick(OpenAIEmbedder(api_key="sk-test", base_url=f"{closed}/v1", max_attempts=2))
    with pytest.raises(TransientServiceError, match="OpenAI is unavailable.*APIConnectionError"):
        embedder.embed(["a"])


def test_openai_timing_out_is_an_outage(openai_server: FakeOpenAI) -> None:
    openai_server.faults, openai_server.hang_seconds = ["hang", "hang"], 1.5
    embedder = quick(OpenAIEmbedder(api_key="sk-test", base_url=openai_server.url, max_attempts=2, timeout_seconds=0.3))
    with pytest.raises(TransientServiceError, match="APITimeoutError"):
        embedder.embed(["a"])


def test_a_refused_openai_key_is_the_settings_fault(openai_server: FakeOpenAI) -> None:
    openai_server.faults = ["401"]
    with pytest.raises(
        ServiceMisconfigured, match=r"OpenAI refuses the configured settings: AuthenticationError \(401\)"
    ):
        quick(OpenAIEmbedder(api_key="sk-wrong", base_url=openai_server.url)).embed(["a"])
    assert len(openai_server.requests) == 1


@pytest.mark.parametrize("refused", [False, True], ids=["503 storm", "connection refused"])
def test_a_pinecone_outage(refused: bool, closed: str) -> None:
    server = FakePinecone(faults=["503"] * 40)  # the SDK retries some on its own first
    server.start()
    try:
        store = PineconeStore(
            api_key="pc-test", index_name="documents", host=closed if refused else server.url, max_attempts=3
        )
        store._sleep = lambda seconds: None
        store._dimension = 3  # known: the next call is the write
        with pytest.raises(TransientServiceError, match="Pinecone is unavailable"):
            store.upsert("default", records(["a"], np.ones((1, 3), dtype=np.float32)))
    finally:
        server.stop()


def test_an_s3_vectors_outage(closed: str, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    store = S3VectorsStore(vector_bucket="vectors", endpoint_url=closed, region_name="us-east-1", max_attempts=2)
    store._sleep = lambda seconds: None
    with pytest.raises(TransientServiceError, match="S3 Vectors is unavailable.*EndpointConnectionError"):
        store.collection_dimension()


def test_an_s3_outage(closed: str, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    store = S3ObjectStore(s3=S3Resource(endpoint_url=closed, region_name="us-east-1"), bucket="landing")
    with pytest.raises(TransientServiceError, match="S3 is unavailable.*EndpointConnectionError"):
        store.head("a.csv")
    with pytest.raises(TransientServiceError, match="S3 is unavailable"):
        list(store.list_objects())


def test_a_postgresql_outage() -> None:
    db = StateDatabase(database_url=f"postgresql://app:pw-9Xq@127.0.0.1:{free_port()}/state")
    with pytest.raises(TransientServiceError, match="PostgreSQL is unavailable.*OperationalError") as raised:
        with db.connect():
            pass
    assert "pw-9Xq" not in str(raised.value)


def test_a_url_postgresql_cannot_use_is_the_settings_fault() -> None:
    db = StateDatabase(database_url="postgresql://app:pw-9Xq@127.0.0.1:5/state?no_such_option=1")
    with pytest.raises(
        ServiceMisconfigured, match="PostgreSQL refuses the configured settings: DATABASE_URL"
    ) as raised:
        with db.connect():
            pass
    assert "pw-9Xq" not in str(raised.value)


def test_a_metabase_outage(closed: str, tmp_path: Path) -> None:
    metabase = MetabaseResource(url=closed, api_key="mb-test", max_attempts=2)
    with pytest.raises(TransientServiceError, match="Metabase is unavailable"):
        metabase.export_csv(42, tmp_path / "42.csv")
