"""Settings read from the environment when the code location (or the CLI) is built."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from vectordb_assets.metabase_exports import MetabaseQuestion, QuestionSpecError, parse_questions


class SettingsError(ValueError):
    """An environment variable holds a value the platform cannot use."""


@dataclass(frozen=True)
class Location:
    """A place in an object store: a local folder or an S3 bucket and prefix."""

    scheme: str  # "file" or "s3"
    root: str  # absolute folder path, or the bucket name
    prefix: str = ""  # key prefix inside the bucket, without a trailing slash

    @classmethod
    def parse(cls, value: str, *, base: Path) -> "Location":
        if value.startswith("s3://"):
            bucket, _, prefix = value[len("s3://") :].partition("/")
            if not bucket:
                raise SettingsError(f"no bucket in S3 location {value!r}")
            return cls("s3", bucket, prefix.strip("/"))
        if "://" in value and not value.startswith("file://"):
            raise SettingsError(f"unsupported location {value!r}: use a folder path or s3://bucket/prefix")
        path = Path(value.removeprefix("file://")).expanduser()
        return cls("file", str((base / path).resolve()))

    def contains(self, other: "Location") -> str | None:
        """The relative key prefix under which `other` lies inside this location, if it does."""
        if self.scheme != other.scheme:
            return None
        if self.scheme == "file":
            try:
                return Path(other.root).relative_to(self.root).as_posix()
            except ValueError:
                return None
        if self.root != other.root:
            return None
        if not self.prefix:
            return other.prefix or None
        if other.prefix.startswith(self.prefix + "/"):
            return other.prefix[len(self.prefix) + 1 :]
        return None

    def __str__(self) -> str:
        if self.scheme == "s3":
            return f"s3://{self.root}/{self.prefix}".rstrip("/")
        return self.root


def default_output(source: Location, home: Path) -> Location:
    """Where outputs go when VECTORDB_OUTPUT is unset: beside an S3 source in its bucket, else home."""
    if source.scheme == "s3":
        return Location("s3", source.root, "_vectordb")
    return Location("file", str(home / "store"))


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, not {value}")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _s3vectors_bucket(env: Mapping[str, str]) -> str | None:
    bucket = env.get("VECTORDB_S3VECTORS_BUCKET") or None
    if (env.get("VECTORDB_STORE") or "").strip().lower() == "s3vectors":
        if not bucket:
            raise SettingsError("VECTORDB_STORE=s3vectors needs VECTORDB_S3VECTORS_BUCKET (a vector bucket name)")
        if (env.get("VECTORDB_DISTANCE") or "cosine") == "inner_product":
            raise SettingsError("S3 Vectors offers cosine and l2 (euclidean) distances, not inner_product")
    return bucket


def _questions(env: Mapping[str, str]) -> tuple[MetabaseQuestion, ...]:
    try:
        questions = tuple(parse_questions(env.get("VECTORDB_METABASE_QUESTIONS", "")))
    except QuestionSpecError as error:
        raise SettingsError(str(error)) from None
    if questions and not env.get("VECTORDB_METABASE_URL"):
        raise SettingsError("VECTORDB_METABASE_QUESTIONS is set but VECTORDB_METABASE_URL is not")
    return questions


def _fraction(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number from 0 to 1, not {raw!r}") from None
    if not 0 <= value <= 1:
        raise SettingsError(f"{name} must be a number from 0 to 1, not {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Every choice the environment makes: where files land, where outputs and vectors go."""

    home: Path
    source: Location
    output: Location
    s3_endpoint_url: str | None
    s3_region: str | None
    database_url: str | None
    collection: str
    namespace: str
    sensor_interval_seconds: int
    max_partitions_per_run: int
    volatile_fields: tuple[str, ...]
    max_deleted_fraction: float
    normalize_embeddings: bool
    local_batch_size: int
    link_expiry_seconds: int
    embedder: str
    store: str
    pinecone_index: str
    pinecone_host: str | None
    pinecone_create: bool
    pinecone_cloud: str
    pinecone_region: str
    s3vectors_bucket: str | None
    s3vectors_endpoint_url: str | None
    distance: str
    pg_maintenance_work_mem: str | None
    pg_load_connections: int
    openai_model: str
    openai_dimensions: int | None
    openai_base_url: str | None
    openai_requests_per_minute: int
    openai_tokens_per_minute: int
    metabase_url: str | None
    metabase_questions: tuple[MetabaseQuestion, ...]

    @property
    def pgserver_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def source_excluded_prefix(self) -> str | None:
        """Outputs written inside the landing area must not be picked up as new files."""
        return self.source.contains(self.output)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> "Settings":
        env = os.environ if env is None else env
        base = cwd or Path.cwd()
        home = (base / env.get("VECTORDB_HOME", ".vectordb")).resolve()
        source = Location.parse(env.get("VECTORDB_SOURCE") or str(home / "landing"), base=base)
        if env.get("VECTORDB_OUTPUT"):
            output = Location.parse(env["VECTORDB_OUTPUT"], base=base)
        else:
            output = default_output(source, home)
        return cls(
            home=home,
            source=source,
            output=output,
            s3_endpoint_url=env.get("VECTORDB_S3_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL") or None,
            s3_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            database_url=env.get("DATABASE_URL") or None,
            collection=env.get("VECTORDB_COLLECTION", "documents"),
            namespace=env.get("VECTORDB_NAMESPACE", "default"),
            sensor_interval_seconds=_int(env, "VECTORDB_SENSOR_INTERVAL", 30),
            max_partitions_per_run=_int(env, "VECTORDB_MAX_PARTITIONS_PER_RUN", 100),
            link_expiry_seconds=_int(env, "VECTORDB_LINK_EXPIRY_SECONDS", 3600),
            embedder=_choice(env, "VECTORDB_EMBEDDER", ("local", "openai"), "local"),
            store=_choice(env, "VECTORDB_STORE", ("pgvector", "pinecone", "s3vectors"), "pgvector"),
            pinecone_index=env.get("VECTORDB_PINECONE_INDEX") or env.get("VECTORDB_COLLECTION", "documents").replace("_", "-"),
            pinecone_host=env.get("VECTORDB_PINECONE_HOST") or None,
            pinecone_create=(env.get("VECTORDB_PINECONE_CREATE") or "false").lower() in ("1", "true", "yes"),
            pinecone_cloud=env.get("VECTORDB_PINECONE_CLOUD", "aws"),
            pinecone_region=env.get("VECTORDB_PINECONE_REGION", "us-east-1"),
            s3vectors_bucket=_s3vectors_bucket(env),
            s3vectors_endpoint_url=env.get("VECTORDB_S3VECTORS_ENDPOINT_URL") or None,
            distance=_choice(env, "VECTORDB_DISTANCE", ("cosine", "l2", "inner_product"), "cosine"),
            pg_maintenance_work_mem=env.get("VECTORDB_PG_MAINTENANCE_WORK_MEM") or None,
            pg_load_connections=_int(env, "VECTORDB_PG_LOAD_CONNECTIONS", 2),
            openai_model=env.get("VECTORDB_OPENAI_MODEL", "text-embedding-3-small"),
            openai_dimensions=_int(env, "VECTORDB_OPENAI_DIMENSIONS", 0) or None,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            openai_requests_per_minute=_int(env, "VECTORDB_OPENAI_RPM", 3_000),
            openai_tokens_per_minute=_int(env, "VECTORDB_OPENAI_TPM", 1_000_000),
            metabase_url=env.get("VECTORDB_METABASE_URL") or None,
            metabase_questions=_questions(env),
            local_batch_size=_int(env, "VECTORDB_LOCAL_BATCH_SIZE", 64),
            normalize_embeddings=env.get("VECTORDB_NORMALIZE_EMBEDDINGS", "true").lower() not in ("0", "false", "no"),
            max_deleted_fraction=_fraction(env, "VECTORDB_MAX_DELETED_FRACTION", 0.5),
            volatile_fields=tuple(f.strip() for f in env.get("VECTORDB_VOLATILE_FIELDS", "").split(",") if f.strip()),
        )
