"""SHA-256 checksums as S3 keeps them, computed from local files.

S3 keeps a single PUT's checksum as the SHA-256 of its bytes (base64); a multipart upload's as the
SHA-256 of its parts' digests followed by `-<parts>`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from resources.object_store import is_not_found


def blocks(path: Path, size: int) -> Iterator[bytes]:
    """The file's bytes in blocks of `size`."""
    with open(path, "rb") as handle:
        yield from iter(lambda: handle.read(size), b"")


def file_checksum(path: Path, part_size: int | None = None) -> str:
    """The `ChecksumSHA256` S3 reports for this file: uploaded whole (`part_size` None), or in
    parts of `part_size` bytes."""
    if part_size is None:
        digest = hashlib.sha256()
        for block in blocks(path, 1 << 20):
            digest.update(block)
        return base64.b64encode(digest.digest()).decode()
    parts = [hashlib.sha256(block).digest() for block in blocks(path, part_size)]
    return f"{base64.b64encode(hashlib.sha256(b''.join(parts)).digest()).decode()}-{len(parts)}"


def same_checksum(stored: str | None, expected: str) -> bool:
    """Whether S3's checksum is the expected one; the `-<parts>` suffix of a multipart checksum
    is optional (some S3-compatible servers leave it out), the digest of digests is not."""
    return stored is not None and stored.split("-")[0] == expected.split("-")[0]


def stored_checksum(client: Any, bucket: str, key: str) -> str | None:
    """The SHA-256 checksum S3 keeps for the object, or None when there is no object (or no checksum)."""
    try:
        head = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except ClientError as error:
        if is_not_found(error):
            return None
        raise
    return head.get("ChecksumSHA256")
