"""`run_files_in_store`, evaluated by every ingest run: a sample of each indexed file's ids is in
the store with the ledger's content hash, and the ledger records the landed version."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from tests.pipeline_harness import Pipeline
from vectordb_assets.settings import Settings

CHECK = dg.AssetCheckKey(dg.AssetKey("vector_index"), "run_files_in_store")


def latest_evaluation(p: Pipeline) -> dg.AssetCheckEvaluation:
    record = p.instance.event_log_storage.get_latest_asset_check_execution_by_key([CHECK])[CHECK]
    return record.event.dagster_event.event_specific_data


@pytest.mark.usefixtures("models_dir")
def test_the_check_measures_each_file_and_fails_on_a_lossy_store(
    home: Path, state_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("a.csv", "id,text\n1,one\n2,two\n3,three\n")
        p.run("a.csv")
        passed = latest_evaluation(p)
        assert passed.passed
        assert passed.metadata["measured"].value == {
            "a.csv": {"version_recorded": True, "sampled": 3, "missing": 0, "mismatched": 0}
        }

        # The store silently drops one row (as a lossy store would); the ledger still claims it.
        with state_db.connect() as conn:
            conn.execute("create function drop_row() returns trigger language plpgsql as $$ begin return null; end $$")
            conn.execute(
                "create trigger lossy before insert on documents for each row when (new.id = '5') execute function drop_row()"
            )
        p.land("b.csv", "id,text\n4,four\n5,five\n", minute=1)
        p.run("b.csv")
        failed = latest_evaluation(p)
    assert not failed.passed
    assert failed.metadata["failing_files"].value == {
        "b.csv": {"version_recorded": True, "missing": ["5"], "mismatched": []}
    }
    assert failed.metadata["ids_sampled"].value == 2
