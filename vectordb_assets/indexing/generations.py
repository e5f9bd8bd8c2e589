"""Model generations: each model's vectors in a store collection of their own, and the live
pointer that readers follow.

A collection (the configured table, Pinecone index or S3 Vectors prefix) has one generation per
model it was ever indexed with. The first keeps the collection's own name, so that an index made
before a model change stays where it is; a later one is named `<collection>_<generation>`. One
generation at a time is live: searches, checks and applications read it. A generation starts
`building` when its model is configured while another is live, becomes `live` when promoted,
`retired` when another is promoted, and `dropped` when a retired one has outlived the retention.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from resources.state_db import StateDatabase

BUILDING, LIVE, RETIRED, DROPPED = "building", "live", "retired", "dropped"
# Store names derived from the collection's (a generation's, the live view's) fit in this many characters.
MAX_NAME = 48
# Files named in a report of what a generation lacks.
EXAMPLES = 50


class GenerationError(ValueError):
    """A generation that does not exist, or cannot be promoted."""


@dataclass(frozen=True)
class Generation:
    """One model's vectors of a collection."""

    collection: str
    generation: str
    model: str
    dimension: int
    embedder: dict[str, Any]  # the settings that make this model's embedder (never a secret)
    store_collection: str
    state: str
    created_at: datetime
    promoted_at: datetime | None
    retired_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        times = {name: getattr(self, name) for name in ("created_at", "promoted_at", "retired_at")}
        return {
            **{
                name: getattr(self, name)
                for name in ("collection", "generation", "model", "dimension", "store_collection", "state")
            },
            **{name: value.isoformat(timespec="seconds") if value else None for name, value in times.items()},
        }


def generation_id(model: str, dimension: int) -> str:
    """A short, stable name for a model and dimension."""
    return hashlib.sha256(f"{model}|{dimension}".encode()).hexdigest()[:8]


def derived_name(collection: str, suffix: str) -> str:
    """`collection` + `suffix`, the collection's part shortened so that the name fits `MAX_NAME`."""
    return collection[: MAX_NAME - len(suffix)] + suffix


@dataclass(frozen=True)
class Lacking:
    """What a generation lacks of the live one: files the live generation holds at a version the
    generation does not (count, and examples as namespace/key → why)."""

    count: int
    examples: dict[str, str]


COLUMNS = sql.SQL(", ").join(
    map(
        sql.Identifier,
        (
            "collection",
            "generation",
            "model",
            "dimension",
            "embedder",
            "store_collection",
            "state",
            "created_at",
            "promoted_at",
            "retired_at",
        ),
    )
)


class GenerationRegistry:
    """The generations of one collection, in the state database."""

    def __init__(self, state_db: StateDatabase, collection: str):
        self.state_db = state_db
        self.collection = collection

    @contextmanager
    def _locked(self) -> Iterator[psycopg.Connection]:
        """A transaction holding the collection's generations (registering and promoting wait for it)."""
        with self.state_db.connect() as conn:
            with conn.transaction():
                conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"vectordb.generations/{self.collection}",))
                yield conn

    def _select(self, conn: psycopg.Connection, condition: str, params: tuple = ()) -> list[Generation]:
        query = sql.SQL(
            "select {} from vectordb_generations where collection = %s and {} order by created_at, generation"
        )
        rows = conn.execute(query.format(COLUMNS, sql.SQL(condition)), (self.collection, *params))
        return [Generation(*row) for row in rows]

    def all(self) -> list[Generation]:
        """Every generation, oldest first (dropped ones too: their history)."""
        with self.state_db.connect() as conn:
            return self._select(conn, "true")

    def live(self) -> Generation | None:
        """The generation readers use; None before the first run indexed anything."""
        with self.state_db.connect() as conn:
            found = self._select(conn, "state = %s", (LIVE,))
        return found[0] if found else None

    def get(self, generation: str) -> Generation:
        """A generation by its id; raises `GenerationError` naming the ones there are."""
        with self.state_db.connect() as conn:
            found = self._select(conn, "generation = %s", (generation,))
        if not found:
            known = ", ".join(f"{g.generation} ({g.model}, {g.state})" for g in self.all()) or "none"
            raise GenerationError(f"collection {self.collection!r} has no generation {generation!r}; it has: {known}")
        return found[0]

    def register(
        self, model: str, dimension: int, embedder: dict[str, Any], name_is_free: Callable[[], bool]
    ) -> Generation:
        """The generation of `model`, registered when new: the collection's first is live at once
        and keeps the collection's name (unless `name_is_free()` says a collection of another
        dimension, made before generations, holds it); a later one is building, under a name of
        its own. A dropped generation whose model is configured again starts building anew."""
        generation = generation_id(model, dimension)
        with self._locked() as conn:
            found = self._select(conn, "generation = %s", (generation,))
            if found and found[0].state != DROPPED:
                return found[0]
            if found:
                conn.execute(
                    "update vectordb_generations set state = %s, embedder = %s, created_at = now(), promoted_at = null,"
                    " retired_at = null where collection = %s and generation = %s",
                    (BUILDING, Jsonb(embedder), self.collection, generation),
                )
            else:
                first = not self._select(conn, "true")
                own_name = first and name_is_free()
                insert = sql.SQL(
                    "insert into vectordb_generations ({}) values (%s, %s, %s, %s, %s, %s, %s, now(),"
                    " case when %s then now() end, null)"
                )
                conn.execute(
                    insert.format(COLUMNS),
                    (
                        self.collection,
                        generation,
                        model,
                        dimension,
                        Jsonb(embedder),
                        self.collection if own_name else derived_name(self.collection, f"_{generation}"),
                        LIVE if first else BUILDING,
                        first,
                    ),
                )
            return self._select(conn, "generation = %s", (generation,))[0]

    def promote(
        self, generation: str, point_readers: Callable[[psycopg.Connection, Generation], None]
    ) -> Generation | None:
        """Make `generation` live and the live one retired, and call `point_readers(conn, new)` in
        the same transaction (a store's view follows then, or not at all). Returns the generation
        that was live (None when it already was this one)."""
        with self._locked() as conn:
            target = self._select(conn, "generation = %s", (generation,))
            if not target or target[0].state == DROPPED:
                raise GenerationError(
                    f"generation {generation!r} of collection {self.collection!r} does not exist (or was dropped)"
                )
            if target[0].state == LIVE:
                return None
            previous = self._select(conn, "state = %s", (LIVE,))
            conn.execute(
                "update vectordb_generations set state = %s, retired_at = now() where collection = %s and state = %s",
                (RETIRED, self.collection, LIVE),
            )
            conn.execute(
                "update vectordb_generations set state = %s, promoted_at = now(), retired_at = null"
                " where collection = %s and generation = %s",
                (LIVE, self.collection, generation),
            )
            point_readers(conn, target[0])
        return previous[0] if previous else None

    def point(self, generation: Generation, point_readers: Callable[[psycopg.Connection, Generation], None]) -> None:
        """Call `point_readers(conn, generation)` under the collection's lock, if it is still live."""
        with self._locked() as conn:
            if self._select(conn, "generation = %s and state = %s", (generation.generation, LIVE)):
                point_readers(conn, generation)

    def expired(self, retention: timedelta) -> list[Generation]:
        """Retired generations retired longer than `retention` ago."""
        with self.state_db.connect() as conn:
            return self._select(conn, "state = %s and retired_at < now() - %s", (RETIRED, retention))

    def forget(self, generation: Generation) -> None:
        """Mark a generation dropped and remove its ledger (its store collection is already gone)."""
        with self._locked() as conn:
            for table in ("vectordb_ledger", "vectordb_indexed_sources", "vectordb_sync_attempts"):
                conn.execute(
                    sql.SQL("delete from {} where collection = %s").format(sql.Identifier(table)),
                    (generation.store_collection,),
                )
            conn.execute(
                "update vectordb_generations set state = %s where collection = %s and generation = %s",
                (DROPPED, self.collection, generation.generation),
            )

    def lacking(self, generation: Generation, live: Generation) -> Lacking:
        """The files `live` holds at a version `generation` does not hold them at (same namespace)."""
        with self.state_db.connect() as conn:
            rows = conn.execute(
                "select l.namespace, l.source_key, t.source_etag is null, count(*) over ()"
                " from vectordb_indexed_sources l left join vectordb_indexed_sources t"
                " on t.collection = %s and t.namespace = l.namespace and t.source_key = l.source_key"
                " where l.collection = %s and t.source_etag is distinct from l.source_etag"
                " order by l.namespace, l.source_key limit %s",
                (generation.store_collection, live.store_collection, EXAMPLES),
            ).fetchall()
        examples = {f"{ns}/{key}": "not indexed" if missing else "an older version" for ns, key, missing, _ in rows}
        return Lacking(rows[0][3] if rows else 0, examples)

    def counts(self, generation: Generation) -> dict[str, int]:
        """Files and vectors the ledger records in a generation."""
        with self.state_db.connect() as conn:
            (files,) = conn.execute(
                "select count(*) from vectordb_indexed_sources where collection = %s", (generation.store_collection,)
            ).fetchone()
            (vectors,) = conn.execute(
                "select count(*) from (select distinct namespace, vector_id from vectordb_ledger where collection = %s) as ids",
                (generation.store_collection,),
            ).fetchone()
        return {"files": files, "vectors": vectors}
