"""What the UI shows on each partition's page after one sensor run over the three sample files,
read through the webserver's GraphQL API (what the UI reads): each file's own figures."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
import requests

from resources.embedders import LocalEmbedder
from resources.state_db import StateDatabase
from sensors.index_checks_sensor import TRIGGER_TAG
from tests.conftest import free_port
from tests.dagster_processes import dagster_process, instance_home, wait_for
from vectordb_assets.landing.samples import write_samples

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("models_dir")]  # starts the webserver

ASSETS = ("raw_files", "validated_parquet", "embeddings", "vector_index")

LATEST_MATERIALIZATION = """
query Partition($asset: AssetKeyInput!, $partition: String!) {
  assetOrError(assetKey: $asset) {
    ... on Asset {
      assetMaterializations(partitions: [$partition], limit: 1) {
        partition
        runId
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on FloatMetadataEntry { floatValue }
          ... on TextMetadataEntry { text }
          ... on UrlMetadataEntry { url }
        }
      }
    }
  }
}
"""


def value(entry: dict):
    return next((entry[k] for k in ("intValue", "floatValue", "text", "url") if k in entry), None)


def partition_page(url: str, asset: str, partition: str) -> tuple[str, dict]:
    """The run and metadata of the partition's latest materialization, as the UI reads them."""
    response = requests.post(
        url,
        json={"query": LATEST_MATERIALIZATION, "variables": {"asset": {"path": [asset]}, "partition": partition}},
        timeout=60,
    )
    response.raise_for_status()
    (materialization,) = response.json()["data"]["assetOrError"]["assetMaterializations"]
    assert materialization["partition"] == partition
    return materialization["runId"], {e["label"]: value(e) for e in materialization["metadataEntries"]}


def test_each_partition_page_tells_its_own_file(
    home: Path, state_db: StateDatabase, tmp_path: Path, embedder: LocalEmbedder
) -> None:
    landing = home / "landing"
    files = {path.relative_to(landing).as_posix(): path for path in write_samples(landing, embedder)}
    rows = {
        key: pq.read_table(path).num_rows
        if key.endswith(".parquet")
        else sum(1 for line in path.read_text().splitlines()[key.endswith(".csv") :] if line.strip())
        for key, path in files.items()
    }
    dagster_home = instance_home(tmp_path / "dagster-home")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "VECTORDB_HOME": str(home),
        "DATABASE_URL": state_db.database_url,
        "VECTORDB_SENSOR_INTERVAL": "1",
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    with (
        dg.DagsterInstance.from_config(str(dagster_home)) as instance,
        dagster_process(["dagster-daemon", "run"], env, tmp_path / "daemon.log"),
        dagster_process(["dagster-webserver", "-h", "127.0.0.1", "-p", str(port)], env, tmp_path / "webserver.log"),
    ):
        run = wait_for(
            lambda: next((r for r in instance.get_runs(dg.RunsFilter(job_name="ingest_files")) if r.is_finished), None),
            "the sensor's run",
            timeout=400,
        )
        assert run.status == dg.DagsterRunStatus.SUCCESS, (tmp_path / "daemon.log").read_text()[-3000:]
        wait_for(lambda: _serving(url), "the webserver")
        pages = {(asset, key): partition_page(url, asset, key) for asset in ASSETS for key in files}
        # The index's first files bring its full checks, so none shows "not evaluated".
        checks = wait_for(
            lambda: next(
                (r for r in instance.get_runs(dg.RunsFilter(tags={TRIGGER_TAG: "index_checks"})) if r.is_finished),
                None,
            ),
            "the checks after ingestion",
            timeout=300,
        )
        assert checks.status == dg.DagsterRunStatus.SUCCESS
        # Read from the two runs themselves: a cron tick may start another check run meanwhile.
        evaluations = {
            name: [
                record.status.value
                for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
                if record.run_id in (run.run_id, checks.run_id)
            ]
            for name in ("vector_index_matches_ledger", "landed_files_indexed", "run_files_in_store")
            for key in [dg.AssetCheckKey(dg.AssetKey("vector_index"), name)]
        }

    assert evaluations == dict.fromkeys(evaluations, ["SUCCEEDED"])
    assert len(instance.get_runs(dg.RunsFilter(job_name="ingest_files"))) == 1  # the three files were one run
    for (asset, key), (run_id, metadata) in pages.items():
        assert run_id == run.run_id
        assert not [label for label in metadata if label.startswith("total_")], (asset, key, metadata)
        assert metadata["status"] == "ok"
    for key, path in files.items():
        raw = pages["raw_files", key][1]
        assert raw["size_bytes"] == path.stat().st_size and raw["etag"] and raw["last_modified"] and raw["link"]
        validated = pages["validated_parquet", key][1]
        assert validated["rows_kept"] == validated["records_processed"] == rows[key]
        assert validated["link"].endswith(".parquet")
        embedded = pages["embeddings", key][1]
        assert embedded["rows"] == embedded["records_total"] == rows[key]
        assert (embedded["model"], embedded["dimension"]) == (embedder.model_id, 384)
        assert pages["vector_index", key][1]["added"] == rows[key]
        assert pages["vector_index", key][1]["source_etag"] == raw["etag"]


def _serving(url: str) -> bool:
    try:
        return requests.post(url, json={"query": "{ version }"}, timeout=5).ok
    except requests.ConnectionError:
        return False
