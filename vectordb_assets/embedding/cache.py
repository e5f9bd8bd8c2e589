"""Embedding caches: where the embedding stage finds the vectors of texts it embedded before."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from psycopg import sql

from resources.pg_binary_copy import HALFVEC_MAX, copy_binary, first_beyond_half_range, text_column, vector_column
from resources.state_db import StateDatabase
from resources.state_schema import ensure_half_cache
from resources.vector_store import InvalidVectorError

# The cache's table for each column type.
TABLES = {"vector": "vectordb_embedding_cache", "halfvec": "vectordb_embedding_cache_half"}


class VectorCache(Protocol):
    """Vectors by content hash, for one model."""

    def get_many(self, content_hashes: Iterable[str]) -> dict[str, np.ndarray]: ...

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None: ...


class EmbeddingCache:
    """Vectors by (model, content hash), kept in the state database: each (model, text) is
    embedded once, whatever file or run has it. A `halfvec` cache keeps them at 16 bits, in a
    table of its own."""

    def __init__(self, state_db: StateDatabase, model: str, vector_type: str = "vector"):
        self.state_db = state_db
        self.model = model
        self.vector_type = vector_type
        self.table = sql.Identifier(TABLES[vector_type])
        if vector_type == "halfvec":
            with state_db.connect() as conn:
                ensure_half_cache(conn)

    def get_many(self, content_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors among `content_hashes`."""
        wanted = list(dict.fromkeys(content_hashes))
        if not wanted:
            return {}
        with self.state_db.connect() as conn:
            rows = conn.execute(
                sql.SQL("select content_hash, embedding from {} where model = %s and content_hash = any(%s)").format(
                    self.table
                ),
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
                sql.SQL("select content_hash from {} where model = %s and content_hash = any(%s)").format(self.table),
                (self.model, content_hashes),
            )
            return {content_hash for (content_hash,) in rows}

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Store vectors; a hash already present keeps its first vector."""
        if not vectors:
            return
        hashes = list(vectors)
        matrix = np.stack([np.asarray(vectors[h], dtype=np.float32) for h in hashes])
        half = self.vector_type == "halfvec"
        beyond = first_beyond_half_range(matrix) if half else None
        if beyond is not None:
            raise InvalidVectorError(
                f"the vector of text {hashes[beyond]} has a value beyond ±{HALFVEC_MAX:g}, which a halfvec cache"
                " cannot hold (VECTORDB_EMBEDDING_CACHE_TYPE)"
            )
        with self.state_db.connect() as conn:
            conn.execute(
                sql.SQL(
                    "create temp table vectordb_cache_staging (content_hash text, embedding {}) on commit drop"
                ).format(sql.Identifier(self.vector_type))
            )
            copy_binary(
                conn,
                "copy vectordb_cache_staging (content_hash, embedding) from stdin with (format binary)",
                len(hashes),
                [
                    text_column(pa.array(hashes, pa.string())),
                    vector_column(matrix, half=half),
                ],
            )
            conn.execute(
                sql.SQL(
                    "insert into {} (model, content_hash, embedding)"
                    " select %s, content_hash, embedding from vectordb_cache_staging"
                    " on conflict (model, content_hash) do nothing"
                ).format(self.table),
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
