"""A file deleted from the landing folder: the sensor requests its removal, then drops the partition."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from resources.object_store import LocalObjectStore
from sensors.landing_sensor import build_landing_sensor
from tests.pipeline_harness import Pipeline
from tests.sensors.ticks import tick
from vectordb_assets.assets.jobs import ingest_files
from vectordb_assets.assets.per_file import CHANGED_PARTITIONS_TAG, RANGE_END_TAG, RANGE_START_TAG
from vectordb_assets.definitions import build_definitions
from vectordb_assets.landing.partitions import source_files
from vectordb_assets.settings import Settings


def tick_over(p: Pipeline, sensor, cursor):
    store = LocalObjectStore(root=p.settings.source.root)
    return tick(sensor, p.instance, {"source_store": store, "state_db": p.state_db}, cursor)


@pytest.mark.usefixtures("models_dir")
def test_deleted_file_is_unindexed_then_its_partition_removed(
    home: Path, state_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    sensor = build_landing_sensor(
        ingest_files, minimum_interval_seconds=30, max_partitions_per_run=100, excluded_prefix=None
    )
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("a.csv", "id,text\n1,one\n2,two\n")
        p.land("b.csv", "id,text\n3,three\n", minute=1)
        first = tick_over(p, sensor, None)
        assert [r.tags for r in first.run_requests][0]["dagster/asset_partition_range_end"] == "b.csv"
        p.run("a.csv", "b.csv")
        assert sorted(p.index()) == ["1", "2", "3"]

        p.remove("a.csv")
        second = tick_over(p, sensor, first.cursor)
        assert [r.partition_key for r in second.run_requests] == ["a.csv"]
        assert instance.get_dynamic_partitions(source_files.name) == ["a.csv", "b.csv"]
        p.run("a.csv")
        assert sorted(p.index()) == ["3"]
        # A sparse run over both that passes a.csv over as unchanged does not hide its deletion.
        tags = {RANGE_START_TAG: "a.csv", RANGE_END_TAG: "b.csv", CHANGED_PARTITIONS_TAG: json.dumps(["b.csv"])}
        assert (
            build_definitions(p.settings)
            .resolve_job_def("ingest_files")
            .execute_in_process(instance=instance, tags=tags)
            .success
        )

        third = tick_over(p, sensor, second.cursor)
        assert third.run_requests == []
        assert instance.get_dynamic_partitions(source_files.name) == ["b.csv"]
