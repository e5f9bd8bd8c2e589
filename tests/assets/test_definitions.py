"""The code location loads the way `dagster dev` loads it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from vectordb_assets.definitions import build_definitions
from vectordb_assets.settings import Settings

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.integration  # a subprocess
def test_workspace_validates_with_the_projects_instance_settings(home: Path, tmp_path: Path) -> None:
    # A copy of the project's workspace and instance files, so the instance writes under tmp_path.
    for name in ("workspace.yaml", "dagster.yaml"):
        shutil.copy(PROJECT / name, tmp_path / name)
    dagster = Path(sys.executable).with_name("dagster")
    completed = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "All code locations passed validation" in completed.stderr + completed.stdout


@pytest.mark.integration  # a subprocess
def test_loading_the_code_location_prints_no_warning(home: Path) -> None:
    # Every run loads it: a warning here is repeated in each run's logs and the UI's terminal.
    load = "from vectordb_assets.definitions import defs; defs()"
    completed = subprocess.run(
        [sys.executable, "-W", "default", "-c", load], capture_output=True, text=True, timeout=300, cwd=PROJECT
    )
    assert completed.returncode == 0 and "Warning" not in completed.stderr, completed.stderr


def test_the_landing_sensor_is_on_by_default_and_targets_the_chain(home: Path) -> None:
    defs = build_definitions(Settings.from_env())
    sensor = defs.resolve_sensor_def("landing_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    job = defs.resolve_job_def("ingest_files")
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == {
        "raw_files",
        "validated_parquet",
        "embeddings",
        "vector_index",
    }


@pytest.mark.parametrize(
    "env, embeddings_kinds, index_kinds, raw_kinds",
    [
        ({}, {"parquet", "openvino"}, {"postgres", "pgvector"}, {"file"}),
        ({"VECTORDB_LOCAL_BACKEND": "torch"}, {"parquet", "pytorch"}, {"postgres", "pgvector"}, {"file"}),
        (
            {"VECTORDB_EMBEDDER": "openai", "VECTORDB_STORE": "pinecone", "VECTORDB_SOURCE": "s3://landing"},
            {"parquet", "openai"},
            {"pinecone"},
            {"s3"},
        ),
        (
            {
                "VECTORDB_STORE": "s3vectors",
                "VECTORDB_S3VECTORS_BUCKET": "vectors",
                "VECTORDB_LOCAL_BACKEND": "onnx-int8",
            },
            {"parquet", "onnx"},
            {"s3", "s3vectors"},
            {"file"},
        ),
    ],
)
def test_kinds_follow_the_configuration(
    home: Path, monkeypatch: pytest.MonkeyPatch, env: dict, embeddings_kinds: set, index_kinds: set, raw_kinds: set
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    specs = {
        spec.key.to_user_string(): spec for spec in build_definitions(Settings.from_env()).resolve_all_asset_specs()
    }
    assert specs["embeddings"].kinds == embeddings_kinds
    assert specs["vector_index"].kinds == index_kinds
    assert specs["raw_files"].kinds == raw_kinds
    assert specs["validated_parquet"].kinds == {"parquet"}


@pytest.mark.integration  # a subprocess
def test_the_project_loads_with_dg(home: Path, tmp_path: Path) -> None:
    dg_command = Path(sys.executable).with_name("dg")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    checked = subprocess.run(
        [str(dg_command), "check", "defs"], cwd=PROJECT, capture_output=True, text=True, env=env, timeout=300
    )
    assert checked.returncode == 0, checked.stderr
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr
    listed = subprocess.run(
        [str(dg_command), "list", "defs", "--json"], cwd=PROJECT, capture_output=True, text=True, env=env, timeout=300
    )
    assert listed.returncode == 0, listed.stderr
    defs = json.loads(listed.stdout)
    assert {a["asset_key"] for a in defs["assets"]} == {"raw_files", "validated_parquet", "embeddings", "vector_index"}
    assert {c["name"] for c in defs["asset_checks"]} >= {"landed_files_indexed", "vector_index_matches_ledger"}
    assert {s["name"] for s in defs["sensors"]} == {
        "landing_sensor",
        "failed_files_sensor",
        "index_checks_automation",
    }
