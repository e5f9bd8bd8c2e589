"""Pinecone through the real SDK against a local server speaking its data-plane API."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from resources.pinecone_store import PineconeStore
from resources.vector_store import DimensionMismatchError
from tests.fake_pinecone import FakePinecone
from tests.resources.test_pgvector_store import records


@pytest.fixture
def server() -> FakePinecone:
    fake = FakePinecone(dimension=3)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def store(server: FakePinecone) -> PineconeStore:
    store = PineconeStore(api_key="pc-test", index_name="documents", host=server.url)
    store.ensure_collection(3)
    return store


def upserts(server: FakePinecone) -> list[dict]:
    return [r for r in server.requests if r["path"] == "/vectors/upsert"]


def test_upsert_query_count_and_fetch(store: PineconeStore, server: FakePinecone) -> None:
    store.upsert("ns", records(["a", "b", "c"], np.array([[1, 0, 0], [0, 1, 0], [0.9, 0.1, 0]], np.float32)))
    hits = store.query("ns", np.array([1, 0, 0], np.float32), 2)
    assert [h.id for h in hits] == ["a", "c"] and hits[0].text == "text a" and hits[0].metadata == {"n": 1}
    assert store.count("ns") == 3 and store.count("other") == 0
    assert store.content_hashes("ns", ["a", "zz"]) == {"a": "h-a"}
    assert [
        h.id for h in store.query("ns", np.array([1, 0, 0], np.float32), 5, {"source_key": "src.csv", "n": "1"})
    ] == ["a", "c", "b"]


def test_batches_stay_within_1000_vectors_and_2_mb(store: PineconeStore, server: FakePinecone) -> None:
    ids = [f"v{i}" for i in range(2500)]
    store.upsert("ns", records(ids, np.random.default_rng(0).standard_normal((2500, 3)).astype(np.float32)))
    assert sorted(len(r["body"]["vectors"]) for r in upserts(server)) == [500, 1000, 1000]
    table = records([f"w{i}" for i in range(300)], np.ones((300, 3), np.float32))
    table = table.set_column(table.schema.get_field_index("text"), "text", pa.array(["x" * 20_000] * 300))
    store.upsert("big", table)
    big = [r for r in upserts(server)[3:]]
    assert len(big) > 1 and all(r["bytes"] <= 2_000_000 for r in big)
    assert store.count("big") == 300


def test_oversized_metadata_fields_are_dropped_with_a_warning(
    store: PineconeStore, caplog: pytest.LogCaptureFixture
) -> None:
    table = records(["a"], np.ones((1, 3), np.float32))
    table = table.set_column(
        table.schema.get_field_index("metadata"), "metadata", pa.array([json.dumps({"blob": "y" * 50_000, "tag": "t"})])
    )
    with caplog.at_level("WARNING"):
        store.upsert("ns", table)
    assert any("a: metadata field 'blob' dropped" in r.getMessage() for r in caplog.records)
    (hit,) = store.query("ns", np.ones(3, np.float32), 1)
    assert hit.metadata == {"tag": "t"}


def test_deletes_go_in_batches_of_1000(store: PineconeStore, server: FakePinecone) -> None:
    ids = [f"v{i}" for i in range(1500)]
    store.upsert("ns", records(ids, np.ones((1500, 3), np.float32)))
    store.delete("ns", ids[:1200])
    deletes = [r for r in server.requests if r["path"] == "/vectors/delete"]
    assert sorted(len(r["body"]["ids"]) for r in deletes) == [200, 1000]
    assert sorted(store.list_ids("ns")) == sorted(ids[1200:])


def test_429_is_retried(store: PineconeStore, server: FakePinecone, monkeypatch: pytest.MonkeyPatch) -> None:
    store._sleep = lambda seconds: None
    server.requests.clear()
    server.faults = ["429", "429"]
    store.upsert("ns", records(["a"], np.ones((1, 3), np.float32)))
    answered = [(r["path"], r["fault"]) for r in server.requests if "fault" in r]
    assert answered == [("/vectors/upsert", "429"), ("/vectors/upsert", "429"), ("/vectors/upsert", None)]
    server.faults = ["429"]
    store.delete("ns", ["a"])
    assert [(r["path"], r["fault"]) for r in server.requests[-2:]] == [
        ("/vectors/delete", "429"),
        ("/vectors/delete", None),
    ]
    assert store.count("ns") == 0


@pytest.mark.parametrize("concurrency", [1, 3])
def test_writes_go_out_a_few_at_a_time(server: FakePinecone, concurrency: int) -> None:
    store = PineconeStore(api_key="pc-test", index_name="documents", host=server.url, write_concurrency=concurrency)
    store.ensure_collection(3)
    server.delay_seconds = 0.2
    ids = [f"v{i}" for i in range(3500)]
    store.upsert("ns", records(ids, np.random.default_rng(1).standard_normal((3500, 3)).astype(np.float32)))
    assert server.in_flight.most == concurrency and store.count("ns") == 3500
    store.delete("ns", ids)
    assert store.count("ns") == 0


def test_the_client_and_the_dimension_are_asked_for_once(store: PineconeStore, server: FakePinecone) -> None:
    server.requests.clear()
    for name in ("a", "b", "c"):
        store.upsert("ns", records([name], np.ones((1, 3), np.float32)))
    assert [r["path"] for r in server.requests] == ["/vectors/upsert"] * 3
    other = store.with_collection("other_index")
    assert other.index_name == "other-index" and other._index is None and other._dimension is None


def test_another_dimension_is_refused(store: PineconeStore) -> None:
    with pytest.raises(DimensionMismatchError, match="collection 'documents' expects 3 dimensions, not 384"):
        store.ensure_collection(384)


def test_a_missing_index_is_created_serverless_only_when_asked(
    server: FakePinecone, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK's own variable points its control plane at the local server.
    monkeypatch.setenv("PINECONE_CONTROLLER_HOST", server.url)
    refused = PineconeStore(api_key="pc-test", index_name="fresh")
    with pytest.raises(ValueError, match="Pinecone index 'fresh' does not exist"):
        refused.ensure_collection(3)
    assert refused.collection_dimension() is None and server.indexes == {}

    store = PineconeStore(
        api_key="pc-test", index_name="fresh", create_if_missing=True, cloud="gcp", region="europe-west4"
    )
    store.ensure_collection(3)
    store.ensure_collection(3)  # exists now: not created twice
    (created,) = [r["body"] for r in server.requests if r["path"] == "/indexes" and "body" in r]
    assert created["name"] == "fresh"
    assert created["schema"]["fields"]["_values"] == {"type": "dense_vector", "dimension": 3, "metric": "cosine"}
    assert (created["deployment"]["cloud"], created["deployment"]["region"]) == ("gcp", "europe-west4")
    store.upsert("ns", records(["a", "b"], np.eye(2, 3, dtype=np.float32)))
    assert store.count("ns") == 2 and store.collection_dimension() == 3


def test_a_numeric_filter_matches_numbers_and_text_alike(store: PineconeStore) -> None:
    table = records(["a", "b", "c"], np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32))
    table = table.set_column(3, "metadata", pa.array(['{"price": 129.0}', '{"price": "129"}', '{"price": 34.5}']))
    store.upsert("ns", table)
    assert sorted(h.id for h in store.query("ns", np.array([1, 1, 1], np.float32), 5, {"price": "129"})) == ["a", "b"]
    assert store.query("ns", np.array([1, 1, 1], np.float32), 5, {"price": "130"}) == []
