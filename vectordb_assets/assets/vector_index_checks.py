"""Checks on vector_index: the store holds exactly what the ledger says it holds, and the ledger
holds every landed file's current version."""

from datetime import datetime, timedelta, timezone

import dagster as dg

from resources.embedders import Embedder
from resources.object_store import ObjectStore
from resources.state_db import StateDatabase
from resources.vector_store import VectorStore
from vectordb_assets.assets.per_file import RANGE_END_TAG, RANGE_START_TAG, read_quarantine_report
from vectordb_assets.assets.vector_index import vector_index
from vectordb_assets.indexing.coverage import find_unindexed
from vectordb_assets.indexing.generation_policy import GenerationPolicy
from vectordb_assets.indexing.reconciliation import find_drift
from vectordb_assets.indexing.ledger import VectorLedger, indexed_versions, ledger_namespaces
from vectordb_assets.landing.partitions import source_files


@dg.asset_check(asset=vector_index, description="Ids and sampled content hashes in the store match the ledger.")
def vector_index_matches_ledger(
    vector_store: VectorStore, state_db: StateDatabase, embedder: Embedder, generations: dg.ResourceParam[GenerationPolicy]
) -> dg.AssetCheckResult:
    """Compares counts and ids per namespace, and the content hashes of a sample of ids, in the
    live generation."""
    live = generations.readers(state_db, vector_store, embedder)
    vector_store = live.store if live else vector_store
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


# A file landed this recently may not have been requested yet: it is in flight, not missing.
RECENTLY_LANDED = timedelta(minutes=10)
UNFINISHED = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
              dg.DagsterRunStatus.STARTED]


def partitions_in_unfinished_runs(instance: dg.DagsterInstance) -> set[str]:
    """The files of every run over source files that has not finished."""
    keys: set[str] = set()
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED)):
        if "dagster/partition" in run.tags:
            keys.add(run.tags["dagster/partition"])
        elif RANGE_START_TAG in run.tags:
            span = dg.PartitionKeyRange(run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG])
            keys.update(source_files.get_partition_keys_in_range(span, dynamic_partitions_store=instance))
    return keys


def build_landed_files_indexed(excluded_prefix: str | None, partition_depth: int = 0) -> dg.AssetChecksDefinition:
    """The check that names every landed file whose current version is not in the index."""

    @dg.asset_check(
        asset=vector_index,
        name="landed_files_indexed",
        description="Every landed file's current version is in the index, quarantined with a report, or in a "
        "run that has not finished; fails naming each file that is none of these.",
    )
    def landed_files_indexed(
        context: dg.AssetCheckExecutionContext,
        source_store: ObjectStore,
        output_store: ObjectStore,
        vector_store: VectorStore,
        state_db: StateDatabase,
        embedder: Embedder,
        generations: dg.ResourceParam[GenerationPolicy],
    ) -> dg.AssetCheckResult:
        """Lists the landing area and compares each object's etag with the versions the live
        generation holds."""
        live = generations.readers(state_db, vector_store, embedder)
        collection = (live.store if live else vector_store).collection_name
        with state_db.connect() as conn:
            indexed = indexed_versions(conn, collection)
        running = partitions_in_unfinished_runs(context.instance)
        recent = datetime.now(timezone.utc) - RECENTLY_LANDED
        coverage = find_unindexed(
            source_store.list_objects(),
            indexed,
            lambda key: read_quarantine_report(output_store, key),
            lambda key, obj: key in running or obj.last_modified > recent,
            excluded_prefix,
            partition_depth,
        )
        for key, why in sorted(coverage.unindexed.items()):
            context.log.error(f"{key}: landed but not in the index ({why})")
        return dg.AssetCheckResult(passed=coverage.complete, metadata={"collection": collection, **coverage.summary()})

    return landed_files_indexed
