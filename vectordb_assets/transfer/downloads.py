"""Download one S3 object to a local file, verified.

boto3's transfer manager streams the object (in ranged parts for a large one) into a temporary
file beside the destination; the file is compared with the SHA-256 checksum S3 keeps for the
object (or, for objects uploaded without one, the MD5 of a single PUT, else the size) and only
then renamed into place, so the destination never holds a partial or corrupt copy.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from resources.object_store import ObjectNotFoundError, is_not_found
from vectordb_assets.transfer.checksums import blocks, file_checksum, same_checksum


class DownloadVerificationError(OSError):
    """The downloaded bytes are not the object S3 describes."""


@dataclass(frozen=True)
class DownloadSummary:
    """What was downloaded where, and how the copy was checked (sha256, md5 or size)."""

    uri: str
    path: str
    bytes: int
    verified_by: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _verify(client: Any, bucket: str, key: str, head: dict[str, Any], path: Path) -> str:
    """How `path` was found to hold the object `head` describes; raises when it does not."""
    uri = f"s3://{bucket}/{key}"
    checksum = head.get("ChecksumSHA256")
    if checksum:
        part_size = None
        if "-" in checksum or "-" in head["ETag"] or head.get("ChecksumType") == "COMPOSITE":  # uploaded in parts
            part_size = client.head_object(Bucket=bucket, Key=key, PartNumber=1)["ContentLength"]
        local = file_checksum(path, part_size)
        if not same_checksum(checksum, local):
            raise DownloadVerificationError(f"{uri}: S3 keeps SHA-256 {checksum}, the downloaded copy has {local}")
        return "sha256"
    etag = head["ETag"].strip('"')
    if "-" not in etag and head.get("ServerSideEncryption") != "aws:kms" and not head.get("SSECustomerAlgorithm"):
        digest = hashlib.md5(usedforsecurity=False)
        for block in blocks(path, 1 << 20):
            digest.update(block)
        if digest.hexdigest() != etag:
            raise DownloadVerificationError(f"{uri}: S3 keeps MD5 {etag}, the downloaded copy has {digest.hexdigest()}")
        return "md5"
    if path.stat().st_size != head["ContentLength"]:
        raise DownloadVerificationError(
            f"{uri}: S3 holds {head['ContentLength']} bytes, the download {path.stat().st_size}"
        )
    return "size"


def download_object(client: Any, bucket: str, key: str, destination: Path) -> DownloadSummary:
    """Download s3://bucket/key to `destination` (a file, or a folder that receives the object's
    name), verified before it takes the destination's name."""
    uri = f"s3://{bucket}/{key}"
    try:
        head = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except ClientError as error:
        if is_not_found(error):
            raise ObjectNotFoundError(f"no object {uri}") from None
        raise
    target = destination / PurePosixPath(key).name if destination.is_dir() else destination
    if not target.parent.is_dir():
        raise NotADirectoryError(f"{target.parent} is not a folder")
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    try:
        # An object replaced while it downloads fails the check against the checksum read above.
        client.download_file(bucket, key, temporary)
        verified_by = _verify(client, bucket, key, head, Path(temporary))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return DownloadSummary(uri=uri, path=str(target), bytes=target.stat().st_size, verified_by=verified_by)
