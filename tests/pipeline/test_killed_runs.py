"""A run worker killed with SIGKILL mid-embedding or mid-index-write, under the real daemon with
the project's `dagster.yaml`: the run is marked failed and retried without anyone acting, and the
index ends exactly as if the run had never failed (nothing lost, nothing duplicated)."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import dagster as dg
import numpy as np
import psycopg
import pytest

from resources.embedders import LocalEmbedder
from resources.state_db import StateDatabase
from resources.state_schema import ensure_state_schema
from tests.dagster_processes import dagster_process, instance_home, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("models_dir")]  # kills run processes

ROWS = 400


def waiting_queries(conn: psycopg.Connection, holder: psycopg.Connection) -> list[str]:
    """The statements of other sessions that wait for a lock `holder` holds."""
    rows = conn.execute(
        "select query from pg_stat_activity where %s = any(pg_blocking_pids(pid))", (holder.info.backend_pid,)
    ).fetchall()
    return [row[0] for row in rows]


def stored_rows(conn: psycopg.Connection) -> int:
    """Rows committed to the collection's table (0 before it exists)."""
    if conn.execute("select to_regclass('documents')").fetchone()[0] is None:
        return 0
    return conn.execute("select count(*) from documents").fetchone()[0]


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid of the run's worker process, from the engine event Dagster writes when it starts."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        found = re.search(r"Started process for run \(pid: (\d+)\)", entry.message or "")
        if found:
            return int(found.group(1))
    return None


def run_story(instance: dg.DagsterInstance, run_id: str, daemon_log: Path) -> str:
    """The run's status, its last events and the daemon's last lines, for a failure message."""
    events = [f"{entry.dagster_event_type}: {entry.message}" for entry in instance.all_logs(run_id)[-12:]]
    daemon = [line for line in daemon_log.read_text().splitlines() if "dagster.daemon" in line]
    return "\n".join([f"run {run_id}: {instance.get_run_by_id(run_id).status}", *events, *daemon[-15:]])


# Where the worker is held when it is killed: the lock the test takes, and the statement it blocks.
KILL_POINTS = {
    # The model has embedded the first batch; its vectors wait to enter the cache.
    "embedding": ("lock table vectordb_embedding_cache in exclusive mode", "vectordb_embedding_cache"),
    # The vectors are in the store; the ledger's claims wait behind a claim of the same id.
    "index write": (
        "insert into vectordb_ledger (collection, namespace, vector_id, source_key, record_hash, content_hash,"
        " model, landed_at) values ('documents', 'default', '0', 'killed.csv', '', '', '', now())",
        "copy vectordb_ledger",
    ),
}


@pytest.mark.parametrize("stage", KILL_POINTS)
def test_killed_run_is_retried_and_loses_nothing(
    stage: str, home: Path, state_db: StateDatabase, tmp_path: Path, embedder: LocalEmbedder
) -> None:
    dagster_home = instance_home(tmp_path / "dagster-home")
    landing = home / "landing"
    landing.mkdir(parents=True)
    texts = {str(i): f"row {i} of a file whose run is killed during {stage}" for i in range(ROWS)}
    (landing / "killed.csv").write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in texts.items()))
    with state_db.connect() as conn:
        ensure_state_schema(conn)

    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "VECTORDB_HOME": str(home),
        "DATABASE_URL": state_db.database_url,
        "VECTORDB_SENSOR_INTERVAL": "1",
    }
    with dagster_process(["dagster-daemon", "run"], env, tmp_path / "daemon.log"):
        with (
            psycopg.connect(state_db.database_url) as lock_conn,
            dg.DagsterInstance.from_config(str(dagster_home)) as instance,
        ):
            # The test holds a lock the worker needs halfway through the stage, so the kill lands there.
            hold, blocked_statement = KILL_POINTS[stage]
            lock_conn.execute(hold)
            with psycopg.connect(state_db.database_url, autocommit=True) as watcher:
                waiting = wait_for(lambda: waiting_queries(watcher, lock_conn), f"the run to reach the {stage}")
                assert blocked_statement in waiting[0]
                if stage == "index write":  # the store writes go on beside the blocked ledger write
                    wait_for(lambda: stored_rows(watcher) == ROWS, "every row in the store", timeout=60)
            (first,) = instance.get_runs(dg.RunsFilter(job_name="ingest_files"))  # not an hourly check run
            pid = wait_for(lambda: worker_pid(instance, first.run_id), "the worker's pid")
            os.kill(pid, signal.SIGKILL)
            lock_conn.rollback()

            try:
                retried = wait_for(
                    lambda: instance.get_runs(filters=dg.RunsFilter(tags={"dagster/parent_run_id": first.run_id})),
                    "a retry of the killed run",
                )[0]
            except AssertionError as timeout:
                raise AssertionError(run_story(instance, first.run_id, tmp_path / "daemon.log")) from timeout
            finished = wait_for(
                lambda: (run := instance.get_run_by_id(retried.run_id)).is_finished and run, "the retry to finish"
            )
            assert instance.get_run_by_id(first.run_id).status == dg.DagsterRunStatus.FAILURE
            assert finished.status == dg.DagsterRunStatus.SUCCESS, (tmp_path / "daemon.log").read_text()[-3000:]

    with state_db.connect() as conn:
        stored = conn.execute("select id, text, embedding from documents").fetchall()
        claims = conn.execute("select count(*), count(distinct vector_id) from vectordb_ledger").fetchone()
    assert sorted(row[0] for row in stored) == sorted(texts)  # nothing lost, nothing twice
    assert {row[0]: row[1] for row in stored} == texts
    assert claims == (ROWS, ROWS)
    ids = [row[0] for row in stored]
    expected = embedder.embed([texts[i] for i in ids])
    assert np.allclose(np.array([row[2].to_numpy() for row in stored]), expected, atol=1e-5)
