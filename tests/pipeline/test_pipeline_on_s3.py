"""The chain with the source and outputs on S3 (real boto3 against moto's server)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import boto3
import dagster as dg
import pytest

from vectordb_assets.definitions import build_definitions
from vectordb_assets.landing.partitions import source_files
from vectordb_assets.resources_from_settings import resources_for
from vectordb_assets.settings import Settings


@pytest.mark.usefixtures("models_dir")
def test_files_landed_in_s3_are_validated_embedded_and_indexed(
    home: Path, state_db, s3_bucket: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    monkeypatch.setenv("VECTORDB_SOURCE", f"s3://{s3_bucket}/landing")
    monkeypatch.setenv("VECTORDB_S3_ENDPOINT_URL", moto_endpoint)
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    client.put_object(
        Bucket=s3_bucket,
        Key="landing/docs/a.csv",
        Body=b"id,text\n1,pgvector stores embeddings\n2,dagster runs assets\n",
    )
    client.put_object(Bucket=s3_bucket, Key="landing/docs/b.jsonl", Body=b'{"id": "3", "text": "moto imitates S3"}\n')
    settings = Settings.from_env()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(source_files.name, ["docs/a.csv", "docs/b.jsonl"])
        job = build_definitions(settings).resolve_job_def("ingest_files")
        result = job.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "docs/a.csv",
                "dagster/asset_partition_range_end": "docs/b.jsonl",
            },
        )
        assert result.success
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert {"_vectordb/validated/docs/a.csv.parquet", "_vectordb/embeddings/docs/b.jsonl.parquet"} <= keys
    with dg.build_resources(resources_for(settings)) as resources:
        hits = resources.vector_store.query("default", resources.embedder.embed(["dagster runs assets"])[0], 1)
        assert (hits[0].id, hits[0].source_key) == ("2", "docs/a.csv")
        link = resources.output_store.url("validated/docs/a.csv.parquet")
    with urllib.request.urlopen(link) as response:
        assert response.read()[:4] == b"PAR1"
