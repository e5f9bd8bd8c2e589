"""A model change on pgvector: the new model's generation is built beside the live one, readers
see only the live model's vectors until the switch and only the new model's after it, files
landing meanwhile go to both, and a rollback points readers back."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from click.testing import CliRunner
from psycopg import sql

from resources.embedders import LocalEmbedder
from tests.fake_openai import FakeOpenAI
from tests.pipeline_harness import Pipeline
from vectordb_assets.cli import main
from vectordb_assets.definitions import build_definitions
from vectordb_assets.embedding.cache import EmbeddingCache
from vectordb_assets.indexing.generations import GenerationRegistry, generation_id
from vectordb_assets.settings import Settings

ROWS = {
    "a.csv": "id,text\na1,reset a password\na2,change the billing email\n",
    "b.csv": "id,text\nb1,export invoices as pdf\nb2,invite a teammate\n",
    "c.csv": "id,text\nc1,delete an account for good\n",
}


@pytest.fixture
def pipeline(home: Path, state_db, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    with dg.instance_for_test() as instance:
        yield Pipeline(Settings.from_env(), instance, state_db)


def rows(p: Pipeline, relation: str) -> dict[str, tuple[np.ndarray, str]]:
    """id → (vector, content hash) of every row `relation` (a table or the live view) holds."""
    with p.state_db.connect() as conn:
        query = sql.SQL("select id, embedding, content_hash from {}").format(sql.Identifier(relation))
        found = conn.execute(query).fetchall()
    return {vid: (np.asarray(vector.to_list(), dtype=np.float32), content_hash) for vid, vector, content_hash in found}


def made_by(p: Pipeline, held: dict[str, tuple[np.ndarray, str]], embedder: LocalEmbedder) -> bool:
    """Whether every row holds the vector `embedder`'s model gave its text (as its cache keeps it:
    8-bit activations make a text's vector depend a little on the texts embedded with it)."""
    cached = EmbeddingCache(p.state_db, embedder.model_id).get_many(h for _, h in held.values())
    return all(h in cached and np.allclose(vector, cached[h], atol=1e-6) for vector, h in held.values())


def cli(p: Pipeline, *args: str, settings: Settings) -> tuple[int, str]:
    env = {
        "DATABASE_URL": p.state_db.database_url,
        "VECTORDB_HOME": str(settings.home),
        "VECTORDB_LOCAL_BACKEND": settings.local_model.backend,
    }
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


TEXTS = {
    "a1": "reset a password",
    "a2": "change the billing email",
    "b1": "export invoices as pdf",
    "b2": "invite a teammate",
    "c1": "delete an account for good",
}


@pytest.mark.usefixtures("models_dir")
def test_a_model_change_switches_readers_only_when_the_new_generation_is_complete(pipeline: Pipeline) -> None:
    p = pipeline
    minilm, int8 = p.settings, p.settings.with_changes(VECTORDB_LOCAL_BACKEND="onnx-int8")
    minilm_model = LocalEmbedder(export_dir=str(minilm.models))
    int8_model = LocalEmbedder(backend="onnx-int8", export_dir=str(minilm.models))
    old, new = (generation_id(m.model_id, m.dimension) for m in (minilm_model, int8_model))
    registry = GenerationRegistry(p.state_db, "documents")
    for key in ("a.csv", "b.csv"):
        p.land(key, ROWS[key])
    p.run("a.csv", "b.csv")
    assert registry.live().generation == old and registry.live().store_collection == "documents"
    assert set(rows(p, "documents_live")) == {"a1", "a2", "b1", "b2"}

    # The model changes: a file landing now goes to the new generation and to the live one.
    p.land("c.csv", ROWS["c.csv"])
    landed = p.run("c.csv", settings=int8)["vector_index"]
    building = registry.get(new)
    assert (landed["generation"], landed["collection"], building.state) == (new, f"documents_{new}", "building")
    assert landed["live_generation"] == {
        "generation": old,
        "collection": "documents",
        "added": 1,
        "updated": 0,
        "deleted": 0,
    }
    live = rows(p, "documents_live")
    assert set(live) == {"a1", "a2", "b1", "b2", "c1"} and made_by(p, live, minilm_model)
    assert set(rows(p, f"documents_{new}")) == {"c1"} and made_by(p, rows(p, f"documents_{new}"), int8_model)

    # Half a backfill (a run that stopped or failed after one file) leaves readers where they were.
    p.run("a.csv", settings=int8)
    assert registry.live().generation == old and rows(p, "documents_live").keys() == live.keys()
    assert made_by(p, rows(p, "documents_live"), minilm_model)
    code, out = cli(p, "promote", settings=int8)
    assert code == 1 and "lacks 1 file(s) the live generation holds" in out and "default/b.csv" in out
    code, out = cli(p, "search", "reset a password", "--json", settings=int8)
    assert code == 0 and json.loads(out)[0]["id"] == "a1"

    # A backfill run that fails (its writes to the new generation's table fail) changes nothing for readers.
    with p.state_db.connect() as conn:
        conn.execute(sql.SQL("alter table {} rename to away").format(sql.Identifier(f"documents_{new}")))
    job = build_definitions(int8).resolve_job_def("ingest_files")
    failed = job.execute_in_process(instance=p.instance, partition_key="b.csv", raise_on_error=False)
    with p.state_db.connect() as conn:
        conn.execute(sql.SQL("alter table away rename to {}").format(sql.Identifier(f"documents_{new}")))
    assert not failed.success and registry.live().generation == old
    assert rows(p, "documents_live").keys() == live.keys() and made_by(p, rows(p, "documents_live"), minilm_model)

    # The backfill's last file completes the generation: readers move to it in the same run.
    switched = p.run("b.csv", settings=int8)["vector_index"]
    assert "live_generation" not in switched  # the live generation held b.csv's version already
    assert registry.live().generation == new and registry.get(old).state == "retired"
    observed = p.instance.fetch_observations(dg.AssetKey("vector_index"), limit=1).records[0].asset_observation.metadata
    assert (observed["generation_promoted"].value, observed["previous_generation"].value) == (new, old)
    live = rows(p, "documents_live")
    assert set(live) == set(TEXTS) and made_by(p, live, int8_model)
    code, out = cli(p, "generations", "--json", settings=int8)
    listed = {g["generation"]: g for g in json.loads(out)}
    assert (listed[new]["state"], listed[new]["files"], listed[new]["vectors"], listed[new]["configured"]) == (
        "live",
        3,
        5,
        True,
    )
    assert (listed[old]["state"], listed[old]["files"], listed[old]["configured"]) == ("retired", 3, False)

    # Rollback: readers go back to the old model's vectors, while the old generation exists.
    code, out = cli(p, "promote", "--generation", old, settings=int8)
    assert code == 0 and f"generation {old}" in out and "is live" in out, out
    live = rows(p, "documents_live")
    assert set(live) == set(TEXTS) and made_by(p, live, minilm_model)
    code, out = cli(p, "search", "invite a teammate", "--json", settings=int8)
    assert json.loads(out)[0]["id"] == "b2" and json.loads(out)[0]["score"] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.usefixtures("models_dir")
def test_without_auto_promotion_readers_wait_for_promote_and_retired_generations_are_dropped(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = pipeline
    monkeypatch.setenv("VECTORDB_AUTO_PROMOTE", "false")
    minilm = Settings.from_env()
    int8 = minilm.with_changes(VECTORDB_LOCAL_BACKEND="onnx-int8")
    registry = GenerationRegistry(p.state_db, "documents")
    for key in ("a.csv", "b.csv"):
        p.land(key, ROWS[key])
    p.run("a.csv", "b.csv", settings=minilm)
    old = registry.live().generation
    p.run("a.csv", "b.csv", settings=int8)
    new = registry.get(generation_id(LocalEmbedder(backend="onnx-int8").model_id, 384))
    assert (registry.live().generation, new.state) == (old, "building")  # complete, but not promoted
    # A vector its ledger does not know fails the reconciliation: no switch.
    orphan = sql.SQL(
        "insert into {} select namespace, 'zz', embedding, text, metadata, content_hash, source_key from {} limit 1"
    )
    with p.state_db.connect() as conn:
        conn.execute(orphan.format(sql.Identifier(new.store_collection), sql.Identifier(new.store_collection)))
    code, out = cli(p, "promote", settings=int8)
    assert (
        code == 1 and "its store and ledger differ in namespace(s) default (0 missing, 1 orphans, 0 mismatched)" in out
    )
    with p.state_db.connect() as conn:
        conn.execute(sql.SQL("delete from {} where id = 'zz'").format(sql.Identifier(new.store_collection)))
    code, out = cli(p, "promote", settings=int8)
    assert (
        code == 0
        and f"generation {new.generation}" in out
        and f"{old} (sentence-transformers/all-MiniLM-L6-v2) is retired" in out
    )

    # A deleted file leaves the retired generation too: a rollback would not bring it back.
    p.remove("b.csv")
    p.run("b.csv", settings=int8)
    assert set(rows(p, "documents_live")) == set(rows(p, "documents")) == {"a1", "a2"}

    code, out = cli(p, "generations", "--drop", new.generation, settings=int8)
    assert code == 1 and "is live: promote another before dropping it" in out
    p.land("b.csv", ROWS["b.csv"], minute=5)
    expired = int8.with_changes(VECTORDB_GENERATION_RETENTION_HOURS=0)  # the retired generation's time is over
    with p.state_db.connect() as conn:  # but an application's view reads its table: it cannot go yet
        conn.execute("create view app_report as select id from documents")
    p.run("b.csv", settings=expired)
    assert registry.get(old).state == "retired"
    with p.state_db.connect() as conn:
        conn.execute("drop view app_report")
    p.run("b.csv", settings=expired)
    assert registry.get(old).state == "dropped"
    with p.state_db.connect() as conn:
        assert conn.execute("select to_regclass('documents')").fetchone()[0] is None
        assert conn.execute("select count(*) from vectordb_ledger where collection = 'documents'").fetchone()[0] == 0
    code, out = cli(p, "promote", "--generation", old, settings=int8)
    assert code == 1 and f"generation {old!r} of collection 'documents' does not exist (or was dropped)" in out
    assert set(rows(p, "documents_live")) == {"a1", "a2", "b1", "b2"}

    # Coming back to the dropped generation's model builds it anew, from the embedding cache.
    back = p.run("a.csv", "b.csv", settings=minilm)
    assert registry.get(old).state == "building" and registry.live().generation == new.generation
    assert [m["texts_embedded"] for m in back["embeddings"].values()] == [0, 0]
    assert [m["added"] for m in back["vector_index"].values()] == [2, 2]


@pytest.mark.usefixtures("models_dir")
def test_a_model_of_another_dimension_is_a_generation_too_and_the_live_view_follows(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = pipeline
    openai_server = FakeOpenAI()
    openai_server.start()
    try:
        for name, value in {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": openai_server.url}.items():
            monkeypatch.setenv(name, value)
        minilm = Settings.from_env()
        openai = minilm.with_changes(VECTORDB_EMBEDDER="openai", VECTORDB_OPENAI_DIMENSIONS=64)
        p.land("a.csv", ROWS["a.csv"])
        p.run("a.csv", settings=minilm)
        p.land("c.csv", ROWS["c.csv"])
        landed = p.run("c.csv", settings=openai)["vector_index"]
        # The live generation is MiniLM's: the new file was embedded with MiniLM for it, rebuilt from its settings.
        assert landed["live_generation"]["added"] == 1 and made_by(
            p, rows(p, "documents_live"), LocalEmbedder(export_dir=str(minilm.models))
        )
        for name, value in {"VECTORDB_EMBEDDER": "openai", "VECTORDB_OPENAI_DIMENSIONS": "64"}.items():
            monkeypatch.setenv(name, value)
        code, out = cli(p, "search", "delete an account for good", "--json", settings=minilm)
        assert (
            code == 0
            and json.loads(out)[0]["id"] == "c1"
            and json.loads(out)[0]["score"] == pytest.approx(1.0, abs=1e-5)
        )

        p.run("a.csv", settings=openai)  # complete: the 64-d generation is live, and the view reads it
        live = rows(p, "documents_live")
        assert set(live) == {"a1", "a2", "c1"} and {len(v) for v, _ in live.values()} == {64}
        code, out = cli(p, "search", "change the billing email", "--json", settings=minilm)
        assert json.loads(out)[0]["id"] == "a2" and json.loads(out)[0]["score"] == pytest.approx(1.0, abs=1e-5)
    finally:
        openai_server.stop()
