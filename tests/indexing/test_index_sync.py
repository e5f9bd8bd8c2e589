"""Syncing sources into pgvector through the ledger, on the embedded server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from resources.pgvector_store import PgVectorStore
from vectordb_assets.indexing.ledger import VectorLedger
from vectordb_assets.indexing.policy import IndexPolicy
from vectordb_assets.indexing.sync import sync_source

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def embedded(source: str, rows: dict[str, str]) -> pa.Table:
    ids = list(rows)
    vectors = np.array([[len(t), 1.0, 0.5] for t in rows.values()], dtype=np.float32)
    return pa.table(
        {
            "doc_id": ids,
            "text": list(rows.values()),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), 3),
            "metadata": ["{}"] * len(ids),
            "content_hash": [f"hash:{t}" for t in rows.values()],
            "source_key": [source] * len(ids),
            "embedding_model": ["m"] * len(ids),
        }
    )


@pytest.fixture
def setup(state_db):
    store = PgVectorStore(state_db=state_db, collection="docs")
    store.ensure_collection(3)
    return store, VectorLedger(state_db, "docs", "ns")


def texts(store: PgVectorStore) -> dict[str, tuple[str, str]]:
    with store.state_db.connect() as conn:
        return {r[0]: (r[1], r[2]) for r in conn.execute("select id, text, source_key from docs")}


def test_shared_ids_follow_the_newest_source_and_come_back_when_it_goes(setup) -> None:
    store, ledger = setup
    files = {
        "old.csv": embedded("old.csv", {"1": "old one", "2": "old two"}),
        "new.csv": embedded("new.csv", {"1": "new one"}),
    }
    load = files.__getitem__
    sync_source(store, ledger, "old.csv", T0, files["old.csv"], load, IndexPolicy(), "etag")
    result = sync_source(
        store, ledger, "new.csv", T0 + timedelta(hours=1), files["new.csv"], load, IndexPolicy(), "etag"
    )
    assert result.updated == 1
    assert texts(store) == {"1": ("new one", "new.csv"), "2": ("old two", "old.csv")}

    gone = sync_source(store, ledger, "new.csv", T0 + timedelta(hours=1), None, load, IndexPolicy(), None)
    assert gone.restored == 1
    assert texts(store) == {"1": ("old one", "old.csv"), "2": ("old two", "old.csv")}


def test_a_failure_after_the_store_write_is_repaired_by_the_retry(setup) -> None:
    store, ledger = setup
    table = embedded("a.csv", {"1": "one", "2": "two"})

    def broken_load(_: str) -> pa.Table:
        raise RuntimeError("unreachable")

    sync_source(store, ledger, "a.csv", T0, table, broken_load, IndexPolicy(), "etag")
    edited = embedded("a.csv", {"1": "one, edited"})
    original_replace = ledger.replace_claims

    def dies(*args, **kwargs):
        raise RuntimeError("process died before the ledger write")

    ledger.replace_claims = dies
    with pytest.raises(RuntimeError, match="process died"):
        sync_source(store, ledger, "a.csv", T0, edited, broken_load, IndexPolicy(), "etag")
    ledger.replace_claims = original_replace
    retry = sync_source(store, ledger, "a.csv", T0, edited, broken_load, IndexPolicy(), "etag")
    assert (retry.updated, retry.deleted) == (1, 1)
    assert texts(store) == {"1": ("one, edited", "a.csv")}
    with ledger.locked() as conn:
        assert ledger.count(conn) == 1


def test_a_failure_between_store_writes_is_repaired_by_the_retry(setup, monkeypatch) -> None:
    store, ledger = setup
    files = {"a.csv": embedded("a.csv", {"1": "one", "2": "two"})}
    sync_source(store, ledger, "a.csv", T0, files["a.csv"], files.__getitem__, IndexPolicy(), "etag")
    edited = embedded("a.csv", {"2": "two, edited", "3": "three"})
    real_upsert = PgVectorStore.upsert

    def upsert_dies(self, namespace, records, assume_new=False):
        raise RuntimeError("connection lost after the delete, before the upsert")

    monkeypatch.setattr(PgVectorStore, "upsert", upsert_dies)
    with pytest.raises(RuntimeError, match="connection lost"):
        sync_source(store, ledger, "a.csv", T0, edited, files.__getitem__, IndexPolicy(), "etag")
    assert texts(store) == {"2": ("two", "a.csv")}  # the delete went through, the upsert did not
    monkeypatch.setattr(PgVectorStore, "upsert", real_upsert)
    retry = sync_source(store, ledger, "a.csv", T0, edited, files.__getitem__, IndexPolicy(), "etag")
    assert (retry.added, retry.updated, retry.deleted) == (1, 1, 1)
    assert texts(store) == {"2": ("two, edited", "a.csv"), "3": ("three", "a.csv")}


def test_an_unchanged_file_leaves_the_ledger_untouched(setup, monkeypatch) -> None:
    store, ledger = setup
    table = embedded("a.csv", {"1": "one", "2": "two"})
    sync_source(store, ledger, "a.csv", T0, table, table.__getitem__, IndexPolicy(), "etag")

    def no_rewrite(*args, **kwargs):
        raise AssertionError("the claims were rewritten although nothing changed")

    monkeypatch.setattr(ledger, "replace_claims", no_rewrite)
    again = sync_source(store, ledger, "a.csv", T0, table, table.__getitem__, IndexPolicy(), "etag")
    assert (again.added, again.updated, again.skipped) == (0, 0, 2)


def test_a_namespace_filling_up_keeps_the_claims_read_an_id_lookup(setup) -> None:
    """The first large file has the ledger analyzed, so the next file's claims are read through
    the primary key, not by scanning every claim of the namespace."""
    store, ledger = setup
    first = embedded("first.csv", {f"a{i}": f"text {i}" for i in range(3000)})
    sync_source(store, ledger, "first.csv", T0, first, {"first.csv": first}.get, IndexPolicy(), "etag")
    with store.state_db.connect() as conn:
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                "explain select * from vectordb_ledger where collection = 'docs' and namespace = 'ns'"
                " and vector_id = any(array(select unnest(%s::text[])))",
                ([f"b{i}" for i in range(1000)],),
            )
        )
    assert "Index Cond: ((collection = 'docs'::text) AND (namespace = 'ns'::text) AND (vector_id = ANY" in plan, plan
