"""Settings from the environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from resources.location import Location
from resources.pgvector_store import PgVectorStore
from resources.state_db import StateDatabase
from vectordb_assets.resources_from_settings import vector_store
from vectordb_assets.settings import Settings, SettingsError, documented_variables, setting_fields, variable_names


def test_defaults_put_everything_under_the_home_folder(tmp_path: Path) -> None:
    settings = Settings.from_env({}, cwd=tmp_path)
    assert settings.source == Location("file", str(tmp_path / ".vectordb/landing"))
    assert settings.output == Location("file", str(tmp_path / ".vectordb/store"))
    assert settings.pgserver_dir == tmp_path / ".vectordb/pgdata"
    assert settings.database.database_url is None
    assert settings.source_excluded_prefix is None


def test_an_s3_source_writes_outputs_to_the_same_bucket(tmp_path: Path) -> None:
    settings = Settings.from_env({"VECTORDB_SOURCE": "s3://landing-bucket/raw/files/"}, cwd=tmp_path)
    assert settings.source == Location("s3", "landing-bucket", "raw/files")
    assert settings.output == Location("s3", "landing-bucket", "_vectordb")
    assert settings.source_excluded_prefix is None


def test_outputs_inside_the_source_are_excluded_from_landing(tmp_path: Path) -> None:
    settings = Settings.from_env({"VECTORDB_SOURCE": "s3://b"}, cwd=tmp_path)
    assert settings.source_excluded_prefix == "_vectordb"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"VECTORDB_SOURCE": "gs://bucket/x"}, "unsupported location 'gs://bucket/x'"),
        ({"VECTORDB_SOURCE": "s3:///x"}, "no bucket"),
        (
            {"VECTORDB_MAX_PARTITIONS_PER_RUN": "ten"},
            "VECTORDB_MAX_PARTITIONS_PER_RUN: Input should be a valid integer.*'ten'",
        ),
        ({"VECTORDB_SENSOR_INTERVAL": "0"}, "VECTORDB_SENSOR_INTERVAL: Input should be greater than or equal to 1"),
        (
            {"VECTORDB_MAX_DELETED_FRACTION": "2"},
            "VECTORDB_MAX_DELETED_FRACTION: Input should be less than or equal to 1",
        ),
        ({"VECTORDB_COLLECTION": "docs\n"}, re.escape("collection name 'docs\\n' is not allowed")),
        ({"VECTORDB_COLLECTION": "Docs; drop table x"}, "is not allowed: use 1-48 characters"),
        ({"VECTORDB_STORE": "s3vectors"}, "VECTORDB_STORE=s3vectors needs VECTORDB_S3VECTORS_BUCKET"),
        ({"VECTORDB_CHECK_CRON": "every hour"}, "VECTORDB_CHECK_CRON: .*'every hour' is not a cron schedule"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, env: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env, cwd=tmp_path)


def test_embedder_settings(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"VECTORDB_EMBEDDER": "OpenAI", "VECTORDB_OPENAI_DIMENSIONS": "256", "VECTORDB_LOCAL_BATCH_SIZE": "16"},
        cwd=tmp_path,
    )
    assert (settings.embedding.embedder, settings.openai.dimensions, settings.local_model.batch_size) == (
        "openai",
        256,
        16,
    )
    with pytest.raises(
        SettingsError, match="VECTORDB_EMBEDDER: Input should be 'local' or 'openai' \\(got 'cohere'\\)"
    ):
        Settings.from_env({"VECTORDB_EMBEDDER": "cohere"}, cwd=tmp_path)


def test_pgvector_settings_reach_the_store(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"VECTORDB_PG_LOAD_CONNECTIONS": "4", "VECTORDB_PG_MAINTENANCE_WORK_MEM": "256MB", "VECTORDB_DISTANCE": "l2"},
        cwd=tmp_path,
    )
    store = vector_store(settings, StateDatabase(pgserver_dir=str(tmp_path / "pgdata")))
    assert isinstance(store, PgVectorStore)
    assert (store.load_connections, store.maintenance_work_mem, store.distance) == (4, "256MB", "l2")
    assert Settings.from_env({}, cwd=tmp_path).pgvector.load_connections == 2
    with pytest.raises(SettingsError, match="VECTORDB_PG_LOAD_CONNECTIONS: Input should be greater than or equal to 1"):
        Settings.from_env({"VECTORDB_PG_LOAD_CONNECTIONS": "0"}, cwd=tmp_path)


PROJECT = Path(__file__).resolve().parents[1]


def variables_in_tables(text: str) -> set[str]:
    """The variables named in the first column of the tables in `text`."""
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| variable")]
    return {name for line in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])}


def section(page: str, heading: str) -> str:
    """The part of `page` under `heading`, up to the next heading of its level."""
    start = page.index(heading) + len(heading)
    level = heading.split(" ")[0]
    end = page.find(f"\n{level} ", start)
    return page[start : end if end != -1 else None]


def test_the_reference_names_exactly_the_variables_read_and_the_readme_and_env_example_no_other() -> None:
    reference = (PROJECT / "docs/pages/reference/settings.md").read_text()
    assert variables_in_tables(reference) == documented_variables()
    in_readme = variables_in_tables(section((PROJECT / "README.md").read_text(), "## Main settings"))
    assert len(in_readme) >= 8 and in_readme <= documented_variables()
    example = (PROJECT / ".env.example").read_text()
    preferred = {variable_names(field)[0] for _, _, field in setting_fields()}
    assert set(re.findall(r"^# ([A-Z][A-Z0-9_]+)=", example, re.MULTILINE)) == preferred


def test_every_setting_says_what_it_is_and_secrets_never_show() -> None:
    assert all(field.description for _, _, field in setting_fields())
    settings = Settings.from_env({"DATABASE_URL": "postgresql://u:hunter2@db/x", "OPENAI_API_KEY": "sk-hunter2"})
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
