"""The chain into Pinecone (the real SDK against the local data-plane server), then a search."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from tests.fake_pinecone import FakePinecone
from tests.pipeline_harness import Pipeline
from vectordb_assets.cli import main
from vectordb_assets.settings import Settings


@pytest.fixture
def pinecone() -> FakePinecone:
    fake = FakePinecone(dimension=384)
    fake.start()
    yield fake
    fake.stop()


@pytest.mark.usefixtures("models_dir")
def test_files_are_indexed_in_pinecone_and_searchable(
    home: Path, state_db, pinecone: FakePinecone, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    monkeypatch.setenv("VECTORDB_STORE", "pinecone")
    monkeypatch.setenv("VECTORDB_PINECONE_HOST", pinecone.url)
    monkeypatch.setenv("PINECONE_API_KEY", "pc-test")
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land(
            "a.csv",
            "id,text,team\n1,reset your password from the sign-in page,support\n2,invoices are PDF files,billing\n",
        )
        first = p.run("a.csv")
        assert first["vector_index"]["added"] == 2 and len(pinecone.namespaces["default"]) == 2
        p.land("a.csv", "id,text,team\n1,reset your password from the sign-in page,support\n", minute=5)
        second = p.run("a.csv")
    assert (second["vector_index"]["skipped"], second["vector_index"]["deleted"]) == (1, 1)
    assert sorted(pinecone.namespaces["default"]) == ["1"]
    result = CliRunner().invoke(
        main, ["search", "I forgot my password", "--top-k", "1", "--filter", "team=support", "--json"]
    )
    assert result.exit_code == 0, result.output
    (hit,) = json.loads(result.stdout)
    assert (hit["id"], hit["source_key"], hit["metadata"]) == ("1", "a.csv", {"team": "support"})
