"""vector_index: the vector store in step with every landed file."""

from datetime import datetime
from functools import partial

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from resources.embedders import Embedder
from resources.object_store import ObjectNotFoundError, ObjectStore
from resources.state_db import StateDatabase
from resources.vector_store import VectorStore
from vectordb_assets.assets.embeddings import embeddings
from vectordb_assets.landing.source_state import current_etag
from vectordb_assets.assets.per_file import FileRun
from vectordb_assets.assets.progress import Progress
from vectordb_assets.assets.policies import BACKFILL_POLICY_PARTITIONS, RETRY_POLICY
from vectordb_assets.indexing.policy import IndexPolicy
from vectordb_assets.indexing.reconciliation import sample_sources
from vectordb_assets.indexing.sync import sync_source
from vectordb_assets.landing.partitions import output_key, source_files
from vectordb_assets.validation.validate import read_lineage
from vectordb_assets.indexing.ledger import VectorLedger, namespaces_holding
from vectordb_assets.indexing.namespaces import NamespaceRoutes

# Metadata entry of a partition whose source was gone; the landing sensor then removes it.
SOURCE_DELETED = "source_deleted"
# Ids per file compared between ledger and store after each run.
SAMPLE_PER_FILE = 20


class VectorIndexConfig(dg.Config):
    """Per-run choices for the index stage."""

    namespace: str | None = Field(
        default=None,
        description="Namespace of every file of this run; unset: each file's route (VECTORDB_NAMESPACE_ROUTES), else "
        "VECTORDB_NAMESPACE. A file the index holds in another namespace moves.",
    )


def load_embedded(output_store: ObjectStore, source_key: str) -> tuple[pa.Table, dict]:
    """A source's embedded rows and their lineage (source etag, landing time)."""
    with output_store.local_path(output_key("embeddings", source_key)) as path:
        return pq.read_table(path), read_lineage(path)


def load_other_embedded(output_store: ObjectStore, source_key: str) -> pa.Table | None:
    """Another source's embedded rows, for ids that go back to it; None once it is removed."""
    try:
        return load_embedded(output_store, source_key)[0]
    except ObjectNotFoundError:
        return None


def collection_for_model(context: dg.AssetExecutionContext, vector_store: VectorStore, embedder: Embedder) -> VectorStore:
    """The collection for the model's dimension, created if missing; says so when it is a new one."""
    store = vector_store.for_dimension(embedder.dimension)
    if store.collection_name != vector_store.collection_name:
        context.log.warning(
            f"collection {vector_store.collection_name!r} holds {vector_store.collection_dimension()}-d vectors but "
            f"{embedder.model_id} makes {embedder.dimension}-d vectors: writing to collection "
            f"{store.collection_name!r}; `vectordb search` with this model reads it"
        )
    store.ensure_collection(embedder.dimension)
    return store


@dg.asset(
    partitions_def=source_files,
    deps=[embeddings],
    backfill_policy=dg.BackfillPolicy.multi_run(BACKFILL_POLICY_PARTITIONS),
    retry_policy=RETRY_POLICY,
    group_name="ingest",
    check_specs=[dg.AssetCheckSpec(
        "run_files_in_store", asset="vector_index",
        description=f"For each file the run indexed: the ledger records its landed version, and up to {SAMPLE_PER_FILE} "
        "of the ids it owns are in the store with the ledger's content hash (the cheap form of "
        "vector_index_matches_ledger, which compares everything on demand).",
    )],
)
def vector_index(
    context: dg.AssetExecutionContext,
    config: VectorIndexConfig,
    source_store: ObjectStore,
    output_store: ObjectStore,
    embedder: Embedder,
    vector_store: VectorStore,
    state_db: StateDatabase,
    index_policy: IndexPolicy,
    namespaces: NamespaceRoutes,
) -> dg.MaterializeResult:
    """Upsert new and changed rows, skip unchanged ones, delete rows the file no longer holds;
    each file in its namespace, leaving any other namespace that held it."""
    vector_store = collection_for_model(context, vector_store, embedder)
    collection = vector_store.collection_name
    run = FileRun(context, "vector_index", source_store, output_store, state_db)
    load_other = partial(load_other_embedded, output_store)
    indexed: dict[str, dict[str, str]] = {}  # namespace → key → etag of each file indexed, sampled after the loop
    for key in run.files():
        namespace = config.namespace or namespaces.for_key(key)
        ledger = VectorLedger(state_db, collection, namespace)
        with run.file(key) as metadata:
            etag = current_etag(source_store, key)
            if etag is None:
                table, landed_at = None, None
            else:
                try:
                    table, lineage = load_embedded(output_store, key)
                except ObjectNotFoundError:
                    lineage = {}
                if lineage.get("source_etag") != etag:
                    context.log.warning(f"{key}: no embeddings for the landed version; the index keeps what it had")
                    metadata["skipped_unvalidated"] = True
                    continue
                landed_at = datetime.fromisoformat(lineage["landed_at"])
            with state_db.connect() as conn:
                elsewhere = sorted(namespaces_holding(conn, collection, key) - {namespace})
            for other in elsewhere:  # the file's namespace changed: its vectors leave the old one
                sync_source(vector_store, VectorLedger(state_db, collection, other), key, None, None, load_other, index_policy, None)
            if elsewhere and table is not None:
                metadata["moved_from_namespaces"] = elsewhere
            progress = Progress(context.log.info, key, "vector_index", None)

            def written(done: int, total: int) -> None:
                progress.total = total
                progress.update(done)

            result = sync_source(vector_store, ledger, key, landed_at, table, load_other, index_policy, etag, on_written=written)
            metadata.update(
                **progress.totals(),
                added=result.added,
                updated=result.updated,
                skipped=result.skipped,
                deleted=result.deleted,
                restored_from_older_files=result.restored,
                shadowed_by_newer_files=result.shadowed,
                collection=collection,
                namespace=namespace,
                **({SOURCE_DELETED: True} if table is None else {"source_etag": etag}),
            )
            run.note(key, f"{key}: {result}" + (" (source deleted)" if table is None else ""))
            if table is not None:
                indexed.setdefault(namespace, {})[key] = etag
    vector_store.after_writes()
    samples = {
        key: sample
        for namespace, files in indexed.items()
        for key, sample in sample_sources(vector_store, VectorLedger(state_db, collection, namespace), files, SAMPLE_PER_FILE).items()
    }
    # What the run wrote, summed from its files (counting the store would read all of it: S3
    # Vectors has no count but a full listing).
    totals = {name: sum(m.get(name, 0) for m in run.metadata.values()) for name in ("added", "updated", "deleted")}
    written_to = sorted({m["namespace"] for m in run.metadata.values() if "namespace" in m})
    context.log.info(
        f"{collection} (namespaces {', '.join(written_to) or 'none'}): this run added {totals['added']}, updated "
        f"{totals['updated']} and deleted {totals['deleted']} vectors (run-wide)"
    )
    failing = {
        key: {"version_recorded": s.version_recorded, "missing": s.missing, "mismatched": s.mismatched}
        for key, s in samples.items() if not s.clean
    }
    check = dg.AssetCheckResult(
        check_name="run_files_in_store",
        passed=not failing,
        metadata={
            "files_checked": len(samples),
            "ids_sampled": sum(s.sampled for s in samples.values()),
            "failing_files": failing,
            "measured": {
                key: {"version_recorded": s.version_recorded, "sampled": s.sampled, "missing": len(s.missing),
                      "mismatched": len(s.mismatched)}
                for key, s in samples.items()
            },
        },
    )
    return run.finish(check_results=[check])
