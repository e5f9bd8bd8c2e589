"""Local → S3 migration: every file copied and verified, and the switch costs no embedding call."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import dagster as dg
import pytest
from click.testing import CliRunner

from resources.object_store import S3ObjectStore
from sensors.landing_sensor import build_landing_sensor
from tests.pipeline_harness import Pipeline, total
from tests.sensors.ticks import tick
from vectordb_assets.assets.jobs import ingest_files
from vectordb_assets.cli import main
from vectordb_assets.settings import Settings


@pytest.mark.usefixtures("models_dir")
def test_migrating_to_s3_copies_everything_and_re_embeds_nothing(
    home: Path, state_db, s3_bucket: str, moto_endpoint: str, s3_resource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    monkeypatch.setenv("VECTORDB_S3_ENDPOINT_URL", moto_endpoint)
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("docs/a.csv", "id,text\n1,first document\n2,second document\n")
        p.land("docs/b.jsonl", '{"id": "3", "text": "third document"}\n', minute=1)
        p.run("docs/a.csv", "docs/b.jsonl")
        before = p.index()

        result = CliRunner().invoke(main, ["migrate", "--to", f"s3://{s3_bucket}/landing", "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["landing"]["files_uploaded"] == 2 and report["landing"]["status"] == "success"
        assert report["outputs"]["files_uploaded"] == 4  # validated/ and embeddings/ of both files
        keys = {
            o["Key"]
            for o in boto3.client("s3", endpoint_url=moto_endpoint).list_objects_v2(Bucket=s3_bucket)["Contents"]
        }
        assert {
            "landing/docs/a.csv",
            "_vectordb/validated/docs/a.csv.parquet",
            "_vectordb/embeddings/docs/b.jsonl.parquet",
        } <= keys

        monkeypatch.setenv("VECTORDB_SOURCE", f"s3://{s3_bucket}/landing")
        switched = Settings.from_env()
        sensor = build_landing_sensor(
            ingest_files, minimum_interval_seconds=30, max_partitions_per_run=100, excluded_prefix=None
        )
        store = S3ObjectStore(s3=s3_resource, bucket=s3_bucket, prefix="landing")
        requested = tick(sensor, instance, {"source_store": store, "state_db": state_db}, None)
        assert requested.dynamic_partitions_requests == []  # the same keys, so the same partitions
        (request,) = requested.run_requests
        metadata = p.run("docs/a.csv", "docs/b.jsonl", settings=switched)
        assert total(metadata["embeddings"], "texts_embedded") == 0
        index = metadata["vector_index"]
        assert (total(index, "added"), total(index, "updated"), total(index, "skipped")) == (0, 0, 3)
        assert p.index() == before
