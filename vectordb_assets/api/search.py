"""`POST /api/v1/search`: the nearest indexed rows to a text, from the live model generation."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from vectordb_assets.api.auth import requires
from vectordb_assets.api.keys import ApiKey
from vectordb_assets.indexing.live_search import nearest
from vectordb_assets.indexing.namespaces import check_namespace

router = APIRouter(prefix="/api/v1", tags=["search"])


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=20_000, description="The text to find rows near.")
    top_k: int = Field(5, ge=1, le=100)
    namespace: str | None = Field(None, description="Default: VECTORDB_NAMESPACE.")
    filters: dict[str, str] = Field(
        default_factory=dict, description="Only rows whose metadata field equals the value."
    )


@router.post("/search")
def search(body: SearchRequest, request: Request, key: ApiKey = Depends(requires("search"))) -> dict:
    """The `top_k` nearest rows, closest first: as `vectordb search --json` prints them."""
    services = request.app.state.services
    namespace = body.namespace or services.settings.namespaces.default
    check_namespace(namespace)
    store, hits = nearest(services.search, body.query, namespace, body.top_k, body.filters)
    return {"namespace": namespace, "collection": store.collection_name, "results": [hit.__dict__ for hit in hits]}
