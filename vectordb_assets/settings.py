"""Settings: every environment variable the platform reads, with its type, default and meaning.

Read once through pydantic-settings when the code location (or the CLI) starts. Secrets are
read here only to know whether they are set: resources take their values from the environment
through `dg.EnvVar`, so they are never stored in run config or logged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from dagster._utils.schedules import is_valid_cron_string
from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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


CommaList = Annotated[tuple[str, ...], NoDecode]


class Settings(BaseSettings):
    """Every choice the environment makes: where files land, where outputs and vectors go."""

    model_config = SettingsConfigDict(frozen=True, case_sensitive=True, env_ignore_empty=True, extra="ignore")

    home_dir: str = Field(
        ".vectordb",
        validation_alias=env("VECTORDB_HOME"),
        description="Folder of the embedded PostgreSQL data (`pgdata/`) and the default landing and output folders.",
    )
    source_uri: str | None = Field(
        None,
        validation_alias=env("VECTORDB_SOURCE"),
        description="Where files land: a folder or `s3://bucket/prefix`; default: `$VECTORDB_HOME/landing`.",
    )
    output_uri: str | None = Field(
        None,
        validation_alias=env("VECTORDB_OUTPUT"),
        description="Where `validated/`, `embeddings/`, `quarantine/` are written; default: `$VECTORDB_HOME/store`, or `s3://<bucket>/_vectordb` for an S3 source.",
    )
    s3_endpoint_url: str | None = Field(
        None,
        validation_alias=env("VECTORDB_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL"),
        description="Any S3-compatible endpoint (MinIO, moto, …).",
    )
    s3_region: str | None = Field(
        None,
        validation_alias=env("AWS_REGION", "AWS_DEFAULT_REGION"),
        description="AWS region of the S3 and S3 Vectors clients.",
    )
    database_url: SecretStr | None = Field(
        None,
        validation_alias=env("DATABASE_URL"),
        description="Any PostgreSQL with the `vector` extension available; unset: the embedded server. Read through `dg.EnvVar`, so it is not stored in run config.",
    )
    store: Literal["pgvector", "pinecone", "s3vectors"] = Field(
        "pgvector", validation_alias=env("VECTORDB_STORE"), description="`pgvector`, `pinecone` or `s3vectors`."
    )
    collection: str = Field(
        "documents",
        validation_alias=env("VECTORDB_COLLECTION"),
        description="pgvector table, or S3 Vectors index prefix (a plain identifier).",
    )
    distance: Literal["cosine", "l2", "inner_product"] = Field(
        "cosine",
        validation_alias=env("VECTORDB_DISTANCE"),
        description="`cosine`, `l2` or `inner_product`: the HNSW index's operator class and the search order.",
    )
    pg_load_connections: int = Field(
        2,
        ge=1,
        validation_alias=env("VECTORDB_PG_LOAD_CONNECTIONS"),
        description="Connections that share a large pgvector write (one `COPY` each, so one server CPU core each); a write is split only when every part gets 10,000 rows or more, or 250 once the collection has its HNSW index (each row's insertion into the graph costs the server milliseconds).",
    )
    pg_vector_type: Literal["vector", "halfvec"] = Field(
        "vector",
        validation_alias=env("VECTORDB_PG_VECTOR_TYPE"),
        description="pgvector column type of a new collection: `vector` (32-bit floats) or `halfvec` (16-bit floats: half the bytes per vector and a smaller HNSW index; needs pgvector 0.7 or later). An existing collection keeps its type, with a warning in the run log; a new model generation or collection takes the setting.",
    )
    pg_ef_search: int = Field(
        100,
        ge=1,
        le=1000,
        validation_alias=env("VECTORDB_PG_EF_SEARCH"),
        description="Candidates a pgvector search keeps in the HNSW graph (`hnsw.ef_search`; pgvector's own default is 40): more finds more of the exact nearest neighbours and takes longer. At 100, recall@10 against exact search was 0.987 to 0.989 in `bench/hnsw_writes.py`, against 0.973 to 0.975 at 40.",
    )
    pg_maintenance_work_mem: str | None = Field(
        None,
        validation_alias=env("VECTORDB_PG_MAINTENANCE_WORK_MEM"),
        description="Memory for building the HNSW index (e.g. `1GB`); pgvector's notice that the graph outgrew it appears in the run log.",
    )
    pinecone_api_key: SecretStr | None = Field(
        None,
        validation_alias=env("PINECONE_API_KEY"),
        description="Pinecone key (read from the environment by Dagster through EnvVar, or by a command that starts no run; never stored).",
    )
    pinecone_index_name: str | None = Field(
        None,
        validation_alias=env("VECTORDB_PINECONE_INDEX"),
        description="Pinecone index; default: the collection with - for _.",
    )
    pinecone_host: str | None = Field(
        None, validation_alias=env("VECTORDB_PINECONE_HOST"), description="Pinecone index host; default: looked up."
    )
    pinecone_create: bool = Field(
        False, validation_alias=env("VECTORDB_PINECONE_CREATE"), description="Create a missing Pinecone index."
    )
    pinecone_cloud: str = Field(
        "aws", validation_alias=env("VECTORDB_PINECONE_CLOUD"), description="Cloud of a created Pinecone index."
    )
    pinecone_region: str = Field(
        "us-east-1", validation_alias=env("VECTORDB_PINECONE_REGION"), description="Region of a created Pinecone index."
    )
    s3vectors_bucket: str | None = Field(
        None, validation_alias=env("VECTORDB_S3VECTORS_BUCKET"), description="S3 Vectors bucket."
    )
    s3vectors_endpoint_url: str | None = Field(
        None, validation_alias=env("VECTORDB_S3VECTORS_ENDPOINT_URL"), description="Another S3 Vectors endpoint."
    )
    s3vectors_index: CommaList = Field(
        (),
        validation_alias=env("VECTORDB_S3VECTORS_INDEX"),
        description="Existing S3 Vectors indexes to use: a name (for VECTORDB_NAMESPACE), or namespace=name pairs, comma-separated.",
    )
    namespace: str = Field(
        "default",
        validation_alias=env("VECTORDB_NAMESPACE"),
        description="Namespace of the files no route names, and of `vectordb search`.",
    )
    namespace_routes: CommaList = Field(
        (),
        validation_alias=env("VECTORDB_NAMESPACE_ROUTES"),
        description="prefix=namespace pairs, comma-separated: files whose key starts with a prefix go to its namespace (the longest prefix wins).",
    )
    enrich_sql: str | None = Field(
        None,
        validation_alias=env("VECTORDB_ENRICH_SQL"),
        description="A SELECT whose first column is the document id, filtered by `%(ids)s`; its other columns join each row's metadata.",
    )
    enrich_table: str | None = Field(
        None,
        validation_alias=env("VECTORDB_ENRICH_TABLE"),
        description="Table (schema.table) whose columns join each row's metadata, matched on VECTORDB_ENRICH_KEY.",
    )
    enrich_key: str = Field(
        "id", validation_alias=env("VECTORDB_ENRICH_KEY"), description="The enrichment table's document id column."
    )
    upload_folder: str | None = Field(
        None,
        validation_alias=env("VECTORDB_UPLOAD_FOLDER"),
        description="Local folder of job outputs, one subfolder per job run, uploaded when complete; unset: no automatic uploads.",
    )
    upload_destination: str | None = Field(
        None,
        validation_alias=env("VECTORDB_UPLOAD_DESTINATION"),
        description="s3://bucket/prefix the job folders go under; default: the landing area.",
    )
    upload_quiet_seconds: int = Field(
        300,
        ge=1,
        validation_alias=env("VECTORDB_UPLOAD_QUIET_SECONDS"),
        description="A job folder without a _SUCCESS marker is complete once nothing in it changed for this long.",
    )
    dagster_url: str = Field(
        "http://127.0.0.1:3000",
        validation_alias=env("VECTORDB_DAGSTER_URL"),
        description="The Dagster webserver `vectordb ingest`, `status` and `runs` talk to.",
    )
    dagster_location: str = Field(
        "vectordb_assets",
        validation_alias=env("VECTORDB_DAGSTER_LOCATION"),
        description="The code location name of this project in that deployment.",
    )
    sensor_interval_seconds: int = Field(
        30, ge=1, validation_alias=env("VECTORDB_SENSOR_INTERVAL"), description="Seconds between landing-sensor ticks."
    )
    check_cron: str = Field(
        "0 * * * *",
        validation_alias=env("VECTORDB_CHECK_CRON"),
        description="When the index's full checks run (also once after the index changes between two ticks).",
    )
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
    volatile_fields: CommaList = Field(
        (),
        validation_alias=env("VECTORDB_VOLATILE_FIELDS"),
        description="Comma-separated metadata fields whose changes alone rewrite nothing.",
    )
    max_deleted_fraction: float = Field(
        0.5,
        ge=0,
        le=1,
        validation_alias=env("VECTORDB_MAX_DELETED_FRACTION"),
        description="Above this share of vanished files (of 10 or more), deletions wait.",
    )
    embedder: Literal["local", "openai"] = Field(
        "local",
        validation_alias=env("VECTORDB_EMBEDDER"),
        description="`local` (all-MiniLM-L6-v2, on VECTORDB_LOCAL_BACKEND) or `openai`.",
    )
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=env("OPENAI_API_KEY"),
        description="OpenAI key (read from the environment by Dagster through EnvVar, or by a command that starts no run; never stored).",
    )
    openai_model: str = Field(
        "text-embedding-3-small",
        validation_alias=env("VECTORDB_OPENAI_MODEL"),
        description="Or `text-embedding-3-large`, `text-embedding-ada-002`.",
    )
    openai_dimensions: int | None = Field(
        None, ge=1, validation_alias=env("VECTORDB_OPENAI_DIMENSIONS"), description="Shorter v3 vectors."
    )
    openai_base_url: str | None = Field(
        None, validation_alias=env("OPENAI_BASE_URL"), description="Azure or an OpenAI-compatible server."
    )
    openai_requests_per_minute: int = Field(
        3_000, ge=1, validation_alias=env("VECTORDB_OPENAI_RPM"), description="Request budget per minute, per process."
    )
    openai_tokens_per_minute: int = Field(
        1_000_000,
        ge=1,
        validation_alias=env("VECTORDB_OPENAI_TPM"),
        description="Token budget per minute, per process.",
    )
    openai_concurrency: int = Field(
        4,
        ge=1,
        validation_alias=env("VECTORDB_OPENAI_CONCURRENCY"),
        description="OpenAI requests in flight at once, per run.",
    )
    write_concurrency: int = Field(
        4,
        ge=1,
        validation_alias=env("VECTORDB_WRITE_CONCURRENCY"),
        description="Pinecone and S3 Vectors write requests in flight at once, per run.",
    )
    auto_promote: bool = Field(
        True,
        validation_alias=env("VECTORDB_AUTO_PROMOTE"),
        description="After a model change, make the new generation live as soon as it holds every file the live one holds (`false`: `vectordb promote` does it).",
    )
    generation_retention_hours: float = Field(
        168,
        ge=0,
        validation_alias=env("VECTORDB_GENERATION_RETENTION_HOURS"),
        description="Hours a retired generation is kept for a rollback; the first run after that drops it.",
    )
    embedding_cache: Literal["database", "files"] = Field(
        "database",
        validation_alias=env("VECTORDB_EMBEDDING_CACHE"),
        description="Where vectors embedded before are found: `database` (the state database, shared by every file, kept through failed runs) or `files` (each file's previous `embeddings/` output: no copy of the vectors in PostgreSQL; see Incremental and deduplicated).",
    )
    embedding_cache_type: Literal["vector", "halfvec"] = Field(
        "vector",
        validation_alias=env("VECTORDB_EMBEDDING_CACHE_TYPE"),
        description="How the `database` embedding cache keeps vectors: `vector` (32-bit floats) or `halfvec` (16-bit floats, half the bytes; a vector read back from it differs from the model's by the rounding, under 0.0005 per value for unit vectors). Each type has a table of its own, so a change starts an empty cache.",
    )
    normalize_embeddings: bool = Field(
        True,
        validation_alias=env("VECTORDB_NORMALIZE_EMBEDDINGS"),
        description="L2-normalise MiniLM vectors (`false` is another model id; the model's own pipeline ends in a `Normalize` module, so its vectors are normalised either way).",
    )
    local_batch_size: int = Field(
        64,
        ge=1,
        validation_alias=env("VECTORDB_LOCAL_BATCH_SIZE"),
        description="Texts per forward pass of the local model.",
    )
    models_dir: str | None = Field(
        None,
        validation_alias=env("VECTORDB_MODELS_DIR"),
        description="Where the local model's ONNX exports and OpenVINO's compiled graphs are kept; default: `$VECTORDB_HOME/models` (one folder can serve every home and run of a machine or image).",
    )
    local_backend: LocalBackend = Field(
        "openvino",
        validation_alias=env("VECTORDB_LOCAL_BACKEND"),
        description="The local model's runtime: `openvino`, `torch` or `onnx` (the same vectors and model id), or `openvino-int8` or `onnx-int8` (8-bit weights; another model id each).",
    )
    link_expiry_seconds: int = Field(
        3600,
        ge=1,
        validation_alias=env("VECTORDB_LINK_EXPIRY_SECONDS"),
        description="Lifetime of presigned links in metadata and `vectordb url`.",
    )
    metabase_url: str | None = Field(
        None, validation_alias=env("VECTORDB_METABASE_URL"), description="Metabase base URL."
    )
    metabase_api_key: SecretStr | None = Field(
        None, validation_alias=env("METABASE_API_KEY"), description="Metabase API key (read by Dagster through EnvVar)."
    )
    metabase_username: str | None = Field(
        None, validation_alias=env("METABASE_USERNAME"), description="Metabase user for a session."
    )
    metabase_password: SecretStr | None = Field(
        None,
        validation_alias=env("METABASE_PASSWORD"),
        description="Metabase password (read by Dagster through EnvVar).",
    )
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
    dagster_headers: SecretStr | None = Field(
        None,
        validation_alias=env("VECTORDB_DAGSTER_HEADERS"),
        description='A JSON object of HTTP headers `vectordb ingest`, `status` and `runs` send to the webserver, such as an authenticating proxy\'s `{"Authorization": "Bearer …"}` (a secret: never shown).',
    )
    api_host: str = Field(
        "127.0.0.1",
        validation_alias=env("VECTORDB_API_HOST"),
        description="The address `vectordb api` listens on (`0.0.0.0` only behind TLS and a network policy, as in `deploy/helm/`).",
    )
    api_port: int = Field(
        8080, ge=1, le=65535, validation_alias=env("VECTORDB_API_PORT"), description="The port of `vectordb api`."
    )
    api_requests_per_minute: int = Field(
        600,
        ge=1,
        validation_alias=env("VECTORDB_API_REQUESTS_PER_MINUTE"),
        description="Requests a minute one API key may make (per API process), unless the key has its own budget; over it: `429` with `Retry-After`.",
    )
    api_max_body_bytes: int = Field(
        1 << 20,
        ge=1024,
        validation_alias=env("VECTORDB_API_MAX_BODY_BYTES"),
        description="Largest request body the API reads; larger ones get 413.",
    )
    metabase_questions: Annotated[tuple[MetabaseQuestion, ...], NoDecode] = Field(
        (),
        validation_alias=env("VECTORDB_METABASE_QUESTIONS"),
        description="`question_id:date_column:start_date[:parameter]`, comma-separated.",
    )

    _base: Path = PrivateAttr(default_factory=Path.cwd)

    @field_validator(
        "store", "distance", "pg_vector_type", "embedding_cache_type", "embedder", "local_backend", mode="before"
    )
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("volatile_fields", "s3vectors_index", "namespace_routes", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return tuple(v.strip() for v in value.split(",") if v.strip()) if isinstance(value, str) else value

    @field_validator("metabase_questions", mode="before")
    @classmethod
    def _questions(cls, value: Any) -> Any:
        return tuple(parse_questions(value)) if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        problem = url_problem(value.get_secret_value()) if value is not None else None
        if problem:
            raise ValueError(f"DATABASE_URL is not a usable PostgreSQL URL: {problem}")
        return value

    @field_validator("dagster_headers")
    @classmethod
    def _headers(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_headers(value.get_secret_value())
        return value

    @field_validator("collection")
    @classmethod
    def _collection(cls, value: str) -> str:
        return validate_collection_name(value)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        return check_namespace(value)

    @field_validator("namespace_routes")
    @classmethod
    def _routes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_routes(value)  # refuses a pair that is not a route
        return value

    @field_validator("check_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not is_valid_cron_string(value):
            raise ValueError(f"{value!r} is not a cron schedule (five fields, such as '0 * * * *', or '@hourly')")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.store == "s3vectors":
            if not self.s3vectors_bucket:
                raise ValueError("VECTORDB_STORE=s3vectors needs VECTORDB_S3VECTORS_BUCKET (a vector bucket name)")
            if self.distance == "inner_product":
                raise ValueError("S3 Vectors offers cosine and l2 (euclidean) distances, not inner_product")
        if self.sqs_queue_url and not (self.source_uri or "").startswith("s3://"):
            raise ValueError("VECTORDB_SQS_QUEUE_URL needs an S3 landing area (VECTORDB_SOURCE=s3://bucket/prefix)")
        if self.enrich_sql and self.enrich_table:
            raise ValueError("set VECTORDB_ENRICH_SQL or VECTORDB_ENRICH_TABLE, not both")
        if self.enrich_sql and "%(ids)s" not in self.enrich_sql:
            raise ValueError(
                "VECTORDB_ENRICH_SQL must use the parameter %(ids)s (a batch of document ids), as in `where id = any(%(ids)s)`"
            )
        if self.metabase_questions and not self.metabase_url:
            raise ValueError("VECTORDB_METABASE_QUESTIONS is set but VECTORDB_METABASE_URL is not")
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
        """The settings of `environ` (default: the process environment); relative paths from `cwd`."""
        try:
            if environ is None:
                settings = cls()
            else:
                settings = cls.model_validate({k: v for k, v in environ.items() if v != ""})
            settings._base = cwd or Path.cwd()
            _ = (settings.source, settings.output, settings.uploads)  # locations are checked now, not at first use
        except ValidationError as error:
            raise SettingsError(_explain(error)) from None
        except (QuestionSpecError, CollectionNameError, LocationError) as error:
            raise SettingsError(str(error)) from None
        return settings

    @property
    def uploads(self) -> tuple[Path, str] | None:
        """The job outputs folder and the s3:// location its folders go under, when set."""
        if not self.upload_folder:
            return None
        destination = self.upload_destination or str(self.source)
        if not destination.startswith("s3://"):
            raise SettingsError(
                f"VECTORDB_UPLOAD_FOLDER needs an s3:// VECTORDB_UPLOAD_DESTINATION (or an S3 landing area), not {destination!r}"
            )
        return (self._base / self.upload_folder).resolve(), destination

    @property
    def read_limits(self) -> ReadLimits:
        """What one landed file may cost a reader."""
        names = (
            "max_object_bytes",
            "max_decompressed_bytes",
            "max_decompression_ratio",
            "max_row_bytes",
            "max_columns",
            "max_batch_bytes",
            "max_nesting_depth",
            "max_pages",
        )
        from resources.s3vectors_store import MAX_METADATA_BYTES  # boto3 only for S3 Vectors

        store_bound = MAX_METADATA_BYTES if self.store == "s3vectors" else None
        return ReadLimits(**{name: getattr(self, name) for name in names}, max_metadata_bytes=store_bound)

    @property
    def dagster_header_values(self) -> dict[str, str]:
        """The headers of VECTORDB_DAGSTER_HEADERS (checked when the settings load)."""
        return parse_headers(self.dagster_headers.get_secret_value()) if self.dagster_headers else {}

    @property
    def routes(self) -> dict[str, str]:
        """Key prefix → namespace, from VECTORDB_NAMESPACE_ROUTES."""
        return parse_routes(self.namespace_routes)

    @property
    def s3vectors_indexes(self) -> dict[str, str]:
        """Namespace → existing S3 Vectors index, from VECTORDB_S3VECTORS_INDEX (a bare name is
        VECTORDB_NAMESPACE's)."""
        pairs = (item.rpartition("=") for item in self.s3vectors_index)
        return {namespace if sep else self.namespace: name for namespace, sep, name in pairs}

    @property
    def home(self) -> Path:
        return (self._base / self.home_dir).resolve()

    @property
    def models(self) -> Path:
        return (self._base / self.models_dir).resolve() if self.models_dir else self.home / "models"

    @property
    def source(self) -> Location:
        return Location.parse(self.source_uri or str(self.home / "landing"), base=self._base)

    @property
    def output(self) -> Location:
        return (
            Location.parse(self.output_uri, base=self._base)
            if self.output_uri
            else default_output(self.source, self.home)
        )

    @property
    def pinecone_index(self) -> str:
        return self.pinecone_index_name or self.collection.replace("_", "-")

    @property
    def pgserver_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def source_excluded_prefix(self) -> str | None:
        """Outputs written inside the landing area must not be picked up as new files."""
        return self.source.contains(self.output)

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with some settings changed (by field name), relative paths from the same folder."""
        copy = self.model_copy(update=changes)
        copy._base = self._base
        return copy


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
        name = item["loc"][0] if item["loc"] else ""  # the variable, since fields are read by alias
        message = item["msg"].removeprefix("Value error, ")
        if name and not message.startswith(name):
            shown = "" if name in secret_variables() else f" (got {item['input']!r})"
            message = f"{name}: {message}{shown}"
        lines.append(message)
    return "; ".join(lines)


def secret_variables() -> set[str]:
    """The environment variables that hold secrets (whose values are never shown)."""
    return {
        field.validation_alias
        for field in Settings.model_fields.values()
        if "SecretStr" in str(field.annotation) and isinstance(field.validation_alias, str)
    }


def documented_variables() -> set[str]:
    """Every environment variable the platform reads or documents (for the settings reference)."""
    names: set[str] = set(READ_BY_BOTO3)
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names.update(alias.choices if isinstance(alias, AliasChoices) else [alias])
    return names
