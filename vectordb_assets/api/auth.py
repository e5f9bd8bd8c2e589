"""Who may call a route: an API key in `X-API-Key` (or `Authorization: Bearer …`) holding the
route's scope, within the key's request budget. 401 without a live key, 403 outside its scopes,
429 with `Retry-After` over its budget."""

from __future__ import annotations

import math
from collections.abc import Callable

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from vectordb_assets.api.keys import ApiKey

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A key made by `vectordb api-keys create`."
)
bearer = HTTPBearer(auto_error=False, description="The same key as a bearer token.")


def requires(scope: str) -> Callable[..., ApiKey]:
    """A dependency that admits a live key holding `scope` (or `admin`)."""

    def admitted(
        request: Request,
        header_key: str | None = Security(api_key_header),
        bearer_key: HTTPAuthorizationCredentials | None = Security(bearer),
    ) -> ApiKey:
        presented = header_key or (bearer_key.credentials if bearer_key else None)
        if not presented:
            raise HTTPException(
                401, "an API key is needed, in the X-API-Key header", headers={"WWW-Authenticate": "ApiKey"}
            )
        services = request.app.state.services
        key = services.keys.authenticate(presented)
        if key is None:
            raise HTTPException(401, "unknown or revoked API key", headers={"WWW-Authenticate": "ApiKey"})
        request.state.key_name = key.name
        if not key.allows(scope):
            raise HTTPException(
                403, f"key {key.name!r} does not have the {scope!r} scope (it has {', '.join(key.scopes)})"
            )
        wait = services.rate_limits.retry_after(key)
        if wait > 0:
            raise HTTPException(
                429,
                f"key {key.name!r} is over its {key.requests_per_minute or services.rate_limits.default} requests per minute",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        return key

    return admitted
