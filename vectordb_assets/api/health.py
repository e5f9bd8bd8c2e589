"""`GET /api/v1/health`: whether the webserver, the daemons, the state database, the landing area
and the vector store answer, with their versions; `GET /api/v1/health/live` for probes."""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from resources.redaction import redact
from vectordb_assets.api.auth import requires
from vectordb_assets.api.keys import ApiKey
from vectordb_assets.api.services import Services

router = APIRouter(prefix="/api/v1", tags=["health"])
STALE_HEARTBEAT_SECONDS = 60


def _checked(probe: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        found = {"ok": True, **probe()}
    except Exception as error:  # any failure of a probe is that service's state, said in one line
        found = {"ok": False, "error": redact(f"{type(error).__name__}: {error}")}
    return {**found, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def _dagster(services: Services) -> dict[str, Any]:
    found = services.runs.health()
    stale = [
        name
        for name, d in found["daemons"].items()
        if not d["healthy"] or (d["heartbeat_age_seconds"] or 1e9) > STALE_HEARTBEAT_SECONDS
    ]
    if stale:
        raise RuntimeError(f"daemons without a recent heartbeat: {', '.join(sorted(stale))}; {found['daemons']}")
    return found


def _state_db(services: Services) -> dict[str, Any]:
    with services.state_db.connect() as conn:
        server = conn.execute("show server_version").fetchone()[0]
        vector = conn.execute("select extversion from pg_extension where extname = 'vector'").fetchone()
    return {"postgresql": server, "pgvector": vector[0] if vector else None}


def _landing(services: Services) -> dict[str, Any]:
    next(iter(services.landing.list_objects("")), None)
    return {"location": services.landing.describe()}


def _vector_store(services: Services) -> dict[str, Any]:
    store = services.search.vector_store
    return {
        "store": services.settings.index.store,
        "collection": store.collection_name,
        "dimension": store.collection_dimension(),
    }


@router.get("/health/live")
def live() -> dict:
    """The API process answers (no key needed, nothing else checked)."""
    return {"status": "ok"}


@router.get("/health")
def health(request: Request, key: ApiKey = Depends(requires("read"))) -> JSONResponse:
    """Each service's state; 200 when all answer, 503 (same body) when one does not."""
    services: Services = request.app.state.services
    checks = {
        "webserver": _checked(lambda: _dagster(services)),
        "state_database": _checked(lambda: _state_db(services)),
        "landing_area": _checked(lambda: _landing(services)),
        "vector_store": _checked(lambda: _vector_store(services)),
    }
    healthy = all(c["ok"] for c in checks.values())
    body = {
        "status": "healthy" if healthy else "degraded",
        "version": version("vectordb-assets"),
        "dagster": version("dagster"),
        "checks": checks,
    }
    return JSONResponse(body, 200 if healthy else 503)
