"""Syncs of sources that share ids, run at once: the store ends exactly as the ledger says."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pyarrow as pa
import pytest

from resources.pgvector_store import PgVectorStore
from tests.indexing.test_index_sync import T0, embedded, texts
from vectordb_assets.indexing.ledger import VectorLedger
from vectordb_assets.indexing.policy import IndexPolicy
from vectordb_assets.indexing.reconciliation import find_drift
from vectordb_assets.indexing.sync import sync_source

SOURCES = [f"s{n}.csv" for n in range(8)]
IDS = [str(n) for n in range(40)]


def versions(seed: int) -> dict[str, dict[str, str]]:
    """Each source's rows: a random half of the shared ids (so most ids have several claims),
    with texts naming the source and the round."""
    rng = random.Random(seed)
    return {source: {vid: f"{source} round {seed}" for vid in rng.sample(IDS, 20)} for source in SOURCES}


def expected_store(files: dict[str, dict[str, str] | None]) -> dict[str, tuple[str, str]]:
    """What the store must hold: each id from its newest landed source (sources land in order)."""
    owners: dict[str, tuple[str, str]] = {}
    for source in SOURCES:  # later sources landed later and win
        for vid, text in (files[source] or {}).items():
            owners[vid] = (text, source)
    return owners


@pytest.fixture
def slow_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Store writes that take a little while, at random, so that syncs overlap."""
    rng = random.Random(7)
    lock = threading.Lock()
    for name in ("upsert", "delete"):
        real = getattr(PgVectorStore, name)

        def slow(self, *args, real=real, **kwargs):
            with lock:
                delay = rng.uniform(0.0, 0.05)
            time.sleep(delay)
            return real(self, *args, **kwargs)

        monkeypatch.setattr(PgVectorStore, name, slow)


def test_concurrent_syncs_of_overlapping_sources_leave_the_store_as_the_ledger_says(state_db, slow_writes) -> None:
    store = PgVectorStore(state_db=state_db, collection="docs")
    store.ensure_collection(3)
    ledger = VectorLedger(state_db, "docs", "ns")
    landed = {source: T0 + timedelta(minutes=n) for n, source in enumerate(SOURCES)}
    settled = 0
    for round_ in range(3):
        rows: dict[str, dict[str, str] | None] = dict(versions(round_))
        if round_ == 2:  # the last round removes two sources, whose ids go back to older ones
            rows.update({"s6.csv": None, "s3.csv": None})
        tables = {source: embedded(source, r) if r is not None else None for source, r in rows.items()}

        def sync(source: str, tables: dict[str, pa.Table | None] = tables) -> int:
            table = tables[source]
            return sync_source(
                store,
                ledger,
                source,
                landed[source],
                table,
                tables.__getitem__,
                IndexPolicy(),
                "etag" if table is not None else None,
            ).settled

        with ThreadPoolExecutor(max_workers=4) as pool:
            settled += sum(pool.map(sync, random.Random(round_).sample(SOURCES, len(SOURCES))))
        assert texts(store) == expected_store(rows), f"round {round_}"
        drift = find_drift(store, ledger, sample_size=100)
        assert (drift.missing, drift.orphans, drift.mismatched) == ([], [], [])
    assert settled > 0  # the syncs did overlap: some ids were written again at commit


def test_a_dead_attempt_that_overwrote_a_newer_sync_is_settled_by_its_retry(
    state_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PgVectorStore(state_db=state_db, collection="docs")
    store.ensure_collection(3)
    ledger = VectorLedger(state_db, "docs", "ns")
    files = {"old.csv": embedded("old.csv", {"1": "old one"}), "new.csv": embedded("new.csv", {"1": "new one"})}
    real_upsert = PgVectorStore.upsert

    def newer_file_lands_meanwhile_then_dies(self, namespace, records, assume_new=False):
        # While old.csv's attempt writes, new.csv is synced to the end; then the attempt
        # overwrites id 1 with the older row and dies before committing.
        monkeypatch.setattr(PgVectorStore, "upsert", real_upsert)
        newer = threading.Thread(
            target=sync_source,
            args=(
                store,
                ledger,
                "new.csv",
                T0 + timedelta(hours=1),
                files["new.csv"],
                files.__getitem__,
                IndexPolicy(),
                "e",
            ),
        )
        newer.start()
        newer.join()
        real_upsert(self, namespace, records, assume_new)
        raise RuntimeError("worker killed before the ledger commit")

    monkeypatch.setattr(PgVectorStore, "upsert", newer_file_lands_meanwhile_then_dies)
    with pytest.raises(RuntimeError, match="worker killed"):
        sync_source(store, ledger, "old.csv", T0, files["old.csv"], files.__getitem__, IndexPolicy(), "e")
    assert texts(store) == {"1": ("old one", "old.csv")}  # the store now disagrees with the ledger

    retry = sync_source(store, ledger, "old.csv", T0, files["old.csv"], files.__getitem__, IndexPolicy(), "e")
    assert (retry.shadowed, retry.settled) == (1, 1)
    assert texts(store) == {"1": ("new one", "new.csv")}
