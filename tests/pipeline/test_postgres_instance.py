"""The production-shaped instance (`deploy/dagster.yaml`) on PostgreSQL, under the real daemon: the
sensor adds partitions and requests runs, the queued coordinator runs a few at once, and 60
files end indexed exactly once."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml

from resources.state_db import StateDatabase
from tests.dagster_processes import PROJECT, dagster_process, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("models_dir")]  # starts the daemon

FILES, ROWS, AT_ONCE, PER_RUN = 60, 3, 3, 15


def production_instance(dagster_home: Path, instance_db: StateDatabase, moto_endpoint: str) -> None:
    """`deploy/dagster.yaml` with only what differs here: the instance database's address (a
    socket folder, which its host/port form cannot name), step logs in moto's S3, fewer runs."""
    config = yaml.safe_load((PROJECT / "deploy/dagster.yaml").read_text())
    config["storage"]["postgres"] = {
        "postgres_url": instance_db.database_url.replace("postgresql://", "postgresql+psycopg2://")
    }
    config["compute_logs"]["config"] = {
        **config["compute_logs"]["config"],
        "bucket": "compute-logs",
        "endpoint_url": moto_endpoint,
    }
    config["concurrency"]["runs"]["max_concurrent_runs"] = AT_ONCE
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))


def most_at_once(runs: list[dg.RunRecord]) -> int:
    """The largest number of runs that were running at the same moment."""
    edges = sorted([(r.start_time, 1) for r in runs] + [(r.end_time, -1) for r in runs])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def test_sixty_files_through_a_postgres_instance(
    home: Path, make_state_db, tmp_path: Path, aws_env: None, moto_endpoint: str
) -> None:
    import boto3

    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket="compute-logs")
    state_db, instance_db = make_state_db(), make_state_db()
    dagster_home = tmp_path / "dagster-home"
    production_instance(dagster_home, instance_db, moto_endpoint)
    landing = home / "landing"
    landing.mkdir(parents=True)
    for n in range(FILES):
        (landing / f"f{n:03d}.csv").write_text(
            "id,text\n" + "".join(f"{n}-{i},file {n} row {i}\n" for i in range(ROWS))
        )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "VECTORDB_HOME": str(home),
        "DATABASE_URL": state_db.database_url,
        "VECTORDB_SENSOR_INTERVAL": "1",
        "VECTORDB_MAX_PARTITIONS_PER_RUN": str(PER_RUN),
    }
    with (
        dg.DagsterInstance.from_config(str(dagster_home)) as instance,
        dagster_process(["dagster-daemon", "run"], env, tmp_path / "daemon.log"),
    ):

        def all_done() -> list[dg.RunRecord] | None:
            records = instance.get_run_records(dg.RunsFilter(job_name="ingest_files"))
            done = [r for r in records if r.dagster_run.is_finished]
            return records if len(records) == FILES // PER_RUN and len(done) == len(records) else None

        records = wait_for(all_done, f"{FILES // PER_RUN} runs to finish", timeout=900, every=2)
        assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records), (
            tmp_path / "daemon.log"
        ).read_text()[-3000:]
        assert 2 <= most_at_once(records) <= AT_ONCE
        assert len(instance.get_dynamic_partitions("source_files")) == FILES
    with psycopg.connect(state_db.database_url) as conn:
        stored = conn.execute("select count(*), count(distinct id) from documents").fetchone()
        claims = conn.execute("select count(*), count(distinct vector_id) from vectordb_ledger").fetchone()
        versions = conn.execute("select count(*) from vectordb_indexed_sources").fetchone()[0]
    assert stored == claims == (FILES * ROWS, FILES * ROWS) and versions == FILES
    with psycopg.connect(instance_db.database_url) as conn:  # the instance's own tables are in PostgreSQL
        assert conn.execute("select count(*) from runs").fetchone()[0] >= FILES // PER_RUN
