"""A place in an object store, as a setting or a command names it: a local folder, or an S3
bucket and key prefix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class LocationError(ValueError):
    """A value that names neither a folder nor an S3 bucket."""


@dataclass(frozen=True)
class Location:
    """A place in an object store: a local folder or an S3 bucket and prefix."""

    scheme: str  # "file" or "s3"
    root: str  # absolute folder path, or the bucket name
    prefix: str = ""  # key prefix inside the bucket, without a trailing slash

    @classmethod
    def parse(cls, value: str, *, base: Path) -> Location:
        if value.startswith("s3://"):
            bucket, _, prefix = value[len("s3://") :].partition("/")
            if not bucket:
                raise LocationError(f"no bucket in S3 location {value!r}")
            return cls("s3", bucket, prefix.strip("/"))
        if "://" in value and not value.startswith("file://"):
            raise LocationError(f"unsupported location {value!r}: use a folder path or s3://bucket/prefix")
        path = Path(value.removeprefix("file://")).expanduser()
        return cls("file", str((base / path).resolve()))

    def contains(self, other: Location) -> str | None:
        """The relative key prefix under which `other` lies inside this location, if it does."""
        if self.scheme != other.scheme:
            return None
        if self.scheme == "file":
            try:
                return Path(other.root).relative_to(self.root).as_posix()
            except ValueError:
                return None
        if self.root != other.root:
            return None
        if not self.prefix:
            return other.prefix or None
        if other.prefix.startswith(self.prefix + "/"):
            return other.prefix[len(self.prefix) + 1 :]
        return None

    def __str__(self) -> str:
        if self.scheme == "s3":
            return f"s3://{self.root}/{self.prefix}".rstrip("/")
        return self.root
