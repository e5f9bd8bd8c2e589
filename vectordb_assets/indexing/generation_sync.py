"""One file synced into one generation: in its namespace, leaving any other namespace of the
generation that held it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pyarrow as pa

from resources.state_db import StateDatabase
from vectordb_assets.indexing.generation_policy import GenerationStore
from vectordb_assets.indexing.ledger import VectorLedger, namespaces_holding
from vectordb_assets.indexing.policy import IndexPolicy
from vectordb_assets.indexing.sync import SyncResult, sync_source


def holds_version(
    state_db: StateDatabase, generation: GenerationStore, source_key: str, namespace: str, etag: str | None
) -> bool:
    """Whether the generation holds version `etag` of the source in `namespace` and nowhere else
    (for None: holds none of it): nothing to write there."""
    collection = generation.generation.store_collection
    with state_db.connect() as conn:
        holding = namespaces_holding(conn, collection, source_key)
        if etag is None:
            return not holding
        recorded = VectorLedger(state_db, collection, namespace).recorded_versions(conn, [source_key])
    return holding == {namespace} and recorded.get(source_key) == etag


def sync_file(
    state_db: StateDatabase,
    generation: GenerationStore,
    source_key: str,
    namespace: str,
    landed_at: datetime | None,
    embedded: pa.Table | None,
    load_other: Callable[[str], pa.Table | None],
    policy: IndexPolicy,
    etag: str | None,
    on_written: Callable[[int, int], None] = lambda done, total: None,
) -> tuple[SyncResult, list[str]]:
    """Sync the source into the generation's `namespace` (see `sync_source`), after removing it
    from the generation's other namespaces; returns the result and the namespaces it left."""
    store, collection = generation.store, generation.generation.store_collection
    with state_db.connect() as conn:
        elsewhere = sorted(namespaces_holding(conn, collection, source_key) - {namespace})
    for other in elsewhere:  # the file's namespace changed: its vectors leave the old one
        sync_source(store, VectorLedger(state_db, collection, other), source_key, None, None, load_other, policy, None)
    ledger = VectorLedger(state_db, collection, namespace)
    result = sync_source(
        store, ledger, source_key, landed_at, embedded, load_other, policy, etag, on_written=on_written
    )
    return result, elsewhere
