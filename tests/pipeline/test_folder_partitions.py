"""Folder partitions (VECTORDB_PARTITION_DEPTH): a partition per folder, runs for changes that
handle only the folder's changed files, each file's figures in the folder's table, deletions per
object, and a depth that cannot change under existing partitions."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from resources.object_store import LocalObjectStore
from sensors.landing_sensor import build_landing_sensor
from tests.pipeline_harness import Pipeline
from tests.sensors.ticks import tick
from vectordb_assets.assets.jobs import ingest_files
from vectordb_assets.assets.per_file import CHANGED_FILES_ONLY_TAG, FAILED_STATUS
from vectordb_assets.landing.catalog import PartitionDepthChanged
from vectordb_assets.landing.partitions import partition_key_for, source_files
from vectordb_assets.settings import Settings

CHANGES = {CHANGED_FILES_ONLY_TAG: "true"}


def files_table(metadata: dict) -> dict[str, dict]:
    """A folder partition's table: file → its row."""
    return {record.data["file"]: record.data for record in metadata["files"].records}


def test_partition_keys_by_depth() -> None:
    assert partition_key_for("jobs/7/part/a.csv", 0) == "jobs/7/part/a.csv"
    assert partition_key_for("jobs/7/part/a.csv", 2) == "jobs/7/"
    assert partition_key_for("jobs/a.csv", 2) == "jobs/a.csv"  # less deep than the depth: its own
    assert partition_key_for("a.csv", 1) == "a.csv"


@pytest.mark.usefixtures("models_dir")
def test_a_run_for_a_folders_changes_handles_only_the_files_that_changed(
    home: Path, state_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("jobs/7/a.csv", "id,text\n1,one\n2,two\n")
        p.land("jobs/7/b.csv", "id,text\n3,three\n")
        first = p.run("jobs/7/", tags=CHANGES)
        assert {i: source for i, (_, source) in p.index().items()} == {
            "1": "jobs/7/a.csv",
            "2": "jobs/7/a.csv",
            "3": "jobs/7/b.csv",
        }
        rows = files_table(first["vector_index"])
        assert sorted(rows) == ["jobs/7/a.csv", "jobs/7/b.csv"] and rows["jobs/7/a.csv"]["added"] == 2
        assert (first["vector_index"]["added"], first["vector_index"]["files_handled"]) == (3, 2)

        p.land("jobs/7/b.csv", "id,text\n3,three again\n4,four\n", minute=1)
        p.land("jobs/7/c.json", '{"id": 5, "text": broken', minute=1)
        second = p.run("jobs/7/", tags=CHANGES)
        validated = files_table(second["validated_parquet"])
        assert sorted(validated) == ["jobs/7/b.csv", "jobs/7/c.json"]
        assert (
            validated["jobs/7/c.json"]["status"] == FAILED_STATUS
            and "jobs/7/c.json" in validated["jobs/7/c.json"]["error"]
        )
        assert second["validated_parquet"]["status"] == FAILED_STATUS
        # By the index stage the broken file is quarantined at its version: passed over too.
        assert (second["vector_index"]["files_in_folder"], second["vector_index"]["files_unchanged"]) == (3, 2)
        assert sorted(p.index()) == ["1", "2", "3", "4"] and p.index()["3"][0] == "three again"

        # Nothing changed: the quarantined file waits for a new version, the others are indexed.
        third = p.run("jobs/7/", tags=CHANGES)
        assert third["validated_parquet"]["files_handled"] == 0

        p.remove("jobs/7/a.csv")
        fourth = p.run("jobs/7/", tags=CHANGES)
        assert sorted(files_table(fourth["vector_index"])) == ["jobs/7/a.csv"]
        assert sorted(p.index()) == ["3", "4"]

        # A run started by hand (a backfill) handles every file of the folder.
        every = p.run("jobs/7/")
        assert sorted(files_table(every["validated_parquet"])) == ["jobs/7/b.csv", "jobs/7/c.json"]
        assert sorted(p.index()) == ["3", "4"]


def tick_over(p: Pipeline, sensor, cursor):
    store = LocalObjectStore(root=p.settings.source.root)
    return tick(sensor, p.instance, {"source_store": store, "state_db": p.state_db}, cursor)


@pytest.mark.usefixtures("models_dir")
def test_the_sensor_adds_a_partition_per_folder_and_removes_it_with_its_last_file(
    home: Path, state_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    sensor = build_landing_sensor(
        ingest_files, minimum_interval_seconds=30, max_partitions_per_run=100, excluded_prefix=None, partition_depth=2
    )
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("jobs/7/a.csv", "id,text\n1,one\n")
        p.land("jobs/7/b.csv", "id,text\n2,two\n")
        p.land("jobs/8/a.csv", "id,text\n3,three\n")
        p.land("top.csv", "id,text\n4,four\n")
        first = tick_over(p, sensor, None)
        assert instance.get_dynamic_partitions(source_files.name) == ["jobs/7/", "jobs/8/", "top.csv"]
        (request,) = first.run_requests
        assert request.tags[CHANGED_FILES_ONLY_TAG] == "true"
        p.run("jobs/7/", "jobs/8/", "top.csv", tags=CHANGES)
        assert sorted(p.index()) == ["1", "2", "3", "4"]

        p.land("jobs/7/c.csv", "id,text\n5,five\n", minute=2)
        second = tick_over(p, sensor, first.cursor)
        assert [r.partition_key for r in second.run_requests] == ["jobs/7/"] and not second.dynamic_partitions_requests
        metadata = p.run("jobs/7/", tags=CHANGES)
        assert sorted(files_table(metadata["vector_index"])) == ["jobs/7/c.csv"]

        p.remove("jobs/7/a.csv")
        p.remove("jobs/8/a.csv")
        third = tick_over(p, sensor, second.cursor)
        (request,) = third.run_requests
        assert (
            request.tags["dagster/asset_partition_range_start"],
            request.tags["dagster/asset_partition_range_end"],
        ) == ("jobs/7/", "jobs/8/")
        p.run("jobs/7/", "jobs/8/", tags=CHANGES)
        assert sorted(p.index()) == ["2", "4", "5"]
        tick_over(p, sensor, third.cursor)
        assert instance.get_dynamic_partitions(source_files.name) == ["jobs/7/", "top.csv"]


def test_changing_the_depth_under_existing_partitions_is_refused(
    home: Path, state_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    sensors = {
        depth: build_landing_sensor(
            ingest_files,
            minimum_interval_seconds=30,
            max_partitions_per_run=100,
            excluded_prefix=None,
            partition_depth=depth,
        )
        for depth in (0, 1)
    }
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("jobs/a.csv", "id,text\n1,one\n")
        first = tick_over(p, sensors[0], None)
        with pytest.raises(
            PartitionDepthChanged, match="VECTORDB_PARTITION_DEPTH is 1, but the partitions of .* depth 0"
        ):
            tick_over(p, sensors[1], first.cursor)
        assert instance.get_dynamic_partitions(source_files.name) == ["jobs/a.csv"]
