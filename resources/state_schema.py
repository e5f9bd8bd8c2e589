"""Tables of the state database: the embedding cache, the vector ledger, the indexed versions, the
syncs under way, the model generations, the landing sensor's catalog and messages, and the HTTP
API's keys and tasks."""

from __future__ import annotations

import psycopg

_ready: set[str] = set()

DDL = (
    # (model, content_hash) → vector; `vector` without a dimension holds any model's vectors.
    "create table if not exists vectordb_embedding_cache ("
    " model text not null,"
    " content_hash text not null,"
    " embedding vector not null,"
    " created_at timestamptz not null default now(),"
    " primary key (model, content_hash))",
    # One claim per (vector id, source): the newest landed claim owns the vector in the store.
    "create table if not exists vectordb_ledger ("
    " collection text not null,"
    " namespace text not null,"
    " vector_id text not null,"
    " source_key text not null,"
    " record_hash text not null,"
    " content_hash text not null,"
    " model text not null,"
    " landed_at timestamptz not null,"
    " updated_at timestamptz not null default now(),"
    " primary key (collection, namespace, vector_id, source_key))",
    "create index if not exists vectordb_ledger_by_source on vectordb_ledger (collection, namespace, source_key)",
    # The version (etag) of each source whose rows the namespace holds: what landed and is indexed.
    "create table if not exists vectordb_indexed_sources ("
    " collection text not null,"
    " namespace text not null,"
    " source_key text not null,"
    " source_etag text not null,"
    " indexed_at timestamptz not null default now(),"
    " primary key (collection, namespace, source_key))",
    # Which namespaces hold a source (a file moved to another namespace leaves the old ones).
    "create index if not exists vectordb_indexed_sources_by_source on vectordb_indexed_sources (source_key)",
    # A sync of the source has begun and not yet committed (one that died left its mark).
    "create table if not exists vectordb_sync_attempts ("
    " collection text not null,"
    " namespace text not null,"
    " source_key text not null,"
    " started_at timestamptz not null default now(),"
    " primary key (collection, namespace, source_key))",
    # Each model's generation of a collection: its own store collection, and which one readers use.
    "create table if not exists vectordb_generations ("
    " collection text not null,"
    " generation text not null,"
    " model text not null,"
    " dimension integer not null,"
    " embedder jsonb not null,"
    " store_collection text not null,"
    " state text not null check (state in ('building', 'live', 'retired', 'dropped')),"
    " created_at timestamptz not null default now(),"
    " promoted_at timestamptz,"
    " retired_at timestamptz,"
    " primary key (collection, generation))",
    "create unique index if not exists vectordb_generations_live on vectordb_generations (collection) where state = 'live'",
    # The version of each landed object the landing sensor has requested, and the tick that did.
    "create table if not exists vectordb_landing_catalog ("
    " source text not null,"
    " object_key text not null,"
    " version text not null,"
    " ordinal bigint,"
    " usable boolean not null,"
    " gone boolean not null,"
    " tick bigint not null,"
    " primary key (source, object_key))",
    "create index if not exists vectordb_landing_catalog_by_tick on vectordb_landing_catalog (source, tick)",
    "create index if not exists vectordb_landing_catalog_gone on vectordb_landing_catalog (source, tick) where gone",
    # Entries recorded while events were arriving faster than a tick reads them, to be requested
    # together once the backlog is read (scattered changes then share runs).
    "alter table vectordb_landing_catalog add column if not exists held boolean not null default false",
    "create index if not exists vectordb_landing_catalog_held on vectordb_landing_catalog (source) where held",
    # SQS messages read by a landing-sensor tick, deleted once the tick is committed.
    "create table if not exists vectordb_landing_messages ("
    " source text not null,"
    " tick bigint not null,"
    " receipt_handle text not null)",
    # The partition depth each landing location's partitions were made with.
    "create table if not exists vectordb_landing_sources ( source text primary key, partition_depth integer not null)",
    # The HTTP API's keys: the SHA-256 of each secret, never the secret.
    "create table if not exists vectordb_api_keys ("
    " key_id text primary key,"
    " name text not null,"
    " secret_hash text not null,"
    " scopes text[] not null,"
    " requests_per_minute integer,"
    " created_at timestamptz not null default now(),"
    " last_used_at timestamptz,"
    " revoked_at timestamptz)",
    "create unique index if not exists vectordb_api_keys_live_name on vectordb_api_keys (name) where revoked_at is null",
    # The HTTP API's processing tasks: the request and the runs it submitted.
    "create table if not exists vectordb_api_tasks ("
    " task_id text primary key,"
    " key_name text not null,"
    " request jsonb not null,"
    " runs jsonb not null,"
    " created_at timestamptz not null default now())",
    "create index if not exists vectordb_api_tasks_by_time on vectordb_api_tasks (created_at desc)",
)


OBJECTS = (
    "vectordb_embedding_cache",
    "vectordb_ledger",
    "vectordb_ledger_by_source",
    "vectordb_indexed_sources",
    "vectordb_indexed_sources_by_source",
    "vectordb_sync_attempts",
    "vectordb_generations",
    "vectordb_generations_live",
    "vectordb_landing_catalog",
    "vectordb_landing_catalog_by_tick",
    "vectordb_landing_catalog_gone",
    "vectordb_landing_catalog_held",
    "vectordb_landing_messages",
    "vectordb_landing_sources",
    "vectordb_api_keys",
    "vectordb_api_keys_live_name",
    "vectordb_api_tasks",
    "vectordb_api_tasks_by_time",
)


def ensure_state_schema(conn: psycopg.Connection) -> None:
    """Create the state tables once per database and process; safe when runs start together.

    The DDL runs only when an object is missing: `create index` waits for every open write to the
    table, so running it each time would hold a new run behind another run's ledger write."""
    key = conn.info.dsn
    if key in _ready:
        return
    existing = conn.execute(
        "select count(to_regclass(name)) from unnest(%s::text[]) as name", (list(OBJECTS),)
    ).fetchone()
    if existing[0] == len(OBJECTS):
        _ready.add(key)
        return
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('vectordb.state_schema'))")
        for statement in DDL:
            conn.execute(statement)
    _ready.add(key)


# The embedding cache at 16 bits (VECTORDB_EMBEDDING_CACHE_TYPE=halfvec), made on its first use
# only: `halfvec` needs pgvector 0.7, which the other tables do not.
HALF_CACHE_DDL = (
    "create table if not exists vectordb_embedding_cache_half ("
    " model text not null,"
    " content_hash text not null,"
    " embedding halfvec not null,"
    " created_at timestamptz not null default now(),"
    " primary key (model, content_hash))"
)
_half_cache_ready: set[str] = set()


def ensure_half_cache(conn: psycopg.Connection) -> None:
    """Create the 16-bit embedding cache once per database and process."""
    if conn.info.dsn in _half_cache_ready:
        return
    if conn.execute("select to_regclass('vectordb_embedding_cache_half')").fetchone()[0] is None:
        conn.execute("select pg_advisory_xact_lock(hashtext('vectordb.state_schema'))")
        conn.execute(HALF_CACHE_DDL)
        conn.commit()
    _half_cache_ready.add(conn.info.dsn)
