"""The vector store interface shared by pgvector, Pinecone and S3 Vectors."""

from __future__ import annotations

import json
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from resources.settings_only import SettingsOnlyResource

COLLECTION_NAME = re.compile(r"[a-z_][a-z0-9_]{0,47}")

# Columns of the table passed to `upsert`.
RECORD_COLUMNS = ("id", "embedding", "text", "metadata", "content_hash", "source_key")


class CollectionNameError(ValueError):
    """A collection name that is not a plain lower-case identifier."""


class DimensionMismatchError(ValueError):
    """Vectors whose length differs from the collection's."""


class InvalidVectorError(ValueError):
    """A vector the store would refuse or could not compare (NaN, infinite, all zeros under
    cosine, or beyond the range of its column type)."""


def check_dimension(collection: str, expected: int | None, got: int) -> None:
    """Refuse vectors of another dimension than the collection's, in pgvector's words."""
    if expected is not None and expected != got:
        raise DimensionMismatchError(f"collection {collection!r} expects {expected} dimensions, not {got}")


def validate_collection_name(name: str) -> str:
    """Return `name` if it is a safe identifier, else raise `CollectionNameError`."""
    if not isinstance(name, str) or not COLLECTION_NAME.fullmatch(name):
        raise CollectionNameError(
            f"collection name {name!r} is not allowed: use 1-48 characters of a-z, 0-9 and _, "
            "starting with a letter or _"
        )
    return name


@dataclass(frozen=True)
class SearchHit:
    """One result of a similarity query; higher scores are closer."""

    id: str
    score: float
    text: str | None
    source_key: str
    metadata: dict[str, Any]


class VectorStore(SettingsOnlyResource, ABC):
    """A collection of vectors, split into namespaces, keyed by vector id."""

    @property
    @abstractmethod
    def collection_name(self) -> str:
        """The collection (table, index) this store writes to."""

    @abstractmethod
    def collection_dimension(self) -> int | None:
        """The dimension of the existing collection, or None if it does not exist yet."""

    @abstractmethod
    def with_collection(self, name: str) -> VectorStore:
        """The same store, writing to another collection."""

    @abstractmethod
    def ensure_collection(self, dimension: int) -> None:
        """Create the collection if missing; raise `DimensionMismatchError` if it has another dimension."""

    @abstractmethod
    def drop_collection(self, namespaces: Sequence[str]) -> None:
        """Remove the collection and its vectors (`namespaces`: those the ledger knows it to hold);
        what the settings named and this platform did not create is emptied, not removed."""

    def point_readers(self, conn: Any, alias: str) -> None:
        """Make `alias` read this collection, in the state database transaction `conn` (pgvector's
        view); stores without aliases have nothing to do: their readers look the live name up."""

    def after_writes(self) -> None:
        """Called once a run's writes are done (pgvector builds its index here, after the first load)."""

    @abstractmethod
    def upsert(self, namespace: str, records: pa.Table, assume_new: bool = False) -> int:
        """Insert or replace the records (columns `RECORD_COLUMNS`); returns how many were written.
        `assume_new` says the ledger has never seen these ids (a store may load them faster)."""

    @abstractmethod
    def delete(self, namespace: str, ids: Sequence[str]) -> int:
        """Remove vectors by id; absent ids are ignored. Returns how many were asked to go."""

    @abstractmethod
    def query(
        self, namespace: str, vector: np.ndarray, top_k: int, filters: Mapping[str, str] | None = None
    ) -> list[SearchHit]:
        """The `top_k` nearest vectors, nearest first; `filters` keeps those whose metadata field
        equals the given value (compared as text)."""

    @abstractmethod
    def count(self, namespace: str) -> int:
        """How many vectors the namespace holds."""

    @abstractmethod
    def list_ids(self, namespace: str) -> Iterator[str]:
        """Every vector id in the namespace."""

    @abstractmethod
    def content_hashes(self, namespace: str, ids: Sequence[str]) -> dict[str, str]:
        """The content hash stored with each of `ids` that exists."""


def record_vectors(records: pa.Table) -> np.ndarray:
    """The `embedding` column of store records as a 2-D float32 array, without a list per row."""
    column = records.column("embedding").combine_chunks()
    dim = column.type.list_size
    # The child values of a fixed-size list without nulls are the vectors back to back.
    values = column.values.slice(column.offset * dim, len(column) * dim)
    return values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, dim)


def as_number(value: str) -> float | None:
    """The number a filter value spells (`129` and `129.0` alike), or None: so that `price=129`
    matches a stored 129.0 as well as the text "129"."""
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def equality_filter(filters: Mapping[str, str] | None) -> dict[str, Any]:
    """`{key: value}` as the filter that Pinecone and S3 Vectors take (the value as text, or as
    a number when it is one), or {} for none."""
    conditions = [
        {name: {"$eq": value}} if as_number(value) is None else {name: {"$in": [value, as_number(value)]}}
        for name, value in (filters or {}).items()
    ]
    if not conditions:
        return {}
    return {"filter": conditions[0] if len(conditions) == 1 else {"$and": conditions}}


# Fields every hosted store keeps beside a vector's own metadata; a search returns them apart.
LINEAGE_FIELDS = ("source_key", "content_hash")
TEXT_FIELD = "text"
# Metadata too large to filter on is kept whole under this field (S3 Vectors).
METADATA_JSON_FIELD = "metadata_json"
# Names a hosted store's metadata holds for the platform itself: a landed field of one of these
# names is kept under another at validation (`reserved_renamed`), so it neither overwrites nor
# is overwritten by what the platform writes.
RESERVED_FIELDS = frozenset({*LINEAGE_FIELDS, TEXT_FIELD, METADATA_JSON_FIELD})


def reserved_renamed(name: str, taken: Iterable[str]) -> str:
    """The name a landed field called `name` (one of RESERVED_FIELDS) is kept under: `landed_<name>`,
    with more `landed_` before it while that name is taken too."""
    taken = set(taken)
    renamed = f"landed_{name}"
    while renamed in taken:
        renamed = f"landed_{renamed}"
    return renamed


def stored_metadata(metadata_json: str | None, content_hash: str, source_key: str) -> dict[str, Any]:
    """A record's metadata with its lineage, as a hosted store (Pinecone, S3 Vectors) keeps it."""
    return {**json.loads(metadata_json or "{}"), "source_key": source_key, "content_hash": content_hash}


def packed_metadata_bytes(metadata_json: str, source_key: str) -> int:
    """The bytes of a record's metadata without its text as a hosted store is sent it once its
    landed fields are packed into one (any record over a few KB): what a per-vector limit meets."""
    fields = {**stored_metadata(None, "0" * 64, source_key), METADATA_JSON_FIELD: metadata_json, TEXT_FIELD: ""}
    return len(json.dumps(fields).encode())


def hit_from_metadata(vid: str, score: float, metadata: Mapping[str, Any] | None) -> SearchHit:
    """A search hit from what a hosted store returned: text and lineage apart from the metadata.
    Only what the platform wrote is parsed: packed metadata that is not a JSON object (a vector
    written before landed fields were renamed) stays a plain field, and none of it can stand in
    for the text or the lineage."""
    fields = dict(metadata or {})
    text = fields.pop(TEXT_FIELD, None)
    source_key = fields.pop("source_key", "")
    fields.pop("content_hash", None)
    packed = fields.pop(METADATA_JSON_FIELD, None)
    if packed is not None:
        try:
            unpacked = json.loads(packed) if isinstance(packed, str) else None
        except ValueError:
            unpacked = None
        if isinstance(unpacked, dict):
            fields.update({k: v for k, v in unpacked.items() if k not in RESERVED_FIELDS})
        else:
            fields[METADATA_JSON_FIELD] = packed
    return SearchHit(id=vid, score=float(score), text=text or None, source_key=source_key, metadata=fields)
