"""Upload a folder of job outputs to S3: multipart for large files, unchanged files skipped,
retries per file, and a status summary that names every failure.

Every upload asks S3 to verify a SHA-256 checksum of the bytes it receives
(`ChecksumAlgorithm="SHA256"`); afterwards the checksum S3 reports is compared with the one
computed from the local file, and the same comparison decides whether a file is unchanged.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError
from s3transfer.utils import ChunksizeAdjuster

from resources.retry import RetryPolicy, boto_transient
from vectordb_assets.transfer.checksums import file_checksum, same_checksum, stored_checksum

# The summary of an upload, written beside the uploaded files.
SUMMARY_NAME = "_upload_summary.json"


@dataclass
class UploadSummary:
    """What an upload did; `status` is success, partial (some files failed) or failed (all did)."""

    status: str = "success"
    files_uploaded: int = 0
    files_skipped: int = 0
    bytes_uploaded: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)
    folder: str = ""
    uploaded_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def select_files(folder: Path, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[Path]:
    """Files under `folder` whose relative path matches an include glob (all when none) and no
    exclude glob, in path order."""
    chosen = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()):
        relative = path.relative_to(folder).as_posix()
        if include and not any(fnmatch.fnmatch(relative, pattern) for pattern in include):
            continue
        if any(fnmatch.fnmatch(relative, pattern) for pattern in exclude):
            continue
        chosen.append(path)
    return chosen


def expected_checksum(path: Path, transfer: TransferConfig) -> str:
    """The `ChecksumSHA256` S3 reports for this file uploaded with `transfer` (in parts of the
    size the transfer manager picks, for a file over its multipart threshold)."""
    size = path.stat().st_size
    if size < transfer.multipart_threshold:
        return file_checksum(path)
    return file_checksum(path, ChunksizeAdjuster().adjust_chunksize(transfer.multipart_chunksize, size))


def upload_folder(
    client: Any,
    folder: Path,
    bucket: str,
    prefix: str,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    tags: Mapping[str, str] | None = None,
    multipart_threshold: int = 64 << 20,
    attempts: int = 3,
    on_file: Callable[[Path], None] | None = None,
) -> UploadSummary:
    """Upload the selected files of `folder` under `prefix`; S3 verifies each file's SHA-256."""
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    summary = UploadSummary()
    transfer = TransferConfig(
        multipart_threshold=multipart_threshold, multipart_chunksize=max(multipart_threshold, 5 << 20)
    )
    args: dict[str, Any] = {"ChecksumAlgorithm": "SHA256", **({"Tagging": urlencode(dict(tags))} if tags else {})}
    policy = RetryPolicy(boto_transient, attempts=attempts, base_seconds=0.2, max_seconds=5)
    files = select_files(folder, include, exclude)
    for path in files:
        relative = path.relative_to(folder).as_posix()
        key = f"{prefix.strip('/')}/{relative}" if prefix.strip("/") else relative
        url = f"s3://{bucket}/{key}"
        if path.is_symlink() and not path.resolve().is_relative_to(folder.resolve()):
            summary.errors[relative] = "a link to outside the folder: never followed (copy the file into the folder)"
            continue
        try:
            checksum = expected_checksum(path, transfer)
            if same_checksum(policy.call(stored_checksum, client, bucket, key), checksum):
                summary.files_skipped += 1
            else:
                policy.call(client.upload_file, str(path), bucket, key, ExtraArgs=args, Config=transfer)
                stored = stored_checksum(client, bucket, key)
                if not same_checksum(stored, checksum):
                    raise OSError(f"{url}: S3 reports SHA-256 {stored}, the local file has {checksum}")
                summary.files_uploaded += 1
                summary.bytes_uploaded += path.stat().st_size
                summary.urls.append(url)
        except (OSError, ClientError, BotoCoreError, Boto3Error) as error:
            summary.errors[relative] = f"{type(error).__name__}: {error}"
        if on_file:
            on_file(path)
    if summary.errors:
        summary.status = "failed" if len(summary.errors) == len(files) else "partial"
    summary.folder, summary.uploaded_at = folder.name, datetime.now(UTC).isoformat(timespec="seconds")
    summary_key = f"{prefix.strip('/')}/{SUMMARY_NAME}" if prefix.strip("/") else SUMMARY_NAME
    try:  # the summary beside the files it describes (hidden from the landing sensor by its name)
        body = json.dumps(summary.to_dict(), indent=2).encode()
        policy.call(client.put_object, Bucket=bucket, Key=summary_key, Body=body, ChecksumAlgorithm="SHA256")
    except (ClientError, BotoCoreError) as error:
        summary.errors[SUMMARY_NAME] = f"{type(error).__name__}: {error}"
        summary.status = "partial" if summary.status == "success" else summary.status
    return summary
