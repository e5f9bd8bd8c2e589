"""The files of a folder partition: the objects under the folder now, and those the index still
holds that are gone from it (so that their vectors are removed)."""

from __future__ import annotations

from collections.abc import Callable

from resources.object_store import ObjectStore
from resources.state_db import StateDatabase
from vectordb_assets.indexing.ledger import indexed_versions


def folder_files(
    folder: str,
    source_store: ObjectStore,
    state_db: StateDatabase,
    changed_only: bool,
    quarantined_etag: Callable[[str], str | None],
) -> tuple[list[str], int]:
    """The keys under `folder`, in key order, and how many objects the folder holds. With
    `changed_only`, only the keys whose current version the index does not hold yet and that are
    not quarantined at that version, and those that are gone: what a run for the folder's
    changes has to do."""
    listed = {obj.key: obj.etag for obj in source_store.list_objects(prefix=folder)}
    with state_db.connect() as conn:
        indexed = indexed_versions(conn, prefix=folder)
    keys = sorted(listed.keys() | indexed.keys())
    if not changed_only:
        return keys, len(listed)

    def unchanged(key: str) -> bool:
        etag = listed.get(key)
        return etag is not None and (etag in indexed.get(key, ()) or quarantined_etag(key) == etag)

    return [key for key in keys if not unchanged(key)], len(listed)
