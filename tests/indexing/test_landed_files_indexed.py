"""The check `landed_files_indexed` names every landed file whose current version is not in the
index, and tells those apart from files quarantined, refused or still in a run."""

from __future__ import annotations

import logging
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from tests.indexing.test_reconciliation import run_checks
from tests.pipeline_harness import Pipeline
from vectordb_assets.settings import Settings


def landed_files_indexed(p: Pipeline) -> tuple[bool, dict]:
    evaluation = run_checks(p)["landed_files_indexed"]
    return evaluation.passed, {name: value.value for name, value in evaluation.metadata.items()}


@pytest.mark.usefixtures("models_dir")
def test_files_missing_from_the_index_are_named(home: Path, state_db, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("a.csv", "id,text\n1,one\n2,two\n")
        p.land("bad.csv", "id,text,text\n1,one,uno\n", minute=1)
        p.land("empty.csv", "id,text\n", minute=2)
        p.run("a.csv", "bad.csv", "empty.csv")
        passed, metadata = landed_files_indexed(p)
        assert passed, metadata
        assert (metadata["landed_files"], metadata["indexed_files"], metadata["quarantined_files"]) == (3, 1, 2)
        assert metadata["quarantined"] == {
            "bad.csv": "validated_parquet: bad.csv: column names repeat: 'text' (rename them so each is unique)",
            "empty.csv": "validated_parquet: empty.csv: no rows (a header alone, or an empty file)",
        }

        p.land("never.csv", "id,text\n3,three\n", minute=3)  # landed long ago, never run
        p.land("a.csv", "id,text\n1,one\n2,two edited\n", minute=4)  # edited, not run again
        p.land("bad.csv", "id,text\n1,one fixed\n", minute=5)  # fixed after its quarantine
        fresh = p.landing / "fresh.csv"
        fresh.write_text("id,text\n4,four\n")  # landed now: the sensor may not have seen it yet
        os.utime(fresh, (time.time(), time.time()))
        passed, metadata = landed_files_indexed(p)
        assert not passed
        assert metadata["unindexed"] == {
            "a.csv": "the index holds an older version",
            "bad.csv": "never indexed",
            "never.csv": "never indexed",
        }
        assert metadata["in_flight"] == ["fresh.csv"]

        p.run("a.csv", "bad.csv", "empty.csv", "never.csv")
        passed, metadata = landed_files_indexed(p)
        assert passed, metadata
        assert (metadata["landed_files"], metadata["indexed_files"], metadata["unindexed_files"]) == (5, 3, 0)
        assert list(metadata["quarantined"]) == ["empty.csv"]


def started_run(instance: dg.DagsterInstance, partition: str, hours_ago: float) -> tuple[str, datetime]:
    """A run of the ingest job over `partition`, started `hours_ago` and silent since: its id and
    start time."""
    run = instance.add_run(
        dg.DagsterRun(job_name="ingest_files", run_id=str(uuid.uuid4()), tags={"dagster/partition": partition})
    )
    started = time.time() - hours_ago * 3600
    instance.handle_new_event(
        dg.EventLogEntry(
            error_info=None,
            level=logging.DEBUG,
            user_message="",
            run_id=run.run_id,
            timestamp=started,
            job_name=run.job_name,
            dagster_event=dg.DagsterEvent(dg.DagsterEventType.RUN_START.value, run.job_name),
        )
    )
    return run.run_id, datetime.fromtimestamp(started, UTC)


def test_a_run_silent_for_an_hour_does_not_hide_its_file(home: Path, state_db, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that died with its code server leaves its run STARTED: once the run has logged
    nothing for an hour, its file is named with the run; a file of a run that logs is in flight."""
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("stuck.csv", "id,text\n1,one\n")
        p.land("busy.csv", "id,text\n2,two\n", minute=1)
        stuck, since = started_run(instance, "stuck.csv", hours_ago=2)
        started_run(instance, "busy.csv", hours_ago=0.5)
        assert instance.get_run_by_id(stuck).status == dg.DagsterRunStatus.STARTED
        passed, metadata = landed_files_indexed(p)
        assert not passed
        assert metadata["unindexed"] == {
            "stuck.csv": f"never indexed; its run {stuck} has logged nothing since {since:%Y-%m-%d %H:%M} UTC: its worker may have died",
        }
        assert metadata["in_flight"] == ["busy.csv"]


def test_the_report_of_a_long_named_file_is_found(tmp_path: Path) -> None:
    from resources.object_store import LocalObjectStore
    from vectordb_assets.assets.per_file import quarantine, read_quarantine_report

    key = "exports/" + "x" * 200 + ".csv"  # a segment too long to be a file name: hashed
    (tmp_path / "landing/exports").mkdir(parents=True)
    (tmp_path / "landing" / key).write_text("id,text,text\n")
    source, output = LocalObjectStore(root=str(tmp_path / "landing")), LocalObjectStore(root=str(tmp_path / "store"))
    quarantine(source, output, key, {"stage": "validated_parquet", "error": "column names repeat"})
    report = read_quarantine_report(output, key)
    assert report is not None and report["source_etag"] == source.head(key).etag
