"""Object stores: where raw files land and where the pipeline writes its outputs.

One interface, two implementations: a local folder (the embedded default) and S3 through
`dagster_aws.s3.S3Resource` (any endpoint URL, so MinIO, moto or any S3-compatible store works).

Example::

    store = LocalObjectStore(root="/tmp/landing")
    for obj in store.list_objects():
        print(obj.key, obj.size, obj.etag)
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr

from resources.retry import boto_transient, outages
from resources.settings_only import SettingsOnlyResource

_TEMP_MARKER = ".tmp-"


class ObjectNotFoundError(FileNotFoundError):
    """The key names no object in the store."""


def is_hidden(key: str) -> bool:
    """Whether a key is hidden from listings: a name on its path starts with "." or "_", as job
    markers (`_SUCCESS`), upload summaries and temporary folders do (Hadoop's convention)."""
    return any(part.startswith((".", "_")) for part in key.split("/"))


def is_not_found(error: BaseException) -> bool:
    """Whether an S3 client error says the object (or key) does not exist."""
    return getattr(error, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


@dataclass(frozen=True)
class StoredObject:
    """What the store says about one object."""

    key: str
    size: int
    etag: str
    last_modified: datetime


class ObjectStore(SettingsOnlyResource, ABC):
    """A flat namespace of keys ('a/b.csv') holding immutable bytes."""

    @abstractmethod
    def list_objects(
        self, prefix: str = "", on_skip: Callable[[str, str], None] | None = None, start_after: str | None = None
    ) -> Iterator[StoredObject]:
        """Every object whose key starts with `prefix` (and comes after `start_after`), in key
        order, as S3 lists them, but hidden ones (`is_hidden`); entries that are not readable
        objects are passed over, each named with the reason to `on_skip(key, reason)`."""

    def keys_in(self, keys_by_bucket: Mapping[str, set[str]]) -> set[str]:
        """The keys of this store among full object keys by bucket (from S3 events); none for a
        folder."""
        return set()

    @abstractmethod
    def head(self, key: str) -> StoredObject:
        """The object's size, etag and modification time; `ObjectNotFoundError` if absent."""

    @abstractmethod
    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """A local file holding the object's bytes for the duration of the block."""

    @abstractmethod
    def put_file(self, key: str, path: Path) -> StoredObject:
        """Store a local file under `key`, replacing any previous object in one step."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; removing an absent key is not an error."""

    @abstractmethod
    def url(self, key: str) -> str:
        """A link a person can open: `file://` locally, a presigned GET URL on S3."""

    @abstractmethod
    def describe(self, key: str = "") -> str:
        """The location of `key` as users write it (a path or an s3:// URI)."""


class LocalObjectStore(ObjectStore):
    """A local folder used as an object store; writes are atomic (temporary file, then rename)."""

    root: str = Field(description="Absolute path of the folder that holds the objects.")

    def _path(self, key: str) -> Path:
        """The key's path, refused when any segment of it leads outside the folder: `..`, an
        absolute key, or a link (to a file or a folder) that resolves elsewhere."""
        relative = PurePosixPath(key)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"object key {key!r} leaves the store at {self.root}")
        path = Path(self.root, *relative.parts)
        if self._outside(path, strict=False):
            raise ValueError(f"object key {key!r} goes through a link to outside the store at {self.root}; refused")
        return path

    def _outside(self, path: Path, strict: bool = True) -> bool:
        """Whether a path resolves outside the store's folder (or, when `strict`, cannot be
        resolved at all); every link on the way is followed to see where it leads."""
        try:
            path.resolve(strict=strict).relative_to(Path(self.root).resolve())
        except (OSError, RuntimeError, ValueError):
            return True
        return False

    def _unusable(self, path: Path) -> str | None:
        """Why an entry of the folder is not an object to read, or None when it is one."""
        if path.is_symlink():
            try:
                path.resolve(strict=True)
            except FileNotFoundError:
                return "a link to nothing (dangling)"
            except (OSError, RuntimeError):
                return "a link loop"
            if self._outside(path):
                return "a link to a file outside the landing folder"
        try:
            mode = path.stat().st_mode
        except OSError as error:
            return f"cannot be read ({error.strerror})"
        if not stat.S_ISREG(mode):
            return "not a regular file (a FIFO, device or socket)"
        if not os.access(path, os.R_OK):
            return "cannot be read (permission denied)"
        return None

    def _stat(self, key: str, path: Path) -> StoredObject:
        st = path.stat()
        return StoredObject(
            key=key,
            size=st.st_size,
            # Size and nanosecond mtime identify a version without reading the file.
            etag=f"{st.st_mtime_ns:x}-{st.st_size:x}",
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
        )

    def list_objects(
        self, prefix: str = "", on_skip: Callable[[str, str], None] | None = None, start_after: str | None = None
    ) -> Iterator[StoredObject]:
        root = Path(self.root)
        if root.is_dir():
            yield from self._walk(root, "", prefix, start_after or "", on_skip or (lambda key, reason: None))

    def _walk(
        self, folder: Path, base: str, prefix: str, start_after: str, skip: Callable[[str, str], None]
    ) -> Iterator[StoredObject]:
        """The objects under `folder` (whose keys start with `base`) in key order, passing over
        folders whose keys all come before `start_after` or outside `prefix`."""
        try:
            with os.scandir(folder) as found:
                entries = [e for e in found if not is_hidden(e.name) and _TEMP_MARKER not in e.name]
        except OSError as error:
            skip(base.rstrip("/") or ".", f"folder cannot be read ({error.strerror})")
            return
        # A folder's keys sort as its name followed by "/", so entries are ordered by that.
        named = sorted((base + e.name + ("/" if e.is_dir(follow_symlinks=False) else ""), e) for e in entries)
        for key, entry in named:
            if key.endswith("/"):
                before = start_after > key and not start_after.startswith(key)  # every key below comes first
                if not before and (key.startswith(prefix) or prefix.startswith(key)):
                    yield from self._walk(Path(entry.path), key, prefix, start_after, skip)
                continue
            if key <= start_after or not key.startswith(prefix):
                continue
            path = Path(entry.path)
            reason = self._unusable(path)
            if reason:
                skip(key, reason)
                continue
            try:
                yield self._stat(key, path)
            except OSError as error:  # gone or changed between the listing and the stat
                skip(key, f"cannot be read ({error.strerror})")

    def head(self, key: str) -> StoredObject:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFoundError(f"no object {self.describe(key)}")
        return self._stat(key, path)

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFoundError(f"no object {self.describe(key)}")
        yield path

    def put_file(self, key: str, path: Path) -> StoredObject:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f"{target.name}{_TEMP_MARKER}{uuid.uuid4().hex}")
        try:
            shutil.copyfile(path, staging)
            os.replace(staging, target)
        finally:
            staging.unlink(missing_ok=True)
        return self._stat(key, target)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return self._path(key).as_uri()

    def describe(self, key: str = "") -> str:
        return str(self._path(key)) if key else self.root


class SettingsS3Resource(S3Resource, SettingsOnlyResource):
    """dagster-aws's S3 resource, whose endpoint and region only the settings may set."""


class S3ObjectStore(ObjectStore):
    """Objects under a prefix of an S3 bucket, through `dagster_aws.s3.S3Resource`.

    Example::

        store = S3ObjectStore(s3=S3Resource(endpoint_url="http://127.0.0.1:9000"), bucket="landing")
    """

    s3: S3Resource
    bucket: str = Field(description="Bucket holding the objects.")
    prefix: str = Field(default="", description="Key prefix inside the bucket; keys are relative to it.")
    presign_expiry_seconds: int = Field(default=3600, description="Lifetime of links from url().")

    _client: Any = PrivateAttr(default=None)

    def client(self) -> Any:
        """The boto3 S3 client, made on first use and kept for this resource's lifetime."""
        if self._client is None:
            self._client = self.s3.get_client()
        return self._client

    def _full_key(self, key: str) -> str:
        return f"{self.prefix.strip('/')}/{key}" if self.prefix.strip("/") else key

    def keys_in(self, keys_by_bucket: Mapping[str, set[str]]) -> set[str]:
        base = self.prefix.strip("/")
        inside = keys_by_bucket.get(self.bucket, set())
        keys = {
            self._relative(key) for key in inside if (not base or key.startswith(base + "/")) and not key.endswith("/")
        }
        return {key for key in keys if not is_hidden(key)}

    def _relative(self, full_key: str) -> str:
        base = self.prefix.strip("/")
        return full_key[len(base) + 1 :] if base else full_key

    def list_objects(
        self, prefix: str = "", on_skip: Callable[[str, str], None] | None = None, start_after: str | None = None
    ) -> Iterator[StoredObject]:
        paginator = self.client().get_paginator("list_objects_v2")
        after = {"StartAfter": self._full_key(start_after)} if start_after else {}
        with outages("S3", boto_transient):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._full_key(prefix), **after):
                for item in page.get("Contents", []):
                    if item["Key"].endswith("/") or is_hidden(self._relative(item["Key"])):
                        continue  # folder placeholder objects made by consoles, and hidden objects
                    yield StoredObject(
                        key=self._relative(item["Key"]),
                        size=item["Size"],
                        etag=item["ETag"].strip('"'),
                        last_modified=item["LastModified"],
                    )

    def head(self, key: str) -> StoredObject:
        try:
            with outages("S3", boto_transient):
                response = self.client().head_object(Bucket=self.bucket, Key=self._full_key(key))
        except self.client().exceptions.ClientError as error:
            if is_not_found(error):
                raise ObjectNotFoundError(f"no object {self.describe(key)}") from None
            raise
        return StoredObject(
            key=key,
            size=response["ContentLength"],
            etag=response["ETag"].strip('"'),
            last_modified=response["LastModified"],
        )

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        self.head(key)
        suffix = "".join(PurePosixPath(key).suffixes[-2:])
        with tempfile.TemporaryDirectory(prefix="vectordb-") as folder:
            path = Path(folder, f"object{suffix}")
            with outages("S3", boto_transient):
                self.client().download_file(self.bucket, self._full_key(key), str(path))
            yield path

    def put_file(self, key: str, path: Path) -> StoredObject:
        # An S3 PUT (or completed multipart upload) replaces the object atomically.
        with outages("S3", boto_transient):
            self.client().upload_file(str(path), self.bucket, self._full_key(key))
        return self.head(key)

    def delete(self, key: str) -> None:
        with outages("S3", boto_transient):
            self.client().delete_object(Bucket=self.bucket, Key=self._full_key(key))

    def url(self, key: str) -> str:
        return self.client().generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._full_key(key)},
            ExpiresIn=self.presign_expiry_seconds,
        )

    def describe(self, key: str = "") -> str:
        full = self._full_key(key) if key else self.prefix.strip("/")
        return f"s3://{self.bucket}/{full}".rstrip("/")
