"""The vector ledger: the claims of each (collection, namespace), kept in the state database
(see `claims` for what a claim is and the plans claims yield).

Syncs of different sources run at once. Each writes the store without holding the namespace,
then takes its turn to commit: it reads the claims on its ids again, and any id whose other
claims changed meanwhile (another sync committed it) is settled, written as its claims now say,
before the commit. An attempt that died between writing and committing is known by the mark it
left, and its retry settles every id it touches.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg
import pyarrow as pa

from resources.pg_binary_copy import copy_binary, text_column, timestamptz_column
from resources.state_db import StateDatabase
from vectordb_assets.indexing.claims import Claim, ClaimsRead


class VectorLedger:
    """Claims for one (collection, namespace), kept in the state database."""

    def __init__(self, state_db: StateDatabase, collection: str, namespace: str):
        self.state_db = state_db
        self.collection = collection
        self.namespace = namespace

    def _lock_key(self, *parts: str) -> str:
        return "/".join(("vectordb.ledger", self.collection, self.namespace, *parts))

    @contextmanager
    def locked(self) -> Iterator[psycopg.Connection]:
        """A transaction that holds the whole namespace: it waits for the syncs under way, and no
        sync starts until it ends (for reconciliation and repair, which compare everything)."""
        with self.state_db.connect() as conn:
            with conn.transaction():
                conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (self._lock_key(),))
                yield conn

    @contextmanager
    def syncing(self, source_key: str) -> Iterator[tuple[psycopg.Connection, bool]]:
        """A transaction for syncing one source, and whether an earlier attempt at it died before
        committing. One sync per source at a time; syncs of other sources run alongside."""
        with self.state_db.connect() as conn:
            # A session lock: held across the mark's commit below, freed when the connection is returned.
            conn.execute("select pg_advisory_lock(hashtext(%s))", (self._lock_key("source", source_key),))
            started = conn.execute(
                "insert into vectordb_sync_attempts (collection, namespace, source_key) values (%s, %s, %s)"
                " on conflict do nothing returning true",
                (self.collection, self.namespace, source_key),
            ).fetchone()
            conn.commit()  # the mark outlives this attempt unless the attempt commits
            with conn.transaction():
                conn.execute("select pg_advisory_xact_lock_shared(hashtext(%s))", (self._lock_key(),))
                yield conn, started is None

    def commit_turn(self, conn: psycopg.Connection) -> None:
        """Wait for this sync's turn to commit: commits of one namespace take turns."""
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (self._lock_key("commit"),))

    def read_claims(self, conn: psycopg.Connection, source_key: str, ids: list[str]) -> ClaimsRead:
        """All claims on the ids `source_key` claims now or lists in `ids`."""
        rows = conn.execute(
            "select vector_id, xmin::text, source_key, record_hash, model, landed_at, content_hash from vectordb_ledger"
            " where collection = %s and namespace = %s and vector_id = any(array("
            "  select vector_id from vectordb_ledger"
            "  where collection = %s and namespace = %s and source_key = %s"
            "  union select unnest(%b::text[])))",
            # The ids are gathered once, then looked up: a plan that joins them with the ledger
            # loops over every claim of the namespace for each id while its statistics lag (a
            # namespace filling up fast), and a binary array is quick to send.
            (self.collection, self.namespace, self.collection, self.namespace, source_key, ids),
        ).fetchall()
        claims: dict[str, dict[str, Claim]] = {}
        revisions: dict[str, set[tuple[str, str]]] = {}
        for vid, row_version, *claim in rows:
            claims.setdefault(vid, {})[claim[0]] = Claim(*claim)
            if claim[0] != source_key:
                revisions.setdefault(vid, set()).add((claim[0], row_version))
        return ClaimsRead(claims, {vid: frozenset(versions) for vid, versions in revisions.items()})

    def replace_claims(
        self, conn: psycopg.Connection, source_key: str, landed_at: datetime | None, claims: pa.Table
    ) -> None:
        """Make `claims` (a table of `CLAIM_COLUMNS`, landed at `landed_at`) the source's only claims."""
        conn.execute(
            "delete from vectordb_ledger where collection = %s and namespace = %s and source_key = %s",
            (self.collection, self.namespace, source_key),
        )
        if claims.num_rows == 0 or landed_at is None:
            return
        columns = [
            text_column(self.collection),
            text_column(self.namespace),
            text_column(claims.column("vector_id")),
            text_column(source_key),
            text_column(claims.column("record_hash")),
            text_column(claims.column("content_hash")),
            text_column(claims.column("model")),
            timestamptz_column(landed_at),
        ]
        copy_binary(
            conn,
            "copy vectordb_ledger"
            " (collection, namespace, vector_id, source_key, record_hash, content_hash, model, landed_at)"
            " from stdin with (format binary)",
            claims.num_rows,
            columns,
        )

    def touch(self, conn: psycopg.Connection, source_key: str, ids: list[str]) -> None:
        """Give the source's claims on `ids` a new row version, so that syncs planned before this
        commit see that these ids were written again."""
        conn.execute(
            "update vectordb_ledger set updated_at = now()"
            " where collection = %s and namespace = %s and source_key = %s and vector_id = any(%s)",
            (self.collection, self.namespace, source_key, ids),
        )

    def finish(self, conn: psycopg.Connection, source_key: str, source_etag: str | None) -> None:
        """Record that the namespace now holds version `source_etag` of the source (None: gone),
        and clear the attempt's mark: both commit with the claims."""
        conn.execute(
            "delete from vectordb_sync_attempts where collection = %s and namespace = %s and source_key = %s",
            (self.collection, self.namespace, source_key),
        )
        if source_etag is None:
            conn.execute(
                "delete from vectordb_indexed_sources where collection = %s and namespace = %s and source_key = %s",
                (self.collection, self.namespace, source_key),
            )
            return
        conn.execute(
            "insert into vectordb_indexed_sources (collection, namespace, source_key, source_etag)"
            " values (%s, %s, %s, %s) on conflict (collection, namespace, source_key)"
            " do update set source_etag = excluded.source_etag, indexed_at = now()",
            (self.collection, self.namespace, source_key, source_etag),
        )

    def keep_statistics(self, written: int) -> None:
        """Analyze the ledger once a tenth of it changed since the planner last counted it (as
        autovacuum does, but at once; `written`: the claims this sync just wrote, which the
        server's counters may not show yet): until then the planner takes a filling namespace for
        a few rows, and `read_claims` scans every claim of it for each file instead of looking up
        the file's ids. One sync analyzes at a time; the others do not wait for it."""
        with self.state_db.connect() as conn:
            stale = conn.execute(
                "select greatest(s.n_mod_since_analyze, %s) > 50 + 0.1 * greatest(c.reltuples, 0)"
                " from pg_class c join pg_stat_user_tables s on s.relid = c.oid where c.oid = 'vectordb_ledger'::regclass",
                (written,),
            ).fetchone()
            if (
                stale
                and stale[0]
                and conn.execute("select pg_try_advisory_xact_lock(hashtext('vectordb.ledger.analyze'))").fetchone()[0]
            ):
                conn.execute("analyze vectordb_ledger")

    def recorded_versions(self, conn: psycopg.Connection, source_keys: list[str]) -> dict[str, str]:
        """The etag of the version the namespace holds of each of `source_keys` it holds."""
        rows = conn.execute(
            "select source_key, source_etag from vectordb_indexed_sources"
            " where collection = %s and namespace = %s and source_key = any(%s)",
            (self.collection, self.namespace, source_keys),
        )
        return dict(rows.fetchall())

    def owned_samples(self, conn: psycopg.Connection, source_keys: list[str], limit: int) -> dict[str, dict[str, str]]:
        """For each of `source_keys`, up to `limit` ids it owns (its claim is the newest), a stable
        pseudo-random choice, with the content hash the store should hold for each."""
        rows = conn.execute(
            "select source_key, vector_id, content_hash from ("
            " select l.source_key, l.vector_id, l.content_hash,"
            "  row_number() over (partition by l.source_key order by md5(l.vector_id)) as n"
            " from vectordb_ledger l"
            " where l.collection = %s and l.namespace = %s and l.source_key = any(%s) and not exists ("
            "  select 1 from vectordb_ledger o where o.collection = l.collection and o.namespace = l.namespace"
            "  and o.vector_id = l.vector_id and (o.landed_at, o.source_key) > (l.landed_at, l.source_key))"
            ") as owned where n <= %s",
            (self.collection, self.namespace, source_keys, limit),
        )
        samples: dict[str, dict[str, str]] = {key: {} for key in source_keys}
        for key, vector_id, content_hash in rows:
            samples[key][vector_id] = content_hash
        return samples

    def count(self, conn: psycopg.Connection) -> int:
        """How many distinct ids the namespace's claims cover (what the store should hold)."""
        row = conn.execute(
            "select count(distinct vector_id) from vectordb_ledger where collection = %s and namespace = %s",
            (self.collection, self.namespace),
        ).fetchone()
        return int(row[0])

    def owners(self, conn: psycopg.Connection) -> dict[str, Claim]:
        """The owning claim of every id in the namespace: what the store must hold."""
        rows = conn.execute(
            "select distinct on (vector_id) vector_id, source_key, record_hash, model, landed_at, content_hash"
            " from vectordb_ledger where collection = %s and namespace = %s"
            " order by vector_id, landed_at desc, source_key desc",
            (self.collection, self.namespace),
        ).fetchall()
        return {r[0]: Claim(r[1], r[2], r[3], r[4], r[5]) for r in rows}


def ledger_namespaces(conn: psycopg.Connection, collection: str) -> list[str]:
    """The namespaces with claims in a collection."""
    rows = conn.execute(
        "select distinct namespace from vectordb_ledger where collection = %s order by namespace", (collection,)
    ).fetchall()
    return [r[0] for r in rows]


def namespaces_holding(conn: psycopg.Connection, collection: str, source_key: str) -> set[str]:
    """The namespaces of a collection that hold the source's vectors, or may (a sync began there
    and did not commit)."""
    rows = conn.execute(
        "select namespace from vectordb_indexed_sources where source_key = %s and collection = %s"
        " union select namespace from vectordb_sync_attempts where source_key = %s and collection = %s",
        (source_key, collection, source_key, collection),
    )
    return {namespace for (namespace,) in rows}


def indexed_versions(conn: psycopg.Connection, collection: str | None = None, prefix: str = "") -> dict[str, set[str]]:
    """Source key → the etags of its versions that the index holds: in `collection`'s namespaces
    (or any collection's), for the sources whose keys start with `prefix`."""
    query = "select source_key, source_etag from vectordb_indexed_sources where starts_with(source_key, %s)"
    rows = (
        conn.execute(query + " and collection = %s", (prefix, collection))
        if collection is not None
        else conn.execute(query, (prefix,))
    )
    versions: dict[str, set[str]] = {}
    for key, etag in rows:
        versions.setdefault(key, set()).add(etag)
    return versions


def still_indexed(conn: psycopg.Connection, source_keys: list[str]) -> set[str]:
    """The keys among `source_keys` whose vectors some collection and namespace still holds."""
    rows = conn.execute(
        "select distinct source_key from vectordb_indexed_sources where source_key = any(%s)", (source_keys,)
    )
    return {key for (key,) in rows}
