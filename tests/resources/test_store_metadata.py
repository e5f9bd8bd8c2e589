"""What the hosted stores keep beside a vector: landed fields never collide with the platform's
own, hits parse only what the platform wrote, and each service's limits hold per row."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from resources.pinecone_store import PineconeStore
from resources.s3vectors_store import MAX_METADATA_BYTES, MAX_METADATA_KEYS, S3VectorsStore
from resources.vector_store import InvalidVectorError, hit_from_metadata
from tests.fake_pinecone import FakePinecone
from tests.resources.test_pgvector_store import records
from tests.resources.test_s3vectors_store import store  # noqa: F401 (the fixture: a bucket with a 3-d index)
from tests.validation.test_validate import run
from vectordb_assets.settings import Settings
from vectordb_assets.validation.readers import ReadOptions
from vectordb_assets.validation.report import ValidationOptions
from vectordb_assets.validation.validate import validate_file


def with_metadata(metadata: dict) -> pa.Table:
    table = records(["a"], np.ones((1, 3), np.float32))
    return table.set_column(table.schema.get_field_index("metadata"), "metadata", pa.array([json.dumps(metadata)]))


def test_landed_fields_with_the_platforms_names_are_kept_under_other_names(tmp_path: Path) -> None:
    content = b'{"id": "1", "text": "hello", "metadata_json": "{not json", "source_key": "forged.csv", "landed_source_key": "x"}\n'
    report, table = run(tmp_path, "a.jsonl", content)
    assert json.loads(table.column("metadata")[0].as_py()) == {
        "landed_metadata_json": "{not json",
        "landed_landed_source_key": "forged.csv",
        "landed_source_key": "x",
    }
    assert (
        report.repaired[
            "field 'metadata_json' kept as 'landed_metadata_json' (a name the vector stores keep for the platform)"
        ]
        == 1
    )
    assert table.column("source_key")[0].as_py() == "a.jsonl"


def test_a_hit_parses_only_what_the_platform_wrote() -> None:
    broken = hit_from_metadata("v", 0.5, {"source_key": "a.csv", "text": "t", "metadata_json": "{not json"})
    assert (broken.source_key, broken.metadata) == ("a.csv", {"metadata_json": "{not json"})
    packed = json.dumps({"tag": "x", "source_key": "forged.csv", "text": "forged"})
    hit = hit_from_metadata("v", 0.5, {"source_key": "a.csv", "text": "t", "metadata_json": packed})
    assert (hit.source_key, hit.text, hit.metadata) == ("a.csv", "t", {"tag": "x"})


def test_pinecone_drops_the_largest_fields_first_in_one_pass(caplog: pytest.LogCaptureFixture) -> None:
    server = FakePinecone()
    server.start()
    try:
        store = PineconeStore(api_key="pc-test", index_name="documents", host=server.url)
        fields = {f"f{i:04d}": "v" * 8 for i in range(1_500)} | {"big1": "b" * 30_000, "big2": "c" * 20_000}
        with caplog.at_level("WARNING"):
            store.upsert("ns", with_metadata(fields))
        (hit,) = store.query("ns", np.ones(3, np.float32), 1)
    finally:
        server.stop()
    assert "big1" not in hit.metadata and "big2" not in hit.metadata and len(hit.metadata) == 1_500
    (warning,) = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert warning == "a: metadata fields 'big1', 'big2' dropped (metadata over 40 KB)"


def test_s3_vectors_packs_metadata_of_more_keys_than_it_filters_on(store: S3VectorsStore) -> None:
    fields = {f"k{i}": i for i in range(63)}
    sent = store._metadata("a", "text a", json.dumps(fields), "h", "a.csv")
    assert len(sent) <= MAX_METADATA_KEYS and hit_from_metadata("a", 1.0, sent).metadata == fields
    assert store.upsert("default", with_metadata(fields)) == 1  # moto's S3 Vectors takes it


def test_s3_vectors_refuses_a_row_over_its_metadata_limit_before_the_call(store: S3VectorsStore) -> None:
    with pytest.raises(
        InvalidVectorError,
        match=rf"vector 'a': its metadata is [\d,]+ bytes without its text; S3 Vectors keeps at most {MAX_METADATA_BYTES:,}",
    ):
        store.upsert("default", with_metadata({"blob": "z" * (1 << 20)}))
    assert store.count("default") == 0


def test_a_row_over_s3_vectors_metadata_limit_is_rejected_alone_at_validation(
    tmp_path: Path, store: S3VectorsStore
) -> None:
    limits = Settings.from_env({"VECTORDB_STORE": "s3vectors", "VECTORDB_S3VECTORS_BUCKET": "b"}).read_limits
    rows = [
        {"id": "1", "text": "one"},
        {"id": "2", "text": "two", "blob": "é" * 30_000},
        {"id": "3", "text": "three", "note": "n" * 30_000},
    ]
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = validate_file(
        path, "a.jsonl", "e", tmp_path / "out.parquet", options=ValidationOptions(read=ReadOptions(limits=limits))
    )
    assert report.rows_kept == 2 and report.rows_rejected == 1
    (reason,) = report.rejected
    assert reason.startswith("metadata of 176 KiB, over the 40 KiB the vector store keeps per vector")
    table = pq.read_table(tmp_path / "out.parquet")
    kept = records(table.column("doc_id").to_pylist(), np.ones((2, 3), np.float32))
    kept = kept.set_column(
        kept.schema.get_field_index("metadata"), "metadata", table.column("metadata").combine_chunks()
    )
    assert store.upsert("default", kept) == 2 and store.count("default") == 2  # the store takes every kept row
    unbounded = Settings.from_env({}).read_limits
    assert unbounded.max_metadata_bytes is None and unbounded.metadata_problem(json.dumps(rows[1]), "a.jsonl") is None
