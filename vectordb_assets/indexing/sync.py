"""Bring the vector store in step with one source file, guided by the vector ledger.

Writes go to the store first and to the ledger last, in the ledger's transaction: a run that
dies in between leaves the ledger as it was, and its retry writes every id the source touches
again (upserts by id and deletes of ids are idempotent). Syncs of other sources run alongside;
see `ledger` for how their commits settle the ids they share.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

import pyarrow as pa
import pyarrow.compute as pc

from resources.vector_store import RECORD_COLUMNS, VectorStore
from vectordb_assets.indexing.claims import CLAIM_COLUMNS, SyncPlan, claim_objects, plan_sync, settle
from vectordb_assets.indexing.ledger import VectorLedger
from vectordb_assets.indexing.policy import IndexPolicy


@dataclass(frozen=True)
class SyncResult:
    """What one sync did to the store."""

    added: int
    updated: int
    skipped: int
    deleted: int
    restored: int
    shadowed: int
    settled: int = 0  # ids written again because another sync, or a dead attempt, wrote them too


# Large writes go in about ten parts, so that progress shows; small ones in one.
WRITE_SLICE_MIN_ROWS = 10_000


def slices(ids: list[str], size: int) -> list[list[str]]:
    """`ids` in consecutive parts of at most `size`."""
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def store_records(embedded: pa.Table) -> pa.Table:
    """The columns a vector store takes, from a table of embedded canonical rows."""
    return embedded.rename_columns({"doc_id": "id"}).select(list(RECORD_COLUMNS))


def take_records(embedded: pa.Table, ids: list[str]) -> pa.Table:
    """The store records of the given ids."""
    if len(ids) == embedded.num_rows:
        return store_records(embedded)  # every row (a first load): no filtering to do
    return store_records(embedded.filter(pc.is_in(embedded.column("doc_id"), pa.array(ids, pa.string()))))


def incoming_claims(embedded: pa.Table | None, policy: IndexPolicy) -> pa.Table:
    """The claims (`CLAIM_COLUMNS`) of a source's embedded rows; none when the source is gone."""
    if embedded is None:
        return pa.table({name: pa.array([], pa.string()) for name in CLAIM_COLUMNS})
    content_hashes, metadata = (embedded.column(name).to_pylist() for name in ("content_hash", "metadata"))
    record_hashes = [policy.record_hash(content_hash, meta) for content_hash, meta in zip(content_hashes, metadata)]
    return pa.table(
        {
            "vector_id": embedded.column("doc_id"),
            "record_hash": pa.array(record_hashes, pa.string()),
            "content_hash": embedded.column("content_hash"),
            "model": embedded.column("embedding_model"),
        }
    )


def write_plan(
    store: VectorStore,
    namespace: str,
    plan: SyncPlan,
    embedded: pa.Table | None,
    load_embedded: Callable[[str], pa.Table | None],
    report: Callable[[int], None],
) -> None:
    """Perform a plan's deletes and writes, calling `report(rows)` after each store call.

    Other sources' rows are read one source at a time, as their turn comes. A source whose rows
    are gone is being removed: its own sync writes those ids, at its commit if not before."""
    if plan.delete:
        store.delete(namespace, plan.delete)
        report(len(plan.delete))
    restored = ((load_embedded(other_key), ids, False) for other_key, ids in plan.write_from.items())
    for table, ids, assume_new in chain(
        [(embedded, plan.write_new, True), (embedded, plan.write_changed, False)], restored
    ):
        if table is None:
            report(len(ids))
            continue
        for part in slices(ids, max(WRITE_SLICE_MIN_ROWS, -(-plan.writes // 10))):
            store.upsert(namespace, take_records(table, part), assume_new=assume_new)
            report(len(part))


def sync_source(
    store: VectorStore,
    ledger: VectorLedger,
    source_key: str,
    landed_at: datetime | None,
    embedded: pa.Table | None,
    load_embedded: Callable[[str], pa.Table | None],
    policy: IndexPolicy,
    source_etag: str | None,
    on_written: Callable[[int, int], None] = lambda done, total: None,
) -> SyncResult:
    """Sync the store with `embedded`, the source's rows now (None when the source is gone), and
    record `source_etag` as the version the index holds.

    `load_embedded(source_key)` reads another source's embedded rows, for ids that go back to it
    (None when they are gone);
    `on_written(done, total)` is called after each write to the store.
    """
    claims = incoming_claims(embedded if landed_at is not None else None, policy)
    ids = claims.column("vector_id").to_pylist()
    with ledger.syncing(source_key) as (conn, interrupted), ThreadPoolExecutor(max_workers=1) as background:
        before = ledger.read_claims(conn, source_key, ids)
        incoming = claim_objects(source_key, landed_at, claims) if interrupted or before.claims else None
        plan = plan_sync(source_key, incoming, before.claims) if before.claims else SyncPlan.first_load(ids)
        # The claims are written while the store is (both wait mostly on the database); the
        # ledger's transaction still commits only once every store write has succeeded.
        claims_written = (
            background.submit(ledger.replace_claims, conn, source_key, landed_at, claims)
            if plan.claims_changed
            else None
        )
        affected = sorted(before.claims.keys() | set(ids))  # the ids the source claims before or after
        # An earlier attempt may have written any of them before it died: settle them all.
        writes = settle(source_key, incoming, before.claims, affected) if interrupted else plan
        done, total = 0, writes.writes

        def report(rows: int) -> None:
            nonlocal done
            done += rows
            on_written(done, total)

        write_plan(store, ledger.namespace, writes, embedded, load_embedded, report)
        ledger.commit_turn(conn)
        after = ledger.read_claims(conn, source_key, affected)
        changed = after.changed_since(before)
        if changed:  # syncs that committed meanwhile may have written these ids after this one did
            incoming = incoming if incoming is not None else claim_objects(source_key, landed_at, claims)
            fixes = settle(source_key, incoming, after.claims, changed)
            total += fixes.writes
            write_plan(store, ledger.namespace, fixes, embedded, load_embedded, report)
        if claims_written is not None:
            claims_written.result()
        elif interrupted or changed:  # the claims' new row versions tell later commits of these writes
            ledger.touch(conn, source_key, sorted(set(writes.ids if interrupted else ()) | changed))
        ledger.finish(conn, source_key, source_etag if embedded is not None else None)
    ledger.keep_statistics(claims.num_rows if plan.claims_changed else 0)
    return SyncResult(
        added=plan.added,
        updated=plan.updated,
        skipped=plan.skipped,
        deleted=len(plan.delete),
        restored=sum(len(ids) for ids in plan.write_from.values()),
        shadowed=plan.shadowed,
        settled=len(changed) + (writes.writes if interrupted else 0),
    )
