"""pgvector writes of overlapping ids at once: no deadlock, and a deadlock met is tried again."""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psycopg
import pytest

from resources.pgvector_store import PgVectorStore
from tests.resources.test_pgvector_store import records

IDS = [f"{'aB'[n % 2]}-{n % 7}-{n:04d}" for n in range(2000)]  # mixed case


def test_writers_of_the_same_ids_in_any_order_never_deadlock(state_db, caplog: pytest.LogCaptureFixture) -> None:
    store = PgVectorStore(state_db=state_db, collection="shared")
    store.ensure_collection(3)
    vectors = np.random.default_rng(3).random((len(IDS), 3), np.float32)

    def write(namespace: str, seed: int, start: threading.Barrier) -> None:
        order = random.Random(seed).sample(range(len(IDS)), len(IDS))
        ids = [IDS[n] for n in order]
        table = records(ids, vectors[order], [f"w{seed}-{i}" for i in ids])
        start.wait()
        store.upsert(namespace, table, assume_new=seed % 2 == 0)
        if seed % 3 == 0:
            store.delete(namespace, random.Random(seed).sample(IDS, 300))

    caplog.set_level(logging.WARNING)
    for round_ in range(8):  # each round twice: into an empty namespace, then over its rows
        start = threading.Barrier(6)
        with ThreadPoolExecutor(max_workers=6) as pool:
            for done in [pool.submit(write, f"ns{round_ // 2}", round_ * 6 + n, start) for n in range(6)]:
                done.result()
    assert not [r.message for r in caplog.records if "deadlock" in r.message.lower()]


@pytest.mark.parametrize("write", ["upsert", "delete"])
def test_a_deadlock_with_another_client_is_rolled_back_and_written_again(
    state_db, write: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = PgVectorStore(state_db=state_db, collection="shared")
    store.ensure_collection(3)
    store.upsert("ns", records(["a", "b"], np.eye(3, dtype=np.float32)[:2]))
    caplog.set_level(logging.WARNING)
    with psycopg.connect(state_db.uri()) as other, psycopg.connect(state_db.uri(), autocommit=True) as watcher:
        other.execute("set deadlock_timeout = '30s'")  # the store's session is the one that finds the deadlock
        other.execute("update shared set text = 'other' where id = 'b'")
        if write == "upsert":
            args = ("ns", records(["a", "b"], np.eye(3, dtype=np.float32)[1:], ["new-a", "new-b"]))
        else:
            args = ("ns", ["a", "b"])
        writer = threading.Thread(target=getattr(store, write), args=args)
        writer.start()  # locks a, then waits for b
        while not watcher.execute("select count(*) from pg_stat_activity where wait_event_type = 'Lock'").fetchone()[0]:
            time.sleep(0.05)
        other.execute("update shared set text = 'other' where id = 'a'")  # waits for a: a deadlock
        other.commit()
        writer.join()
    expected = {"a": "new-a", "b": "new-b"} if write == "upsert" else {}
    assert store.content_hashes("ns", ["a", "b"]) == expected
    assert [r.message for r in caplog.records if "deadlock detected" in r.message]
