"""Where the embedding stage finds vectors it made before."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from resources.settings_only import SettingsOnlyResource
from resources.state_db import StateDatabase
from vectordb_assets.embedding.cache import EmbeddingCache, PreviousOutputCache, VectorCache


class EmbeddingCachePolicy(SettingsOnlyResource):
    """`database`: every (model, text) ever embedded, in the state database, shared by all files
    and kept through failed runs. `files`: only the vectors of the file's own previous output, so
    no copy of the vectors is kept in PostgreSQL (for corpora where that copy is too large).

    Example::

        EmbeddingCachePolicy(location="files")
    """

    location: Literal["database", "files"] = Field(
        default="database",
        description="Where vectors made before are looked up: the state database, or the file's previous output.",
    )
    vector_type: Literal["vector", "halfvec"] = Field(
        default="vector",
        description="How the state database keeps them: `vector` (32-bit floats) or `halfvec` (16-bit, half the bytes).",
    )

    def cache(self, state_db: StateDatabase, model: str, previous_output: Path | None) -> VectorCache:
        """The cache for one file, whose previous embeddings output (if any) is at `previous_output`."""
        if self.location == "files":
            return PreviousOutputCache(model, previous_output)
        return EmbeddingCache(state_db, model, self.vector_type)
