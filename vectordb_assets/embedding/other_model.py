"""A file's embedded rows for another model than the one its output was made with (a generation
still live, or one being built): its validated rows embedded again through that model's cache,
so that texts seen before cost nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from resources.embedders import Embedder
from resources.object_store import ObjectNotFoundError, ObjectStore
from resources.state_db import StateDatabase
from vectordb_assets.embedding.cache import EmbeddingCache
from vectordb_assets.embedding.stage import PRECOMPUTED, embed_file
from vectordb_assets.landing.partitions import output_key


def embedded_rows(
    output_store: ObjectStore, state_db: StateDatabase, embedder: Embedder, source_key: str
) -> pa.Table | None:
    """The source's embedded rows with `embedder`'s vectors: its embeddings output when that model
    made it (rows carrying the file's own vectors keep them), else its validated rows embedded
    with the model; None when the source has no embeddings output (it is being removed)."""
    try:
        with output_store.local_path(output_key("embeddings", source_key)) as path:
            table = pq.read_table(path)
    except ObjectNotFoundError:
        return None
    if set(pc.unique(table.column("embedding_model")).to_pylist()) <= {embedder.model_id, PRECOMPUTED}:
        return table
    # The validated rows the output was made from (missing: an error of this file, never a removal).
    with (
        output_store.local_path(output_key("validated", source_key)) as validated,
        tempfile.TemporaryDirectory() as folder,
    ):
        out = Path(folder) / "embedded.parquet"
        embed_file(validated, out, source_key, embedder, EmbeddingCache(state_db, embedder.model_id))
        return pq.read_table(out)
