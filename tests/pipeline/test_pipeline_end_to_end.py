"""The whole chain through Dagster, on the sample files, into pgvector on the embedded server."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from resources.object_store import LocalObjectStore
from tests.pipeline_harness import total
from vectordb_assets.assets.per_file import RANGE_END_TAG, RANGE_START_TAG
from vectordb_assets.definitions import build_definitions
from vectordb_assets.landing.partitions import source_files
from vectordb_assets.landing.samples import ARTICLES, PRODUCTS, REVIEWS, write_samples
from vectordb_assets.resources_from_settings import resources_for
from vectordb_assets.settings import Settings

ASSETS = ("raw_files", "validated_parquet", "embeddings", "vector_index")


@pytest.fixture
def settings(home: Path, state_db, embedder, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    settings = Settings.from_env()
    write_samples(Path(settings.source.root), embedder)
    return settings


def _keys(settings: Settings) -> list[str]:
    return [obj.key for obj in LocalObjectStore(root=settings.source.root).list_objects()]


def _run_range(settings: Settings, instance: dg.DagsterInstance, keys: list[str]) -> dg.ExecuteInProcessResult:
    job = build_definitions(settings).resolve_job_def("ingest_files")
    return job.execute_in_process(instance=instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.path == [asset]][:1]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _per_partition(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, dict]:
    return {
        e.partition: {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
        if e.asset_key.path == [asset]
    }


def test_one_run_over_all_sample_files_indexes_every_row(settings: Settings) -> None:
    keys = _keys(settings)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(source_files.name, keys)
        result = _run_range(settings, instance, keys)
        assert result.success
        for asset in ASSETS:
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(keys)
    index = _per_partition(result, "vector_index")
    assert {key: m["added"] for key, m in index.items()} == {
        "help_center/articles.csv": len(ARTICLES),
        "catalog/products.parquet": len(PRODUCTS),
        "reviews/2026-11-01.jsonl": len(REVIEWS),
    }
    embedded = _per_partition(result, "embeddings")
    assert embedded["catalog/products.parquet"]["precomputed"] == len(PRODUCTS)
    assert embedded["help_center/articles.csv"]["texts_embedded"] == len(ARTICLES)
    assert embedded["reviews/2026-11-01.jsonl"]["texts_embedded"] == len(REVIEWS)
    # Each partition tells its own story: no sums over the files of the run.
    for asset in ASSETS:
        for metadata in _per_partition(result, asset).values():
            assert not [name for name in metadata if name.startswith("total_")]


def test_a_known_rows_text_finds_that_row_first(settings: Settings) -> None:
    keys = _keys(settings)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(source_files.name, keys)
        assert _run_range(settings, instance, keys).success
    with dg.build_resources(resources_for(settings)) as resources:
        for doc_id, _, text in ARTICLES[:3]:
            hits = resources.vector_store.query("default", resources.embedder.embed([text])[0], 3)
            assert hits[0].id == doc_id
            assert hits[0].source_key == "help_center/articles.csv"
            assert hits[0].score > 0.99


def test_running_again_embeds_and_writes_nothing(settings: Settings) -> None:
    keys = _keys(settings)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(source_files.name, keys)
        assert _run_range(settings, instance, keys).success
        again = _run_range(settings, instance, keys)
    assert total(_per_partition(again, "embeddings"), "texts_embedded") == 0
    index = _per_partition(again, "vector_index")
    assert [total(index, name) for name in ("added", "updated", "deleted", "skipped")] == [0, 0, 0, 19]


def test_single_partition_run_reports_that_files_own_metadata(settings: Settings) -> None:
    keys = _keys(settings)
    csv_key = "help_center/articles.csv"
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(source_files.name, keys)
        result = (
            build_definitions(settings)
            .resolve_job_def("ingest_files")
            .execute_in_process(instance=instance, partition_key=csv_key)
        )
    validated = _metadata(result, "validated_parquet")
    assert (validated["rows_read"], validated["rows_kept"], validated["rows_rejected"]) == (
        len(ARTICLES),
        len(ARTICLES),
        0,
    )
    assert validated["id_column"] == "id"
    assert validated["link"].startswith("file://")
    assert _metadata(result, "raw_files")["size_bytes"] == (Path(settings.source.root) / csv_key).stat().st_size
