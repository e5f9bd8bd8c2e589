"""Upload a folder of job outputs to S3: multipart for large files, unchanged files skipped,
retries per file, and a status summary that names every failure."""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urlencode

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

CHECKSUM_KEY = "sha256"  # user metadata holding the content's sha256, to skip unchanged files


@dataclass
class UploadSummary:
    """What an upload did; `status` is success, partial (some files failed) or failed (all did)."""

    status: str = "success"
    files_uploaded: int = 0
    files_skipped: int = 0
    bytes_uploaded: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)

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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stored_checksum(client: Any, bucket: str, key: str) -> tuple[str | None, int | None]:
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None, None
        raise
    return head.get("Metadata", {}).get(CHECKSUM_KEY), head["ContentLength"]


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
    """Upload the selected files of `folder` under `prefix`, verifying each copy's size and sha256."""
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    summary = UploadSummary()
    transfer = TransferConfig(multipart_threshold=multipart_threshold, multipart_chunksize=max(multipart_threshold, 5 << 20))
    extra: dict[str, Any] = {"Tagging": urlencode(dict(tags))} if tags else {}
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.2, max=5),
        retry=retry_if_exception_type((ClientError, BotoCoreError, ConnectionError)),
        reraise=True,
    )
    files = select_files(folder, include, exclude)
    for path in files:
        relative = path.relative_to(folder).as_posix()
        key = f"{prefix.strip('/')}/{relative}" if prefix.strip("/") else relative
        url = f"s3://{bucket}/{key}"
        try:
            checksum, size = sha256_of(path), path.stat().st_size
            if _stored_checksum(client, bucket, key) == (checksum, size):
                summary.files_skipped += 1
            else:
                args = {**extra, "Metadata": {CHECKSUM_KEY: checksum}}
                retrying(client.upload_file, str(path), bucket, key, ExtraArgs=args, Config=transfer)
                if _stored_checksum(client, bucket, key) != (checksum, size):
                    raise OSError(f"{url} does not match {path} after upload (size or sha256 differ)")
                summary.files_uploaded += 1
                summary.bytes_uploaded += size
                summary.urls.append(url)
        except (OSError, ClientError, BotoCoreError) as error:
            summary.errors[relative] = f"{type(error).__name__}: {error}"
        if on_file:
            on_file(path)
    if summary.errors:
        summary.status = "failed" if len(summary.errors) == len(files) else "partial"
    return summary
