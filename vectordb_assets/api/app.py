"""The API's application: its routes, request bounds, error answers and request log.

Every answer to a bad request is a 4xx with a `detail` that names what was wrong; a service that
is down (webserver, state database, a store) is a 503 with the reason, and the API keeps serving.
No answer carries a traceback, and the request log names the key's name, never the key."""

from __future__ import annotations

import logging
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resources.object_store import ObjectNotFoundError
from resources.redaction import redact
from resources.retry import ServiceMisconfigured, TransientServiceError
from vectordb_assets.api import health, landing_files, processing, search
from vectordb_assets.api.keys import ApiKeyError
from vectordb_assets.api.services import Services
from vectordb_assets.api.tasks import UnknownTask
from vectordb_assets.landing.landed_keys import NotInLandingArea
from vectordb_assets.runs_api import RunsApiError
from vectordb_assets.settings import Settings
from vectordb_assets.validation.errors import UnreadableFileError

log = logging.getLogger("vectordb.api")


class BodyLimit:
    """Answers 413 to a request whose body passes `max_bytes`, by its Content-Length or as it
    arrives (a chunked body), before a route reads it whole; the route then sees the client gone."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen, started, refused = 0, False, False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes and not refused:
                refused = True
                if not started:
                    await self._refuse(scope, receive, send)
            return {"type": "http.disconnect"} if refused else message

        async def tracked(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, tracked)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = JSONResponse(
            {"detail": f"request body over {self.max_bytes:,} bytes (VECTORDB_API_MAX_BODY_BYTES)"}, 413
        )
        await answer(scope, receive, send)


def _answer(status: int, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status, headers=headers or None)


def create_app(settings: Settings) -> FastAPI:
    """The API over the settings' webserver, state database, landing area and index."""
    app = FastAPI(
        title="vectordb API",
        version="1",
        description="Processing tasks, their status, health, the landing area's files and search. "
        "Every route but /api/v1/health/live needs an API key (`vectordb api-keys create`) in X-API-Key.",
    )
    app.state.services = Services(settings)
    for module in (processing, health, landing_files, search):
        app.include_router(module.router)

    @app.exception_handler(TransientServiceError)
    async def service_down(request: Request, error: TransientServiceError) -> JSONResponse:
        return _answer(503, redact(str(error)), **{"Retry-After": "30"})

    @app.exception_handler(ServiceMisconfigured)
    async def service_misconfigured(request: Request, error: ServiceMisconfigured) -> JSONResponse:
        return _answer(503, redact(str(error)))

    @app.exception_handler(RunsApiError)
    async def webserver_down(request: Request, error: RunsApiError) -> JSONResponse:
        return _answer(503, redact(str(error)), **{"Retry-After": "30"})

    @app.exception_handler(NotInLandingArea)
    async def outside(request: Request, error: NotInLandingArea) -> JSONResponse:
        return _answer(403, str(error))

    @app.exception_handler(ObjectNotFoundError)
    async def not_found(request: Request, error: ObjectNotFoundError) -> JSONResponse:
        return _answer(404, str(error))

    @app.exception_handler(UnknownTask)
    async def unknown_task(request: Request, error: UnknownTask) -> JSONResponse:
        return _answer(404, f"no task {error.args[0]!r}")

    @app.exception_handler(UnreadableFileError)
    async def unreadable(request: Request, error: UnreadableFileError) -> JSONResponse:
        return _answer(422, redact(str(error)))

    @app.exception_handler(ApiKeyError)
    async def bad_key_request(request: Request, error: ApiKeyError) -> JSONResponse:
        return _answer(422, str(error))

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, error: ValueError) -> JSONResponse:
        return _answer(422, redact(str(error)))

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> JSONResponse:
        reference = uuid.uuid4().hex[:12]
        log.error(
            "request %s failed (%s): %s: %s", reference, request.url.path, type(error).__name__, redact(str(error))
        )
        return _answer(500, f"internal error {reference} (the API's log has it)")

    @app.middleware("http")
    async def request_log(request: Request, call_next):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        response = await call_next(request)
        key_name = getattr(request.state, "key_name", "-")
        log.info(
            "%s %s %s key=%s %.1f ms",
            request.method,
            request.url.path,
            response.status_code,
            key_name,
            (time.perf_counter() - started) * 1000,
        )
        return response

    app.add_middleware(BodyLimit, max_bytes=settings.api.max_body_bytes)
    return app
