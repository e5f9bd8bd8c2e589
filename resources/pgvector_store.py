"""pgvector on PostgreSQL: one table per collection, bulk loads through binary COPY.

Example::

    store = PgVectorStore(state_db=StateDatabase(), collection="documents")
    store.ensure_collection(384)
    hits = store.query("default", vector, top_k=5)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, NamedTuple

import dagster as dg
import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql
from pydantic import Field

from resources.pg_binary_copy import (
    HALFVEC_MAX,
    copy_binary,
    first_beyond_half_range,
    jsonb_column,
    text_column,
    vector_column,
)
from resources.retry import RetryPolicy
from resources.state_db import StateDatabase
from resources.vector_store import (
    InvalidVectorError,
    SearchHit,
    VectorStore,
    as_number,
    check_dimension,
    record_vectors,
    validate_collection_name,
)

# distance → (operator class of the HNSW index after the column type, distance operator, score from distance)
DISTANCES = {
    "cosine": ("cosine_ops", "<=>", "1 - ({})"),
    "l2": ("l2_ops", "<->", "-({})"),
    "inner_product": ("ip_ops", "<#>", "-({})"),
}


class Column(NamedTuple):
    """An existing collection's vector column: its type (`vector` or `halfvec`) and dimension."""

    type: str
    dimension: int


# The vector column of each existing collection, by database and table, once looked up: a table's
# column keeps its type and dimension (a vector of another dimension is refused by the column).
_columns: dict[tuple[str, str], Column] = {}

# A write is split over several connections only when each gets at least this many rows; into a
# collection with its HNSW index, whose insertion costs the server milliseconds of CPU per row (far
# more than a connection's own cost), at the second figure.
PARALLEL_PART_MIN_ROWS = 10_000
INDEXED_PART_MIN_ROWS = 250

# pgvector's largest hnsw.ef_search.
EF_SEARCH_MAX = 1000

# Whether each database's pgvector scans an HNSW index on until enough rows pass the filters (0.8+).
_iterative_scans: dict[str, bool] = {}

# The HNSW indexes known to exist, by database and name (an index, once built, stays).
_indexes: set[tuple[str, str]] = set()


def _log_contention(state: Any) -> None:
    dg.get_dagster_logger().warning(
        f"PostgreSQL: {state.outcome.exception()!s}".replace("\n", " | ")
        + f"; writing again (attempt {state.attempt_number + 1})"
    )


# Writers lock rows in id order, so writers of the same ids wait for one another rather than
# deadlock; a deadlock or serialization failure met all the same (another client's writes) rolls
# the transaction back whole, and it is tried again.
CONTENTION_RETRY = RetryPolicy(
    transient=lambda error: isinstance(
        error.__cause__ or error, (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
    ),
    attempts=5,
    base_seconds=0.05,
    max_seconds=2.0,
    on_retry=_log_contention,
    service="PostgreSQL",
)


class PgVectorStore(VectorStore):
    """Vectors in a PostgreSQL table with an HNSW index, in the state database by default."""

    state_db: StateDatabase
    collection: str = Field(default="documents", description="Table name (a plain identifier).")
    distance: Literal["cosine", "l2", "inner_product"] = Field(default="cosine", description="Similarity measure.")
    load_connections: int = Field(
        default=2,
        ge=1,
        description="Connections that share a large write, one COPY each (one CPU core each on the server).",
    )
    vector_type: Literal["vector", "halfvec"] = Field(
        default="vector",
        description="Column type of a new collection: `vector` (32-bit floats) or `halfvec` (16-bit: half the bytes).",
    )
    ef_search: int = Field(
        default=100,
        ge=1,
        le=EF_SEARCH_MAX,
        description="Candidates the HNSW search keeps (pgvector's `hnsw.ef_search`): more finds more of the exact nearest, slower.",
    )
    maintenance_work_mem: str | None = Field(
        default=None, description="Memory for building the HNSW index, e.g. '1GB' (PostgreSQL's default if unset)."
    )

    @property
    def collection_name(self) -> str:
        return validate_collection_name(self.collection)

    def _table(self) -> sql.Identifier:
        return sql.Identifier(self.collection_name)

    def with_collection(self, name: str) -> PgVectorStore:
        return self.model_copy(update={"collection": name})

    def column(self) -> Column | None:
        """The collection's vector column, or None while the collection does not exist."""
        key = (self.state_db.uri(), self.collection_name)
        if key in _columns:
            return _columns[key]
        with self.state_db.connect() as conn:
            row = conn.execute(
                "select t.typname, a.atttypmod from pg_attribute a join pg_type t on t.oid = a.atttypid"
                " where a.attrelid = to_regclass(%s) and a.attname = 'embedding'",
                (self.collection_name,),
            ).fetchone()
        if row is None:
            return None
        _columns[key] = Column(*row)
        return _columns[key]

    def _column_type(self) -> str:
        column = self.column()
        return self.vector_type if column is None else column.type

    def collection_dimension(self) -> int | None:
        column = self.column()
        return None if column is None else column.dimension

    def ensure_collection(self, dimension: int) -> None:
        existing = self.column()
        if existing is not None:
            check_dimension(self.collection_name, existing.dimension, dimension)
            if existing.type != self.vector_type:
                dg.get_dagster_logger().warning(
                    f"collection {self.collection_name!r} keeps its {existing.type} column: "
                    f"VECTORDB_PG_VECTOR_TYPE={self.vector_type} applies to new collections (a new model "
                    "generation or VECTORDB_COLLECTION)"
                )
            return
        with self.state_db.connect() as conn:
            conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"vectordb.{self.collection_name}",))
            conn.execute(
                sql.SQL(
                    "create table if not exists {} ("
                    " namespace text not null,"
                    " id text not null,"
                    " embedding {}({}) not null,"
                    " text text,"
                    " metadata jsonb not null default '{{}}',"
                    " content_hash text not null,"
                    " source_key text not null,"
                    " updated_at timestamptz not null default now(),"
                    " primary key (namespace, id))"
                ).format(self._table(), sql.Identifier(self.vector_type), sql.Literal(dimension))
            )

    def drop_collection(self, namespaces: Sequence[str]) -> None:
        with self.state_db.connect() as conn:
            conn.execute(sql.SQL("drop table if exists {}").format(self._table()))
        _columns.pop((self.state_db.uri(), self.collection_name), None)
        _indexes.discard((self.state_db.uri(), self._index_name()))

    def point_readers(self, conn: Any, alias: str) -> None:
        """The view `alias` over this table, replaced unless it already reads it (readers see the
        old view or the new one, never none: the change commits with `conn`'s transaction)."""
        reads_table = conn.execute(
            "select exists (select 1 from pg_depend d join pg_rewrite r on r.oid = d.objid"
            " where r.ev_class = to_regclass(%s) and d.refobjid = to_regclass(%s))",
            (alias, self.collection_name),
        ).fetchone()[0]
        if not reads_table:
            conn.execute(sql.SQL("drop view if exists {}").format(sql.Identifier(alias)))
            conn.execute(sql.SQL("create view {} as select * from {}").format(sql.Identifier(alias), self._table()))

    def upsert(self, namespace: str, records: pa.Table, assume_new: bool = False) -> int:
        if records.num_rows == 0:
            return 0
        check_dimension(
            self.collection_name, self.collection_dimension(), records.schema.field("embedding").type.list_size
        )
        if self._column_type() == "halfvec":
            check_half_range(records)
        records = records.sort_by("id")  # rows are locked in byte order of id, as collate "C" sorts below
        # A large write is split over several connections: each server process then decodes,
        # stores and indexes its share of the rows on its own CPU core.
        part_min_rows = INDEXED_PART_MIN_ROWS if self._indexed() else PARALLEL_PART_MIN_ROWS
        parts = max(1, min(self.load_connections, records.num_rows // part_min_rows))
        size = -(-records.num_rows // parts)
        slices = [records.slice(start, size) for start in range(0, records.num_rows, size)]
        if len(slices) == 1:
            CONTENTION_RETRY.call(self._write, namespace, records, assume_new)
        else:
            with ThreadPoolExecutor(max_workers=len(slices)) as pool:
                for written in [
                    pool.submit(CONTENTION_RETRY.call, self._write, namespace, part, assume_new) for part in slices
                ]:
                    written.result()
        return records.num_rows

    def _write(self, namespace: str, records: pa.Table, assume_new: bool) -> None:
        """Insert or replace `records` over one connection."""
        table = self._table()
        columns = sql.SQL("(namespace, id, embedding, text, metadata, content_hash, source_key)")
        with self.state_db.connect() as conn:
            if assume_new:
                # Ids the ledger has never seen go straight in with one COPY; if the store holds
                # some after all (drift), the upsert below takes over.
                try:
                    with conn.transaction():
                        self._copy_rows(conn, sql.SQL("{} {}").format(table, columns), records, namespace)
                    return
                except psycopg.errors.UniqueViolation:
                    pass
            conn.execute(
                sql.SQL(
                    "create temp table vectordb_staging (namespace text, id text, embedding {}, text text,"
                    " metadata jsonb, content_hash text, source_key text) on commit drop"
                ).format(sql.Identifier(self._column_type()))
            )
            self._copy_rows(conn, sql.SQL("vectordb_staging {}").format(columns), records, namespace)
            conn.execute(
                sql.SQL(
                    "insert into {t} {c} select namespace, id, embedding, text, metadata, content_hash, source_key"
                    ' from vectordb_staging order by id collate "C" on conflict (namespace, id) do update set'
                    " embedding = excluded.embedding, text = excluded.text, metadata = excluded.metadata,"
                    " content_hash = excluded.content_hash, source_key = excluded.source_key, updated_at = now()"
                ).format(t=table, c=columns)
            )

    def _copy_rows(self, conn: Any, target: sql.Composable, records: pa.Table, namespace: str) -> None:
        """One binary COPY of the records into `target`."""
        metadata = records.column("metadata")
        has_metadata = pc.fill_null(pc.not_equal(metadata, ""), False)
        columns = [
            text_column(namespace),
            text_column(records.column("id")),
            vector_column(record_vectors(records), half=self._column_type() == "halfvec"),
            text_column(records.column("text")),
            jsonb_column(pc.if_else(has_metadata, metadata, "{}")),
            text_column(records.column("content_hash")),
            text_column(records.column("source_key")),
        ]
        copy_binary(conn, sql.SQL("copy {} from stdin with (format binary)").format(target), records.num_rows, columns)

    def after_writes(self) -> None:
        if self.collection_dimension() is None:
            return
        with self.state_db.connect() as conn:
            self._ensure_index(conn, self._table())

    def _ensure_index(self, conn: Any, table: sql.Identifier) -> None:
        """Build the HNSW index once the first bulk load is in (much faster than row by row, and
        off the load's path); pgvector's notices, such as the graph outgrowing
        maintenance_work_mem, go to the run log."""
        index_name = self._index_name()
        # Runs of the same collection finishing together take turns: only one builds the index.
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"vectordb.index/{index_name}",))
        if conn.execute("select to_regclass(%s)", (index_name,)).fetchone()[0]:
            return
        name = sql.Identifier(index_name)
        log = dg.get_dagster_logger()
        conn.add_notice_handler(lambda notice: log.warning(f"PostgreSQL: {notice.message_primary}"))
        if self.maintenance_work_mem:
            conn.execute(sql.SQL("set local maintenance_work_mem = {}").format(sql.Literal(self.maintenance_work_mem)))
        opclass = f"{self._column_type()}_{DISTANCES[self.distance][0]}"
        conn.execute(
            sql.SQL("create index if not exists {} on {} using hnsw (embedding {})").format(
                name, table, sql.SQL(opclass)
            )
        )

    def _index_name(self) -> str:
        return f"{self.collection_name}_embedding_{self.distance}_hnsw"

    def _indexed(self) -> bool:
        """Whether the collection's HNSW index exists."""
        key = (self.state_db.uri(), self._index_name())
        if key not in _indexes:
            with self.state_db.connect() as conn:
                if conn.execute("select to_regclass(%s)", (key[1],)).fetchone()[0]:
                    _indexes.add(key)
        return key in _indexes

    def delete(self, namespace: str, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        CONTENTION_RETRY.call(self._delete, namespace, list(ids))
        return len(ids)

    def _delete(self, namespace: str, ids: list[str]) -> None:
        """Delete `ids` in one transaction, locking their rows in id order first."""
        with self.state_db.connect() as conn:
            conn.execute(
                sql.SQL(
                    'with doomed as (select id from {t} where namespace = %s and id = any(%s) order by id collate "C" for update)'
                    " delete from {t} using doomed where {t}.namespace = %s and {t}.id = doomed.id"
                ).format(t=self._table()),
                (namespace, ids, namespace),
            )

    def query(
        self, namespace: str, vector: np.ndarray, top_k: int, filters: Mapping[str, str] | None = None
    ) -> list[SearchHit]:
        if self.column() is None:
            return []
        with self.state_db.connect() as conn:
            # An index scan yields at most ef_search rows (1,000 at most), before the namespace and
            # filters are applied: asked for more, and (pgvector 0.8) scanning on until enough pass.
            candidates = min(max(self.ef_search, top_k), EF_SEARCH_MAX)
            settings = [sql.SQL("set local hnsw.ef_search = {}").format(sql.Literal(candidates))]
            if iterative_scans(conn):
                settings.append(sql.SQL("set local hnsw.iterative_scan = strict_order"))
            conn.execute(sql.SQL("; ").join(settings))  # one round trip
            rows = conn.execute(*self.search_statement(namespace, vector, top_k, filters)).fetchall()
        return [SearchHit(id=r[0], score=float(r[1]), text=r[2], source_key=r[3], metadata=r[4]) for r in rows]

    def search_statement(
        self, namespace: str, vector: np.ndarray, top_k: int, filters: Mapping[str, str] | None = None
    ) -> tuple[sql.Composed, tuple[Any, ...]]:
        """The nearest-neighbour query of an existing collection and its parameters."""
        query_vector = np.asarray(vector, dtype=np.float32)
        _, operator, score = DISTANCES[self.distance]
        # The query vector cast to the column's type, as the HNSW index's operator class takes it.
        distance = sql.SQL("embedding {} %s::{}").format(sql.SQL(operator), sql.Identifier(self._column_type()))
        conditions = [sql.SQL("namespace = %s")]
        params: list[Any] = [query_vector, namespace]
        for field_name, value in (filters or {}).items():
            number = as_number(value)
            if number is None:
                conditions.append(sql.SQL("metadata ->> %s = %s"))
                params += [field_name, value]
            else:
                conditions.append(
                    sql.SQL(
                        "(metadata ->> %s = %s or (jsonb_typeof(metadata -> %s) = 'number' and (metadata ->> %s)::float8 = %s))"
                    )
                )
                params += [field_name, value, field_name, field_name, number]
        statement = sql.SQL(
            "select id, {score} as score, text, source_key, metadata"
            " from {table} where {conditions} order by {distance} limit %s"
        ).format(
            score=sql.SQL(score).format(distance),
            table=self._table(),
            conditions=sql.SQL(" and ").join(conditions),
            distance=distance,
        )
        return statement, (*params, query_vector, top_k)

    def count(self, namespace: str) -> int:
        if self.collection_dimension() is None:
            return 0
        with self.state_db.connect() as conn:
            row = conn.execute(
                sql.SQL("select count(*) from {} where namespace = %s").format(self._table()), (namespace,)
            ).fetchone()
        return int(row[0])

    def list_ids(self, namespace: str) -> Iterator[str]:
        if self.collection_dimension() is None:
            return
        with self.state_db.connect() as conn:
            cursor = conn.cursor(name="vectordb_list_ids")
            cursor.execute(sql.SQL("select id from {} where namespace = %s").format(self._table()), (namespace,))
            for (vid,) in cursor:
                yield vid

    def content_hashes(self, namespace: str, ids: Sequence[str]) -> dict[str, str]:
        if not ids or self.collection_dimension() is None:
            return {}
        with self.state_db.connect() as conn:
            rows = conn.execute(
                sql.SQL("select id, content_hash from {} where namespace = %s and id = any(%s)").format(self._table()),
                (namespace, list(ids)),
            ).fetchall()
        return dict(rows)


def check_half_range(records: pa.Table) -> None:
    """Refuse, naming the first, a vector with a value beyond what `halfvec` holds."""
    beyond = first_beyond_half_range(record_vectors(records))
    if beyond is not None:
        vid = records.column("id")[beyond].as_py()
        raise InvalidVectorError(
            f"vector {vid!r} has a value beyond ±{HALFVEC_MAX:g}, the range of halfvec (VECTORDB_PG_VECTOR_TYPE)"
        )


def iterative_scans(conn: Any) -> bool:
    """Whether the database's pgvector has iterative index scans (0.8 and later)."""
    database = conn.info.dsn
    if database not in _iterative_scans:
        version = conn.execute("select extversion from pg_extension where extname = 'vector'").fetchone()[0]
        _iterative_scans[database] = tuple(int(part) for part in version.split(".")[:2]) >= (0, 8)
    return _iterative_scans[database]
