"""The state database: embedded PostgreSQL with pgvector, shared by processes that start together."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import psycopg

from resources.state_db import StateDatabase
from resources.state_schema import OBJECTS


def _start_and_query(data_dir: str) -> str:
    db = StateDatabase(pgserver_dir=data_dir)
    with db.connect() as conn:
        return conn.execute("select extversion from pg_extension where extname = 'vector'").fetchone()[0]


def test_several_processes_starting_at_once_share_one_server(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "pgdata")
    pool = multiprocessing.get_context("spawn").Pool(3)
    try:
        versions = pool.map(_start_and_query, [data_dir] * 3)
    finally:
        # Workers that exit normally run pgserver's exit handlers: the last one stops the server.
        pool.close()
        pool.join()
    assert len(set(versions)) == 1 and versions[0]
    # The data directory is kept, so the next start reuses it.
    assert (Path(data_dir) / "PG_VERSION").is_file()


def test_a_database_url_is_used_instead_of_the_embedded_server(state_db: StateDatabase) -> None:
    assert state_db.uri() == state_db.database_url
    with state_db.connect() as conn:
        assert conn.execute("select current_database()").fetchone()[0] in state_db.database_url


def test_the_first_connection_finds_every_state_table(state_db: StateDatabase) -> None:
    with state_db.connect() as conn:
        present = conn.execute("select count(to_regclass(name)) from unnest(%s::text[]) as name", (list(OBJECTS),))
        assert present.fetchone()[0] == len(OBJECTS)


def test_connections_have_vector_types(state_db: StateDatabase) -> None:
    with state_db.connect() as conn:
        value = conn.execute("select '[1,2,3]'::vector").fetchone()[0]
    assert value.to_list() == [1.0, 2.0, 3.0]
    with psycopg.connect(state_db.uri()) as conn:
        assert conn.execute("select count(*) from pg_extension where extname = 'vector'").fetchone()[0] == 1
