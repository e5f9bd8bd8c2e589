"""A search of the index: the text embedded by the live model generation's model (or a named
generation's), its nearest rows from that generation's collection. `vectordb search` and the
HTTP API's `POST /api/v1/search` answer with it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from resources.vector_store import SearchHit, VectorStore


def nearest(
    resources: Any, text: str, namespace: str, top_k: int, conditions: Mapping[str, str], generation: str | None = None
) -> tuple[VectorStore, list[SearchHit]]:
    """The store searched and the `top_k` rows of `namespace` nearest to `text` whose metadata
    holds `conditions`; `resources` has the state database, embedder, vector store and generations."""
    reading = resources.generations.readers(resources.state_db, resources.vector_store, resources.embedder, generation)
    store, model = (reading.store, reading.embedder) if reading else (resources.vector_store, resources.embedder)
    vector = model.embed([text])[0]
    return store, store.query(namespace, vector, top_k, dict(conditions))
