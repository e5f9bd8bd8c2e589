"""Reconciliation: compare the vector store with the ledger, and repair what drifted."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa

from resources.vector_store import VectorStore
from vectordb_assets.indexing.ledger import VectorLedger
from vectordb_assets.indexing.sync import take_records

EXAMPLES = 50


@dataclass
class Drift:
    """How one namespace of the store differs from what the ledger says it holds."""

    namespace: str
    ledger_count: int
    store_count: int
    missing: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    sampled: int = 0

    @property
    def clean(self) -> bool:
        return not (self.missing or self.orphans or self.mismatched) and self.ledger_count == self.store_count

    def summary(self) -> dict:
        return {
            "ledger_count": self.ledger_count,
            "store_count": self.store_count,
            "missing": len(self.missing),
            "orphans": len(self.orphans),
            "mismatched": len(self.mismatched),
            "sampled_hashes": self.sampled,
            "missing_ids": self.missing[:EXAMPLES],
            "orphan_ids": self.orphans[:EXAMPLES],
            "mismatched_ids": self.mismatched[:EXAMPLES],
        }


def _in_sample(vid: str, fraction: float) -> bool:
    """A stable pseudo-random choice, so that repeated checks look at the same ids."""
    return int(hashlib.sha256(vid.encode()).hexdigest()[:8], 16) < fraction * 0xFFFFFFFF


def find_drift(store: VectorStore, ledger: VectorLedger, sample_size: int = 1000) -> Drift:
    """Compare every id, and the content hashes of a sample of ids, between store and ledger."""
    with ledger.locked() as conn:
        owners = ledger.owners(conn)
        stored = set(store.list_ids(ledger.namespace))
    present = sorted(owners.keys() & stored)
    fraction = min(1.0, sample_size / len(present)) if present else 1.0
    sample = [vid for vid in present if _in_sample(vid, fraction)]
    hashes = store.content_hashes(ledger.namespace, sample)
    return Drift(
        namespace=ledger.namespace,
        ledger_count=len(owners),
        store_count=store.count(ledger.namespace),
        missing=sorted(owners.keys() - stored),
        orphans=sorted(stored - owners.keys()),
        mismatched=[vid for vid in sample if hashes.get(vid) != owners[vid].content_hash],
        sampled=len(sample),
    )


@dataclass
class SourceSample:
    """A sampled comparison of one source's ids between the ledger and the store."""

    version_recorded: bool
    sampled: int
    missing: list[str]
    mismatched: list[str]

    @property
    def clean(self) -> bool:
        return self.version_recorded and not (self.missing or self.mismatched)


def sample_sources(
    store: VectorStore, ledger: VectorLedger, versions: dict[str, str], sample_size: int = 20
) -> dict[str, SourceSample]:
    """For each source of `versions` (key → etag just indexed): whether the ledger records that
    version, and whether up to `sample_size` of the ids it owns are in the store with their
    content hash. The cheap form of `find_drift`, for the files a run has just indexed, in one
    ledger read and one store read for all of them."""
    keys = list(versions)
    with ledger.state_db.connect() as conn:
        recorded = ledger.recorded_versions(conn, keys)
        expected = ledger.owned_samples(conn, keys, sample_size)
    stored = store.content_hashes(ledger.namespace, [vid for ids in expected.values() for vid in ids])
    return {
        key: SourceSample(
            version_recorded=recorded.get(key) == etag,
            sampled=len(expected[key]),
            missing=sorted(expected[key].keys() - stored.keys()),
            mismatched=sorted(vid for vid, h in expected[key].items() if vid in stored and stored[vid] != h),
        )
        for key, etag in versions.items()
    }


def repair(
    store: VectorStore, ledger: VectorLedger, drift: Drift, load_embedded: Callable[[str], pa.Table]
) -> dict[str, int]:
    """Delete orphans and write missing or mismatched ids again from their owners' files."""
    with ledger.locked() as conn:
        owners = ledger.owners(conn)
        store.delete(ledger.namespace, drift.orphans)
        by_source: dict[str, list[str]] = {}
        for vid in drift.missing + drift.mismatched:
            if vid in owners:
                by_source.setdefault(owners[vid].source_key, []).append(vid)
        for source_key, ids in by_source.items():
            store.upsert(ledger.namespace, take_records(load_embedded(source_key), ids))
    return {"deleted_orphans": len(drift.orphans), "rewritten": sum(len(ids) for ids in by_source.values())}
