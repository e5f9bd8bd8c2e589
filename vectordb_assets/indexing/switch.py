"""The switch between model generations: whether a generation may become live, moving readers to
it in one transaction, and dropping retired generations once the retention is over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from resources.vector_store import VectorStore
from vectordb_assets.indexing.generation_policy import live_alias
from vectordb_assets.indexing.generations import Generation, GenerationRegistry, Lacking
from vectordb_assets.indexing.ledger import VectorLedger, ledger_namespaces
from vectordb_assets.indexing.reconciliation import Drift, find_drift


@dataclass
class Readiness:
    """Whether a generation holds every file the live one holds, at the same version, and its
    store agrees with its ledger (the reconciliation check)."""

    lacking: Lacking
    drift: list[Drift] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.lacking.count == 0 and all(d.clean for d in self.drift)

    def explain(self) -> str:
        """Why the generation is not ready, in a sentence."""
        if self.lacking.count:
            examples = ", ".join(list(self.lacking.examples)[:5])
            return f"it lacks {self.lacking.count} file(s) the live generation holds (e.g. {examples})"
        drifted = [
            f"{d.namespace} ({len(d.missing)} missing, {len(d.orphans)} orphans, {len(d.mismatched)} mismatched)"
            for d in self.drift
            if not d.clean
        ]
        return f"its store and ledger differ in namespace(s) {', '.join(drifted)}" if drifted else "it is ready"


def readiness(registry: GenerationRegistry, generation: Generation, store: VectorStore) -> Readiness:
    """Compare `generation` with the live one (one query), then, when it lacks nothing, its store
    with its ledger in every namespace."""
    live = registry.live()
    if live is None or live.generation == generation.generation:
        lacking = Lacking(0, {})
    else:
        lacking = registry.lacking(generation, live)
    if lacking.count:
        return Readiness(lacking)
    with registry.state_db.connect() as conn:
        namespaces = ledger_namespaces(conn, generation.store_collection)
    return Readiness(
        lacking,
        [find_drift(store, VectorLedger(registry.state_db, generation.store_collection, ns)) for ns in namespaces],
    )


def promote(registry: GenerationRegistry, generation: Generation, store: VectorStore) -> Generation | None:
    """Make `generation` (held by `store`) live; returns the generation that was."""
    return registry.promote(
        generation.generation, lambda conn, g: store.point_readers(conn, live_alias(registry.collection))
    )


def drop_expired(
    registry: GenerationRegistry, retention: timedelta, store_of: Callable[[Generation], VectorStore]
) -> tuple[list[Generation], dict[str, str]]:
    """Drop every generation retired longer than `retention` ago: its store collection, then its
    ledger. One that cannot be dropped (say, another view reads its table) stays retired, to be
    tried again, and is returned with the error (id → error) instead of failing the caller."""
    dropped, failed = [], {}
    for generation in registry.expired(retention):
        try:
            drop(registry, generation, store_of(generation))
        except Exception as error:  # any store or database error: this generation's, reported
            failed[generation.generation] = f"{type(error).__name__}: {error}"
            continue
        dropped.append(generation)
    return dropped, failed


def drop(registry: GenerationRegistry, generation: Generation, store: VectorStore) -> None:
    """Remove a generation's vectors and ledger; it stays listed as dropped."""
    with registry.state_db.connect() as conn:
        namespaces = ledger_namespaces(conn, generation.store_collection)
    store.drop_collection(namespaces)
    registry.forget(generation)
