"""The chain into S3 Vectors (moto's server), with the ledger deciding writes and deletes."""

from __future__ import annotations

import uuid
from pathlib import Path

import dagster as dg
import pytest

from resources.s3vectors_store import S3VectorsStore
from tests.pipeline_harness import Pipeline
from vectordb_assets.settings import Settings, SettingsError


@pytest.mark.usefixtures("models_dir")
def test_files_are_indexed_in_s3_vectors_and_edits_replace_them(
    home: Path, state_db, moto_endpoint: str, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = f"vectors-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    monkeypatch.setenv("VECTORDB_STORE", "s3vectors")
    monkeypatch.setenv("VECTORDB_S3VECTORS_BUCKET", bucket)
    monkeypatch.setenv("VECTORDB_S3VECTORS_ENDPOINT_URL", moto_endpoint)
    store = S3VectorsStore(vector_bucket=bucket, endpoint_url=moto_endpoint, region_name="us-east-1")
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("a.csv", "id,text\n1,one\n2,two\n3,three\n")
        first = p.run("a.csv")
        assert first["vector_index"]["added"] == 3 and store.count("default") == 3
        p.land("a.csv", 'id,text\n1,one\n3,"three, edited"\n', minute=5)
        second = p.run("a.csv")
    index = second["vector_index"]
    assert (index["skipped"], index["updated"], index["deleted"]) == (1, 1, 1)
    assert sorted(store.list_ids("default")) == ["1", "3"]
    assert store.collection_dimension() == 384


def test_s3_vectors_needs_a_bucket(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECTORDB_STORE", "s3vectors")
    with pytest.raises(SettingsError, match="VECTORDB_STORE=s3vectors needs VECTORDB_S3VECTORS_BUCKET"):
        Settings.from_env()
