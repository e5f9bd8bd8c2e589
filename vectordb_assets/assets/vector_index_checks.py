"""Checks on vector_index: the store holds exactly what the ledger says it holds, and the ledger
holds every landed file's current version."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from resources.embedders import Embedder
from resources.object_store import ObjectStore
from resources.state_db import StateDatabase
from resources.vector_store import VectorStore
from vectordb_assets.assets.per_file import RANGE_END_TAG, RANGE_START_TAG, read_quarantine_report
from vectordb_assets.assets.vector_index import vector_index
from vectordb_assets.indexing.coverage import find_unindexed
from vectordb_assets.indexing.generation_policy import GenerationPolicy
from vectordb_assets.indexing.ledger import VectorLedger, indexed_versions, ledger_namespaces
from vectordb_assets.indexing.reconciliation import find_drift
from vectordb_assets.landing.partitions import source_files


def index_checks_condition(cron: str) -> dg.AutomationCondition:
    """When a full check of the index runs: at each tick of `cron`, and as soon as the index
    changes if the check has not been requested since the last tick (so a new deployment shows
    both checks evaluated after its first files, and a busy one checks at most once per tick
    besides the tick itself). Never while the check is already running."""
    tick = dg.AutomationCondition.cron_tick_passed(cron)
    requested_since_tick = dg.AutomationCondition.newly_requested().since(tick)
    changed = dg.AutomationCondition.any_deps_updated().since_last_handled()
    return (
        (tick.since_last_handled() | (changed & ~requested_since_tick)) & ~dg.AutomationCondition.in_progress()
    ).with_label(f"index_checks({cron})")


def build_matches_ledger(cron: str) -> dg.AssetChecksDefinition:
    """The check that compares the store with the ledger, automated by `index_checks_condition`."""

    @dg.asset_check(
        asset=vector_index,
        name="vector_index_matches_ledger",
        description="Ids and sampled content hashes in the store match the ledger.",
        automation_condition=index_checks_condition(cron),
    )
    def vector_index_matches_ledger(
        vector_store: VectorStore,
        state_db: StateDatabase,
        embedder: Embedder,
        generations: dg.ResourceParam[GenerationPolicy],
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

    return vector_index_matches_ledger


# A file landed this recently may not have been requested yet: it is in flight, not missing.
RECENTLY_LANDED = timedelta(minutes=10)
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
# A started run that has logged nothing for this long is taken for dead: a worker that died with
# its code server stays STARTED under the local run launcher. A live run logs its progress as each
# batch of rows finishes.
SILENT_RUN = timedelta(hours=1)


def silence(instance: dg.DagsterInstance, run_id: str, now: datetime) -> str | None:
    """Why a started run is taken for dead, if it has logged nothing for `SILENT_RUN`."""
    latest = instance.get_records_for_run(run_id, limit=1, ascending=False).records
    last_word = datetime.fromtimestamp(latest[0].timestamp, UTC) if latest else now
    if now - last_word <= SILENT_RUN:
        return None
    return f"its run {run_id} has logged nothing since {last_word:%Y-%m-%d %H:%M} UTC: its worker may have died"


def partitions_in_unfinished_runs(instance: dg.DagsterInstance, now: datetime) -> tuple[set[str], dict[str, str]]:
    """The files of every run over source files that has not finished: those of runs that may
    still index them, and, for each file of a started run silent for `SILENT_RUN`, why it is not."""
    running: set[str] = set()
    silent: dict[str, str] = {}
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED)):
        keys: set[str] = set()
        if "dagster/partition" in run.tags:
            keys.add(run.tags["dagster/partition"])
        elif RANGE_START_TAG in run.tags:
            span = dg.PartitionKeyRange(run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG])
            keys.update(source_files.get_partition_keys_in_range(span, dynamic_partitions_store=instance))
        if run.status == dg.DagsterRunStatus.STARTED and (why := silence(instance, run.run_id, now)):
            silent.update(dict.fromkeys(keys, why))
        else:
            running.update(keys)
    return running, silent


def build_landed_files_indexed(
    cron: str, excluded_prefix: str | None, partition_depth: int = 0
) -> dg.AssetChecksDefinition:
    """The check that names every landed file whose current version is not in the index,
    automated by `index_checks_condition`."""

    @dg.asset_check(
        asset=vector_index,
        name="landed_files_indexed",
        automation_condition=index_checks_condition(cron),
        description="Every landed file's current version is in the index, quarantined with a report, or in a "
        "run that has not finished and has logged in the last hour; fails naming each file that is none of these.",
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
        now = datetime.now(UTC)
        running, silent = partitions_in_unfinished_runs(context.instance, now)
        coverage = find_unindexed(
            source_store.list_objects(),
            indexed,
            lambda key: read_quarantine_report(output_store, key),
            lambda partition, obj: partition in running or obj.last_modified > now - RECENTLY_LANDED,
            excluded_prefix,
            partition_depth,
            stalled=silent,
        )
        for key, why in sorted(coverage.unindexed.items()):
            context.log.error(f"{key}: landed but not in the index ({why})")
        return dg.AssetCheckResult(passed=coverage.complete, metadata={"collection": collection, **coverage.summary()})

    return landed_files_indexed
