"""Two processes materializing the same partition at once both succeed and leave the exact state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from tests.pipeline_harness import Pipeline
from vectordb_assets.landing.partitions import source_files
from vectordb_assets.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("models_dir")]  # starts runs in processes


def test_two_processes_materialize_one_partition_together(
    home: Path, state_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    dagster_home = tmp_path / "dagster-home"
    dagster_home.mkdir()
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("shared.csv", "id,text\n" + "".join(f"{i},row number {i}\n" for i in range(300)))
        instance.add_dynamic_partitions(source_files.name, ["shared.csv"])
    dagster = Path(sys.executable).with_name("dagster")
    command = [
        str(dagster),
        "asset",
        "materialize",
        "-m",
        "vectordb_assets.definitions",
        "--select",
        "raw_files,validated_parquet,embeddings,vector_index",
        "--partition",
        "shared.csv",
    ]
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    runs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    for run, output in zip(runs, outputs):
        assert run.returncode == 0, output[-3000:]
        assert "UniqueViolation" not in output
    index = p.index()
    assert sorted(index, key=int) == [str(i) for i in range(300)]
    with state_db.connect() as conn:
        claims = conn.execute("select count(*), count(distinct vector_id) from vectordb_ledger").fetchone()
        indexes = conn.execute(
            "select count(*) from pg_indexes where indexname like 'documents_embedding_%'"
        ).fetchone()
    assert claims == (300, 300) and indexes == (1,)
