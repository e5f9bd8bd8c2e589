"""Model generations on Pinecone (the real SDK against the local server) and S3 Vectors (moto,
with queries answered by the server in front of it): a generation is an index of its own, files
landing during the backfill reach both, searches follow the switch, and the retired generation
is removed once its retention is over (an index the settings named is emptied, not removed)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import boto3
import dagster as dg
import pytest
from click.testing import CliRunner

from resources.embedders import LocalEmbedder
from tests.fake_pinecone import FakePinecone
from tests.fake_s3vectors import FakeS3Vectors
from tests.pipeline_harness import Pipeline
from vectordb_assets.cli import main
from vectordb_assets.indexing.generations import GenerationRegistry, generation_id
from vectordb_assets.settings import Settings

A = "id,text\na1,reset a password\na2,change the billing email\n"
C = "id,text\nc1,delete an account for good\n"


@pytest.fixture
def pipeline_on(home: Path, state_db, monkeypatch: pytest.MonkeyPatch):
    """A pipeline with the given settings in the environment; retired generations are dropped at once."""

    def make(instance: dg.DagsterInstance, **env: str) -> Pipeline:
        for name, value in {
            "DATABASE_URL": state_db.database_url,
            "VECTORDB_GENERATION_RETENTION_HOURS": "0",
            **env,
        }.items():
            monkeypatch.setenv(name, value)
        return Pipeline(Settings.from_env(), instance, state_db)

    return make


def change_model(p: Pipeline) -> tuple[Settings, str]:
    """Index a.csv with MiniLM, then land c.csv and index it with the 8-bit model: the new
    generation's settings and id."""
    p.land("a.csv", A)
    p.run("a.csv")
    int8 = p.settings.with_changes(VECTORDB_LOCAL_BACKEND="onnx-int8")
    p.land("c.csv", C)
    p.run("c.csv", settings=int8)
    model = LocalEmbedder(backend="onnx-int8")
    return int8, generation_id(model.model_id, model.dimension)


def search(query: str, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    monkeypatch.setenv("VECTORDB_LOCAL_BACKEND", "onnx-int8")
    result = CliRunner().invoke(main, ["search", query, "--top-k", "1", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.usefixtures("models_dir")
def test_pinecone_a_generation_is_an_index_of_its_own(pipeline_on, monkeypatch: pytest.MonkeyPatch) -> None:
    pinecone = FakePinecone(dimension=384)
    pinecone.start()
    try:
        with dg.instance_for_test() as instance:
            p = pipeline_on(
                instance,
                VECTORDB_STORE="pinecone",
                VECTORDB_PINECONE_HOST=pinecone.url,
                PINECONE_API_KEY="pc-test",
                PINECONE_CONTROLLER_HOST=pinecone.url,
                VECTORDB_PINECONE_CREATE="true",
            )
            int8, new = change_model(p)
            index = f"documents-{new}"
            assert sorted(pinecone.planes[index].namespaces["default"]) == ["c1"]
            assert sorted(pinecone.namespaces["default"]) == ["a1", "a2", "c1"]  # the live index got the new file too
            assert search("reset a password", monkeypatch)[0]["id"] == "a1"
            assert not any(r["path"] == "/query" for r in pinecone.planes[index].requests)

            p.run("a.csv", settings=int8)  # the backfill's last file: the switch, and the old index emptied
            assert GenerationRegistry(p.state_db, "documents").live().store_collection == f"documents_{new}"
            assert sorted(pinecone.planes[index].namespaces["default"]) == ["a1", "a2", "c1"]
            assert pinecone.namespaces["default"] == {}  # given by its host: emptied, not deleted
            assert search("reset a password", monkeypatch)[0]["id"] == "a1"
            assert any(r["path"] == "/query" for r in pinecone.planes[index].requests)
    finally:
        pinecone.stop()


@pytest.mark.usefixtures("models_dir")
def test_s3_vectors_a_generation_is_indexes_of_its_own(
    pipeline_on, moto_endpoint: str, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FakeS3Vectors(moto_endpoint).start()
    bucket = f"vectors-{uuid.uuid4().hex[:8]}"
    client = boto3.client("s3vectors", endpoint_url=moto_endpoint, region_name="us-east-1")

    def keys(index: str) -> list[str]:
        return sorted(v["key"] for v in client.list_vectors(vectorBucketName=bucket, indexName=index)["vectors"])

    try:
        with dg.instance_for_test() as instance:
            p = pipeline_on(
                instance,
                VECTORDB_STORE="s3vectors",
                VECTORDB_S3VECTORS_BUCKET=bucket,
                VECTORDB_S3VECTORS_ENDPOINT_URL=server.url,
            )
            int8, new = change_model(p)
            index = f"documents-{new}-default"
            assert keys(index) == ["c1"] and keys("documents-default") == ["a1", "a2", "c1"]
            assert search("reset a password", monkeypatch)[0]["id"] == "a1"
            assert server.queries[-1]["indexName"] == "documents-default"

            p.run("a.csv", settings=int8)
            indexes = [i["indexName"] for i in client.list_indexes(vectorBucketName=bucket)["indexes"]]
            assert indexes == [index]  # the retired generation's index is gone
            assert keys(index) == ["a1", "a2", "c1"]
            assert search("reset a password", monkeypatch)[0]["id"] == "a1"
            assert server.queries[-1]["indexName"] == index
    finally:
        server.stop()
