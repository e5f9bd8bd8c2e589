"""AWS S3 Vectors: a vector bucket, one index per (collection, namespace), batched writes, a few
at once within the service's write limits per index.

Example::

    store = S3VectorsStore(vector_bucket="my-vectors", collection="documents", region_name="us-east-1")
    store.ensure_collection(384)
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import boto3
import dagster as dg
import numpy as np
import pyarrow as pa
from pydantic import Field, PrivateAttr

from resources.batching import pack
from resources.parallel import in_parallel
from resources.rate_limit import shared_limiter
from resources.retry import RetryPolicy, boto_transient
from resources.vector_store import (
    METADATA_JSON_FIELD,
    TEXT_FIELD,
    DimensionMismatchError,
    InvalidVectorError,
    SearchHit,
    VectorStore,
    check_dimension,
    equality_filter,
    hit_from_metadata,
    record_vectors,
    stored_metadata,
    validate_collection_name,
)

MAX_VECTORS_PER_PUT = 500
MAX_BYTES_PER_PUT = 20 << 20
MAX_KEYS_PER_CALL = 500
# Per index: PutVectors and DeleteVectors requests, and vectors written or deleted, per second.
MAX_WRITES_PER_SECOND = 1_000
MAX_VECTORS_WRITTEN_PER_SECOND = 2_500
MAX_TOP_K = 100
MAX_METADATA_BYTES = 40 * 1024
MAX_FILTERABLE_BYTES = 2 * 1024
MAX_METADATA_KEYS = 50
NAMESPACE = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
NON_FILTERABLE = [TEXT_FIELD, METADATA_JSON_FIELD]


class IndexMismatchError(ValueError):
    """An index named in the settings is missing, or measures distance otherwise than the store."""


class S3VectorsStore(VectorStore):
    """Vectors in an S3 vector bucket; namespaces are separate indexes named `<collection>-<namespace>`,
    or existing indexes named by namespace in `indexes`."""

    vector_bucket: str = Field(description="Vector bucket name (created if missing).")
    collection: str = Field(default="documents", description="Prefix of the index names.")
    distance: str = Field(default="cosine", description="cosine or euclidean.")
    region_name: str | None = Field(default=None, description="AWS region.")
    endpoint_url: str | None = Field(default=None, description="Another endpoint (tests, proxies).")
    max_attempts: int = Field(default=5, description="Attempts per request on throttling, 5xx and timeouts.")
    write_concurrency: int = Field(default=4, ge=1, description="Put and delete requests in flight at once.")
    indexes: dict[str, str] = Field(
        default_factory=dict,
        description="Existing indexes to use, by namespace, instead of `<collection>-<namespace>`.",
    )

    _client: Any = PrivateAttr(default=None)
    _sleep: Any = PrivateAttr(default=time.sleep)
    _existing: set[str] = PrivateAttr(
        default_factory=set
    )  # indexes seen to exist (removed only when their generation is dropped)
    _dimension: int | None = PrivateAttr(default=None)

    def client(self) -> Any:
        """The boto3 `s3vectors` client, made on first use; credentials from boto3's usual chain."""
        if self._client is None:
            self._client = boto3.client("s3vectors", region_name=self.region_name, endpoint_url=self.endpoint_url)
        return self._client

    def _call(self, operation: str, **kwargs: Any) -> Any:
        """One S3 Vectors API call, retried on throttling, 5xx, timeouts and dropped connections."""
        policy = RetryPolicy(boto_transient, attempts=self.max_attempts, sleep=self._sleep, service="S3 Vectors")
        return policy.call(getattr(self.client(), operation), **kwargs)

    @property
    def collection_name(self) -> str:
        return validate_collection_name(self.collection)

    def index_name(self, namespace: str) -> str:
        if namespace in self.indexes:
            return self.indexes[namespace]
        if not NAMESPACE.match(namespace):
            raise ValueError(f"namespace {namespace!r} is not allowed in S3 Vectors: use 1-20 of a-z, 0-9 and -")
        return f"{self.collection_name.replace('_', '-')}-{namespace}"

    def _write(self, operation: str, index: str, count: int, **kwargs: Any) -> None:
        """A put or delete of `count` vectors, paced under the index's write limits (shared by
        the process's threads), retried like any call."""
        limiter = shared_limiter(
            (self.endpoint_url, self.vector_bucket, index),
            MAX_WRITES_PER_SECOND,
            MAX_VECTORS_WRITTEN_PER_SECOND,
            period=1.0,
        )
        limiter.acquire(count)
        self._call(operation, vectorBucketName=self.vector_bucket, indexName=index, **kwargs)

    def with_collection(self, name: str) -> S3VectorsStore:
        """The same bucket, indexes named after `name` (the named indexes are this collection's)."""
        other = self.model_copy(update={"collection": name, "indexes": {}})
        other._existing, other._dimension = set(), None  # those of this store's collection
        return other

    def _exists(self, name: str) -> bool:
        """Whether the index exists; asked of the service until it does."""
        if name not in self._existing:
            if name in self.indexes.values():
                self._named_index(name, None)  # raises if missing: a named index is never created here
            else:
                self._existing.update(self._indexes())
        return name in self._existing

    def _indexes(self) -> list[str]:
        prefix = f"{self.collection_name.replace('_', '-')}-"
        try:
            pages = (
                self.client().get_paginator("list_indexes").paginate(vectorBucketName=self.vector_bucket, prefix=prefix)
            )
            return [index["indexName"] for page in pages for index in page.get("indexes", [])]
        except self.client().exceptions.NotFoundException:
            return []

    def _named_index(self, name: str, dimension: int | None) -> int:
        """The dimension of an index named in the settings, checked: it exists, measures distance
        as the store does, and holds vectors of `dimension` (when given)."""
        try:
            index = self._call("get_index", vectorBucketName=self.vector_bucket, indexName=name)["index"]
        except self.client().exceptions.NotFoundException:
            raise IndexMismatchError(
                f"S3 Vectors index {name!r} (VECTORDB_S3VECTORS_INDEX) does not exist in vector bucket {self.vector_bucket!r}"
            ) from None
        if index["distanceMetric"] != self.distance:
            raise IndexMismatchError(
                f"S3 Vectors index {name!r} measures {index['distanceMetric']} distance, not {self.distance} (VECTORDB_DISTANCE)"
            )
        if dimension is not None and index["dimension"] != dimension:
            raise DimensionMismatchError(
                f"S3 Vectors index {name!r} holds {index['dimension']}-dimension vectors; the model makes {dimension}"
            )
        self._existing.add(name)
        return index["dimension"]

    def collection_dimension(self) -> int | None:
        """The dimension of the collection's indexes, asked once for the resource's life."""
        if self._dimension is None and self.indexes:
            self._dimension = self._named_index(next(iter(self.indexes.values())), None)
        if self._dimension is None:
            # The default namespace's index is made first (another collection's indexes may share the prefix).
            try:
                index = self._call(
                    "get_index", vectorBucketName=self.vector_bucket, indexName=self.index_name("default")
                )
            except self.client().exceptions.NotFoundException:
                return None
            self._dimension = index["index"]["dimension"]
        return self._dimension

    def ensure_collection(self, dimension: int) -> None:
        try:
            self._call("create_vector_bucket", vectorBucketName=self.vector_bucket)
        except self.client().exceptions.ConflictException:
            pass
        for name in self.indexes.values():  # named indexes must exist and fit the model
            self._named_index(name, dimension)
        check_dimension(self.collection_name, self.collection_dimension(), dimension)
        # The default namespace's index records the collection's dimension from the start.
        self._ensure_index("default", dimension)

    def drop_collection(self, namespaces: Sequence[str]) -> None:
        """Delete the collection's indexes; a named index (made elsewhere) is emptied instead."""
        for namespace in sorted({*namespaces, "default"}):
            name = self.index_name(namespace)
            if namespace in self.indexes:
                self.delete(namespace, list(self.list_ids(namespace)))
                continue
            try:
                self._call("delete_index", vectorBucketName=self.vector_bucket, indexName=name)
            except self.client().exceptions.NotFoundException:
                pass
            self._existing.discard(name)
        self._dimension = None

    def _ensure_index(self, namespace: str, dimension: int) -> str:
        name = self.index_name(namespace)
        if namespace in self.indexes:
            if name not in self._existing:
                self._named_index(name, dimension)
            return name
        if not self._exists(name):
            self._call(
                "create_index",
                vectorBucketName=self.vector_bucket,
                indexName=name,
                dataType="float32",
                dimension=dimension,
                distanceMetric=self.distance,
                metadataConfiguration={"nonFilterableMetadataKeys": NON_FILTERABLE},
            )
            self._existing.add(name)
        return name

    def _check_vectors(self, ids: list[str], vectors: np.ndarray) -> None:
        bad = ~np.isfinite(vectors).all(axis=1)
        if bad.any():
            raise InvalidVectorError(f"vector {ids[int(np.argmax(bad))]!r} has NaN or infinite values")
        if self.distance == "cosine":
            zero = ~vectors.any(axis=1)
            if zero.any():
                raise InvalidVectorError(
                    f"vector {ids[int(np.argmax(zero))]!r} is all zeros: it has no cosine direction"
                )

    def _metadata(self, vid: str, text: str | None, metadata_json: str, content_hash: str, source_key: str) -> dict:
        log = dg.get_dagster_logger()
        filterable = stored_metadata(metadata_json, content_hash, source_key)
        if len(json.dumps(filterable)) > MAX_FILTERABLE_BYTES or len(filterable) + 1 > MAX_METADATA_KEYS:
            log.warning(f"{vid}: metadata over 2 KB or {MAX_METADATA_KEYS} keys is kept but cannot be filtered on")
            filterable = {**stored_metadata(None, content_hash, source_key), METADATA_JSON_FIELD: metadata_json}
        entry = {**filterable, TEXT_FIELD: text or ""}
        if len(json.dumps(entry).encode()) > MAX_METADATA_BYTES:
            log.warning(f"{vid}: text dropped from the stored metadata (over 40 KB with it)")
            entry[TEXT_FIELD] = ""
        size = len(json.dumps(entry).encode())
        if size > MAX_METADATA_BYTES:  # S3 Vectors would refuse the whole put: the file fails, naming the row
            raise InvalidVectorError(
                f"vector {vid!r}: its metadata is {size:,} bytes without its text; S3 Vectors keeps at most"
                f" {MAX_METADATA_BYTES:,} per vector"
            )
        return entry

    def upsert(self, namespace: str, records: pa.Table, assume_new: bool = False) -> int:
        if records.num_rows == 0:
            return 0
        vectors = record_vectors(records)
        dimension = vectors.shape[1]
        ids = records.column("id").to_pylist()
        self._check_vectors(ids, vectors)
        check_dimension(self.collection_name, self.collection_dimension(), dimension)
        index = self._ensure_index(namespace, dimension)
        columns = [records.column(c).to_pylist() for c in ("text", "metadata", "content_hash", "source_key")]
        entries = [
            {
                "key": vid,
                "data": {"float32": vectors[i].tolist()},
                "metadata": self._metadata(vid, *(c[i] for c in columns)),
            }
            for i, vid in enumerate(ids)
        ]
        sizes = [len(json.dumps(entry)) for entry in entries]
        in_parallel(
            lambda batch: self._write("put_vectors", index, len(batch), vectors=entries[batch.start : batch.stop]),
            pack(sizes, MAX_VECTORS_PER_PUT, MAX_BYTES_PER_PUT),
            self.write_concurrency,
        )
        return len(ids)

    def delete(self, namespace: str, ids: Sequence[str]) -> int:
        index = self.index_name(namespace)
        if not ids or not self._exists(index):
            return 0
        batches = [list(ids[start : start + MAX_KEYS_PER_CALL]) for start in range(0, len(ids), MAX_KEYS_PER_CALL)]
        in_parallel(
            lambda keys: self._write("delete_vectors", index, len(keys), keys=keys), batches, self.write_concurrency
        )
        return len(ids)

    def query(
        self, namespace: str, vector: np.ndarray, top_k: int, filters: Mapping[str, str] | None = None
    ) -> list[SearchHit]:
        if top_k > MAX_TOP_K:
            raise ValueError(f"S3 Vectors returns at most {MAX_TOP_K} results, not {top_k}")
        if not self._exists(self.index_name(namespace)):
            return []
        extra = equality_filter(filters)
        response = self._call(
            "query_vectors",
            vectorBucketName=self.vector_bucket,
            indexName=self.index_name(namespace),
            topK=top_k,
            queryVector={"float32": np.asarray(vector, dtype=np.float32).tolist()},
            returnMetadata=True,
            returnDistance=True,
            **extra,
        )
        return [
            hit_from_metadata(
                item["key"],
                1 - float(item.get("distance", 0.0))
                if self.distance == "cosine"
                else -float(item.get("distance", 0.0)),
                item.get("metadata"),
            )
            for item in response.get("vectors", [])
        ]

    def list_ids(self, namespace: str) -> Iterator[str]:
        if not self._exists(self.index_name(namespace)):
            return
        pages = (
            self.client()
            .get_paginator("list_vectors")
            .paginate(vectorBucketName=self.vector_bucket, indexName=self.index_name(namespace))
        )
        for page in pages:
            for item in page.get("vectors", []):
                yield item["key"]

    def count(self, namespace: str) -> int:
        return sum(1 for _ in self.list_ids(namespace))

    def content_hashes(self, namespace: str, ids: Sequence[str]) -> dict[str, str]:
        if not ids or not self._exists(self.index_name(namespace)):
            return {}
        hashes = {}
        for start in range(0, len(ids), 100):
            response = self._call(
                "get_vectors",
                vectorBucketName=self.vector_bucket,
                indexName=self.index_name(namespace),
                keys=list(ids[start : start + 100]),
                returnMetadata=True,
            )
            for item in response.get("vectors", []):
                hashes[item["key"]] = (item.get("metadata") or {}).get("content_hash")
        return hashes
