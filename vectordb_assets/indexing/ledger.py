"""The vector ledger: which sources claim each vector id, and so what the store must hold.

Every source that contains an id holds a claim on it; the most recently landed claim owns the
id, and the store holds the owner's vector. Syncing one source compares its rows with the claims
and yields a plan: what to write, what to skip, what to delete, and which ids go back to an
older source when the newer one drops them.

Syncs of different sources run at once. Each writes the store without holding the namespace,
then takes its turn to commit: it reads the claims on its ids again, and any id whose other
claims changed meanwhile (another sync committed it) is settled, written as its claims now say,
before the commit. An attempt that died between writing and committing is known by the mark it
left, and its retry settles every id it touches.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Iterator, Mapping, NamedTuple

import psycopg
import pyarrow as pa

from resources.pg_binary_copy import copy_binary, text_column, timestamptz_column
from resources.state_db import StateDatabase
from resources.state_schema import ensure_state_schema


class Claim(NamedTuple):
    """One source's version of one vector id (a tuple: a file's worth of them is built quickly)."""

    source_key: str
    record_hash: str  # the row's content and non-volatile metadata
    model: str
    landed_at: datetime
    content_hash: str = ""  # what the store records for the row, for reconciliation


def owner_of(claims: Mapping[str, Claim]) -> Claim | None:
    """The newest landed claim (ties broken by source key, so the choice is stable)."""
    return max(claims.values(), key=lambda c: (c.landed_at, c.source_key), default=None)


# Columns of a table of one source's claims: what `VectorLedger.plan` and `replace_claims` take.
CLAIM_COLUMNS = ("vector_id", "record_hash", "content_hash", "model")


@dataclass
class SyncPlan:
    """What syncing one source must do to the store and to the ledger."""

    write_new: list[str] = field(default_factory=list)  # ids no source claimed before
    write_changed: list[str] = field(default_factory=list)  # ids whose stored vector must change
    write_from: dict[str, list[str]] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    skipped: int = 0
    shadowed: int = 0
    claims_changed: bool = True  # whether the ledger's claims of the source must be rewritten

    @classmethod
    def first_load(cls, ids: list[str]) -> "SyncPlan":
        """The plan when no source claims any of `ids` yet: every row is new."""
        return cls(write_new=list(ids), claims_changed=bool(ids))

    @property
    def write_own(self) -> list[str]:
        """Every id that this source's own rows write."""
        return self.write_new + self.write_changed

    @property
    def ids(self) -> list[str]:
        """Every id the plan writes or deletes."""
        return self.delete + self.write_own + [vid for ids in self.write_from.values() for vid in ids]

    @property
    def writes(self) -> int:
        """How many ids the plan writes or deletes."""
        return len(self.delete) + len(self.write_own) + sum(map(len, self.write_from.values()))

    @property
    def added(self) -> int:
        return len(self.write_new)

    @property
    def updated(self) -> int:
        return len(self.write_changed)


def claim_objects(source_key: str, landed_at: datetime | None, claims: pa.Table) -> dict[str, Claim]:
    """The claim objects of a table of `CLAIM_COLUMNS` (built only when some ids are claimed
    already: a first load needs none)."""
    columns = (claims.column(name).to_pylist() for name in ("vector_id", "record_hash", "model", "content_hash"))
    return {
        vid: Claim(source_key, record_hash, model, landed_at, content_hash)
        for vid, record_hash, model, content_hash in zip(*columns)
    }


def settle(source_key: str, incoming: Mapping[str, Claim], current: Mapping[str, Mapping[str, Claim]], ids: Iterable[str]) -> SyncPlan:
    """A plan that puts each of `ids` in the state its claims give once `source_key`'s claims are
    `incoming`, whatever the store holds now: for ids that another sync may have written."""
    plan = SyncPlan(claims_changed=False)
    for vid in sorted(ids):
        after = {k: v for k, v in current.get(vid, {}).items() if k != source_key}
        if vid in incoming:
            after[source_key] = incoming[vid]
        owner = owner_of(after)
        if owner is None:
            plan.delete.append(vid)
        elif owner.source_key == source_key:
            plan.write_changed.append(vid)
        else:
            plan.write_from.setdefault(owner.source_key, []).append(vid)
    return plan


@dataclass(frozen=True)
class ClaimsRead:
    """The claims on a source's ids at one moment, and the row versions of other sources' claims,
    which change whenever another sync commits a change to that id."""

    claims: dict[str, dict[str, Claim]]
    revisions: dict[str, frozenset[tuple[str, str]]]

    def changed_since(self, earlier: "ClaimsRead") -> set[str]:
        """The ids whose other sources' claims changed between `earlier` and this read."""
        ids = self.revisions.keys() | earlier.revisions.keys()
        return {vid for vid in ids if self.revisions.get(vid) != earlier.revisions.get(vid)}


def plan_sync(source_key: str, incoming: Mapping[str, Claim], current: Mapping[str, Mapping[str, Claim]]) -> SyncPlan:
    """Compare a source's new claims with the ledger's claims on the same ids.

    `current` maps each id that `source_key` claims now or will claim to all of its claims.
    """
    plan = SyncPlan()
    previous = {vid: claims[source_key] for vid, claims in current.items() if source_key in claims}
    plan.claims_changed = previous != incoming
    affected = set(incoming) | set(previous)
    for vid in sorted(affected):
        before = dict(current.get(vid, {}))
        after = {k: v for k, v in before.items() if k != source_key}
        if vid in incoming:
            after[source_key] = incoming[vid]
        old, new = owner_of(before), owner_of(after)
        if new is None:
            plan.delete.append(vid)
        elif new.source_key == source_key:
            if old is None:
                plan.write_new.append(vid)
            elif (old.source_key, old.record_hash, old.model) == (source_key, new.record_hash, new.model):
                plan.skipped += 1
            else:
                plan.write_changed.append(vid)
        elif old is not None and old.source_key == new.source_key:
            plan.shadowed += 1  # a newer source owns this id; this source's row waits behind it
        else:
            plan.write_from.setdefault(new.source_key, []).append(vid)
    return plan


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
            ensure_state_schema(conn)
            with conn.transaction():
                conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (self._lock_key(),))
                yield conn

    @contextmanager
    def syncing(self, source_key: str) -> Iterator[tuple[psycopg.Connection, bool]]:
        """A transaction for syncing one source, and whether an earlier attempt at it died before
        committing. One sync per source at a time; syncs of other sources run alongside."""
        with self.state_db.connect() as conn:
            ensure_state_schema(conn)
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

    def replace_claims(self, conn: psycopg.Connection, source_key: str, landed_at: datetime | None, claims: pa.Table) -> None:
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
            if stale and stale[0] and conn.execute(
                "select pg_try_advisory_xact_lock(hashtext('vectordb.ledger.analyze'))"
            ).fetchone()[0]:
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
    ensure_state_schema(conn)
    rows = conn.execute(
        "select distinct namespace from vectordb_ledger where collection = %s order by namespace", (collection,)
    ).fetchall()
    return [r[0] for r in rows]


def namespaces_holding(conn: psycopg.Connection, collection: str, source_key: str) -> set[str]:
    """The namespaces of a collection that hold the source's vectors, or may (a sync began there
    and did not commit)."""
    ensure_state_schema(conn)
    rows = conn.execute(
        "select namespace from vectordb_indexed_sources where source_key = %s and collection = %s"
        " union select namespace from vectordb_sync_attempts where source_key = %s and collection = %s",
        (source_key, collection, source_key, collection),
    )
    return {namespace for (namespace,) in rows}


def indexed_versions(conn: psycopg.Connection, collection: str) -> dict[str, set[str]]:
    """Source key → the etags of its versions that the collection's namespaces hold."""
    ensure_state_schema(conn)
    rows = conn.execute(
        "select source_key, source_etag from vectordb_indexed_sources where collection = %s", (collection,)
    )
    versions: dict[str, set[str]] = {}
    for key, etag in rows:
        versions.setdefault(key, set()).add(etag)
    return versions


def indexed_under(conn: psycopg.Connection, prefix: str) -> dict[str, set[str]]:
    """Source key → the etags of its versions that any collection and namespace holds, for the
    sources whose keys start with `prefix`."""
    ensure_state_schema(conn)
    rows = conn.execute("select source_key, source_etag from vectordb_indexed_sources where starts_with(source_key, %s)", (prefix,))
    versions: dict[str, set[str]] = {}
    for key, etag in rows:
        versions.setdefault(key, set()).add(etag)
    return versions


def still_indexed(conn: psycopg.Connection, source_keys: list[str]) -> set[str]:
    """The keys among `source_keys` whose vectors some collection and namespace still holds."""
    ensure_state_schema(conn)
    rows = conn.execute("select distinct source_key from vectordb_indexed_sources where source_key = any(%s)", (source_keys,))
    return {key for (key,) in rows}
