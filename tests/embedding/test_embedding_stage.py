"""The embedding stage with the real MiniLM model and the cache in PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from resources.vector_store import DimensionMismatchError
from vectordb_assets.embedding.cache import EmbeddingCache
from vectordb_assets.embedding.stage import PRECOMPUTED, embed_file
from vectordb_assets.validation.validate import validate_file


def validated(tmp_path: Path, name: str, content: bytes | pa.Table) -> Path:
    raw = tmp_path / name
    if isinstance(content, pa.Table):
        pq.write_table(content, raw)
    else:
        raw.write_bytes(content)
    out = tmp_path / f"{name}.validated.parquet"
    validate_file(raw, name, "e", out)
    return out


def test_each_text_is_embedded_once_across_files(tmp_path: Path, state_db, embedder) -> None:
    cache = EmbeddingCache(state_db, embedder.model_id)
    first = validated(tmp_path, "a.csv", b"id,text\n1,alpha\n2,beta\n3,alpha\n")
    second = validated(tmp_path, "b.csv", b"id,text\n9,beta\n10,gamma\n")
    stats_a = embed_file(first, tmp_path / "a.out", "a.csv", embedder, cache)
    stats_b = embed_file(second, tmp_path / "b.out", "b.csv", embedder, cache)
    assert (stats_a.texts_embedded, stats_a.cache_hits) == (2, 0)
    assert (stats_b.texts_embedded, stats_b.cache_hits) == (1, 1)
    vectors = pq.read_table(tmp_path / "a.out").column("embedding").to_pylist()
    assert vectors[0] == vectors[2]
    np.testing.assert_allclose(vectors[0], embedder.embed(["alpha"])[0], atol=1e-5)
    # "beta" in the second file came back from the cache exactly as it was embedded.
    assert pq.read_table(tmp_path / "b.out").column("embedding")[0].as_py() == vectors[1]
    # Vectors are written without a dictionary (distinct floats would only fill one).
    chunk = pq.ParquetFile(tmp_path / "a.out").metadata.row_group(0)
    encodings = {
        chunk.column(i).path_in_schema.split(".")[0]: chunk.column(i).encodings for i in range(chunk.num_columns)
    }
    assert not any("DICTIONARY" in e for e in encodings["embedding"]) and any(
        "DICTIONARY" in e for e in encodings["doc_id"]
    )


def test_results_do_not_depend_on_batch_size(tmp_path: Path, state_db, embedder) -> None:
    rows = "".join(f"{i},sentence number {i % 13}\n" for i in range(40))
    path = validated(tmp_path, "a.csv", f"id,text\n{rows}".encode())
    outputs = []
    for batch_rows in (1, 7, 1000):
        cache = EmbeddingCache(state_db, embedder.model_id)
        embed_file(path, tmp_path / f"out{batch_rows}", "a.csv", embedder, cache, batch_rows=batch_rows)
        outputs.append(pq.read_table(tmp_path / f"out{batch_rows}").column("embedding").to_pylist())
    assert outputs[0] == outputs[1] == outputs[2]


def test_precomputed_vectors_pass_through(tmp_path: Path, state_db, embedder) -> None:
    vector = np.linspace(-1, 1, 384, dtype=np.float32)
    path = validated(
        tmp_path, "v.parquet", pa.table({"id": ["a", "b"], "text": ["x", "y"], "embedding": [vector.tolist(), None]})
    )
    stats = embed_file(path, tmp_path / "out", "v.parquet", embedder, EmbeddingCache(state_db, embedder.model_id))
    table = pq.read_table(tmp_path / "out")
    assert (stats.precomputed, stats.texts_embedded) == (1, 1)
    assert table.column("embedding_model").to_pylist() == [PRECOMPUTED, embedder.model_id]
    np.testing.assert_array_equal(table.column("embedding")[0].as_py(), vector)


def test_precomputed_vectors_of_another_dimension_are_refused(tmp_path: Path, state_db, embedder) -> None:
    path = validated(tmp_path, "v.parquet", pa.table({"id": ["a"], "embedding": [[0.1] * 1536]}))
    with pytest.raises(
        DimensionMismatchError, match="v.parquet: row 1 carries a vector of 1536 dimensions; the index expects 384"
    ):
        embed_file(path, tmp_path / "out", "v.parquet", embedder, EmbeddingCache(state_db, embedder.model_id))
