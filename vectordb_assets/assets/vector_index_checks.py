"""Checks on vector_index: the store holds exactly what the ledger says it holds."""

import dagster as dg

from resources.embedders import Embedder
from resources.state_db import StateDatabase
from resources.vector_store import VectorStore
from vectordb_assets.assets.vector_index import vector_index
from vectordb_assets.indexing.reconciliation import find_drift
from vectordb_assets.indexing.ledger import VectorLedger, ledger_namespaces


@dg.asset_check(asset=vector_index, description="Ids and sampled content hashes in the store match the ledger.")
def vector_index_matches_ledger(
    vector_store: VectorStore, state_db: StateDatabase, embedder: Embedder
) -> dg.AssetCheckResult:
    """Compares counts and ids per namespace, and the content hashes of a sample of ids."""
    vector_store = vector_store.for_dimension(embedder.dimension)
    collection = vector_store.collection_name
    with state_db.connect() as conn:
        namespaces = ledger_namespaces(conn, collection)
    drifts = [find_drift(vector_store, VectorLedger(state_db, collection, ns)) for ns in namespaces]
    return dg.AssetCheckResult(
        passed=all(d.clean for d in drifts),
        metadata={
            "collection": collection,
            "namespaces": {d.namespace: d.summary() for d in drifts},
            "missing_ids": [i for d in drifts for i in d.missing][:50],
            "orphan_ids": [i for d in drifts for i in d.orphans][:50],
            "mismatched_ids": [i for d in drifts for i in d.mismatched][:50],
        },
    )
