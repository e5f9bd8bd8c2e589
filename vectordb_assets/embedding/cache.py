"""Embedding caches: where the embedding stage finds the vectors of texts it embedded before."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from resources.pg_binary_copy import copy_binary, text_column, vector_column
from resources.state_db import StateDatabase


class VectorCache(Protocol):
    """Vectors by content hash, for one model."""

    def get_many(self, content_hashes: Iterable[str]) -> dict[str, np.ndarray]: ...

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None: ...


class EmbeddingCache:
    """Vectors by (model, content hash), kept in the state database: each (model, text) is
    embedded once, whatever file or run has it."""

    def __init__(self, state_db: StateDatabase, model: str):
        self.state_db = state_db
        self.model = model

    def get_many(self, content_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors among `content_hashes`."""
        wanted = list(dict.fromkeys(content_hashes))
        if not wanted:
            return {}
        with self.state_db.connect() as conn:
            rows = conn.execute(
                "select content_hash, embedding from vectordb_embedding_cache"
                " where model = %s and content_hash = any(%s)",
                (self.model, wanted),
                binary=True,  # pgvector's binary format loads straight into numpy
            ).fetchall()
        return {h: v.to_numpy().astype(np.float32, copy=False) for h, v in rows}

    def held(self, content_hashes: list[str]) -> set[str]:
        """The hashes among `content_hashes` the cache holds a vector of (without reading them)."""
        if not content_hashes:
            return set()
        with self.state_db.connect() as conn:
            rows = conn.execute(
                "select content_hash from vectordb_embedding_cache where model = %s and content_hash = any(%s)",
                (self.model, content_hashes),
            )
            return {content_hash for (content_hash,) in rows}

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Store vectors; a hash already present keeps its first vector."""
        if not vectors:
            return
        with self.state_db.connect() as conn:
            conn.execute(
                "create temp table vectordb_cache_staging (content_hash text, embedding vector) on commit drop"
            )
            hashes = list(vectors)
            copy_binary(
                conn,
                "copy vectordb_cache_staging (content_hash, embedding) from stdin with (format binary)",
                len(hashes),
                [
                    text_column(pa.array(hashes, pa.string())),
                    vector_column(np.stack([np.asarray(vectors[h], dtype=np.float32) for h in hashes])),
                ],
            )
            conn.execute(
                "insert into vectordb_embedding_cache (model, content_hash, embedding)"
                " select %s, content_hash, embedding from vectordb_cache_staging"
                " on conflict (model, content_hash) do nothing",
                (self.model,),
            )


class PreviousOutputCache:
    """Vectors of one file's previous embeddings output, by content hash: texts the file held
    before are not embedded again, and no copy of the vectors is kept anywhere else. Written
    vectors are kept by the new output itself, which is the next run's cache."""

    def __init__(self, model: str, previous_output: Path | None):
        self.model = model
        self.vectors: dict[str, np.ndarray] = {}
        if previous_output is None:
            return
        table = pq.read_table(previous_output, columns=["content_hash", "embedding", "embedding_model"])
        table = table.filter(pc.equal(table.column("embedding_model"), model))
        if table.num_rows:
            embedding = table.column("embedding").combine_chunks()
            matrix = embedding.flatten().to_numpy().reshape(table.num_rows, embedding.type.list_size)
            self.vectors = dict(zip(table.column("content_hash").to_pylist(), matrix))

    def get_many(self, content_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """The previous output's vectors among `content_hashes`."""
        return {h: self.vectors[h] for h in dict.fromkeys(content_hashes) if h in self.vectors}

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Nothing to keep: the output being written holds these vectors."""
