"""Incremental materialization through Dagster: exact counts of what each run embeds and writes."""

from __future__ import annotations

import json
import uuid
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import pytest

from resources.pgvector_store import PgVectorStore
from tests.pipeline_harness import Pipeline
from vectordb_assets.assets.per_file import CHANGED_PARTITIONS_TAG, RANGE_END_TAG, RANGE_START_TAG
from vectordb_assets.definitions import build_definitions
from vectordb_assets.indexing.generations import GenerationRegistry
from vectordb_assets.settings import Settings

ARTICLES = "id,title,text\n1,Passwords,Reset a password from the sign-in page\n2,Billing,Invoices are PDF files\n3,Teams,Invite colleagues by email\n"


@pytest.fixture
def make_pipeline(home: Path, make_state_db, monkeypatch: pytest.MonkeyPatch):
    with ExitStack() as stack:  # instances close in reverse order, restoring the environment

        def make(**env: str) -> Pipeline:
            state_db = make_state_db()
            monkeypatch.setenv("DATABASE_URL", state_db.database_url)
            monkeypatch.setenv("VECTORDB_HOME", str(home / uuid.uuid4().hex[:8]))
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            return Pipeline(Settings.from_env(), stack.enter_context(dg.instance_for_test()), state_db)

        yield make


def counts(metadata: dict) -> tuple[int, int, int, int, int]:
    """(texts embedded, added, updated, skipped, deleted) of a single-partition run."""
    index = metadata["vector_index"]
    return (
        metadata["embeddings"]["texts_embedded"],
        index["added"],
        index["updated"],
        index["skipped"],
        index["deleted"],
    )


@pytest.mark.usefixtures("models_dir")
def test_the_same_file_twice_embeds_and_writes_once(make_pipeline) -> None:
    p = make_pipeline()
    p.land("a.csv", ARTICLES)
    assert counts(p.run("a.csv")) == (3, 3, 0, 0, 0)
    assert counts(p.run("a.csv")) == (0, 0, 0, 3, 0)


@pytest.mark.usefixtures("models_dir")
def test_the_same_content_under_two_keys_is_embedded_once(make_pipeline) -> None:
    p = make_pipeline()
    rows = '{"body": "first review"}\n{"body": "second review"}\n'
    p.land("day1/reviews.jsonl", rows)
    p.land("day2/reviews.jsonl", rows, minute=1)
    assert counts(p.run("day1/reviews.jsonl")) == (2, 2, 0, 0, 0)
    assert counts(p.run("day2/reviews.jsonl")) == (0, 2, 0, 0, 0)
    assert len(p.index()) == 4


@pytest.mark.usefixtures("models_dir")
def test_an_edited_file_updates_adds_and_deletes_exactly_what_changed(make_pipeline) -> None:
    p = make_pipeline()
    p.land("a.csv", ARTICLES)
    p.run("a.csv")
    edited = "id,title,text\n1,Passwords,Reset a password from the sign-in page\n2,Billing,Invoices are PDF or CSV files\n4,Plans,Change plan at any time\n"
    p.land("a.csv", edited, minute=5)
    assert counts(p.run("a.csv")) == (2, 1, 1, 1, 1)
    assert sorted(p.index()) == ["1", "2", "4"]
    assert p.index()["2"][0] == "Invoices are PDF or CSV files"


@pytest.mark.usefixtures("models_dir")
def test_a_deleted_file_removes_its_vectors_and_outputs(make_pipeline) -> None:
    p = make_pipeline()
    p.land("a.csv", ARTICLES)
    p.land("b.csv", "id,text\n9,kept\n", minute=1)
    p.run("a.csv", "b.csv")
    p.remove("a.csv")
    metadata = p.run("a.csv")
    assert metadata["vector_index"]["deleted"] == 3 and metadata["vector_index"]["source_deleted"] is True
    assert metadata["raw_files"]["source_deleted"] is True
    assert sorted(p.index()) == ["9"]
    store = Path(p.settings.output.root)
    assert not (store / "validated/a.csv.parquet").exists() and not (store / "embeddings/a.csv.parquet").exists()


@pytest.mark.usefixtures("models_dir")
def test_shared_ids_belong_to_the_newest_file_and_return_when_it_is_deleted(make_pipeline) -> None:
    p = make_pipeline()
    p.land("old.csv", "id,text\n1,old one\n2,old two\n", minute=0)
    p.land("new.csv", "id,text\n1,new one\n", minute=10)
    p.run("old.csv", "new.csv")
    assert p.index() == {"1": ("new one", "new.csv"), "2": ("old two", "old.csv")}
    # Re-materializing the older file never takes the id back.
    assert p.run("old.csv")["vector_index"]["shadowed_by_newer_files"] == 1
    assert p.index()["1"] == ("new one", "new.csv")
    p.remove("new.csv")
    metadata = p.run("new.csv")
    assert metadata["vector_index"]["restored_from_older_files"] == 1
    assert p.index() == {"1": ("old one", "old.csv"), "2": ("old two", "old.csv")}


@pytest.mark.usefixtures("models_dir")
def test_a_change_in_a_volatile_field_alone_rewrites_nothing(make_pipeline) -> None:
    p = make_pipeline(VECTORDB_VOLATILE_FIELDS="crawled_at")
    p.land("pages.jsonl", '{"id": "p1", "text": "hello", "crawled_at": "2026-11-01", "lang": "en"}\n')
    p.run("pages.jsonl")
    p.land("pages.jsonl", '{"id": "p1", "text": "hello", "crawled_at": "2026-11-02", "lang": "en"}\n', minute=5)
    assert counts(p.run("pages.jsonl")) == (0, 0, 0, 1, 0)
    p.land("pages.jsonl", '{"id": "p1", "text": "hello", "crawled_at": "2026-11-03", "lang": "fr"}\n', minute=9)
    assert counts(p.run("pages.jsonl")) == (0, 0, 1, 0, 0)


@pytest.mark.usefixtures("models_dir")
def test_batch_sizes_1_7_and_1000_give_identical_results(make_pipeline) -> None:
    rows = "".join(f"{i},sentence {i % 6} about topic {i % 4}\n" for i in range(30))
    results = []
    for batch_rows in (1, 7, 1000):
        p = make_pipeline()
        p.land("a.csv", f"id,text\n{rows}")
        metadata = p.run("a.csv", run_config={"ops": {"embeddings": {"config": {"batch_rows": batch_rows}}}})
        results.append((counts(metadata), p.vectors()))
    # 30 rows hold 12 distinct texts: each is embedded once whatever the batch size.
    assert results[0][0] == results[1][0] == results[2][0] == (12, 30, 0, 0, 0)
    for other in results[1:]:
        assert other[1].keys() == results[0][1].keys()
        for vid, vector in results[0][1].items():
            assert other[1][vid] == pytest.approx(vector, abs=1e-6)


@pytest.mark.usefixtures("models_dir")
def test_a_model_change_marks_the_code_version_and_a_backfill_re_embeds(make_pipeline, monkeypatch) -> None:
    p = make_pipeline()
    p.land("a.csv", ARTICLES)
    first = p.run("a.csv")
    monkeypatch.setenv("VECTORDB_NORMALIZE_EMBEDDINGS", "false")
    switched = Settings.from_env()
    again = p.run("a.csv", settings=switched)
    assert counts(again) == (3, 3, 0, 0, 0)  # the new model's generation, beside the first
    assert first["embeddings"]["model"] != again["embeddings"]["model"]
    assert (first["vector_index"]["collection"], again["vector_index"]["collection"]) == (
        "documents",
        f"documents_{again['vector_index']['generation']}",
    )
    # It held every file, so readers moved to it at the end of the run.
    assert GenerationRegistry(p.state_db, "documents").live().generation == again["vector_index"]["generation"]
    record = p.instance.fetch_materializations(dg.AssetKey("vector_index"), limit=1).records[0]
    assert record.asset_materialization.tags["dagster/code_version"].endswith("+unnormalized@384")


@pytest.mark.usefixtures("models_dir")
def test_a_collection_of_another_dimension_made_before_generations_is_left_alone(make_pipeline) -> None:
    p = make_pipeline()
    # The configured collection already holds 8-d vectors from an earlier model.
    PgVectorStore(state_db=p.state_db, collection="documents").ensure_collection(8)
    p.land("a.csv", ARTICLES)
    metadata = p.run("a.csv")
    generation = GenerationRegistry(p.state_db, "documents").live()
    assert metadata["vector_index"]["collection"] == generation.store_collection == f"documents_{generation.generation}"
    assert PgVectorStore(state_db=p.state_db, collection=generation.store_collection).count("default") == 3
    assert PgVectorStore(state_db=p.state_db, collection="documents").count("default") == 0


@pytest.mark.usefixtures("models_dir")
def test_with_the_cache_in_files_only_a_files_new_texts_are_embedded_and_nothing_is_cached_in_postgres(
    make_pipeline,
) -> None:
    p = make_pipeline(VECTORDB_EMBEDDING_CACHE="files")
    p.land("a.csv", ARTICLES)
    assert counts(p.run("a.csv")) == (3, 3, 0, 0, 0)
    p.land("a.csv", ARTICLES.replace("Invoices are PDF files", "Invoices are monthly PDF files"), minute=5)
    edited = p.run("a.csv")
    assert counts(edited) == (1, 0, 1, 2, 0)
    assert edited["embeddings"]["cache_hits"] == 2
    # Another file with the same texts does not share the file's vectors: embedded again.
    p.land("b.csv", ARTICLES, minute=6)
    assert p.run("b.csv")["embeddings"]["texts_embedded"] == 3
    with p.state_db.connect() as conn:
        assert conn.execute("select count(*) from vectordb_embedding_cache").fetchone()[0] == 0


@pytest.mark.usefixtures("models_dir")
def test_a_sparse_range_processes_only_its_changed_partitions(make_pipeline) -> None:
    p = make_pipeline()
    for n, key in enumerate(("a.csv", "b.csv", "c.csv")):
        p.land(key, f"id,text\n{n},file {key}\n", minute=n)
    p.run("a.csv", "b.csv", "c.csv")
    p.land("b.csv", "id,text\n1,file b.csv edited\n", minute=5)
    p.land("c.csv", "id,text\n2,file c.csv edited but not requested\n", minute=5)
    job = build_definitions(p.settings).resolve_job_def("ingest_files")
    tags = {RANGE_START_TAG: "a.csv", RANGE_END_TAG: "c.csv", CHANGED_PARTITIONS_TAG: json.dumps(["b.csv"])}
    result = job.execute_in_process(instance=p.instance, tags=tags)
    assert result.success
    statuses = {
        (e.asset_key.path[-1], e.partition): e.materialization.metadata["status"].value
        for e in result.get_asset_materialization_events()
    }
    assert {key: status for (asset, key), status in statuses.items() if asset == "vector_index"} == {
        "a.csv": "unchanged",
        "b.csv": "ok",
        "c.csv": "unchanged",
    }
    assert set(statuses.values()) == {"ok", "unchanged"} and len(statuses) == 12
    assert p.index() == {
        "0": ("file a.csv", "a.csv"),
        "1": ("file b.csv edited", "b.csv"),
        "2": ("file c.csv", "c.csv"),
    }
