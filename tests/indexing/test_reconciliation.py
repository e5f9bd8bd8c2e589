"""Reconciliation: the check finds drift between store and ledger, the repair job removes it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from psycopg import sql

from tests.pipeline_harness import Pipeline
from vectordb_assets.definitions import build_definitions
from vectordb_assets.settings import Settings


@pytest.fixture
def pipeline(home: Path, state_db, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("a.csv", "id,text\n1,one\n2,two\n3,three\n")
        p.land("b.csv", "id,text\n4,four\n", minute=1)
        p.run("a.csv", "b.csv")
        yield p


def run_checks(p: Pipeline) -> dict[str, dg.AssetCheckEvaluation]:
    """Every check of the `check_vector_index` job, by name."""
    result = (
        build_definitions(p.settings)
        .resolve_job_def("check_vector_index")
        .execute_in_process(instance=p.instance, raise_on_error=False)
    )
    return {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}


def run_check(p: Pipeline) -> dg.AssetCheckEvaluation:
    return run_checks(p)["vector_index_matches_ledger"]


@pytest.mark.usefixtures("models_dir")
def test_a_store_in_step_with_the_ledger_passes(pipeline: Pipeline) -> None:
    evaluation = run_check(pipeline)
    assert evaluation.passed
    assert evaluation.metadata["namespaces"].value["default"]["store_count"] == 4


@pytest.mark.usefixtures("models_dir")
def test_lost_and_orphan_vectors_fail_the_check_and_are_repaired(pipeline: Pipeline) -> None:
    table = sql.Identifier(pipeline.settings.index.collection)
    with pipeline.state_db.connect() as conn:
        conn.execute(sql.SQL("delete from {} where id in ('2', '4')").format(table))
        conn.execute(sql.SQL("update {} set content_hash = 'tampered' where id = '3'").format(table))
        conn.execute(
            sql.SQL(
                "insert into {} (namespace, id, embedding, text, metadata, content_hash, source_key)"
                " values ('default', 'ghost', %s, 'ghost', '{{}}', 'h', 'nowhere.csv')"
            ).format(table),
            (np.ones(384, dtype=np.float32),),
        )
    failed = run_check(pipeline)
    assert not failed.passed
    assert failed.metadata["missing_ids"].value == ["2", "4"]
    assert failed.metadata["orphan_ids"].value == ["ghost"]
    assert failed.metadata["mismatched_ids"].value == ["3"]

    repaired = (
        build_definitions(pipeline.settings)
        .resolve_job_def("repair_vector_index")
        .execute_in_process(instance=pipeline.instance)
    )
    assert repaired.success
    assert run_check(pipeline).passed
    assert pipeline.index() == {
        "1": ("one", "a.csv"),
        "2": ("two", "a.csv"),
        "3": ("three", "a.csv"),
        "4": ("four", "b.csv"),
    }
