"""The embedding cache in the state database, at 32 and at 16 bits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from resources.vector_store import InvalidVectorError
from vectordb_assets.embedding.cache import EmbeddingCache
from vectordb_assets.resources_from_settings import resources_for
from vectordb_assets.settings import Settings


def unit_vectors(rows: int) -> dict[str, np.ndarray]:
    vectors = np.random.default_rng(3).standard_normal((rows, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return {f"hash-{i}": vector for i, vector in enumerate(vectors)}


def table_bytes(state_db, table: str) -> int:
    with state_db.connect() as conn:
        return conn.execute("select pg_total_relation_size(%s)", (table,)).fetchone()[0]


def test_a_halfvec_cache_keeps_vectors_at_16_bits_in_half_the_bytes(state_db) -> None:
    vectors = unit_vectors(2000)
    full, half = EmbeddingCache(state_db, "m"), EmbeddingCache(state_db, "m", "halfvec")
    for cache in (full, half):
        cache.put_many(vectors)
    from_full, from_half = full.get_many(vectors), half.get_many(vectors)
    assert all(np.array_equal(from_full[h], v) for h, v in vectors.items())
    assert max(float(np.max(np.abs(from_half[h] - v))) for h, v in vectors.items()) < 5e-4
    assert from_half["hash-0"].dtype == np.float32
    assert half.held(["hash-1", "absent"]) == {"hash-1"}
    assert EmbeddingCache(state_db, "other", "halfvec").held(["hash-1"]) == set()
    assert table_bytes(state_db, "vectordb_embedding_cache_half") < 0.6 * table_bytes(
        state_db, "vectordb_embedding_cache"
    )


def test_a_value_beyond_the_halfvec_range_is_refused_naming_the_text(state_db) -> None:
    cache = EmbeddingCache(state_db, "m", "halfvec")
    with pytest.raises(InvalidVectorError, match=r"the vector of text hash-far has a value beyond ±65504"):
        cache.put_many({"hash-near": np.ones(4, np.float32), "hash-far": np.full(4, 1e5, np.float32)})
    assert cache.held(["hash-near", "hash-far"]) == set()


def test_the_setting_gives_the_embedding_stage_a_halfvec_cache(tmp_path: Path, state_db) -> None:
    settings = Settings.from_env({"VECTORDB_EMBEDDING_CACHE_TYPE": "HalfVec"}, cwd=tmp_path)
    cache = resources_for(settings)["embedding_cache"].cache(state_db, "m", None)
    cache.put_many({"hash-0": np.ones(4, np.float32)})
    with state_db.connect() as conn:
        assert conn.execute("select count(*) from vectordb_embedding_cache_half").fetchone()[0] == 1
