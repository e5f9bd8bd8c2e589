"""Small files of one run are embedded together, one model call per batch of rows, and a failing
call leaves each file to succeed or fail on its own."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from resources.embedders import LocalEmbedder
from tests.fake_openai import FakeOpenAI, vector_for
from tests.pipeline_harness import Pipeline
from vectordb_assets.assets.per_file import FAILED_STATUS, quarantine_report_key
from vectordb_assets.settings import Settings


def test_small_files_share_model_calls_and_get_the_vectors_they_would_alone(
    home: Path, state_db, embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real_embed = LocalEmbedder.embed

    def counted(self: LocalEmbedder, texts):
        calls.append(len(texts))
        return real_embed(self, texts)

    monkeypatch.setattr(LocalEmbedder, "embed", counted)
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    keys = [f"drop/{n}.csv" for n in range(6)]
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        for n, key in enumerate(keys):
            # Three rows each; every file shares "common text" with the others.
            p.land(key, f"id,text\n{n}a,text {n} one\n{n}b,text {n} two\n{n}c,common text\n")
        p.land("drop/z-large.csv", "id,text\n" + "".join(f"L{i},large row {i}\n" for i in range(20)))
        metadata = p.run(*keys, "drop/z-large.csv", run_config={"ops": {"embeddings": {"config": {"batch_rows": 8}}}})
        index = p.index()
        stored = p.vectors()
    embeddings = metadata["embeddings"]
    # 6 small files of 3 rows: a call once 9 rows wait, twice; the large file in 8-row batches.
    assert calls == [2 * 3 + 1, 2 * 3, 8, 8, 4]
    assert [embeddings[k]["embed_calls"] for k in keys] == [1, 1, 1, 1, 1, 1]
    # "common text" is embedded once, for the first file, and reused by the others.
    assert [embeddings[k]["texts_embedded"] for k in keys] == [3, 2, 2, 2, 2, 2]
    assert [embeddings[k]["cache_hits"] for k in keys] == [0, 1, 1, 1, 1, 1]
    assert sum(embeddings[k]["texts_embedded"] for k in keys) == sum(calls[:2])
    assert len(index) == 6 * 3 + 20
    for vector_id in ("0a", "3b", "5c", "L7"):
        text = index[vector_id][0]
        np.testing.assert_allclose(stored[vector_id], real_embed(embedder, [text])[0], atol=1e-5)


@pytest.fixture
def openai_server() -> FakeOpenAI:
    fake = FakeOpenAI(refused_text="POISON")
    fake.start()
    yield fake
    fake.stop()


def test_a_refused_call_for_many_files_leaves_each_file_on_its_own(
    home: Path, state_db, openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    monkeypatch.setenv("VECTORDB_EMBEDDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.url)
    monkeypatch.setenv("VECTORDB_OPENAI_DIMENSIONS", "64")
    keys = ["a.csv", "b.csv", "c.csv", "d.csv"]
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        for key in keys:
            p.land(key, f"id,text\n{key}-1,first of {key}\n{key}-2,second of {key}\n")
        p.land("c.csv", "id,text\nc.csv-1,POISON in c\nc.csv-2,second of c.csv\n")
        metadata = p.run(*keys)
        index = p.index()
        stored = p.vectors()
    embeddings = metadata["embeddings"]
    assert embeddings["c.csv"]["status"] == FAILED_STATUS and "c.csv" in embeddings["c.csv"]["error"]
    assert [embeddings[k]["status"] for k in ("a.csv", "b.csv", "d.csv")] == ["ok"] * 3
    calls = [embeddings[k]["embed_calls"] for k in ("a.csv", "b.csv", "d.csv")]
    assert calls == [1, 1, 1] and all(type(n) is int for n in calls)  # a count, not a flag
    assert [embeddings[k]["texts_embedded"] for k in ("a.csv", "b.csv", "d.csv")] == [2, 2, 2]
    assert sorted(index) == sorted(f"{k}-{n}" for k in ("a.csv", "b.csv", "d.csv") for n in (1, 2))
    np.testing.assert_allclose(stored["d.csv-2"], vector_for("second of d.csv", 64), atol=1e-5)
    # One call for the four files, refused; then one per file, of which c.csv's is refused again.
    assert [r["inputs"] for r in openai_server.requests] == [8, 2, 2, 2, 2]
    report = json.loads((Path(p.settings.output.root) / quarantine_report_key("c.csv")).read_text())
    assert report["stage"] == "embeddings" and report["source_key"] == "c.csv"
