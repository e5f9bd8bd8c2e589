"""Pinecone: vectors in an index's namespaces, written within the service's request limits.

Example::

    store = PineconeStore(api_key=dg.EnvVar("PINECONE_API_KEY"), index_name="documents")
    store.ensure_collection(384)
"""

from __future__ import annotations

import json
import random
from typing import Any, Iterator, Mapping, Sequence

import dagster as dg
import numpy as np
import pyarrow as pa
from pinecone import Pinecone, ServerlessSpec
from pinecone.exceptions import PineconeApiException
from pydantic import Field, PrivateAttr
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from resources.batching import pack
from resources.vector_store import DimensionMismatchError, SearchHit, VectorStore, equality_filter, record_vectors

MAX_VECTORS_PER_UPSERT = 1000
MAX_REQUEST_BYTES = 2 * 1000 * 1000
MAX_METADATA_BYTES = 40 * 1024
MAX_IDS_PER_DELETE = 1000
MAX_IDS_PER_FETCH = 100


def _retryable(error: BaseException) -> bool:
    status = getattr(error, "status_code", None) or getattr(error, "status", None)
    return isinstance(error, PineconeApiException) and status is not None and (status == 429 or status >= 500)


def _wait(state: Any) -> float:
    return min(2 ** (state.attempt_number - 1), 30.0) * random.uniform(0.5, 1.0)


class PineconeStore(VectorStore):
    """A Pinecone index (the collection); namespaces are Pinecone namespaces."""

    api_key: str = Field(description="Pinecone API key (from the environment: dg.EnvVar('PINECONE_API_KEY')).")
    index_name: str = Field(default="documents", description="Index name.")
    host: str | None = Field(default=None, description="Index host; default: looked up by name.")
    create_if_missing: bool = Field(default=False, description="Create a serverless index when it does not exist.")
    cloud: str = Field(default="aws", description="Cloud of a created serverless index.")
    region: str = Field(default="us-east-1", description="Region of a created serverless index.")
    metric: str = Field(default="cosine", description="cosine, euclidean or dotproduct (for a created index).")
    max_attempts: int = Field(default=5, description="Attempts per request on 429 and 5xx.")

    _index: Any = PrivateAttr(default=None)

    @property
    def collection_name(self) -> str:
        return self.index_name

    def with_collection(self, name: str) -> "PineconeStore":
        return self.model_copy(update={"index_name": name.replace("_", "-"), "host": None})

    def _retrying(self) -> Retrying:
        return Retrying(stop=stop_after_attempt(self.max_attempts), wait=_wait, retry=retry_if_exception(_retryable), reraise=True)

    def index(self) -> Any:
        """The data-plane client, made on first use."""
        if self._index is None:
            client = Pinecone(api_key=self.api_key)
            self._index = client.Index(host=self.host or client.describe_index(self.index_name).host)
        return self._index

    def collection_dimension(self) -> int | None:
        if not self.host and not self._index_exists():
            return None
        return self._retrying()(self.index().describe_index_stats).dimension or None

    def _index_exists(self) -> bool:
        return Pinecone(api_key=self.api_key).has_index(self.index_name)

    def ensure_collection(self, dimension: int) -> None:
        if not self.host and not self._index_exists():
            if not self.create_if_missing:
                raise ValueError(f"Pinecone index {self.index_name!r} does not exist (set create_if_missing to create it)")
            Pinecone(api_key=self.api_key).create_index(
                name=self.index_name, dimension=dimension, metric=self.metric,
                spec=ServerlessSpec(cloud=self.cloud, region=self.region),
            )
        existing = self.collection_dimension()
        if existing is not None and existing != dimension:
            raise DimensionMismatchError(f"collection {self.index_name!r} expects {existing} dimensions, not {dimension}")

    def _metadata(self, vid: str, text: str | None, metadata_json: str, content_hash: str, source_key: str) -> dict:
        metadata = {**json.loads(metadata_json or "{}"), "text": text or "", "source_key": source_key, "content_hash": content_hash}
        metadata = {k: v for k, v in metadata.items() if v is not None}
        # Pinecone holds metadata values as strings, numbers, booleans or lists of strings.
        metadata = {k: v if isinstance(v, (str, int, float, bool)) else json.dumps(v) for k, v in metadata.items()}
        while len(json.dumps(metadata).encode()) > MAX_METADATA_BYTES:
            largest = max((k for k in metadata if k not in ("source_key", "content_hash")),
                           key=lambda k: len(json.dumps(metadata[k])))
            dg.get_dagster_logger().warning(f"{vid}: metadata field {largest!r} dropped (metadata over 40 KB)")
            del metadata[largest]
        return metadata

    def upsert(self, namespace: str, records: pa.Table, assume_new: bool = False) -> int:
        if records.num_rows == 0:
            return 0
        vectors = record_vectors(records)
        dimension = vectors.shape[1]
        existing = self.collection_dimension()
        if existing is not None and existing != dimension:
            raise DimensionMismatchError(f"collection {self.index_name!r} expects {existing} dimensions, not {dimension}")
        ids = records.column("id").to_pylist()
        columns = [records.column(c).to_pylist() for c in ("text", "metadata", "content_hash", "source_key")]
        items = [
            {"id": vid, "values": vectors[i].tolist(), "metadata": self._metadata(vid, *(c[i] for c in columns))}
            for i, vid in enumerate(ids)
        ]
        # Measured as the request body carries each vector, with room for the envelope.
        sizes = [len(json.dumps(item).encode()) + 1 for item in items]
        for batch in pack(sizes, MAX_VECTORS_PER_UPSERT, MAX_REQUEST_BYTES - 1024):
            self._retrying()(self.index().upsert, vectors=items[batch.start : batch.stop], namespace=namespace)
        return len(ids)

    def delete(self, namespace: str, ids: Sequence[str]) -> int:
        for start in range(0, len(ids), MAX_IDS_PER_DELETE):
            self._retrying()(self.index().delete, ids=list(ids[start : start + MAX_IDS_PER_DELETE]), namespace=namespace)
        return len(ids)

    def query(
        self, namespace: str, vector: np.ndarray, top_k: int, filters: Mapping[str, str] | None = None
    ) -> list[SearchHit]:
        extra = equality_filter(filters)
        response = self._retrying()(
            self.index().query, vector=np.asarray(vector, dtype=np.float32).tolist(), top_k=top_k,
            namespace=namespace, include_metadata=True, **extra,
        )
        hits = []
        for match in response.matches:
            metadata = dict(match.metadata or {})
            hits.append(SearchHit(
                id=match.id, score=float(match.score), text=metadata.pop("text", None),
                source_key=metadata.pop("source_key", ""),
                metadata={k: v for k, v in metadata.items() if k != "content_hash"},
            ))
        return hits

    def count(self, namespace: str) -> int:
        stats = self._retrying()(self.index().describe_index_stats)
        summary = (stats.namespaces or {}).get(namespace)
        return int(summary.vector_count) if summary else 0

    def list_ids(self, namespace: str) -> Iterator[str]:
        for page in self.index().list(namespace=namespace):
            yield from (item.id for item in page.vectors) if hasattr(page, "vectors") else page

    def content_hashes(self, namespace: str, ids: Sequence[str]) -> dict[str, str]:
        hashes = {}
        for start in range(0, len(ids), MAX_IDS_PER_FETCH):
            response = self._retrying()(self.index().fetch, ids=list(ids[start : start + MAX_IDS_PER_FETCH]), namespace=namespace)
            hashes.update({vid: (v.metadata or {}).get("content_hash") for vid, v in response.vectors.items()})
        return hashes
