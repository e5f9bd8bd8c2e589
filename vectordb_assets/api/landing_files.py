"""The landing area's files over HTTP, in the replaced S3/Parquet proxy's shapes: listings,
downloads (streamed), and a file's metadata, validation report, sample rows and ids, as
`vectordb inspect` reads them. Only keys inside the landing area are served: a URI elsewhere, a
`..` segment or a link leading outside is refused."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from itertools import islice
from pathlib import PurePosixPath
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from vectordb_assets import inspection
from vectordb_assets.api.auth import requires
from vectordb_assets.api.keys import ApiKey
from vectordb_assets.api.services import Services
from vectordb_assets.landing.landed_keys import NotInLandingArea, landed_key

router = APIRouter(prefix="/s3", tags=["landing area"])
CHUNK_BYTES = 1 << 20
reader = Depends(requires("read"))


def _services(request: Request) -> Services:
    return request.app.state.services


def _key(services: Services, key: str) -> str:
    return landed_key(key, services.settings.source)


def _uri(services: Services, key: str) -> str:
    return f"{str(services.settings.source).rstrip('/')}/{_key(services, key)}"


def _listing(services: Services, prefix: str, max_keys: int, suffix: str | None) -> dict[str, Any]:
    if any(part in (".", "..") for part in prefix.split("/")):
        raise NotInLandingArea(f"prefix {prefix!r} does not name a place in the landing area")
    found = (o for o in services.landing.list_objects(prefix) if not suffix or o.key.lower().endswith(suffix))
    objects = [
        {
            "key": o.key,
            "size": o.size,
            "size_mb": round(o.size / 1e6, 3),
            "last_modified": o.last_modified.isoformat(),
            "etag": o.etag,
        }
        for o in islice(found, max_keys + 1)
    ]
    return {
        "location": services.landing.describe(prefix),
        "prefix": prefix,
        "count": min(len(objects), max_keys),
        "truncated": len(objects) > max_keys,
        "objects": objects[:max_keys],
    }


def _stream(services: Services, key: str, media_type: str | None) -> StreamingResponse:
    key = _key(services, key)
    stored = services.landing.head(key)  # 404 before the answer starts

    def chunks() -> Iterator[bytes]:
        with services.landing.local_path(key) as path, path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk

    name = PurePosixPath(key).name.replace('"', "")
    return StreamingResponse(
        chunks(),
        media_type=media_type or mimetypes.guess_type(name)[0] or "application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Content-Length": str(stored.size)},
    )


@router.get("/list")
def list_objects(
    request: Request, prefix: str = "", max_keys: int = Query(1000, ge=1, le=10_000), key: ApiKey = reader
) -> dict:
    """Objects under `prefix` in the landing area, in key order."""
    return _listing(_services(request), prefix, max_keys, None)


@router.get("/download")
def download(request: Request, key: str, api_key: ApiKey = reader) -> StreamingResponse:
    """The object's bytes, streamed."""
    return _stream(_services(request), key, None)


@router.get("/parquet/list")
def list_parquet(
    request: Request, prefix: str = "", max_keys: int = Query(1000, ge=1, le=10_000), key: ApiKey = reader
) -> dict:
    """Parquet objects under `prefix`."""
    return _listing(_services(request), prefix, max_keys, ".parquet")


@router.get("/parquet/metadata")
def metadata(request: Request, key: str, api_key: ApiKey = reader) -> dict:
    """Rows, columns and, for Parquet, row groups, writer and format version."""
    services = _services(request)
    info = inspection.file_metadata(_uri(services, key), services.settings)
    return {"key": _key(services, key), "size_mb": round(info["size"] / 1e6, 3), **info}


@router.get("/parquet/validate")
def validate(
    request: Request,
    key: str,
    required_columns: str = Query("", description="Comma-separated columns the file must have."),
    max_rejected_ratio: float = Query(0.2, ge=0, le=1),
    api_key: ApiKey = reader,
) -> dict:
    """The file's validation report, as the pipeline would make it, and whether it passes."""
    services = _services(request)
    required = [c.strip() for c in required_columns.split(",") if c.strip()]
    _, report = inspection.validation_report(_uri(services, key), services.settings, required, max_rejected_ratio)
    return report


@router.get("/parquet/sample")
def sample(request: Request, key: str, n: int = Query(10, ge=1, le=1000), api_key: ApiKey = reader) -> dict:
    """The first `n` rows as they are in the file (nested fields flattened)."""
    services = _services(request)
    rows = inspection.sample_rows(_uri(services, key), services.settings, n)
    return {"key": _key(services, key), "count": len(rows), "rows": rows}


@router.get("/parquet/extract-ids")
def extract_ids(
    request: Request,
    key: str,
    id_column: str | None = None,
    limit: int = Query(10_000, ge=1, le=100_000),
    api_key: ApiKey = reader,
) -> dict:
    """The file's id column (found as validation finds it) and its first `limit` ids."""
    services = _services(request)
    uri = _uri(services, key)
    summary = inspection.id_summary(uri, services.settings, id_column)
    ids = [entry["id"] for entry in islice(inspection.all_ids(uri, services.settings, summary["id_column"]), limit)]
    return {
        "key": _key(services, key),
        "found_id_column": summary["id_column"],
        "total": summary["total"],
        "unique": summary["unique"],
        "doc_ids": ids,
        "truncated": summary["total"] > len(ids),
    }


@router.get("/parquet/download-binary")
def download_binary(request: Request, key: str, api_key: ApiKey = reader) -> StreamingResponse:
    """The file's bytes as application/octet-stream, streamed."""
    return _stream(_services(request), key, "application/octet-stream")
