"""Unreadable files in a batch: quarantined with a report, while the other files go through."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import dagster as dg
import pytest

from tests.pipeline_harness import Pipeline, total
from vectordb_assets.definitions import build_definitions
from vectordb_assets.settings import Settings

HOSTILE = {
    "1-truncated.parquet": b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x04\x15\x00\x12\x00\x00",
    "2-garbage.csv": bytes(range(256)) * 8,
    "3-broken.json": b'[{"id": "1", "text": "a"}, {"id": ',
    "4-bomb.csv.gz": gzip.compress(b"id,text\n1," + b"z" * 3_000_000 + b"\n"),
    "5-header-only.csv": b"id,text\n",
}


@pytest.fixture
def pipeline(home: Path, state_db, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    with dg.instance_for_test() as instance:
        yield Pipeline(Settings.from_env(), instance, state_db)


def evaluations(p: Pipeline) -> dict[str, dg.AssetCheckEvaluation]:
    records = {}
    for name in ("files_readable", "rejected_ratio", "stored_output_matches", "dimension_matches_index"):
        key = dg.AssetCheckKey(dg.AssetKey("validated_parquet"), name)
        record = p.instance.event_log_storage.get_latest_asset_check_execution_by_key([key]).get(key)
        records[name] = record.event.dagster_event.event_specific_data if record and record.event else None
    return records


@pytest.mark.usefixtures("models_dir")
def test_hostile_files_are_quarantined_and_the_good_ones_indexed(pipeline: Pipeline) -> None:
    p = pipeline
    p.land("0-good.csv", "id,text\n1,a good row\n2,another good row\n")
    for key, content in HOSTILE.items():
        path = p.landing / key
        path.write_bytes(content)
    keys = ["0-good.csv", *HOSTILE]
    metadata = p.run(*keys)
    assert sorted(p.index()) == ["1", "2"]
    assert total(metadata["validated_parquet"], "rows_kept") == 2
    store = Path(p.settings.output.root)
    for key in HOSTILE:
        assert (store / "quarantine" / key).read_bytes() == HOSTILE[key]
        report = json.loads((store / "quarantine" / f"{key}.report.json").read_text())
        assert report["error"].startswith(f"{key}: ")
        # Its later stages say they skipped it, not that it went through.
        assert metadata["embeddings"][key]["status"] == metadata["vector_index"][key]["status"] == "skipped"
    assert metadata["embeddings"]["0-good.csv"]["status"] == metadata["vector_index"]["0-good.csv"]["status"] == "ok"
    checks = evaluations(p)
    assert checks["files_readable"].passed is False
    assert sorted(checks["files_readable"].metadata["quarantined_files"].value) == sorted(HOSTILE)
    assert checks["stored_output_matches"].passed


@pytest.mark.parametrize(
    "key, message",
    [
        ("1-truncated.parquet", "not a readable Parquet file"),
        ("2-garbage.csv", "binary data, not CSV (NUL byte at offset 0)"),
        ("3-broken.json", "invalid JSON"),
        ("4-bomb.csv.gz", "decompresses to more than 100x its size"),
        ("5-header-only.csv", "no rows (a header alone, or an empty file)"),
    ],
)
def test_a_run_of_one_unreadable_file_fails_naming_the_file(pipeline: Pipeline, key: str, message: str) -> None:
    (pipeline.landing).mkdir(parents=True, exist_ok=True)
    (pipeline.landing / key).write_bytes(HOSTILE[key])
    pipeline.instance.add_dynamic_partitions("source_files", [key])
    job = build_definitions(pipeline.settings).resolve_job_def("ingest_files")
    result = job.execute_in_process(instance=pipeline.instance, partition_key=key, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert f"{key}: " in failure.step_failure_data.error.message and message in failure.step_failure_data.error.message
    readable = pipeline.instance.get_latest_asset_check_evaluation_record(
        dg.AssetCheckKey(dg.AssetKey("validated_parquet"), "files_readable")
    )
    assert readable is not None and readable.evaluation is not None and not readable.evaluation.passed
    assert message in readable.evaluation.metadata["quarantined_files"].value[key]


@pytest.mark.usefixtures("models_dir")
def test_a_bad_new_version_keeps_the_vectors_of_the_last_good_one(pipeline: Pipeline) -> None:
    p = pipeline
    p.land("a.jsonl", '{"id": "1", "text": "first"}\n')
    p.land("b.csv", "id,text\n9,other\n")
    p.run("a.jsonl", "b.csv")
    p.land("a.jsonl", '{"id": "1", "text": "first"}\n{"id": \n', minute=5)
    p.land("b.csv", 'id,text\n9,"other, edited"\n', minute=5)
    metadata = p.run("a.jsonl", "b.csv")
    assert total(metadata["embeddings"], "texts_embedded") == 1
    assert p.index() == {"1": ("first", "a.jsonl"), "9": ("other, edited", "b.csv")}


def test_too_many_rejected_rows_block_the_downstream_stages(pipeline: Pipeline) -> None:
    p = pipeline
    p.land("mostly-empty.csv", "id,text\n1,kept\n2,\n3,\n")
    p.instance.add_dynamic_partitions("source_files", ["mostly-empty.csv"])
    job = build_definitions(p.settings).resolve_job_def("ingest_files")
    result = job.execute_in_process(instance=p.instance, partition_key="mostly-empty.csv", raise_on_error=False)
    checks = evaluations(p)
    assert checks["rejected_ratio"].passed is False
    assert "2 of 3 rows rejected" in checks["rejected_ratio"].metadata["failing_files"].value["mostly-empty.csv"]
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == {"raw_files", "validated_parquet"}
