"""Bring the vector store in step with one source file, guided by the vector ledger.

Writes go to the store first and to the ledger last, in the ledger's transaction: a run that
dies in between leaves the ledger as it was, so its retry plans and performs the same writes,
which are idempotent (upserts by id, deletes of ids).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc

from resources.vector_store import RECORD_COLUMNS, VectorStore
from vectordb_assets.indexing.policy import IndexPolicy
from vectordb_assets.indexing.ledger import CLAIM_COLUMNS, VectorLedger


@dataclass(frozen=True)
class SyncResult:
    """What one sync did to the store."""

    added: int
    updated: int
    skipped: int
    deleted: int
    restored: int
    shadowed: int


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


def sync_source(
    store: VectorStore,
    ledger: VectorLedger,
    source_key: str,
    landed_at: datetime | None,
    embedded: pa.Table | None,
    load_embedded: Callable[[str], pa.Table],
    policy: IndexPolicy,
    source_etag: str | None,
    on_written: Callable[[int, int], None] = lambda done, total: None,
) -> SyncResult:
    """Sync the store with `embedded`, the source's rows now (None when the source is gone), and
    record `source_etag` as the version the index holds.

    `load_embedded(source_key)` reads another source's embedded rows, for ids that go back to it;
    `on_written(done, total)` is called after each write to the store.
    """
    claims = incoming_claims(embedded if landed_at is not None else None, policy)
    with ledger.locked() as conn, ThreadPoolExecutor(max_workers=1) as background:
        plan = ledger.plan(conn, source_key, landed_at, claims)
        # The claims are written while the store is (both wait mostly on the database); the
        # ledger's transaction still commits only once every store write has succeeded.
        claims_written = (
            background.submit(ledger.replace_claims, conn, source_key, landed_at, claims) if plan.claims_changed else None
        )
        total = len(plan.delete) + len(plan.write_new) + len(plan.write_changed) + sum(map(len, plan.write_from.values()))
        store.delete(ledger.namespace, plan.delete)
        done = len(plan.delete)
        on_written(done, total)
        # Other sources' rows are read one source at a time, as their turn comes.
        restored = ((load_embedded(other_key), ids, False) for other_key, ids in plan.write_from.items())
        for table, ids, assume_new in chain([(embedded, plan.write_new, True), (embedded, plan.write_changed, False)], restored):
            for part in slices(ids, max(WRITE_SLICE_MIN_ROWS, -(-total // 10))):
                store.upsert(ledger.namespace, take_records(table, part), assume_new=assume_new)
                done += len(part)
                on_written(done, total)
        if claims_written is not None:
            claims_written.result()
        ledger.record_version(conn, source_key, source_etag if embedded is not None else None)
    return SyncResult(
        added=plan.added,
        updated=plan.updated,
        skipped=plan.skipped,
        deleted=len(plan.delete),
        restored=sum(len(ids) for ids in plan.write_from.values()),
        shadowed=plan.shadowed,
    )
