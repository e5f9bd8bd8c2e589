"""The embedding stage: canonical rows → the same rows with a vector each, through the cache."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from resources.embedders import Embedder
from resources.vector_store import DimensionMismatchError
from vectordb_assets.embedding.cache import VectorCache
from vectordb_assets.embedding.chunking import expand_chunks
from vectordb_assets.validation.canonical import embedding_type, parquet_writer

PRECOMPUTED = "precomputed"


@dataclass
class EmbeddingStats:
    """Counts for one file: where each row's vector came from."""

    rows: int = 0
    precomputed: int = 0
    cache_hits: int = 0
    embed_calls: int = 0
    texts_embedded: int = 0
    tokens_embedded: int = 0  # the model's tokens in the texts embedded (what a paid model charges)
    chunk_rows_added: int = 0  # rows added by splitting long texts into chunks
    embed_seconds: float = 0.0


def embedded_schema(source: pa.Schema, dimension: int) -> pa.Schema:
    """The canonical schema with a fixed-size embedding and the model that made each vector."""
    schema = source.set(source.get_field_index("embedding"), pa.field("embedding", embedding_type(dimension)))
    return schema.append(pa.field("embedding_model", pa.string(), nullable=False))


@dataclass
class PendingRows:
    """A batch of a file's rows with the vectors known so far (given or cached) and the texts
    still to embed, by content hash."""

    source_key: str
    batch: pa.RecordBatch
    vectors: np.ndarray
    models: list[str]
    wanted: dict[str, list[int]]
    texts: dict[str, str]

    def complete(self, fresh: Mapping[str, np.ndarray], schema: pa.Schema) -> pa.RecordBatch:
        """The output rows, with the vectors of `texts` taken from `fresh`."""
        for content_hash, rows in self.wanted.items():
            self.vectors[rows] = fresh[content_hash]
        flat = pa.array(self.vectors.reshape(-1), type=pa.float32())
        columns = [
            pa.FixedSizeListArray.from_arrays(flat, self.vectors.shape[1])
            if name == "embedding"
            else self.batch.column(name)
            for name in self.batch.schema.names
        ]
        columns.append(pa.array(self.models, type=pa.string()))
        return pa.RecordBatch.from_arrays(columns, schema=schema)


def read_rows(
    source_batch: pa.RecordBatch,
    source_key: str,
    embedder: Embedder,
    cache: VectorCache,
    stats: EmbeddingStats,
    chunk_tokens: int | None = None,
    chunk_overlap: int = 32,
) -> PendingRows:
    """A batch of validated rows, chunked (texts longer than `chunk_tokens`, by default the
    model's window), with the file's own vectors and the cache's put in."""
    size = min(chunk_tokens or embedder.max_input_tokens, embedder.max_input_tokens)
    batch = expand_chunks(source_batch, embedder, size, chunk_overlap)
    stats.chunk_rows_added += batch.num_rows - source_batch.num_rows
    stats.rows += batch.num_rows
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
    for content_hash, vector in cached.items():
        vectors[wanted.pop(content_hash)] = vector
    missing = {h: texts[rows[0]] for h, rows in wanted.items()}
    return PendingRows(source_key, batch, vectors, models, wanted, missing)


@dataclass
class Embedded:
    """What one call to the model gave: vectors and tokens by content hash, and its seconds."""

    vectors: dict[str, np.ndarray]
    tokens: dict[str, int]
    seconds: float


def embed_texts(embedder: Embedder, texts: Mapping[str, str], caches: list[VectorCache]) -> Embedded:
    """Embed `texts` (by content hash) in one call and put them in each cache at once, so that a
    run failing later does not embed them again."""
    if not texts:
        return Embedded({}, {}, 0.0)
    started = time.perf_counter()
    fresh = dict(zip(texts, embedder.embed(list(texts.values()))))
    seconds = time.perf_counter() - started
    for cache in caches:
        cache.put_many(fresh)
    return Embedded(fresh, dict(zip(texts, embedder.count_tokens(list(texts.values())))), seconds)


def rows_per_call(embedder: Embedder, batch_rows: int) -> int:
    """Rows the stage reads and embeds per call: `batch_rows` for each request the embedder
    sends at once (one file's batches then keep the embedder's requests in flight together)."""
    return batch_rows * embedder.calls_at_once


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
    """Give every row of the validated file `in_path` a vector, one batch of `batch_rows` rows at
    a time; write the result to `out_path`. `on_batch(stats)` is called after each batch."""
    stats = EmbeddingStats()
    parquet = pq.ParquetFile(in_path)
    schema = embedded_schema(parquet.schema_arrow, embedder.dimension)
    with parquet_writer(out_path, schema) as writer:
        for source_batch in parquet.iter_batches(batch_size=batch_rows):
            pending = read_rows(source_batch, source_key, embedder, cache, stats, chunk_tokens, chunk_overlap)
            embedded = embed_texts(embedder, pending.texts, [cache])
            stats.embed_seconds += embedded.seconds
            stats.embed_calls += bool(embedded.vectors)
            stats.texts_embedded += len(embedded.vectors)
            stats.tokens_embedded += sum(embedded.tokens.values())
            writer.write_batch(pending.complete(embedded.vectors, schema))
            on_batch(stats)
    return stats


@dataclass
class SmallFile:
    """A file of at most one batch of rows, waiting to be embedded with others."""

    key: str
    pending: PendingRows
    schema: pa.Schema
    cache: VectorCache
    stats: EmbeddingStats
    out: Path  # where its output is written


class SharedBatch:
    """Small files embedded together: their missing texts go to the model in one call of up to
    `batch_rows` rows, as one large file's would, instead of one short call per file.

    A text several of them hold is embedded once and counted as embedded by the first, as a cache
    hit by the others."""

    def __init__(self, embedder: Embedder, batch_rows: int):
        self.embedder, self.batch_rows = embedder, batch_rows
        self.files: list[SmallFile] = []
        self.texts: dict[str, str] = {}

    def add(self, file: SmallFile) -> None:
        self.files.append(file)
        for content_hash, text in file.pending.texts.items():
            self.texts.setdefault(content_hash, text)

    @property
    def full(self) -> bool:
        return sum(f.pending.batch.num_rows for f in self.files) >= self.batch_rows

    def embed(self) -> dict[str, np.ndarray]:
        """Every waiting file's texts, embedded in one call and put in the files' caches."""
        caches = list({id(f.cache): f.cache for f in self.files}.values())
        embedded = embed_texts(self.embedder, self.texts, caches)
        counted: set[str] = set()
        for file in self.files:
            own = file.pending.texts.keys() - counted
            counted |= own
            file.stats.cache_hits += sum(len(file.pending.wanted[h]) for h in file.pending.texts.keys() - own)
            file.stats.texts_embedded += len(own)
            file.stats.tokens_embedded += sum(embedded.tokens[h] for h in own)
            file.stats.embed_calls += bool(own)
            file.stats.embed_seconds += embedded.seconds * len(own) / len(self.texts) if self.texts else 0.0
        return embedded.vectors

    def take(self) -> list[SmallFile]:
        """The waiting files, leaving the batch empty."""
        files, self.files, self.texts = self.files, [], {}
        return files
