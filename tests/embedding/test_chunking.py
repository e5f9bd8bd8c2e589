"""Token-aware chunking with both tokenizers, and a shorter new version regrouping its chunks."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from resources.openai_embedder import OpenAIEmbedder
from tests.pipeline_harness import Pipeline
from vectordb_assets.embedding.chunking import chunk_spans, expand_chunks
from vectordb_assets.settings import Settings
from vectordb_assets.validation.canonical import canonical_schema

LONG = " ".join(f"sentence {i} tells part {i % 7} of a long story about rivers and mountains." for i in range(120))


def batch_of(text: str) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(
        [
            {
                "doc_id": "doc",
                "text": text,
                "embedding": None,
                "metadata": '{"lang": "en"}',
                "content_hash": "h",
                "source_key": "a.csv",
                "source_etag": "e",
                "row_number": 1,
            }
        ],
        schema=canonical_schema(None),
    )


def test_spans_overlap_and_cover_every_token() -> None:
    tokens = [(i * 2, i * 2 + 1) for i in range(10)]
    assert chunk_spans(tokens, size=4, overlap=1) == [(0, 7), (6, 13), (12, 19)]
    assert chunk_spans(tokens, size=10, overlap=2) == [(0, 19)]
    with pytest.raises(ValueError, match="overlap 4 must be at least 0 and less than the chunk size 4"):
        chunk_spans(tokens, size=4, overlap=4)


def test_long_texts_become_chunks_within_the_local_models_window(embedder) -> None:
    window = embedder.max_input_tokens
    assert window == 254
    out = expand_chunks(batch_of(LONG), embedder, window, 32)
    ids = out.column("doc_id").to_pylist()
    assert ids == [f"doc#{n}" for n in range(len(ids))] and len(ids) > 1
    assert all(count <= window for count in embedder.count_tokens(out.column("text").to_pylist()))
    meta = json.loads(out.column("metadata")[1].as_py())
    assert meta == {"lang": "en", "document_id": "doc", "chunk": 1, "chunks": len(ids)}
    assert LONG.startswith(out.column("text")[0].as_py()) and LONG.endswith(out.column("text")[-1].as_py())


def test_openai_chunks_keep_the_text_exactly_and_overlap() -> None:
    embedder = OpenAIEmbedder(api_key="unused")
    out = expand_chunks(batch_of(LONG), embedder, 100, 20)
    pieces = out.column("text").to_pylist()
    assert all(count <= 100 for count in embedder.count_tokens(pieces))
    assert pieces[0] in LONG and pieces[1] in LONG
    assert LONG.index(pieces[1]) < len(pieces[0])  # the second chunk starts inside the first


def test_short_texts_are_left_alone(embedder) -> None:
    out = expand_chunks(batch_of("a short text"), embedder, 254, 32)
    assert out.column("doc_id").to_pylist() == ["doc"]


@pytest.mark.usefixtures("models_dir")
def test_a_shorter_new_version_deletes_its_extra_chunks(home: Path, state_db, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    config = {"ops": {"embeddings": {"config": {"chunk_tokens": 40, "chunk_overlap": 5}}}}
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("story.jsonl", json.dumps({"id": "s1", "text": LONG[:1500]}) + "\n")
        first = p.run("story.jsonl", run_config=config)
        chunks = first["vector_index"]["added"]
        assert chunks > 3 and first["embeddings"]["chunk_rows_added"] == chunks - 1
        p.land("story.jsonl", json.dumps({"id": "s1", "text": LONG[:400]}) + "\n", minute=5)
        second = p.run("story.jsonl", run_config=config)
        remaining = sorted(p.index())
    assert second["vector_index"]["deleted"] == chunks - len(remaining)
    assert remaining == [f"s1#{n}" for n in range(len(remaining))] and 1 < len(remaining) < chunks
