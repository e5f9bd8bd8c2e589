"""Which generations a run writes and readers use, how one is switched to and how long a retired
one is kept, and how each generation's embedder is made again from the model settings it records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from resources.embedders import Embedder
from resources.state_db import StateDatabase
from resources.vector_store import VectorStore
from vectordb_assets.indexing.generations import LIVE, RETIRED, Generation, GenerationRegistry, derived_name


def live_alias(collection: str) -> str:
    """The name applications read the live generation by (pgvector: a view)."""
    return derived_name(collection, "_live")


@dataclass
class GenerationStore:
    """A generation with the store collection holding it and the embedder making its vectors."""

    generation: Generation
    store: VectorStore
    embedder: Embedder


@dataclass
class InPlay:
    """The generations a run writes: the configured model's (`target`), the live one while it is
    another (new and changed files go to both until the switch), and the retired ones still
    kept (deleted files leave them too, so that a rollback brings back no deleted file)."""

    registry: GenerationRegistry
    configured: VectorStore  # the store as the settings name it (each generation's is derived from it)
    target: GenerationStore
    live: GenerationStore | None
    retired: list[GenerationStore] = field(default_factory=list)


@dataclass(frozen=True)
class GenerationPolicy:
    """Switching and keeping generations, under the settings the code location was built with."""

    model_settings: dict[str, Any]  # what makes the configured model's vectors: recorded with its generation
    embedder_for: Callable[[dict[str, Any]], Embedder]  # an embedder from a generation's recorded model settings
    auto_promote: bool
    retention: timedelta

    def store_of(self, configured: VectorStore, generation: Generation) -> VectorStore:
        """The configured store, or the same store writing to the generation's collection."""
        if generation.store_collection == configured.collection_name:
            return configured
        return configured.with_collection(generation.store_collection)

    def embedder_of(self, generation: Generation, configured: Embedder) -> Embedder:
        """The configured embedder when it is the generation's model, else one made from the
        generation's recorded settings (secrets still come from the environment)."""
        if generation.model == configured.model_id and generation.dimension == configured.dimension:
            return configured
        return self.embedder_for(generation.embedder)

    def readers(
        self, state_db: StateDatabase, store: VectorStore, embedder: Embedder, generation: str | None = None
    ) -> GenerationStore | None:
        """The live generation (or the one named), with its store and embedder: what searches and
        checks read; None before anything was indexed."""
        registry = GenerationRegistry(state_db, store.collection_name)
        chosen = registry.get(generation) if generation else registry.live()
        if chosen is None:
            return None
        return GenerationStore(chosen, self.store_of(store, chosen), self.embedder_of(chosen, embedder))

    def in_play(self, state_db: StateDatabase, store: VectorStore, embedder: Embedder) -> InPlay:
        """The configured model's generation (registered, its collection made, readers pointed at
        it while it is live), the live one when it is another, and the retired ones."""
        registry = GenerationRegistry(state_db, store.collection_name)
        generation = registry.register(
            embedder.model_id,
            embedder.dimension,
            self.model_settings,
            name_is_free=lambda: store.collection_dimension() in (None, embedder.dimension),
        )
        target = GenerationStore(generation, self.store_of(store, generation), embedder)
        target.store.ensure_collection(embedder.dimension)
        if generation.state == LIVE:
            registry.point(
                generation, lambda conn, g: target.store.point_readers(conn, live_alias(registry.collection))
            )
        others = [g for g in registry.all() if g.generation != generation.generation]
        live = next((g for g in others if g.state == LIVE), None)
        return InPlay(
            registry=registry,
            configured=store,
            target=target,
            live=live and GenerationStore(live, self.store_of(store, live), self.embedder_of(live, embedder)),
            retired=[
                GenerationStore(g, self.store_of(store, g), self.embedder_of(g, embedder))
                for g in others
                if g.state == RETIRED
            ],
        )
