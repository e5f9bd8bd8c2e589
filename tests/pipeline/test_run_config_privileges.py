"""A run's config cannot change what the settings chose: endpoints, roots, buckets, secrets."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from tests.fake_openai import FakeOpenAI
from tests.pipeline_harness import Pipeline
from vectordb_assets.definitions import build_definitions
from vectordb_assets.landing.partitions import source_files
from vectordb_assets.settings import Settings


@pytest.fixture
def servers() -> tuple[FakeOpenAI, FakeOpenAI]:
    real, attacker = FakeOpenAI(), FakeOpenAI()
    real.start()
    attacker.start()
    yield real, attacker
    real.stop()
    attacker.stop()


def failed_run(p: Pipeline, key: str, run_config: dict) -> str:
    """Run the ingest job over `key` with `run_config`; the failure messages of the run."""
    p.instance.add_dynamic_partitions(source_files.name, [key])
    job = build_definitions(p.settings).resolve_job_def("ingest_files")
    result = job.execute_in_process(instance=p.instance, partition_key=key, run_config=run_config, raise_on_error=False)
    assert not result.success
    return " ".join(str(e.event_specific_data) for e in result.all_events if e.is_failure)


def test_a_run_cannot_send_the_openai_key_elsewhere(
    home: Path, state_db, servers: tuple[FakeOpenAI, FakeOpenAI], monkeypatch: pytest.MonkeyPatch
) -> None:
    real, attacker = servers
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    monkeypatch.setenv("VECTORDB_EMBEDDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-secret")
    monkeypatch.setenv("OPENAI_BASE_URL", real.url)
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("a.csv", "id,text\n1,one\n")
        attack = {
            "resources": {"embedder": {"config": {"base_url": attacker.url, "api_key": {"env": "OPENAI_API_KEY"}}}}
        }
        message = failed_run(p, "a.csv", attack)
        assert "resources.embedder.config.base_url" in message and "api_key" not in message
        assert attacker.requests == [] and real.requests == []
        # The settings' own values, as the Launchpad scaffolds them, are no change: the run goes on.
        same = {"base_url": real.url, "api_key": {"env": "OPENAI_API_KEY"}}
        p.run("a.csv", run_config={"resources": {"embedder": {"config": same}}})
    assert attacker.requests == [] and len(real.requests) == 1


def test_a_run_cannot_read_another_folder(
    home: Path, state_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("id,text\n1,the payroll\n")
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        message = failed_run(p, "secret.csv", {"resources": {"source_store": {"config": {"root": str(outside)}}}})
        assert "resources.source_store.config.root" in message
        assert not [path for path in Path(p.settings.output.root).rglob("*") if path.is_file()]
