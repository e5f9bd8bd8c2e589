"""The landing catalog: the version of each landed object that the landing sensor has requested.

It lets the sensor compare a listing page, or the objects of a batch of S3 events, with what it
has seen, with one range or key query instead of loading every partition. Each entry records the
sensor tick that wrote it: entries of a tick whose result Dagster never committed (the cursor
still names an earlier tick) are requested again by the next tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

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


class LandingCatalog:
    """Catalog entries of one landing location, in the state database."""

    def __init__(self, state_db: StateDatabase, source: str):
        self.state_db = state_db
        self.source = source

    def _select(self, conn: psycopg.Connection, condition: str, params: tuple = ()) -> dict[str, Entry]:
        """The source's entries meeting `condition` (a fixed SQL condition with `params`)."""
        query = sql.SQL("select object_key, version, ordinal, usable, gone from vectordb_landing_catalog"
                        " where source = %s and {}").format(sql.SQL(condition))
        return {key: Entry(*entry) for key, *entry in conn.execute(query, (self.source, *params))}

    def window(self, conn: psycopg.Connection, after: str | None, through: str | None) -> dict[str, Entry]:
        """Entries with keys after `after` up to `through` (None: no bound), read by a range scan."""
        bounds = [(bound, value) for bound, value in (("object_key > %s", after), ("object_key <= %s", through)) if value]
        return self._select(conn, " and ".join(b for b, _ in bounds) or "true", tuple(v for _, v in bounds))

    def entries(self, conn: psycopg.Connection, keys: Iterable[str]) -> dict[str, Entry]:
        """The entries of `keys` that the catalog holds."""
        return self._select(conn, "object_key = any(%s)", (list(keys),))

    def uncommitted(self, conn: psycopg.Connection, committed_tick: int) -> dict[str, Entry]:
        """Entries written by ticks after `committed_tick`, whose requests may never have been made."""
        return self._select(conn, "tick > %s", (committed_tick,))

    def deleting(self, conn: psycopg.Connection, limit: int) -> list[str]:
        """Up to `limit` keys whose deletion was requested, oldest request first."""
        rows = conn.execute(
            "select object_key from vectordb_landing_catalog where source = %s and gone"
            " order by tick, object_key limit %s",
            (self.source, limit),
        )
        return [key for (key,) in rows]

    def is_empty(self, conn: psycopg.Connection) -> bool:
        return conn.execute("select not exists (select 1 from vectordb_landing_catalog where source = %s)", (self.source,)).fetchone()[0]

    def next_ordinal(self, conn: psycopg.Connection) -> int:
        row = conn.execute(
            "select coalesce(max(ordinal), 0) + 1 from vectordb_landing_catalog where source = %s", (self.source,)
        ).fetchone()
        return int(row[0])

    def record(self, conn: psycopg.Connection, tick: int, entries: dict[str, Entry]) -> None:
        """Write `entries` as of `tick`."""
        if not entries:
            return
        with conn.cursor() as cursor:
            cursor.executemany(
                "insert into vectordb_landing_catalog (source, object_key, version, ordinal, usable, gone, tick)"
                " values (%s, %s, %s, %s, %s, %s, %s) on conflict (source, object_key) do update set"
                " version = excluded.version, ordinal = excluded.ordinal, usable = excluded.usable,"
                " gone = excluded.gone, tick = excluded.tick",
                [(self.source, key, e.version, e.ordinal, e.usable, e.gone, tick) for key, e in entries.items()],
            )

    def forget(self, conn: psycopg.Connection, keys: Iterable[str]) -> None:
        """Remove the entries of objects that are gone for good."""
        conn.execute(
            "delete from vectordb_landing_catalog where source = %s and object_key = any(%s)", (self.source, list(keys))
        )

