"""The resources the environment selects, for the code location and the command line alike.

A service's SDK is imported only when the settings choose it (and the landing stores' and
queue's only when all resources are built), so that a command using a few resources, such as
`vectordb search`, starts without loading the others."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import dagster as dg

from resources.embedders import Embedder, LocalEmbedder
from resources.location import Location
from resources.state_db import StateDatabase
from resources.vector_store import VectorStore
from vectordb_assets.settings import Settings, SettingsError

if TYPE_CHECKING:
    from dagster_aws.s3 import S3Resource

    from resources.metabase import MetabaseResource
    from resources.object_store import ObjectStore
    from vectordb_assets.indexing.generation_policy import GenerationPolicy


def s3_resource(settings: Settings) -> S3Resource:
    """S3 (or an S3-compatible endpoint); credentials come from boto3's usual chain."""
    from resources.object_store import SettingsS3Resource

    return SettingsS3Resource(endpoint_url=settings.aws.endpoint_url, region_name=settings.aws.region_name)


def object_store(location: Location, settings: Settings) -> ObjectStore:
    """A store for a folder or an S3 location."""
    from resources.object_store import LocalObjectStore, S3ObjectStore

    if location.scheme == "s3":
        return S3ObjectStore(
            s3=s3_resource(settings),
            bucket=location.root,
            prefix=location.prefix,
            presign_expiry_seconds=settings.aws.presign_expiry_seconds,
        )
    return LocalObjectStore(root=location.root)


def metabase_resource(settings: Settings) -> MetabaseResource:
    """Metabase at VECTORDB_METABASE_URL; the API key or password is read by Dagster from the environment."""
    from resources.metabase import MetabaseResource

    secret = {}
    if settings.metabase.api_key is not None:
        secret["api_key"] = dg.EnvVar("METABASE_API_KEY")
    if settings.metabase.password is not None:
        secret["password"] = dg.EnvVar("METABASE_PASSWORD")
    return MetabaseResource(url=settings.metabase.url or "", username=settings.metabase.username, **secret)


# A secret as a resource's config holds it: by default the variable's name, which Dagster reads
# from the environment when it initialises the resource (so that no run's config stores it).
Secret = Callable[[str], Any]


def from_environment(name: str) -> str:
    """The value of the environment variable `name`, which the settings' choice of service needs."""
    value = os.environ.get(name)
    if not value:
        raise SettingsError(f"{name} is not set, and the configured services need it")
    return value


def embedder(settings: Settings, secret: Secret = dg.EnvVar) -> Embedder:
    """The local MiniLM model, or OpenAI with the key from OPENAI_API_KEY."""
    if settings.embedding.embedder == "openai":
        from resources.openai_embedder import OpenAIEmbedder

        return OpenAIEmbedder(api_key=secret("OPENAI_API_KEY"), **settings.openai.model_dump(exclude={"api_key"}))
    return LocalEmbedder(**settings.local_model.model_dump(exclude={"models_dir"}), export_dir=str(settings.models))


def vector_store(settings: Settings, state_db: StateDatabase, secret: Secret = dg.EnvVar) -> VectorStore:
    """pgvector in the state database (default), a Pinecone index, or an S3 Vectors bucket."""
    if settings.index.store == "pinecone":
        from resources.pinecone_store import PineconeStore

        return PineconeStore(
            api_key=secret("PINECONE_API_KEY"),
            index_name=settings.pinecone_index,
            **settings.pinecone.model_dump(exclude={"api_key", "index_name"}),
            metric={"l2": "euclidean", "inner_product": "dotproduct"}.get(settings.index.distance, "cosine"),
            write_concurrency=settings.index.write_concurrency,
        )
    if settings.index.store == "s3vectors":
        from resources.s3vectors_store import S3VectorsStore

        return S3VectorsStore(
            vector_bucket=settings.s3vectors.vector_bucket or "",
            collection=settings.index.collection,
            distance="euclidean" if settings.index.distance == "l2" else "cosine",
            region_name=settings.aws.region_name,
            endpoint_url=settings.s3vectors.endpoint_url,
            write_concurrency=settings.index.write_concurrency,
            indexes=settings.s3vectors_indexes,
        )
    from resources.pgvector_store import PgVectorStore

    return PgVectorStore(
        state_db=state_db,
        collection=settings.index.collection,
        distance=settings.index.distance,
        **settings.pgvector.model_dump(),
    )


# The settings that decide each kind of embedder's vectors, recorded with a generation (no secret
# among them) under these names, and the variables that apply them to the current settings to make
# its embedder again.
RECORDED_AS = {
    "embedder": "VECTORDB_EMBEDDER",
    "local_backend": "VECTORDB_LOCAL_BACKEND",
    "normalize_embeddings": "VECTORDB_NORMALIZE_EMBEDDINGS",
    "openai_model": "VECTORDB_OPENAI_MODEL",
    "openai_dimensions": "VECTORDB_OPENAI_DIMENSIONS",
}


def model_settings(settings: Settings) -> dict[str, Any]:
    """The settings that make the configured model's vectors, by their recorded names."""
    if settings.embedding.embedder == "openai":
        model = {"openai_model": settings.openai.model, "openai_dimensions": settings.openai.dimensions}
    else:
        model = {"local_backend": settings.local_model.backend, "normalize_embeddings": settings.local_model.normalize}
    return {"embedder": settings.embedding.embedder, **model}


def recorded_model(settings: Settings, recorded: dict[str, Any]) -> Settings:
    """`settings` with a generation's recorded model settings applied."""
    return settings.with_changes(**{RECORDED_AS[name]: value for name, value in recorded.items()})


def generation_policy(settings: Settings) -> GenerationPolicy:
    """Which model generation readers use, and how generations switch and expire."""
    from vectordb_assets.indexing.generation_policy import GenerationPolicy

    return GenerationPolicy(
        model_settings=model_settings(settings),
        # An embedder of another generation's model is made and used outside Dagster's initialisation.
        embedder_for=lambda recorded: embedder(recorded_model(settings, recorded), secret=from_environment),
        auto_promote=settings.generations.auto_promote,
        retention=timedelta(hours=settings.generations.retention_hours),
    )


def search_resources(settings: Settings, secret: Secret = dg.EnvVar) -> dict[str, Any]:
    """What embedding and searching need: the state database, the embedder and the vector store."""
    state_db = StateDatabase(
        database_url=secret("DATABASE_URL") if settings.database.database_url else None,
        pgserver_dir=str(settings.pgserver_dir),
    )
    return {
        "state_db": state_db,
        "embedder": embedder(settings, secret),
        "vector_store": vector_store(settings, state_db, secret),
    }


def search_objects(settings: Settings) -> SimpleNamespace:
    """The search's resources and the generation policy, made without Dagster's initialisation
    (which builds a Dagster instance: about 1 s of a search), for a command that starts no run:
    the secrets are read from the environment into memory, and no run's config can store them."""
    return SimpleNamespace(
        **search_resources(settings, secret=from_environment), generations=generation_policy(settings)
    )


def resources_for(settings: Settings) -> dict[str, Any]:
    """Resource instances keyed as the assets and sensors ask for them."""
    from resources.landing_queue import LandingQueue
    from vectordb_assets.embedding.cache_policy import EmbeddingCachePolicy
    from vectordb_assets.indexing.namespaces import NamespaceRoutes
    from vectordb_assets.indexing.policy import IndexPolicy
    from vectordb_assets.transfer.upload_area import UploadArea
    from vectordb_assets.validation.enrichment import Enrichment

    return {
        **search_resources(settings),
        "generations": dg.ResourceDefinition.hardcoded_resource(
            generation_policy(settings), "model generations: switching and keeping them"
        ),
        "source_store": object_store(settings.source, settings),
        "output_store": object_store(settings.output, settings),
        "embedding_cache": EmbeddingCachePolicy(**settings.embedding_cache.model_dump()),
        "index_policy": IndexPolicy(volatile_fields=list(settings.index.volatile_fields)),
        "namespaces": NamespaceRoutes(default=settings.namespaces.default, routes=settings.routes),
        "read_limits": settings.read_limits,
        "enrichment": Enrichment(**settings.enrichment.model_dump()),
        "s3": s3_resource(settings),
        "landing_queue": LandingQueue(queue_url=settings.landing.sqs_queue_url, region_name=settings.aws.region_name),
        "upload_area": UploadArea(folder=str(target[0]), destination=target[1])
        if (target := settings.upload_target)
        else UploadArea(),
        **({"metabase": metabase_resource(settings)} if settings.metabase.url else {}),
    }
