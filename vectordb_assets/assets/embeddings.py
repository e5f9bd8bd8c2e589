"""embeddings: one vector per canonical row, from the file itself, the cache, or the model."""

import itertools
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from resources.embedders import Embedder
from resources.object_store import ObjectNotFoundError, ObjectStore
from resources.retry import ServiceMisconfigured
from resources.state_db import StateDatabase
from vectordb_assets.assets.per_file import ROW_COUNT, SKIPPED_STATUS, STATUS, FileRun, settings_failure
from vectordb_assets.assets.policies import BACKFILL_POLICY_PARTITIONS, RETRY_POLICY
from vectordb_assets.assets.progress import Progress
from vectordb_assets.assets.validated_parquet import validated_parquet
from vectordb_assets.embedding.cache_policy import EmbeddingCachePolicy
from vectordb_assets.embedding.stage import (
    EmbeddingStats,
    SharedBatch,
    SmallFile,
    embed_file,
    embed_texts,
    embedded_schema,
    read_rows,
    rows_per_call,
)
from vectordb_assets.landing.partitions import output_key, source_files
from vectordb_assets.landing.source_state import current_etag
from vectordb_assets.validation.canonical import parquet_writer
from vectordb_assets.validation.validate import read_lineage


def previous_output(open_files: ExitStack, output_store: ObjectStore, key: str) -> Path | None:
    """The file's last embeddings output, open for as long as `open_files`; None before the first."""
    try:
        return open_files.enter_context(output_store.local_path(output_key("embeddings", key)))
    except ObjectNotFoundError:
        return None


class EmbeddingsConfig(dg.Config):
    """Per-run choices for the embedding stage."""

    batch_rows: int = Field(
        default=1024, description="Rows read and embedded together, per request the embedder sends at once."
    )
    chunk_tokens: int | None = Field(
        default=None, description="Chunk size in model tokens; default: the model's window."
    )
    chunk_overlap: int = Field(default=32, description="Tokens shared by consecutive chunks of a long text.")


@dg.asset(
    partitions_def=source_files,
    deps=[validated_parquet],
    backfill_policy=dg.BackfillPolicy.multi_run(BACKFILL_POLICY_PARTITIONS),
    retry_policy=RETRY_POLICY,
    group_name="ingest",
    # Runs that embed at once share the pool's slots (see docs: Deploying, many runs at once), so that several
    # runs together stay under an API account's limits.
    pool="embeddings",
)
def embeddings(
    context: dg.AssetExecutionContext,
    config: EmbeddingsConfig,
    source_store: ObjectStore,
    output_store: ObjectStore,
    embedder: Embedder,
    state_db: StateDatabase,
    embedding_cache: EmbeddingCachePolicy,
) -> dg.MaterializeResult:
    """Validated rows with a vector each under embeddings/; texts embedded before are not embedded again.
    Files smaller than a call's rows (see `rows_per_call`) are embedded together, one model call per batch of rows."""
    usage_before = embedder.usage()
    loading = time.perf_counter()
    try:
        embedder.load()
    except ServiceMisconfigured as error:
        raise settings_failure("embeddings", error) from None
    context.log.info(f"{embedder.model_id} ready in {time.perf_counter() - loading:.1f} s (run-wide)")
    run = FileRun(context, "embeddings", source_store, output_store, state_db)
    with tempfile.TemporaryDirectory(prefix="vectordb-embed-") as folder:
        stage = EmbeddingRun(context, run, config, output_store, embedder, state_db, embedding_cache, Path(folder))
        for key in run.files():
            with run.file(key) as metadata:
                stage.start(key, metadata)
            if stage.shared.full:
                stage.finish_small_files()
        stage.finish_small_files()
    usage = {k: round(v - usage_before.get(k, 0), 6) for k, v in embedder.usage().items()}
    if usage:
        context.log.info(f"model usage of this run (run-wide): {usage}")
    return run.finish()


class EmbeddingRun:
    """The embedding stage over a run's files: large files one batch at a time, small files held
    until enough rows wait to fill a model call."""

    def __init__(
        self,
        context: dg.AssetExecutionContext,
        run: FileRun,
        config: EmbeddingsConfig,
        output_store: ObjectStore,
        embedder: Embedder,
        state_db: StateDatabase,
        embedding_cache: EmbeddingCachePolicy,
        folder: Path,
    ):
        self.context, self.run, self.config, self.output_store = context, run, config, output_store
        self.embedder, self.state_db, self.embedding_cache, self.folder = embedder, state_db, embedding_cache, folder
        self.rows_per_call = rows_per_call(embedder, config.batch_rows)
        self.shared = SharedBatch(embedder, self.rows_per_call)
        self.numbers = itertools.count()  # names of the outputs being written
        # One cache for the run unless each file reads its own previous output.
        self.run_cache = (
            None if embedding_cache.location == "files" else embedding_cache.cache(state_db, embedder.model_id, None)
        )

    def start(self, key: str, metadata: dict) -> None:
        """Embed a large file, or read a small one and hold it for `finish_small_files`."""
        source_store = self.run.source_store
        etag = current_etag(source_store, key)
        if etag is None:
            self.output_store.delete(output_key("embeddings", key))
            metadata["source_deleted"] = True
            return
        with ExitStack() as open_files:
            cache = self.run_cache or self.embedding_cache.cache(
                self.state_db, self.embedder.model_id, previous_output(open_files, self.output_store, key)
            )
            try:
                validated = open_files.enter_context(self.output_store.local_path(output_key("validated", key)))
                if read_lineage(validated).get("source_etag") != etag:
                    raise ObjectNotFoundError(key)
            except ObjectNotFoundError:
                # Validation quarantined the landed version: earlier outputs stay as they are.
                self.context.log.warning(f"{key}: no validated output for the landed version; skipped")
                metadata.update({STATUS: SKIPPED_STATUS, "skipped_because": "the landed version was not validated"})
                return
            parquet = pq.ParquetFile(validated)
            rows = parquet.metadata.num_rows
            out = self.folder / f"{next(self.numbers)}.parquet"
            if rows <= self.rows_per_call:
                stats = EmbeddingStats()
                table = parquet.read()
                batch = pa.RecordBatch.from_arrays(
                    [column.combine_chunks() for column in table.columns], schema=table.schema
                )
                pending = read_rows(
                    batch, key, self.embedder, cache, stats, self.config.chunk_tokens, self.config.chunk_overlap
                )
                schema = embedded_schema(parquet.schema_arrow, self.embedder.dimension)
                self.shared.add(SmallFile(key, pending, schema, cache, stats, out))
                return
            progress = Progress(
                self.context.log.info, key, "embeddings", rows, chunks_total=-(-rows // self.rows_per_call)
            )
            stats = embed_file(
                validated,
                out,
                key,
                self.embedder,
                cache,
                batch_rows=self.rows_per_call,
                chunk_tokens=self.config.chunk_tokens,
                chunk_overlap=self.config.chunk_overlap,
                on_batch=lambda s: progress.update(s.rows - s.chunk_rows_added, cache_hits=s.cache_hits),
            )
        self._publish(key, out, stats, progress.totals(), metadata)

    def finish_small_files(self) -> None:
        """Embed the held small files' texts in one call and write each file's output. Should the
        call fail, each file is embedded on its own, so that a failure stays with its file."""
        if not self.shared.files:
            return
        try:
            fresh = self.shared.embed()
        except ServiceMisconfigured as error:
            raise settings_failure("embeddings", error) from None
        except Exception as error:
            self.context.log.warning(
                f"embedding {len(self.shared.files)} small files together failed ({type(error).__name__}: {error});"
                " embedding each on its own"
            )
            fresh = None
        for file in self.shared.take():
            with self.run.file(file.key) as metadata:
                vectors = fresh
                if vectors is None:
                    embedded = embed_texts(self.embedder, file.pending.texts, [file.cache])
                    vectors = embedded.vectors
                    file.stats.embed_calls, file.stats.embed_seconds = int(bool(vectors)), embedded.seconds
                    file.stats.texts_embedded = len(vectors)
                    file.stats.tokens_embedded = sum(embedded.tokens.values())
                with parquet_writer(file.out, file.schema) as writer:
                    writer.write_batch(file.pending.complete(vectors, file.schema))
                rows = file.stats.rows - file.stats.chunk_rows_added
                totals = {
                    "records_total": rows,
                    "records_processed": rows,
                    "records_failed": 0,
                    "chunks_completed": 1,
                    "chunks_total": 1,
                }
                self._publish(file.key, file.out, file.stats, totals, metadata)

    def _publish(self, key: str, out: Path, stats: EmbeddingStats, totals: dict, metadata: dict) -> None:
        self.output_store.put_file(output_key("embeddings", key), out)
        out.unlink()
        metadata[ROW_COUNT] = stats.rows
        metadata.update(
            **totals,
            rows=stats.rows,
            precomputed=stats.precomputed,
            cache_hits=stats.cache_hits,
            embed_calls=stats.embed_calls,
            texts_embedded=stats.texts_embedded,
            tokens_embedded=stats.tokens_embedded,
            estimated_cost_usd=round(stats.tokens_embedded / 1e6 * self.embedder.price_per_million_tokens, 9),
            chunk_rows_added=stats.chunk_rows_added,
            embed_seconds=round(stats.embed_seconds, 3),
            model=self.embedder.model_id,
            dimension=self.embedder.dimension,
            link=dg.MetadataValue.url(self.output_store.url(output_key("embeddings", key))),
        )
        self.run.note(
            key,
            f"{key}: {stats.rows} rows, {stats.texts_embedded} embedded, {stats.cache_hits} from cache,"
            f" {stats.precomputed} precomputed",
        )
