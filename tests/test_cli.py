"""The `vectordb` command line: seed, and search what the pipeline indexed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from resources.object_store import LocalObjectStore
from vectordb_assets.assets.per_file import RANGE_END_TAG, RANGE_START_TAG
from vectordb_assets.cli import main
from vectordb_assets.definitions import build_definitions
from vectordb_assets.landing.partitions import source_files
from vectordb_assets.settings import Settings


@pytest.fixture
def indexed(home: Path, state_db, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The samples seeded by the CLI and indexed by one run (with the local model)."""
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    result = CliRunner().invoke(main, ["seed"])
    assert result.exit_code == 0, result.output
    assert result.output.count("wrote ") == 3
    settings = Settings.from_env()
    keys = [o.key for o in LocalObjectStore(root=settings.source.root).list_objects()]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(source_files.name, keys)
        job = build_definitions(settings).resolve_job_def("ingest_files")
        assert job.execute_in_process(
            instance=instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
        ).success
    return settings


def test_seed_leaves_a_folder_with_files_alone(indexed: Settings) -> None:
    result = CliRunner().invoke(main, ["seed"])
    assert result.exit_code == 0 and "nothing written" in result.output


def test_search_prints_scores_ids_and_sources(indexed: Settings) -> None:
    result = CliRunner().invoke(main, ["search", "I forgot my password", "--top-k", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["score", "id", "source", "text"]
    assert lines[1].split()[1:3] == ["kb-001", "help_center/articles.csv"]
    assert len(lines) == 3


@pytest.mark.integration  # a subprocess
def test_the_installed_console_script_searches_as_json(indexed: Settings) -> None:
    script = Path(sys.executable).with_name("vectordb")
    assert script.is_file(), "the vectordb console script is installed with the package"
    completed = subprocess.run(
        [str(script), "search", "warm socks for wet weather", "--top-k", "1", "--json"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    (hit,) = json.loads(completed.stdout)
    assert (hit["id"], hit["source_key"]) == ("sku-104", "catalog/products.parquet")
    assert hit["metadata"] == {"category": "footwear", "price": 19.9}


@pytest.mark.integration  # a subprocess
def test_a_search_imports_no_other_services_sdk_nor_torch_nor_an_instances_storage(indexed: Settings) -> None:
    """What a search needs and no more: the other services' SDKs, torch (the default backend is
    OpenVINO) and the storage of a Dagster instance (sqlalchemy) are never imported."""
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from vectordb_assets.cli import main\n"
        "result = CliRunner().invoke(main, ['search', 'warm socks', '--json'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(name for name in ('openai', 'pinecone', 'dagster_aws', 'boto3', 'torch', 'sentence_transformers',"
        " 'sqlalchemy') if name in sys.modules))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().splitlines()[-1] == "[]"


def test_a_missing_api_key_is_named_without_a_traceback(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECTORDB_EMBEDDER", "openai")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = CliRunner().invoke(main, ["search", "x"])
    assert (result.exit_code, result.output) == (
        1,
        "Error: OPENAI_API_KEY is not set, and the configured services need it\n",
    )


def test_bad_settings_are_reported_without_a_traceback(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECTORDB_SOURCE", "ftp://host/x")
    result = CliRunner().invoke(main, ["search", "x"])
    assert result.exit_code == 1
    assert "Error: unsupported location 'ftp://host/x'" in result.output


def test_a_bad_location_on_the_command_line_is_one_line(home: Path, tmp_path: Path) -> None:
    for args in (["upload", str(tmp_path), "ftp://host/x"], ["migrate", "--to", "ftp://host/x"]):
        result = CliRunner().invoke(main, args)
        assert (result.exit_code, result.output.splitlines()[-1]) == (
            1,
            "Error: unsupported location 'ftp://host/x': use a folder path or s3://bucket/prefix",
        ), result.output


def test_search_filters_on_metadata(indexed: Settings) -> None:
    result = CliRunner().invoke(
        main, ["search", "something to wear on my feet", "--filter", "category=accessories", "--json"]
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits and all(h["metadata"]["category"] == "accessories" for h in hits)
    bad = CliRunner().invoke(main, ["search", "x", "--filter", "category"])
    assert bad.exit_code == 2 and "'category' is not key=value" in bad.output
