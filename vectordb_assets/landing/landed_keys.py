"""The key of a landed object named by its key or by its URI (a path, `file://…` or `s3://…`)
inside the landing area; anything outside the area, or a key with empty, `.` or `..` segments,
is refused. `vectordb ingest` and the HTTP API name objects this way."""

from __future__ import annotations

from resources.location import Location


class NotInLandingArea(ValueError):
    """The item names nothing inside the landing area."""


def landed_key(item: str, source: Location) -> str:
    """The key inside `source` that `item` names."""
    key = item
    if item.startswith(("s3://", "/", "file://")):
        uri = item.removeprefix("file://")
        base = str(source).rstrip("/")
        if not uri.startswith(f"{base}/"):
            raise NotInLandingArea(f"{item!r} is not in the landing area {source}")
        key = uri[len(base) + 1 :]
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise NotInLandingArea(f"{item!r} does not name an object of the landing area")
    return key
