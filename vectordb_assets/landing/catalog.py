"""The landing catalog: the version of each landed object that the landing sensor has requested.

It lets the sensor compare a listing page, or the objects of a batch of S3 events, with what it
has seen, with one range or key query instead of loading every partition. Each entry records the
sensor tick that wrote it: entries of a tick whose result Dagster never committed (the cursor
still names an earlier tick) are requested again by the next tick, and so are entries the tick
held back (recorded without a run while a backlog of events is read).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from resources.object_store import StoredObject
from resources.state_db import StateDatabase


def version_of(obj: StoredObject) -> str:
    """An object's version: its etag and modification time (an object deleted and landed again
    with the same bytes is a new version)."""
    return f"{obj.etag}@{obj.last_modified.isoformat()}"


@dataclass(frozen=True)
class Entry:
    """One object as the catalog holds it."""

    version: str  # the version last seen
    ordinal: int | None = None  # the partition's place in the order the sensor added partitions
    usable: bool = True  # False: the key cannot be a partition (warned about once per version)
    gone: bool = False  # the object is gone and its deletion requested


class PartitionDepthChanged(Exception):
    """The partition depth set differs from the one the location's partitions were made with."""


class LandingCatalog:
    """Catalog entries of one landing location, in the state database."""

    def __init__(self, state_db: StateDatabase, source: str):
        self.state_db = state_db
        self.source = source

    def _select(self, conn: psycopg.Connection, condition: str, params: tuple = ()) -> dict[str, Entry]:
        """The source's entries meeting `condition` (a fixed SQL condition with `params`)."""
        query = sql.SQL(
            "select object_key, version, ordinal, usable, gone from vectordb_landing_catalog where source = %s and {}"
        ).format(sql.SQL(condition))
        return {key: Entry(*entry) for key, *entry in conn.execute(query, (self.source, *params))}

    def window(self, conn: psycopg.Connection, after: str | None, through: str | None) -> dict[str, Entry]:
        """Entries with keys after `after` up to `through` (None: no bound), read by a range scan."""
        bounds = [
            (bound, value) for bound, value in (("object_key > %s", after), ("object_key <= %s", through)) if value
        ]
        return self._select(conn, " and ".join(b for b, _ in bounds) or "true", tuple(v for _, v in bounds))

    def entries(self, conn: psycopg.Connection, keys: Iterable[str]) -> dict[str, Entry]:
        """The entries of `keys` that the catalog holds."""
        return self._select(conn, "object_key = any(%s)", (list(keys),))

    def unrequested(self, conn: psycopg.Connection, committed_tick: int) -> dict[str, Entry]:
        """Entries written by ticks after `committed_tick`, whose requests may never have been made,
        and entries held back."""
        return self._select(conn, "(tick > %s or held)", (committed_tick,))

    def deleting(self, conn: psycopg.Connection, limit: int) -> list[str]:
        """Up to `limit` keys whose deletion was requested, oldest request first."""
        rows = conn.execute(
            "select object_key from vectordb_landing_catalog where source = %s and gone and not held"
            " order by tick, object_key limit %s",
            (self.source, limit),
        )
        return [key for (key,) in rows]

    def is_empty(self, conn: psycopg.Connection) -> bool:
        return conn.execute(
            "select not exists (select 1 from vectordb_landing_catalog where source = %s)", (self.source,)
        ).fetchone()[0]

    def next_ordinal(self, conn: psycopg.Connection) -> int:
        row = conn.execute(
            "select coalesce(max(ordinal), 0) + 1 from vectordb_landing_catalog where source = %s", (self.source,)
        ).fetchone()
        return int(row[0])

    def record(self, conn: psycopg.Connection, tick: int, entries: dict[str, Entry], held: bool = False) -> None:
        """Write `entries` as of `tick`; `held`: their runs are not requested yet."""
        if not entries:
            return
        with conn.cursor() as cursor:
            cursor.executemany(
                "insert into vectordb_landing_catalog (source, object_key, version, ordinal, usable, gone, tick, held)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s) on conflict (source, object_key) do update set"
                " version = excluded.version, ordinal = excluded.ordinal, usable = excluded.usable,"
                " gone = excluded.gone, tick = excluded.tick, held = excluded.held",
                [(self.source, key, e.version, e.ordinal, e.usable, e.gone, tick, held) for key, e in entries.items()],
            )

    def forget(self, conn: psycopg.Connection, keys: Iterable[str]) -> None:
        """Remove the entries of objects that are gone for good."""
        conn.execute(
            "delete from vectordb_landing_catalog where source = %s and object_key = any(%s)", (self.source, list(keys))
        )

    def check_depth(self, conn: psycopg.Connection, depth: int) -> None:
        """Record the partition depth of a new location; refuse another depth for a location whose
        partitions were made with one (a file would then be in two partitions)."""
        row = conn.execute(
            "select partition_depth from vectordb_landing_sources where source = %s", (self.source,)
        ).fetchone()
        empty = self.is_empty(conn)
        recorded = row[0] if row else (depth if empty else 0)  # before depths were recorded, there was only 0
        if recorded != depth and not empty:
            raise PartitionDepthChanged(
                f"VECTORDB_PARTITION_DEPTH is {depth}, but the partitions of {self.source} were made with depth "
                f"{recorded}: changing it would put every file in a second partition. Set it back to {recorded}, or "
                "land into a new location (or a new state database) to use another depth."
            )
        conn.execute(
            "insert into vectordb_landing_sources (source, partition_depth) values (%s, %s)"
            " on conflict (source) do update set partition_depth = excluded.partition_depth",
            (self.source, depth),
        )

    def _first_under(self, conn: psycopg.Connection, folder: str, limit: int) -> list[tuple[str, int | None]]:
        """Up to `limit` entries under `folder`, in key order: (key, ordinal)."""
        rows = conn.execute(
            "select object_key, ordinal from vectordb_landing_catalog where source = %s and object_key >= %s"
            " order by object_key limit %s",
            (self.source, folder, limit),
        ).fetchall()
        return [(key, ordinal) for key, ordinal in rows if key.startswith(folder)]

    def folder_ordinals(self, conn: psycopg.Connection, folders: Iterable[str]) -> dict[str, int]:
        """The place of each of `folders` (folder partitions) that holds objects in the catalog."""
        found = {}
        for folder in folders:
            entries = self._first_under(conn, folder, 1)
            if entries and entries[0][1] is not None:
                found[folder] = entries[0][1]
        return found

    def holds_other(self, conn: psycopg.Connection, folder: str, keys: Iterable[str]) -> bool:
        """Whether the catalog holds an object under `folder` besides `keys`."""
        leaving = set(keys)
        return any(key not in leaving for key, _ in self._first_under(conn, folder, len(leaving) + 1))
