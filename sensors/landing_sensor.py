"""The landing sensor: objects in the source store → partitions → batched run requests.

Each tick does a bounded amount of work whatever the size of the bucket. With an SQS queue of
S3 events it reads at most `events_per_tick` messages, within a bounded time, and looks at the
keys they name (while more messages wait than a tick reads, a backlog, it records what changed
and requests the runs once the backlog is read, so that scattered changes share runs); a full
listing still runs as a reconciliation every `reconcile_seconds`. Without one it lists. Either
way a listing goes `objects_per_tick` objects at a time, going on where the last tick stopped,
and what it sees is compared with the landing catalog's entries in the same key range.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from typing import Any

import dagster as dg

from resources.landing_queue import LandingQueue
from resources.object_store import ObjectNotFoundError, ObjectStore, StoredObject
from resources.state_db import StateDatabase
from sensors.landing_events import LandingMessages, receive
from sensors.landing_plan import LandingCursor, plan_landing
from vectordb_assets.assets.per_file import (
    CHANGED_FILES_ONLY_TAG,
    CHANGED_PARTITIONS_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    STATUS,
    UNCHANGED_STATUS,
)
from vectordb_assets.assets.vector_index import SOURCE_DELETED
from vectordb_assets.indexing.ledger import still_indexed
from vectordb_assets.landing.catalog import Entry, LandingCatalog
from vectordb_assets.landing.partitions import is_folder, partition_key_for, source_files

# Deletions whose runs are looked up per tick, to remove the partitions of those that finished.
DELETIONS_CHECKED_PER_TICK = 100
# Messages read per tick, and the time allowed for reading them.
EVENTS_PER_TICK = 1_000
EVENT_SECONDS_PER_TICK = 10.0
# While a tick stops reading before the queue runs dry (a backlog), its runs wait for the next
# ticks' events, for at most this many ticks: changes scattered over the bucket then share runs.
MAX_HELD_TICKS = 10


def run_request_for(keys: list[str], run_key: str, sparse: bool = False) -> dg.RunRequest:
    """One run for changes: a partition key for one, a range for several; a sparse range names
    the keys it processes (the others in the range did not change)."""
    tags = {CHANGED_FILES_ONLY_TAG: "true"}
    if len(keys) == 1:
        return dg.RunRequest(run_key=run_key, partition_key=keys[0], tags=tags)
    tags.update({RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})
    if sparse:
        tags[CHANGED_PARTITIONS_TAG] = json.dumps(keys)
    return dg.RunRequest(run_key=run_key, tags=tags)


def finished_deletions(conn: Any, instance: dg.DagsterInstance, keys: list[str], depth: int) -> list[str]:
    """The keys among `keys` (objects whose deletion was requested) whose vectors are gone: for an
    object partition, its last run recorded the deletion; in a folder, the index no longer holds it."""
    in_folders = [key for key in keys if is_folder(partition_key_for(key, depth))]
    indexed = still_indexed(conn, in_folders) if in_folders else set()
    return [
        key
        for key in keys
        if (key not in indexed if is_folder(partition_key_for(key, depth)) else deletion_recorded(instance, key))
    ]


def emptied_partitions(
    conn: Any, catalog: LandingCatalog, finished: list[str], landing: dict[str, Entry], depth: int
) -> list[str]:
    """The partitions to remove once `finished` are forgotten: each object partition among them, and
    each folder that holds no other object (in the catalog, or landing in this tick)."""
    partitions: dict[str, list[str]] = {}
    for key in finished:
        partitions.setdefault(partition_key_for(key, depth), []).append(key)
    return [
        partition
        for partition, keys in partitions.items()
        if not is_folder(partition)
        or not (catalog.holds_other(conn, partition, keys) or any(key.startswith(partition) for key in landing))
    ]


def deletion_recorded(instance: dg.DagsterInstance, key: str) -> bool:
    """Whether the latest vector_index materialization of `key` that handled it (not one of a
    sparse run that passed it over as unchanged) removed its vectors."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("vector_index"), asset_partitions=[key]), limit=10
    ).records
    for record in records:
        metadata = record.asset_materialization.metadata if record.asset_materialization else {}
        status = metadata.get(STATUS)
        if status is None or status.value != UNCHANGED_STATUS:
            deleted = metadata.get(SOURCE_DELETED)
            return deleted is not None and deleted.value is True
    return False


def current_states(store: ObjectStore, keys: set[str]) -> dict[str, StoredObject | None]:
    """Each key's object as the store has it now (None: absent), looked up a few at a time."""

    def state(key: str) -> StoredObject | None:
        try:
            return store.head(key)
        except ObjectNotFoundError:
            return None

    with ThreadPoolExecutor(max_workers=16) as pool:
        return dict(zip(keys, pool.map(state, keys)))


def build_landing_sensor(
    job: Any,
    *,
    minimum_interval_seconds: int,
    max_partitions_per_run: int,
    excluded_prefix: str | None,
    max_deleted_fraction: float = 0.5,
    objects_per_tick: int = 5_000,
    events_per_tick: int = EVENTS_PER_TICK,
    reconcile_seconds: int = 3_600,
    partition_depth: int = 0,
) -> dg.SensorDefinition:
    """The sensor over `source_store`, on by default, requesting `job` (an asset job) for new,
    changed and deleted objects, in partitions of `partition_depth` (see `partition_key_for`)."""

    @dg.sensor(
        name="landing_sensor",
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def landing_sensor(
        context: dg.SensorEvaluationContext,
        source_store: ObjectStore,
        state_db: StateDatabase,
        landing_queue: LandingQueue,
    ) -> dg.SensorResult:
        """Reads the queue's S3 events or lists the next objects, adds a partition per new object,
        requests runs (many partitions each) for new, changed and deleted objects, and removes a
        deleted object's partition once its vectors are gone."""
        cursor = LandingCursor.from_json(context.cursor)
        tick, now = cursor.tick + 1, datetime.now(UTC)
        instance = context.instance
        where = source_store.describe()
        catalog = LandingCatalog(state_db, where)
        messages = LandingMessages(where)
        objects: dict[str, StoredObject] = {}
        seen: dict[str, Entry] = {}
        gone: set[str] = set()
        with state_db.connect() as conn:
            catalog.check_depth(conn, partition_depth)
            receipts: list[str] = []
            backlog = False  # more messages wait than the tick read
            if landing_queue.queue_url:
                sqs = landing_queue.client()
                messages.settle(conn, sqs, landing_queue.queue_url, cursor.tick)
                batch = receive(sqs, landing_queue.queue_url, events_per_tick, EVENT_SECONDS_PER_TICK)
                receipts, backlog = batch.receipts, not batch.drained
                for message_id, reason in batch.unreadable:
                    context.log.warning(f"{landing_queue.queue_url}: message {message_id} skipped: {reason}")
                states = current_states(source_store, source_store.keys_in(batch.keys))
                objects.update({key: obj for key, obj in states.items() if obj is not None})
                seen.update(catalog.entries(conn, states))
                gone.update(key for key, obj in states.items() if obj is None)
            since_pass = now - cursor.pass_finished if cursor.pass_finished else None
            listing = (
                not landing_queue.queue_url
                or cursor.after is not None
                or since_pass is None
                or (since_pass.total_seconds() >= reconcile_seconds)
            )
            through, complete = cursor.after, False
            # A pass over a catalog that is still empty takes over the partitions there are.
            adopting = cursor.adopting or (listing and cursor.after is None and catalog.is_empty(conn))
            adopted = {}
            if adopting:
                adopted = {key: n for n, key in enumerate(instance.get_dynamic_partitions(source_files.name), start=1)}
            if listing:

                def skipped(key: str, reason: str) -> None:
                    context.log.warning(f"{where}: skipped {key!r}: {reason}")

                listed = list(
                    islice(source_store.list_objects(on_skip=skipped, start_after=cursor.after), objects_per_tick)
                )
                complete = len(listed) < objects_per_tick
                through = None if complete else listed[-1].key
                window = catalog.window(conn, cursor.after, through)
                events = set(objects) | gone  # an event's state is newer than the listing's
                objects.update({obj.key: obj for obj in listed if obj.key not in events})
                seen.update({key: entry for key, entry in window.items() if key not in events})
                listed_keys = {obj.key for obj in listed}
                gone.update(key for key in window if key not in listed_keys and key not in events)
            folders = {partition_key_for(key, partition_depth) for key in objects if key not in seen}
            plan = plan_landing(
                [objects[key] for key in sorted(objects)],
                seen,
                sorted(gone),
                catalog.unrequested(conn, cursor.tick),
                # While adopting, every partition is at hand already: no lookup per object.
                is_partition=adopted.__contains__
                if adopting
                else partial(instance.has_dynamic_partition, source_files.name),
                next_ordinal=max(catalog.next_ordinal(conn), len(adopted) + 1),
                adopted_ordinals=adopted,
                max_partitions_per_run=max_partitions_per_run,
                excluded_prefix=excluded_prefix,
                max_deleted_fraction=max_deleted_fraction,
                partition_depth=partition_depth,
                folder_ordinals=catalog.folder_ordinals(conn, filter(is_folder, folders)),
            )
            deleting = [key for key in catalog.deleting(conn, DELETIONS_CHECKED_PER_TICK) if key not in plan.entries]
            finished = finished_deletions(conn, instance, deleting, partition_depth)
            requests = []
            if plan.new_partitions:
                requests.append(source_files.build_add_request(plan.new_partitions))
            emptied = emptied_partitions(conn, catalog, finished, plan.entries, partition_depth)
            if emptied:
                requests.append(source_files.build_delete_request(emptied))
            pass_ends = listing and complete
            holding_since = cursor.holding_since or tick
            hold = backlog and tick - holding_since < MAX_HELD_TICKS
            result = dg.SensorResult(
                run_requests=[]
                if hold
                else [
                    run_request_for(keys, run_key, sparse)
                    for keys, run_key, sparse in zip(plan.runs, plan.run_keys, plan.sparse)
                ],
                dynamic_partitions_requests=requests,
                cursor=LandingCursor(
                    tick=tick,
                    after=through if listing and not complete else None,
                    pass_finished=now if pass_ends else cursor.pass_finished,
                    adopting=adopting and not pass_ends,
                    holding_since=holding_since if hold else None,
                ).to_json(),
            )
            # Written last: the entries and messages of a tick whose result Dagster does not
            # commit are requested again, and read again, by the next tick.
            catalog.record(conn, tick, plan.entries, held=hold)
            catalog.forget(conn, finished + plan.forget)
            messages.keep(conn, tick, receipts)
        for warning in plan.warnings:
            context.log.warning(f"{where}: {warning}")
        return result

    return landing_sensor
