"""The embedding stage: canonical rows → the same rows with a vector each, through the cache."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from resources.embedders import Embedder
from resources.vector_store import DimensionMismatchError
from vectordb_assets.validation.canonical import embedding_type, parquet_writer
from vectordb_assets.embedding.chunking import expand_chunks
from vectordb_assets.embedding.cache import VectorCache

PRECOMPUTED = "precomputed"


@dataclass
class EmbeddingStats:
    """Counts for one file: where each row's vector came from."""

    rows: int = 0
    precomputed: int = 0
    cache_hits: int = 0
    embed_calls: int = 0
    texts_embedded: int = 0
    chunk_rows_added: int = 0  # rows added by splitting long texts into chunks
    embed_seconds: float = 0.0


def embedded_schema(source: pa.Schema, dimension: int) -> pa.Schema:
    """The canonical schema with a fixed-size embedding and the model that made each vector."""
    schema = source.set(source.get_field_index("embedding"), pa.field("embedding", embedding_type(dimension)))
    return schema.append(pa.field("embedding_model", pa.string(), nullable=False))


def embed_file(
    in_path: Path,
    out_path: Path,
    source_key: str,
    embedder: Embedder,
    cache: VectorCache,
    batch_rows: int = 1024,
    chunk_tokens: int | None = None,
    chunk_overlap: int = 32,
    on_batch: Callable[[EmbeddingStats], None] = lambda stats: None,
) -> EmbeddingStats:
    """Give every row of the validated file `in_path` a vector (chunking texts longer than
    `chunk_tokens`, by default the model's window); write the result to `out_path`.
    `on_batch(stats)` is called after each batch."""
    stats = EmbeddingStats()
    dimension = embedder.dimension
    size = min(chunk_tokens or embedder.max_input_tokens, embedder.max_input_tokens)
    parquet = pq.ParquetFile(in_path)
    schema = embedded_schema(parquet.schema_arrow, dimension)
    with parquet_writer(out_path, schema) as writer:
        for source_batch in parquet.iter_batches(batch_size=batch_rows):
            batch = expand_chunks(source_batch, embedder, size, chunk_overlap)
            stats.chunk_rows_added += batch.num_rows - source_batch.num_rows
            vectors, models = _vectors_for(batch, source_key, embedder, cache, stats)
            flat = pa.array(vectors.reshape(-1), type=pa.float32())
            columns = [
                pa.FixedSizeListArray.from_arrays(flat, dimension) if name == "embedding" else batch.column(name)
                for name in batch.schema.names
            ]
            columns.append(pa.array(models, type=pa.string()))
            writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
            stats.rows += batch.num_rows
            on_batch(stats)
    return stats


def _vectors_for(
    batch: pa.RecordBatch, source_key: str, embedder: Embedder, cache: VectorCache, stats: EmbeddingStats
) -> tuple[np.ndarray, list[str]]:
    dimension = embedder.dimension
    vectors = np.zeros((batch.num_rows, dimension), dtype=np.float32)
    models = [embedder.model_id] * batch.num_rows
    given = batch.column("embedding").to_pylist()
    hashes = batch.column("content_hash").to_pylist()
    texts = batch.column("text").to_pylist()
    wanted: dict[str, list[int]] = {}
    for i, vector in enumerate(given):
        if vector is not None:
            if len(vector) != dimension:
                raise DimensionMismatchError(
                    f"{source_key}: row {batch.column('row_number')[i].as_py()} carries a vector of "
                    f"{len(vector)} dimensions; the index expects {dimension} ({embedder.model_id})"
                )
            vectors[i] = vector
            models[i] = PRECOMPUTED
            stats.precomputed += 1
        else:
            wanted.setdefault(hashes[i], []).append(i)
    cached = cache.get_many(wanted)
    stats.cache_hits += sum(len(wanted[h]) for h in cached)
    missing = [h for h in wanted if h not in cached]
    if missing:
        started = time.perf_counter()
        fresh = embedder.embed([texts[wanted[h][0]] for h in missing])
        stats.embed_seconds += time.perf_counter() - started
        stats.embed_calls += 1
        stats.texts_embedded += len(missing)
        new = dict(zip(missing, fresh))
        # Cached at once, so that a run failing later does not embed these again.
        cache.put_many(new)
        cached.update(new)
    for content_hash, rows in wanted.items():
        vectors[rows] = cached[content_hash]
    return vectors, models
