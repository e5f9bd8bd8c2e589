"""S3 Vectors queries over HTTP (moto, with QueryVectors answered by the server in front of it),
existing indexes used by name, and `vectordb search` against S3 Vectors end to end."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

from resources.s3vectors_store import IndexMismatchError, S3VectorsStore
from resources.vector_store import DimensionMismatchError
from tests.fake_s3vectors import FakeS3Vectors
from tests.resources.test_pgvector_store import records
from vectordb_assets.cli import main


@pytest.fixture
def server(moto_endpoint: str, aws_env: None) -> Iterator[FakeS3Vectors]:
    fake = FakeS3Vectors(moto_endpoint).start()
    yield fake
    fake.stop()


@pytest.fixture
def bucket() -> str:
    return f"vectors-{uuid.uuid4().hex[:8]}"


def existing_index(server: FakeS3Vectors, bucket: str, name: str, dimension: int, distance: str = "cosine") -> None:
    """An index made by another system, before the platform is pointed at it."""
    client = boto3.client("s3vectors", endpoint_url=server.moto_endpoint, region_name="us-east-1")
    client.create_vector_bucket(vectorBucketName=bucket)
    client.create_index(
        vectorBucketName=bucket, indexName=name, dataType="float32", dimension=dimension, distanceMetric=distance
    )


def test_a_query_reaches_the_server_and_comes_back_nearest_first_filtered_and_retried(
    server: FakeS3Vectors, bucket: str
) -> None:
    store = S3VectorsStore(vector_bucket=bucket, endpoint_url=server.url, region_name="us-east-1")
    store._sleep = lambda seconds: None
    store.ensure_collection(3)
    table = records(["a", "b", "c"], np.array([[1, 0, 0], [0, 1, 0], [0.9, 0.1, 0]], np.float32))
    table = table.set_column(
        table.schema.get_field_index("metadata"), "metadata", pa.array(['{"n": 1}', '{"n": 2}', '{"n": 2}'])
    )
    store.upsert("default", table)
    hits = store.query("default", np.array([1, 0, 0], np.float32), 2)
    assert [h.id for h in hits] == ["a", "c"] and hits[0].score == pytest.approx(1.0)
    assert (hits[0].text, hits[0].source_key, hits[0].metadata) == ("text a", "src.csv", {"n": 1})
    assert [h.id for h in store.query("default", np.array([1, 0, 0], np.float32), 5, {"n": "2"})] == ["c", "b"]
    server.faults = [429, 503]
    asked = len(server.queries)
    assert [h.id for h in store.query("default", np.array([0, 1, 0], np.float32), 1)] == ["b"]
    assert len(server.queries) == asked + 3  # two refusals, then the answer
    assert store.query("other", np.array([1, 0, 0], np.float32), 3) == []  # no index for that namespace
    with pytest.raises(ValueError, match="at most 100 results"):
        store.query("default", np.array([1, 0, 0], np.float32), 101)


def test_an_existing_index_is_used_by_name_for_its_namespace(server: FakeS3Vectors, bucket: str) -> None:
    existing_index(server, bucket, "legacy-products", 3)
    store = S3VectorsStore(
        vector_bucket=bucket, endpoint_url=server.url, region_name="us-east-1", indexes={"default": "legacy-products"}
    )
    store.ensure_collection(3)
    store.upsert("default", records(["a", "b"], np.eye(3, dtype=np.float32)[:2]))
    store.upsert("other", records(["z"], np.eye(3, dtype=np.float32)[2:]))
    client = boto3.client("s3vectors", endpoint_url=server.moto_endpoint, region_name="us-east-1")
    assert sorted(i["indexName"] for i in client.list_indexes(vectorBucketName=bucket)["indexes"]) == [
        "documents-other",
        "legacy-products",
    ]
    assert sorted(
        v["key"] for v in client.list_vectors(vectorBucketName=bucket, indexName="legacy-products")["vectors"]
    ) == ["a", "b"]
    assert [h.id for h in store.query("default", np.array([0, 1, 0], np.float32), 1)] == ["b"]
    reader = S3VectorsStore(
        vector_bucket=bucket, endpoint_url=server.url, region_name="us-east-1", indexes={"default": "legacy-products"}
    )
    assert [h.id for h in reader.query("default", np.array([1, 0, 0], np.float32), 1)] == [
        "a"
    ]  # a new process that only reads
    assert sorted(reader.list_ids("default")) == ["a", "b"] and reader.collection_dimension() == 3


@pytest.mark.parametrize(
    ("dimension", "distance", "error", "message"),
    [
        (
            None,
            "cosine",
            IndexMismatchError,
            r"S3 Vectors index 'legacy' \(VECTORDB_S3VECTORS_INDEX\) does not exist in vector bucket",
        ),
        (4, "cosine", DimensionMismatchError, "S3 Vectors index 'legacy' holds 4-dimension vectors; the model makes 3"),
        (3, "euclidean", IndexMismatchError, "S3 Vectors index 'legacy' measures euclidean distance, not cosine"),
    ],
)
def test_a_named_index_that_does_not_fit_the_model_is_refused_clearly(
    server: FakeS3Vectors, bucket: str, dimension: int | None, distance: str, error: type, message: str
) -> None:
    if dimension is None:
        boto3.client("s3vectors", endpoint_url=server.moto_endpoint, region_name="us-east-1").create_vector_bucket(
            vectorBucketName=bucket
        )
    else:
        existing_index(server, bucket, "legacy", dimension, distance)
    store = S3VectorsStore(
        vector_bucket=bucket, endpoint_url=server.url, region_name="us-east-1", indexes={"default": "legacy"}
    )
    with pytest.raises(error, match=message):
        store.ensure_collection(3)


def test_vectordb_search_against_s3_vectors_end_to_end(
    server: FakeS3Vectors, bucket: str, embedder, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing_index(server, bucket, "help-articles", embedder.dimension)
    texts = {"socks": "thick wool socks keep your feet warm", "tent": "a two-person tent for rainy camping trips"}
    store = S3VectorsStore(
        vector_bucket=bucket, endpoint_url=server.url, region_name="us-east-1", indexes={"default": "help-articles"}
    )
    ids = list(texts)
    table = records(ids, embedder.embed(list(texts.values())))
    store.upsert(
        "default", table.set_column(table.schema.get_field_index("text"), "text", pa.array(list(texts.values())))
    )
    for name, value in {
        "VECTORDB_STORE": "s3vectors",
        "VECTORDB_S3VECTORS_BUCKET": bucket,
        "VECTORDB_S3VECTORS_ENDPOINT_URL": server.url,
        "VECTORDB_S3VECTORS_INDEX": "help-articles",
    }.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["search", "something warm for my feet", "--top-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert [h["id"] for h in hits] == ["socks", "tent"] and hits[0]["text"] == texts["socks"]
    assert server.queries[-1]["indexName"] == "help-articles" and server.queries[-1]["topK"] == 2


def test_dropping_a_collection_empties_a_named_index_and_removes_its_own(server: FakeS3Vectors, bucket: str) -> None:
    existing_index(server, bucket, "legacy", 3)
    named = S3VectorsStore(
        vector_bucket=bucket, endpoint_url=server.url, region_name="us-east-1", indexes={"default": "legacy"}
    )
    own = named.with_collection("documents_1a2b3c4d")
    for store in (named, own):
        store.ensure_collection(3)
        store.upsert("default", records(["a", "b"], np.eye(2, 3, dtype=np.float32)))
        store.drop_collection(["default"])
    client = boto3.client("s3vectors", endpoint_url=server.moto_endpoint, region_name="us-east-1")
    assert [i["indexName"] for i in client.list_indexes(vectorBucketName=bucket)["indexes"]] == ["legacy"]
    assert client.list_vectors(vectorBucketName=bucket, indexName="legacy")["vectors"] == []
    assert own.collection_dimension() is None
