"""The repair job: rewrite what the store lost, delete what it should not hold."""

from functools import partial

import dagster as dg
from pydantic import Field, field_validator

from resources.embedders import Embedder
from resources.object_store import ObjectStore
from resources.state_db import StateDatabase
from resources.vector_store import VectorStore
from vectordb_assets.embedding.other_model import embedded_rows
from vectordb_assets.indexing.generation_policy import GenerationPolicy
from vectordb_assets.indexing.ledger import VectorLedger, ledger_namespaces
from vectordb_assets.indexing.namespaces import check_namespace
from vectordb_assets.indexing.reconciliation import find_drift, repair


class RepairConfig(dg.Config):
    """Which namespace to repair."""

    namespace: str | None = Field(default=None, description="One namespace; all of them when unset.")

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        return check_namespace(value) if value is not None else None


@dg.op
def repair_vector_store(
    context: dg.OpExecutionContext,
    config: RepairConfig,
    vector_store: VectorStore,
    state_db: StateDatabase,
    output_store: ObjectStore,
    embedder: Embedder,
    generations: dg.ResourceParam[GenerationPolicy],
) -> None:
    """Finds drift between store and ledger in each namespace of the live generation and repairs it."""
    live = generations.readers(state_db, vector_store, embedder)
    vector_store, embedder = (live.store, live.embedder) if live else (vector_store, embedder)
    collection = vector_store.collection_name
    with state_db.connect() as conn:
        namespaces = [config.namespace] if config.namespace else ledger_namespaces(conn, collection)
    for namespace in namespaces:
        ledger = VectorLedger(state_db, collection, namespace)
        drift = find_drift(vector_store, ledger, sample_size=10**9)
        counts = repair(vector_store, ledger, drift, partial(embedded_rows, output_store, state_db, embedder))
        context.log.info(
            f"{collection}/{namespace}: {counts} (missing {len(drift.missing)}, orphans {len(drift.orphans)})"
        )
        context.log_event(
            dg.AssetObservation(
                asset_key="vector_index", metadata={"namespace": namespace, **counts, **drift.summary()}
            )
        )


@dg.job(description="Repair drift between the vector store and the ledger (run the check again afterwards).")
def repair_vector_index() -> None:
    repair_vector_store()
