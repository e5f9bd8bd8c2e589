"""Pinecone: vectors in an index's namespaces, written within the service's request limits, a few
requests at once, each retried on its own.

Example::

    store = PineconeStore(api_key=dg.EnvVar("PINECONE_API_KEY"), index_name="documents")
    store.ensure_collection(384)
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import dagster as dg
import numpy as np
import pyarrow as pa
import urllib3
from pinecone import Pinecone, PineconeConnectionError, PineconeTimeoutError, ServerlessSpec
from pydantic import Field, PrivateAttr

from resources.batching import pack
from resources.parallel import in_parallel
from resources.retry import RetryPolicy, status_transient
from resources.vector_store import (
    LINEAGE_FIELDS,
    TEXT_FIELD,
    SearchHit,
    VectorStore,
    check_dimension,
    equality_filter,
    hit_from_metadata,
    record_vectors,
    stored_metadata,
)

MAX_VECTORS_PER_UPSERT = 1000
MAX_REQUEST_BYTES = 2 * 1000 * 1000
MAX_METADATA_BYTES = 40 * 1024
MAX_IDS_PER_DELETE = 1000
MAX_IDS_PER_FETCH = 100


def pinecone_transient(error: BaseException) -> bool:
    """429 and 5xx, and connections refused, reset or timed out (as the SDK or its HTTP client says)."""
    connection = (
        PineconeConnectionError,
        PineconeTimeoutError,
        urllib3.exceptions.HTTPError,
        ConnectionError,
        TimeoutError,
    )
    return status_transient(error) or isinstance(error, connection)


class PineconeStore(VectorStore):
    """A Pinecone index (the collection); namespaces are Pinecone namespaces."""

    api_key: str = Field(
        repr=False, description="Pinecone API key (from the environment: dg.EnvVar('PINECONE_API_KEY'))."
    )
    index_name: str = Field(default="documents", description="Index name.")
    host: str | None = Field(default=None, description="Index host; default: looked up by name.")
    create_if_missing: bool = Field(default=False, description="Create a serverless index when it does not exist.")
    cloud: str = Field(default="aws", description="Cloud of a created serverless index.")
    region: str = Field(default="us-east-1", description="Region of a created serverless index.")
    metric: str = Field(default="cosine", description="cosine, euclidean or dotproduct (for a created index).")
    max_attempts: int = Field(default=5, description="Attempts per request on 429 and 5xx.")
    write_concurrency: int = Field(default=4, ge=1, description="Upsert and delete requests in flight at once.")

    _client: Any = PrivateAttr(default=None)
    _index: Any = PrivateAttr(default=None)
    _dimension: int | None = PrivateAttr(default=None)
    _sleep: Any = PrivateAttr(default=time.sleep)

    @property
    def collection_name(self) -> str:
        return self.index_name

    def with_collection(self, name: str) -> PineconeStore:
        other = self.model_copy(update={"index_name": name.replace("_", "-"), "host": None})
        other._index, other._dimension = None, None  # those of this store's index
        return other

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """A data-plane call, retried on 429 and 5xx."""
        policy = RetryPolicy(
            pinecone_transient, attempts=self.max_attempts, sleep=self._sleep, service="Pinecone", credentials=True
        )
        return policy.call(fn, *args, **kwargs)

    def client(self) -> Pinecone:
        """The control-plane client, made once for the resource's life."""
        if self._client is None:
            self._client = Pinecone(api_key=self.api_key)
        return self._client

    def index(self) -> Any:
        """The data-plane client, made once for the resource's life, with a connection for each
        request in flight."""
        if self._index is None:
            host = self.host or self.client().describe_index(self.index_name).host
            self._index = self.client().Index(host=host, pool_threads=self.write_concurrency)
        return self._index

    def collection_dimension(self) -> int | None:
        """The index's dimension, asked once for the resource's life (an index's dimension never changes)."""
        if self._dimension is None:
            if not self.host and not self._index_exists():
                return None
            self._dimension = self._call(self.index().describe_index_stats).dimension or None
        return self._dimension

    def _index_exists(self) -> bool:
        return self.client().has_index(self.index_name)

    def ensure_collection(self, dimension: int) -> None:
        if not self.host and not self._index_exists():
            if not self.create_if_missing:
                raise ValueError(
                    f"Pinecone index {self.index_name!r} does not exist (set create_if_missing to create it)"
                )
            self.client().create_index(
                name=self.index_name,
                dimension=dimension,
                metric=self.metric,
                spec=ServerlessSpec(cloud=self.cloud, region=self.region),
            )
        check_dimension(self.index_name, self.collection_dimension(), dimension)

    def drop_collection(self, namespaces: Sequence[str]) -> None:
        """Delete the index; an index given by its host (made elsewhere) is emptied instead."""
        if self.host:
            for namespace in namespaces:
                self._call(self.index().delete, delete_all=True, namespace=namespace)
        elif self._index_exists():
            self.client().delete_index(self.index_name)
        self._index, self._dimension = None, None

    def _metadata(self, vid: str, text: str | None, metadata_json: str, content_hash: str, source_key: str) -> dict:
        metadata = {**stored_metadata(metadata_json, content_hash, source_key), TEXT_FIELD: text or ""}
        metadata = {k: v for k, v in metadata.items() if v is not None}
        # Pinecone holds metadata values as strings, numbers, booleans or lists of strings.
        metadata = {k: v if isinstance(v, (str, int, float, bool)) else json.dumps(v) for k, v in metadata.items()}
        # One pass, largest fields first, each field's size measured once.
        excess = len(json.dumps(metadata).encode()) - MAX_METADATA_BYTES
        sizes = {k: len(json.dumps({k: v}).encode()) - 1 for k, v in metadata.items() if k not in LINEAGE_FIELDS}
        dropped = []
        for name in sorted(sizes, key=sizes.__getitem__, reverse=True):
            if excess <= 0:
                break
            del metadata[name]
            dropped.append(name)
            excess -= sizes[name]
        if dropped:
            dg.get_dagster_logger().warning(
                f"{vid}: metadata field{'s' if len(dropped) > 1 else ''} {', '.join(map(repr, dropped))} dropped (metadata over 40 KB)"
            )
        return metadata

    def upsert(self, namespace: str, records: pa.Table, assume_new: bool = False) -> int:
        if records.num_rows == 0:
            return 0
        vectors = record_vectors(records)
        dimension = vectors.shape[1]
        check_dimension(self.index_name, self.collection_dimension(), dimension)
        ids = records.column("id").to_pylist()
        columns = [records.column(c).to_pylist() for c in ("text", "metadata", "content_hash", "source_key")]
        items = [
            {"id": vid, "values": vectors[i].tolist(), "metadata": self._metadata(vid, *(c[i] for c in columns))}
            for i, vid in enumerate(ids)
        ]
        # Measured as the request body carries each vector, with room for the envelope.
        sizes = [len(json.dumps(item).encode()) + 1 for item in items]
        in_parallel(
            lambda batch: self._call(self.index().upsert, vectors=items[batch.start : batch.stop], namespace=namespace),
            pack(sizes, MAX_VECTORS_PER_UPSERT, MAX_REQUEST_BYTES - 1024),
            self.write_concurrency,
        )
        return len(ids)

    def delete(self, namespace: str, ids: Sequence[str]) -> int:
        in_parallel(
            lambda start: self._call(
                self.index().delete, ids=list(ids[start : start + MAX_IDS_PER_DELETE]), namespace=namespace
            ),
            range(0, len(ids), MAX_IDS_PER_DELETE),
            self.write_concurrency,
        )
        return len(ids)

    def query(
        self, namespace: str, vector: np.ndarray, top_k: int, filters: Mapping[str, str] | None = None
    ) -> list[SearchHit]:
        extra = equality_filter(filters)
        response = self._call(
            self.index().query,
            vector=np.asarray(vector, dtype=np.float32).tolist(),
            top_k=top_k,
            namespace=namespace,
            include_metadata=True,
            **extra,
        )
        return [hit_from_metadata(match.id, match.score, match.metadata) for match in response.matches]

    def count(self, namespace: str) -> int:
        stats = self._call(self.index().describe_index_stats)
        summary = (stats.namespaces or {}).get(namespace)
        return int(summary.vector_count) if summary else 0

    def list_ids(self, namespace: str) -> Iterator[str]:
        for page in self.index().list(namespace=namespace):
            yield from (item.id for item in page.vectors) if hasattr(page, "vectors") else page

    def content_hashes(self, namespace: str, ids: Sequence[str]) -> dict[str, str]:
        hashes = {}
        for start in range(0, len(ids), MAX_IDS_PER_FETCH):
            response = self._call(
                self.index().fetch, ids=list(ids[start : start + MAX_IDS_PER_FETCH]), namespace=namespace
            )
            hashes.update({vid: (v.metadata or {}).get("content_hash") for vid, v in response.vectors.items()})
        return hashes
