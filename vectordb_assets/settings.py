"""Settings: every environment variable the platform reads, with its type, default and meaning,
grouped by the system it configures. A group's fields are named as its resource's arguments.

Read once, from the process environment or a given mapping, when the code location (or the CLI)
starts: pydantic validates each group from the variables its fields name. Secrets are read here
only to know whether they are set: resources take their values from the environment through
`dg.EnvVar`, so they are never stored in run config or logged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from dagster._utils.schedules import is_valid_cron_string
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from resources.embedders import LocalBackend
from resources.location import Location, LocationError
from resources.redaction import url_problem
from resources.vector_store import CollectionNameError, validate_collection_name
from vectordb_assets.indexing.namespaces import check_namespace, parse_routes
from vectordb_assets.transfer.metabase_exports import MetabaseQuestion, QuestionSpecError, parse_questions
from vectordb_assets.validation.limits import ReadLimits

# Documented in the settings reference, read by boto3's own credential chain.
READ_BY_BOTO3 = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE")


class SettingsError(ValueError):
    """An environment variable holds a value the platform cannot use."""


def default_output(source: Location, home: Path) -> Location:
    """Where outputs go when VECTORDB_OUTPUT is unset: beside an S3 source in its bucket, else home."""
    if source.scheme == "s3":
        return Location("s3", source.root, "_vectordb")
    return Location("file", str(home / "store"))


def env(name: str, *more: str) -> Any:
    """The environment variable(s) a field is read from."""
    return AliasChoices(name, *more) if more else name


def _comma_list(value: Any) -> Any:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if isinstance(value, str) else value


LOWER = BeforeValidator(lambda value: value.strip().lower() if isinstance(value, str) else value)
CommaList = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]


class Group(BaseModel):
    """The settings of one system, each field read from its own environment variable (the
    variables of other groups are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class PathSettings(Group):
    """Where files land and outputs go."""

    home_dir: str = Field(
        ".vectordb",
        validation_alias=env("VECTORDB_HOME"),
        description="Folder of the embedded PostgreSQL data (`pgdata/`) and the default landing and output folders.",
    )
    source_uri: str | None = Field(
        None,
        validation_alias=env("VECTORDB_SOURCE"),
        examples=["s3://landing-bucket/raw"],
        description="Where files land: a folder or `s3://bucket/prefix`; default: `$VECTORDB_HOME/landing`.",
    )
    output_uri: str | None = Field(
        None,
        validation_alias=env("VECTORDB_OUTPUT"),
        description="Where `validated/`, `embeddings/`, `quarantine/` are written; default: `$VECTORDB_HOME/store`, or `s3://<bucket>/_vectordb` for an S3 source.",
    )


class AwsSettings(Group):
    """S3 and its clients (credentials come from boto3's own chain)."""

    endpoint_url: str | None = Field(
        None,
        validation_alias=env("VECTORDB_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL"),
        description="Any S3-compatible endpoint (MinIO, moto, …).",
    )
    region_name: str | None = Field(
        None,
        validation_alias=env("AWS_REGION", "AWS_DEFAULT_REGION"),
        description="AWS region of the S3 and S3 Vectors clients.",
    )
    presign_expiry_seconds: int = Field(
        3600,
        ge=1,
        validation_alias=env("VECTORDB_LINK_EXPIRY_SECONDS"),
        description="Lifetime of presigned links in metadata and `vectordb url`.",
    )


class DatabaseSettings(Group):
    """The state database."""

    database_url: SecretStr | None = Field(
        None,
        validation_alias=env("DATABASE_URL"),
        examples=["postgresql://vectordb@db.internal:5432/vectordb"],
        description="Any PostgreSQL with the `vector` extension available; unset: the embedded server. Read through `dg.EnvVar`, so it is not stored in run config.",
    )

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        problem = url_problem(value.get_secret_value()) if value is not None else None
        if problem:
            raise ValueError(f"DATABASE_URL is not a usable PostgreSQL URL: {problem}")
        return value


class IndexSettings(Group):
    """The vector index: its store, collection and distance."""

    store: Annotated[Literal["pgvector", "pinecone", "s3vectors"], LOWER] = Field(
        "pgvector", validation_alias=env("VECTORDB_STORE"), description="`pgvector`, `pinecone` or `s3vectors`."
    )
    collection: str = Field(
        "documents",
        validation_alias=env("VECTORDB_COLLECTION"),
        description="pgvector table, or S3 Vectors index prefix (a plain identifier).",
    )
    distance: Annotated[Literal["cosine", "l2", "inner_product"], LOWER] = Field(
        "cosine",
        validation_alias=env("VECTORDB_DISTANCE"),
        description="`cosine`, `l2` or `inner_product`: the HNSW index's operator class and the search order.",
    )
    write_concurrency: int = Field(
        4,
        ge=1,
        validation_alias=env("VECTORDB_WRITE_CONCURRENCY"),
        description="Pinecone and S3 Vectors write requests in flight at once, per run.",
    )
    volatile_fields: CommaList = Field(
        (),
        validation_alias=env("VECTORDB_VOLATILE_FIELDS"),
        description="Comma-separated metadata fields whose changes alone rewrite nothing.",
    )

    @field_validator("collection")
    @classmethod
    def _collection(cls, value: str) -> str:
        return validate_collection_name(value)


class PgvectorSettings(Group):
    """pgvector (`VECTORDB_STORE=pgvector`)."""

    load_connections: int = Field(
        2,
        ge=1,
        validation_alias=env("VECTORDB_PG_LOAD_CONNECTIONS"),
        description="Connections that share a large pgvector write (one `COPY` each, so one server CPU core each); a write is split only when every part gets 10,000 rows or more, or 250 once the collection has its HNSW index (each row's insertion into the graph costs the server milliseconds).",
    )
    vector_type: Annotated[Literal["vector", "halfvec"], LOWER] = Field(
        "vector",
        validation_alias=env("VECTORDB_PG_VECTOR_TYPE"),
        description="pgvector column type of a new collection: `vector` (32-bit floats) or `halfvec` (16-bit floats: half the bytes per vector and a smaller HNSW index; needs pgvector 0.7 or later). An existing collection keeps its type, with a warning in the run log; a new model generation or collection takes the setting.",
    )
    ef_search: int = Field(
        100,
        ge=1,
        le=1000,
        validation_alias=env("VECTORDB_PG_EF_SEARCH"),
        description="Candidates a pgvector search keeps in the HNSW graph (`hnsw.ef_search`; pgvector's own default is 40): more finds more of the exact nearest neighbours and takes longer. At 100, recall@10 against exact search was 0.987 to 0.989 in `bench/hnsw_writes.py`, against 0.973 to 0.975 at 40.",
    )
    maintenance_work_mem: str | None = Field(
        None,
        validation_alias=env("VECTORDB_PG_MAINTENANCE_WORK_MEM"),
        examples=["1GB"],
        description="Memory for building the HNSW index (e.g. `1GB`); pgvector's notice that the graph outgrew it appears in the run log.",
    )


class PineconeSettings(Group):
    """Pinecone (`VECTORDB_STORE=pinecone`)."""

    api_key: SecretStr | None = Field(
        None,
        validation_alias=env("PINECONE_API_KEY"),
        description="Pinecone key (read from the environment by Dagster through EnvVar, or by a command that starts no run; never stored).",
    )
    index_name: str | None = Field(
        None,
        validation_alias=env("VECTORDB_PINECONE_INDEX"),
        description="Pinecone index; default: the collection with - for _.",
    )
    host: str | None = Field(
        None, validation_alias=env("VECTORDB_PINECONE_HOST"), description="Pinecone index host; default: looked up."
    )
    create_if_missing: bool = Field(
        False, validation_alias=env("VECTORDB_PINECONE_CREATE"), description="Create a missing Pinecone index."
    )
    cloud: str = Field(
        "aws", validation_alias=env("VECTORDB_PINECONE_CLOUD"), description="Cloud of a created Pinecone index."
    )
    region: str = Field(
        "us-east-1", validation_alias=env("VECTORDB_PINECONE_REGION"), description="Region of a created Pinecone index."
    )


class S3VectorsSettings(Group):
    """AWS S3 Vectors (`VECTORDB_STORE=s3vectors`)."""

    vector_bucket: str | None = Field(
        None,
        validation_alias=env("VECTORDB_S3VECTORS_BUCKET"),
        examples=["my-vectors"],
        description="S3 Vectors bucket.",
    )
    endpoint_url: str | None = Field(
        None, validation_alias=env("VECTORDB_S3VECTORS_ENDPOINT_URL"), description="Another S3 Vectors endpoint."
    )
    index: CommaList = Field(
        (),
        validation_alias=env("VECTORDB_S3VECTORS_INDEX"),
        description="Existing S3 Vectors indexes to use: a name (for VECTORDB_NAMESPACE), or namespace=name pairs, comma-separated.",
    )


class NamespaceSettings(Group):
    """Namespaces: which files go where in the index."""

    default: str = Field(
        "default",
        validation_alias=env("VECTORDB_NAMESPACE"),
        description="Namespace of the files no route names, and of `vectordb search`.",
    )
    routes: CommaList = Field(
        (),
        validation_alias=env("VECTORDB_NAMESPACE_ROUTES"),
        examples=["metabase/42/=v2"],
        description="prefix=namespace pairs, comma-separated: files whose key starts with a prefix go to its namespace (the longest prefix wins).",
    )

    @field_validator("default")
    @classmethod
    def _namespace(cls, value: str) -> str:
        return check_namespace(value)

    @field_validator("routes")
    @classmethod
    def _routes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_routes(value)  # refuses a pair that is not a route
        return value


class EnrichmentSettings(Group):
    """Metadata joined into each row at validation, from the state database."""

    query: str | None = Field(
        None,
        validation_alias=env("VECTORDB_ENRICH_SQL"),
        examples=["select doc_id, title from documents where doc_id = any(%(ids)s)"],
        description="A SELECT whose first column is the document id, filtered by `%(ids)s`; its other columns join each row's metadata.",
    )
    table: str | None = Field(
        None,
        validation_alias=env("VECTORDB_ENRICH_TABLE"),
        examples=["catalog.documents"],
        description="Table (schema.table) whose columns join each row's metadata, matched on VECTORDB_ENRICH_KEY.",
    )
    key_column: str = Field(
        "id", validation_alias=env("VECTORDB_ENRICH_KEY"), description="The enrichment table's document id column."
    )


class UploadSettings(Group):
    """Job output folders uploaded to the landing area when complete."""

    folder: str | None = Field(
        None,
        validation_alias=env("VECTORDB_UPLOAD_FOLDER"),
        examples=["./job-outputs"],
        description="Local folder of job outputs, one subfolder per job run, uploaded when complete; unset: no automatic uploads.",
    )
    destination: str | None = Field(
        None,
        validation_alias=env("VECTORDB_UPLOAD_DESTINATION"),
        examples=["s3://landing-bucket/landing/jobs"],
        description="s3://bucket/prefix the job folders go under; default: the landing area.",
    )
    quiet_seconds: int = Field(
        300,
        ge=1,
        validation_alias=env("VECTORDB_UPLOAD_QUIET_SECONDS"),
        description="A job folder without a _SUCCESS marker is complete once nothing in it changed for this long.",
    )


class DagsterSettings(Group):
    """The Dagster deployment: the webserver the CLI talks to, sensors and checks."""

    url: str = Field(
        "http://127.0.0.1:3000",
        validation_alias=env("VECTORDB_DAGSTER_URL"),
        description="The Dagster webserver `vectordb ingest`, `status` and `runs` talk to.",
    )
    location: str = Field(
        "vectordb_assets",
        validation_alias=env("VECTORDB_DAGSTER_LOCATION"),
        description="The code location name of this project in that deployment.",
    )
    headers: SecretStr | None = Field(
        None,
        validation_alias=env("VECTORDB_DAGSTER_HEADERS"),
        description='A JSON object of HTTP headers `vectordb ingest`, `status` and `runs` send to the webserver, such as an authenticating proxy\'s `{"Authorization": "Bearer …"}` (a secret: never shown).',
    )
    sensor_interval_seconds: int = Field(
        30, ge=1, validation_alias=env("VECTORDB_SENSOR_INTERVAL"), description="Seconds between landing-sensor ticks."
    )
    check_cron: str = Field(
        "0 * * * *",
        validation_alias=env("VECTORDB_CHECK_CRON"),
        description="When the index's full checks run (also once after the index changes between two ticks).",
    )

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_headers(value.get_secret_value())
        return value

    @field_validator("check_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not is_valid_cron_string(value):
            raise ValueError(f"{value!r} is not a cron schedule (five fields, such as '0 * * * *', or '@hourly')")
        return value


class LandingSettings(Group):
    """How the landing sensor finds files and groups them into runs."""

    sqs_queue_url: str | None = Field(
        None,
        validation_alias=env("VECTORDB_SQS_QUEUE_URL"),
        description="SQS queue receiving the landing bucket's S3 events (needs an `s3://` `VECTORDB_SOURCE`); unset: the sensor lists.",
    )
    listing_objects_per_tick: int = Field(
        5_000,
        ge=1,
        validation_alias=env("VECTORDB_LISTING_OBJECTS_PER_TICK"),
        description="Objects a landing-sensor tick lists at most; a listing goes on over ticks.",
    )
    partition_depth: int = Field(
        0,
        ge=0,
        validation_alias=env("VECTORDB_PARTITION_DEPTH"),
        description="0: a partition per object; N: a partition per folder of the first N path segments (see Running the pipeline: folder partitions); cannot change under existing partitions.",
    )
    reconcile_seconds: int = Field(
        3_600,
        ge=1,
        validation_alias=env("VECTORDB_RECONCILE_SECONDS"),
        description="With SQS events, seconds between full listings of the landing area.",
    )
    max_partitions_per_run: int = Field(
        100,
        ge=1,
        validation_alias=env("VECTORDB_MAX_PARTITIONS_PER_RUN"),
        description="Partitions per sensor-requested run.",
    )
    max_deleted_fraction: float = Field(
        0.5,
        ge=0,
        le=1,
        validation_alias=env("VECTORDB_MAX_DELETED_FRACTION"),
        description="Above this share of vanished files (of 10 or more), deletions wait.",
    )


class EmbeddingSettings(Group):
    """Which embedder makes the vectors."""

    embedder: Annotated[Literal["local", "openai"], LOWER] = Field(
        "local",
        validation_alias=env("VECTORDB_EMBEDDER"),
        description="`local` (all-MiniLM-L6-v2, on VECTORDB_LOCAL_BACKEND) or `openai`.",
    )


class LocalModelSettings(Group):
    """The local all-MiniLM-L6-v2 model (`VECTORDB_EMBEDDER=local`)."""

    normalize: bool = Field(
        True,
        validation_alias=env("VECTORDB_NORMALIZE_EMBEDDINGS"),
        description="L2-normalise MiniLM vectors (`false` is another model id; the model's own pipeline ends in a `Normalize` module, so its vectors are normalised either way).",
    )
    batch_size: int = Field(
        64,
        ge=1,
        validation_alias=env("VECTORDB_LOCAL_BATCH_SIZE"),
        description="Texts per forward pass of the local model.",
    )
    backend: Annotated[LocalBackend, LOWER] = Field(
        "openvino",
        validation_alias=env("VECTORDB_LOCAL_BACKEND"),
        description="The local model's runtime: `openvino`, `torch` or `onnx` (the same vectors and model id), or `openvino-int8` or `onnx-int8` (8-bit weights; another model id each).",
    )
    models_dir: str | None = Field(
        None,
        validation_alias=env("VECTORDB_MODELS_DIR"),
        description="Where the local model's ONNX exports and OpenVINO's compiled graphs are kept; default: `$VECTORDB_HOME/models` (one folder can serve every home and run of a machine or image).",
    )


class OpenAISettings(Group):
    """OpenAI embeddings (`VECTORDB_EMBEDDER=openai`)."""

    api_key: SecretStr | None = Field(
        None,
        validation_alias=env("OPENAI_API_KEY"),
        description="OpenAI key (read from the environment by Dagster through EnvVar, or by a command that starts no run; never stored).",
    )
    model: str = Field(
        "text-embedding-3-small",
        validation_alias=env("VECTORDB_OPENAI_MODEL"),
        description="Or `text-embedding-3-large`, `text-embedding-ada-002`.",
    )
    dimensions: int | None = Field(
        None, ge=1, validation_alias=env("VECTORDB_OPENAI_DIMENSIONS"), description="Shorter v3 vectors."
    )
    base_url: str | None = Field(
        None, validation_alias=env("OPENAI_BASE_URL"), description="Azure or an OpenAI-compatible server."
    )
    requests_per_minute: int = Field(
        3_000, ge=1, validation_alias=env("VECTORDB_OPENAI_RPM"), description="Request budget per minute, per process."
    )
    tokens_per_minute: int = Field(
        1_000_000,
        ge=1,
        validation_alias=env("VECTORDB_OPENAI_TPM"),
        description="Token budget per minute, per process.",
    )
    concurrency: int = Field(
        4,
        ge=1,
        validation_alias=env("VECTORDB_OPENAI_CONCURRENCY"),
        description="OpenAI requests in flight at once, per run.",
    )


class EmbeddingCacheSettings(Group):
    """The embedding cache: vectors embedded before, by content and model."""

    location: Literal["database", "files"] = Field(
        "database",
        validation_alias=env("VECTORDB_EMBEDDING_CACHE"),
        description="Where vectors embedded before are found: `database` (the state database, shared by every file, kept through failed runs) or `files` (each file's previous `embeddings/` output: no copy of the vectors in PostgreSQL; see Incremental and deduplicated).",
    )
    vector_type: Annotated[Literal["vector", "halfvec"], LOWER] = Field(
        "vector",
        validation_alias=env("VECTORDB_EMBEDDING_CACHE_TYPE"),
        description="How the `database` embedding cache keeps vectors: `vector` (32-bit floats) or `halfvec` (16-bit floats, half the bytes; a vector read back from it differs from the model's by the rounding, under 0.0005 per value for unit vectors). Each type has a table of its own, so a change starts an empty cache.",
    )


class GenerationSettings(Group):
    """Model generations: switching after a model change and keeping the old one."""

    auto_promote: bool = Field(
        True,
        validation_alias=env("VECTORDB_AUTO_PROMOTE"),
        description="After a model change, make the new generation live as soon as it holds every file the live one holds (`false`: `vectordb promote` does it).",
    )
    retention_hours: float = Field(
        168,
        ge=0,
        validation_alias=env("VECTORDB_GENERATION_RETENTION_HOURS"),
        description="Hours a retired generation is kept for a rollback; the first run after that drops it.",
    )


class LimitSettings(Group):
    """What one landed file may cost a reader."""

    max_object_bytes: int = Field(
        20 << 30,
        ge=1,
        validation_alias=env("VECTORDB_MAX_OBJECT_BYTES"),
        description="Larger landed objects are refused unread.",
    )
    max_decompressed_bytes: int = Field(
        20 << 30,
        ge=1,
        validation_alias=env("VECTORDB_MAX_DECOMPRESSED_BYTES"),
        description="The most one file may decompress (gzip) or decode (Parquet) to.",
    )
    max_decompression_ratio: float = Field(
        100.0,
        gt=1,
        validation_alias=env("VECTORDB_MAX_DECOMPRESSION_RATIO"),
        description="A gzip file, or a Parquet file's footer, may expand at most this many times the file's size.",
    )
    max_row_bytes: int = Field(
        16 << 20,
        ge=1024,
        validation_alias=env("VECTORDB_MAX_ROW_BYTES"),
        description="The longest line (JSONL), row (CSV) or decoded row (Parquet).",
    )
    max_columns: int = Field(
        2_000,
        ge=1,
        validation_alias=env("VECTORDB_MAX_COLUMNS"),
        description="The most distinct columns, or JSON keys, in one file.",
    )
    max_batch_bytes: int = Field(
        64 << 20,
        ge=1 << 20,
        validation_alias=env("VECTORDB_MAX_BATCH_BYTES"),
        description="Source bytes turned into rows at once (a batch closes at 10,000 rows or this).",
    )
    max_nesting_depth: int = Field(
        64,
        ge=1,
        validation_alias=env("VECTORDB_MAX_NESTING_DEPTH"),
        description="JSON nested deeper is refused before any parser reads it.",
    )
    max_pages: int = Field(
        5_000,
        ge=1,
        validation_alias=env("VECTORDB_MAX_PAGES"),
        description="The most pages a PDF may have.",
    )


class MetabaseSettings(Group):
    """Metabase questions exported as landed files."""

    url: str | None = Field(
        None,
        validation_alias=env("VECTORDB_METABASE_URL"),
        examples=["https://metabase.internal"],
        description="Metabase base URL.",
    )
    api_key: SecretStr | None = Field(
        None, validation_alias=env("METABASE_API_KEY"), description="Metabase API key (read by Dagster through EnvVar)."
    )
    username: str | None = Field(
        None, validation_alias=env("METABASE_USERNAME"), description="Metabase user for a session."
    )
    password: SecretStr | None = Field(
        None,
        validation_alias=env("METABASE_PASSWORD"),
        description="Metabase password (read by Dagster through EnvVar).",
    )
    questions: tuple[MetabaseQuestion, ...] = Field(
        (),
        validation_alias=env("VECTORDB_METABASE_QUESTIONS"),
        examples=["42:created_at:2024-01-01"],
        description="`question_id:date_column:start_date[:parameter]`, comma-separated.",
    )

    @field_validator("questions", mode="before")
    @classmethod
    def _questions(cls, value: Any) -> Any:
        return tuple(parse_questions(value)) if isinstance(value, str) else value


class ApiSettings(Group):
    """The HTTP API (`vectordb api`)."""

    host: str = Field(
        "127.0.0.1",
        validation_alias=env("VECTORDB_API_HOST"),
        description="The address `vectordb api` listens on (`0.0.0.0` only behind TLS and a network policy, as in `deploy/helm/`).",
    )
    port: int = Field(
        8080, ge=1, le=65535, validation_alias=env("VECTORDB_API_PORT"), description="The port of `vectordb api`."
    )
    requests_per_minute: int = Field(
        600,
        ge=1,
        validation_alias=env("VECTORDB_API_REQUESTS_PER_MINUTE"),
        description="Requests a minute one API key may make (per API process), unless the key has its own budget; over it: `429` with `Retry-After`.",
    )
    max_body_bytes: int = Field(
        1 << 20,
        ge=1024,
        validation_alias=env("VECTORDB_API_MAX_BODY_BYTES"),
        description="Largest request body the API reads; larger ones get 413.",
    )


class Settings(BaseModel):
    """Every choice the environment makes, one group per system: where files land, where outputs
    and vectors go, and how each service is reached."""

    model_config = ConfigDict(frozen=True)

    paths: PathSettings
    aws: AwsSettings
    database: DatabaseSettings
    index: IndexSettings
    pgvector: PgvectorSettings
    pinecone: PineconeSettings
    s3vectors: S3VectorsSettings
    namespaces: NamespaceSettings
    enrichment: EnrichmentSettings
    uploads: UploadSettings
    dagster: DagsterSettings
    landing: LandingSettings
    embedding: EmbeddingSettings
    local_model: LocalModelSettings
    openai: OpenAISettings
    embedding_cache: EmbeddingCacheSettings
    generations: GenerationSettings
    limits: LimitSettings
    metabase: MetabaseSettings
    api: ApiSettings

    _base: Path = PrivateAttr(default_factory=Path.cwd)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.index.store == "s3vectors":
            if not self.s3vectors.vector_bucket:
                raise ValueError("VECTORDB_STORE=s3vectors needs VECTORDB_S3VECTORS_BUCKET (a vector bucket name)")
            if self.index.distance == "inner_product":
                raise ValueError("S3 Vectors offers cosine and l2 (euclidean) distances, not inner_product")
        if self.landing.sqs_queue_url and not (self.paths.source_uri or "").startswith("s3://"):
            raise ValueError("VECTORDB_SQS_QUEUE_URL needs an S3 landing area (VECTORDB_SOURCE=s3://bucket/prefix)")
        if self.enrichment.query and self.enrichment.table:
            raise ValueError("set VECTORDB_ENRICH_SQL or VECTORDB_ENRICH_TABLE, not both")
        if self.enrichment.query and "%(ids)s" not in self.enrichment.query:
            raise ValueError(
                "VECTORDB_ENRICH_SQL must use the parameter %(ids)s (a batch of document ids), as in `where id = any(%(ids)s)`"
            )
        if self.metabase.questions and not self.metabase.url:
            raise ValueError("VECTORDB_METABASE_QUESTIONS is set but VECTORDB_METABASE_URL is not")
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
        """The settings of `environ` (default: the process environment); relative paths from `cwd`."""
        read = {
            name: value
            for name, value in (os.environ if environ is None else environ).items()
            if value != "" and name in variables_read()
        }
        try:
            settings = cls.model_validate(dict.fromkeys(cls.model_fields, read))
            settings._base = cwd or Path.cwd()
            _ = (settings.source, settings.output, settings.upload_target)  # checked now, not at first use
        except ValidationError as error:
            raise SettingsError(_explain(error)) from None
        except (QuestionSpecError, CollectionNameError, LocationError) as error:
            raise SettingsError(str(error)) from None
        return settings

    def with_changes(self, **variables: Any) -> Settings:
        """These settings with some environment variables changed (None: unset), read again from
        the same folder."""
        current = {
            variable_names(type(group).model_fields[name])[0]: value for _, group in self for name, value in group
        }
        changed = {**current, **variables}
        return Settings.from_env({k: v for k, v in changed.items() if v is not None}, cwd=self._base)

    @property
    def upload_target(self) -> tuple[Path, str] | None:
        """The job outputs folder and the s3:// location its folders go under, when set."""
        if not self.uploads.folder:
            return None
        destination = self.uploads.destination or str(self.source)
        if not destination.startswith("s3://"):
            raise SettingsError(
                f"VECTORDB_UPLOAD_FOLDER needs an s3:// VECTORDB_UPLOAD_DESTINATION (or an S3 landing area), not {destination!r}"
            )
        return (self._base / self.uploads.folder).resolve(), destination

    @property
    def read_limits(self) -> ReadLimits:
        """What one landed file may cost a reader."""
        from resources.s3vectors_store import MAX_METADATA_BYTES  # boto3 only for S3 Vectors

        store_bound = MAX_METADATA_BYTES if self.index.store == "s3vectors" else None
        return ReadLimits(**self.limits.model_dump(), max_metadata_bytes=store_bound)

    @property
    def dagster_header_values(self) -> dict[str, str]:
        """The headers of VECTORDB_DAGSTER_HEADERS (checked when the settings load)."""
        headers = self.dagster.headers
        return parse_headers(headers.get_secret_value()) if headers else {}

    @property
    def routes(self) -> dict[str, str]:
        """Key prefix → namespace, from VECTORDB_NAMESPACE_ROUTES."""
        return parse_routes(self.namespaces.routes)

    @property
    def s3vectors_indexes(self) -> dict[str, str]:
        """Namespace → existing S3 Vectors index, from VECTORDB_S3VECTORS_INDEX (a bare name is
        VECTORDB_NAMESPACE's)."""
        pairs = (item.rpartition("=") for item in self.s3vectors.index)
        return {namespace if sep else self.namespaces.default: name for namespace, sep, name in pairs}

    @property
    def home(self) -> Path:
        return (self._base / self.paths.home_dir).resolve()

    @property
    def models(self) -> Path:
        models_dir = self.local_model.models_dir
        return (self._base / models_dir).resolve() if models_dir else self.home / "models"

    @property
    def source(self) -> Location:
        return Location.parse(self.paths.source_uri or str(self.home / "landing"), base=self._base)

    @property
    def output(self) -> Location:
        output_uri = self.paths.output_uri
        return Location.parse(output_uri, base=self._base) if output_uri else default_output(self.source, self.home)

    @property
    def pinecone_index(self) -> str:
        return self.pinecone.index_name or self.index.collection.replace("_", "-")

    @property
    def pgserver_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def source_excluded_prefix(self) -> str | None:
        """Outputs written inside the landing area must not be picked up as new files."""
        return self.source.contains(self.output)


def parse_headers(text: str) -> dict[str, str]:
    """A JSON object of header names to values; the error never repeats the text (it holds tokens)."""
    try:
        headers = json.loads(text)
    except ValueError:
        headers = None
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise ValueError(
            'VECTORDB_DAGSTER_HEADERS must be a JSON object of strings, such as {"Authorization": "Bearer ..."}'
        )
    return headers


def _explain(error: ValidationError) -> str:
    """pydantic's errors, each naming the environment variable and the value it holds."""
    lines = []
    for item in error.errors():
        name = next((part for part in reversed(item["loc"]) if isinstance(part, str) and part.isupper()), "")
        message = item["msg"].removeprefix("Value error, ")
        if name and not message.startswith(name):
            shown = "" if name in secret_variables() else f" (got {item['input']!r})"
            message = f"{name}: {message}{shown}"
        lines.append(message)
    return "; ".join(lines)


def setting_fields() -> Iterator[tuple[type[Group], str, FieldInfo]]:
    """Every setting: its group, its field name and its field, in the order of the reference."""
    for group in Settings.model_fields.values():
        model = group.annotation
        assert isinstance(model, type) and issubclass(model, Group)
        for name, field in model.model_fields.items():
            yield model, name, field


def variable_names(field: FieldInfo) -> list[str]:
    """The environment variables a setting is read from, the first one preferred."""
    alias = field.validation_alias
    return list(alias.choices) if isinstance(alias, AliasChoices) else [str(alias)]


def variables_read() -> set[str]:
    """Every environment variable a setting is read from."""
    return {name for _, _, field in setting_fields() for name in variable_names(field)}


def secret_variables() -> set[str]:
    """The environment variables that hold secrets (whose values are never shown)."""
    return {
        name
        for _, _, field in setting_fields()
        if "SecretStr" in str(field.annotation)
        for name in variable_names(field)
    }


def documented_variables() -> set[str]:
    """Every environment variable the platform reads or documents (for the settings reference)."""
    return variables_read() | set(READ_BY_BOTO3)
