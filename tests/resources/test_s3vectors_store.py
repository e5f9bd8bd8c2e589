"""S3 Vectors through real boto3 against moto's server (queries: `test_s3vectors_query.py`)."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from resources import s3vectors_store
from resources.s3vectors_store import S3VectorsStore
from resources.vector_store import DimensionMismatchError, InvalidVectorError
from tests.local_http import InFlight
from tests.resources.test_pgvector_store import records


@pytest.fixture
def store(moto_endpoint: str, aws_env: None) -> S3VectorsStore:
    store = S3VectorsStore(
        vector_bucket=f"vectors-{uuid.uuid4().hex[:8]}", endpoint_url=moto_endpoint, region_name="us-east-1"
    )
    store.ensure_collection(3)
    return store


def test_put_list_count_and_replace(store: S3VectorsStore) -> None:
    store.upsert("default", records(["a", "b"], np.array([[1, 0, 0], [0, 1, 0]], np.float32)))
    store.upsert("default", records(["a"], np.array([[0, 0, 1]], np.float32), ["h-new"]))
    assert sorted(store.list_ids("default")) == ["a", "b"]
    assert store.count("default") == 2
    assert store.content_hashes("default", ["a", "b", "zz"]) == {"a": "h-new", "b": "h-b"}
    assert store.collection_dimension() == 3


def test_namespaces_are_separate_indexes(store: S3VectorsStore) -> None:
    store.upsert("one", records(["a"], np.array([[1, 0, 0]], np.float32)))
    store.upsert("two", records(["a", "b"], np.eye(3, dtype=np.float32)[:2]))
    assert (store.count("one"), store.count("two"), store.count("three"), store.count("default")) == (1, 2, 0, 0)
    with pytest.raises(ValueError, match="namespace 'Bad_NS' is not allowed"):
        store.count("Bad_NS")


def test_deletes_go_in_batches(store: S3VectorsStore) -> None:
    ids = [f"v{i}" for i in range(1200)]
    vectors = np.random.default_rng(0).standard_normal((1200, 3)).astype(np.float32)
    assert store.upsert("default", records(ids, vectors)) == 1200
    store.delete("default", ids[:1100])
    assert sorted(store.list_ids("default")) == sorted(ids[1100:])


def slowed(store: S3VectorsStore, seconds: float) -> InFlight:
    """Each put and delete of the store's client takes `seconds` longer; returns their count in flight."""
    client, in_flight = store.client(), InFlight()
    for operation in ("put_vectors", "delete_vectors"):

        def slow(original=getattr(client, operation), **kwargs):
            with in_flight.request():
                time.sleep(seconds)
                return original(**kwargs)

        setattr(client, operation, slow)
    return in_flight


@pytest.mark.parametrize("concurrency", [1, 3])
def test_puts_and_deletes_go_out_a_few_at_a_time(moto_endpoint: str, aws_env: None, concurrency: int) -> None:
    store = S3VectorsStore(
        vector_bucket=f"vectors-{uuid.uuid4().hex[:8]}",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        write_concurrency=concurrency,
    )
    store.ensure_collection(3)
    in_flight = slowed(store, 0.2)
    ids = [f"v{i}" for i in range(2000)]
    store.upsert("default", records(ids, np.random.default_rng(2).standard_normal((2000, 3)).astype(np.float32)))
    assert in_flight.most == concurrency and store.count("default") == 2000
    store.delete("default", ids)
    assert store.count("default") == 0


def test_writes_keep_under_the_indexs_vectors_per_second(
    store: S3VectorsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3vectors_store, "MAX_VECTORS_WRITTEN_PER_SECOND", 1000)
    started = time.perf_counter()
    store.upsert("default", records([f"v{i}" for i in range(3000)], np.ones((3000, 3), np.float32)))
    # Six puts of 500: the first two fit the first second's budget, each further one waits 0.5 s.
    assert time.perf_counter() - started >= 1.8 and store.count("default") == 3000


def test_bad_vectors_are_refused_before_the_call(store: S3VectorsStore) -> None:
    with pytest.raises(InvalidVectorError, match="vector 'b' has NaN or infinite values"):
        store.upsert("default", records(["a", "b"], np.array([[1, 0, 0], [np.nan, 0, 0]], np.float32)))
    with pytest.raises(InvalidVectorError, match="vector 'z' is all zeros"):
        store.upsert("default", records(["z"], np.zeros((1, 3), np.float32)))
    with pytest.raises(DimensionMismatchError, match="expects 3 dimensions, not 4"):
        store.upsert("default", records(["a"], np.ones((1, 4), np.float32)))
    assert store.count("default") == 0
