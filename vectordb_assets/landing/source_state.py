"""Whether a stage's input is the version of the file that is in the source store now."""

from resources.object_store import ObjectNotFoundError, ObjectStore


def current_etag(source_store: ObjectStore, key: str) -> str | None:
    """The etag of the object now in the source store, or None when it was deleted."""
    try:
        return source_store.head(key).etag
    except ObjectNotFoundError:
        return None
