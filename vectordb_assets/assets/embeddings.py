"""embeddings: one vector per canonical row, from the file itself, the cache, or the model."""

import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
from pydantic import Field

from resources.embedders import Embedder
from resources.object_store import ObjectNotFoundError, ObjectStore
from vectordb_assets.landing.source_state import current_etag
from resources.state_db import StateDatabase
from vectordb_assets.assets.per_file import FileRun
from vectordb_assets.assets.progress import Progress
from vectordb_assets.assets.policies import BACKFILL_POLICY_PARTITIONS, RETRY_POLICY
from vectordb_assets.assets.validated_parquet import validated_parquet
from vectordb_assets.embedding.stage import embed_file
from vectordb_assets.embedding.cache_policy import EmbeddingCachePolicy
from vectordb_assets.landing.partitions import output_key, source_files
from vectordb_assets.validation.validate import read_lineage


def previous_output(open_files: ExitStack, output_store: ObjectStore, key: str) -> Path | None:
    """The file's last embeddings output, open for as long as `open_files`; None before the first."""
    try:
        return open_files.enter_context(output_store.local_path(output_key("embeddings", key)))
    except ObjectNotFoundError:
        return None


class EmbeddingsConfig(dg.Config):
    """Per-run choices for the embedding stage."""

    batch_rows: int = Field(default=1024, description="Rows read and embedded together.")
    chunk_tokens: int | None = Field(default=None, description="Chunk size in model tokens; default: the model's window.")
    chunk_overlap: int = Field(default=32, description="Tokens shared by consecutive chunks of a long text.")


@dg.asset(
    partitions_def=source_files,
    deps=[validated_parquet],
    backfill_policy=dg.BackfillPolicy.multi_run(BACKFILL_POLICY_PARTITIONS),
    retry_policy=RETRY_POLICY,
    group_name="ingest",
    # Runs that embed at once share the pool's slots (see README: concurrency), so that several
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
    """Validated rows with a vector each under embeddings/; texts embedded before are not embedded again."""
    usage_before = embedder.usage()
    loading = time.perf_counter()
    embedder.load()
    context.log.info(f"{embedder.model_id} ready in {time.perf_counter() - loading:.1f} s (run-wide)")
    run = FileRun(context, "embeddings", source_store, output_store)
    for key in run.files():
        with run.file(key) as metadata, tempfile.TemporaryDirectory(prefix="vectordb-embed-") as folder, ExitStack() as open_files:
            etag = current_etag(source_store, key)
            if etag is None:
                output_store.delete(output_key("embeddings", key))
                metadata["source_deleted"] = True
                continue
            out = Path(folder, "embeddings.parquet")
            previous = previous_output(open_files, output_store, key) if embedding_cache.location == "files" else None
            cache = embedding_cache.cache(state_db, embedder.model_id, previous)
            try:
                with output_store.local_path(output_key("validated", key)) as validated:
                    if read_lineage(validated).get("source_etag") != etag:
                        raise ObjectNotFoundError(key)
                    rows = pq.ParquetFile(validated).metadata.num_rows
                    progress = Progress(context.log.info, key, "embeddings", rows, chunks_total=-(-rows // config.batch_rows))
                    stats = embed_file(
                        validated, out, key, embedder, cache, batch_rows=config.batch_rows,
                        chunk_tokens=config.chunk_tokens, chunk_overlap=config.chunk_overlap,
                        on_batch=lambda s: progress.update(s.rows - s.chunk_rows_added, cache_hits=s.cache_hits),
                    )
            except ObjectNotFoundError:
                # Validation quarantined the landed version: earlier outputs stay as they are.
                context.log.warning(f"{key}: no validated output for the landed version; skipped")
                metadata["skipped_unvalidated"] = True
                continue
            output_store.put_file(output_key("embeddings", key), out)
            metadata.update(
                **progress.totals(),
                rows=stats.rows,
                precomputed=stats.precomputed,
                cache_hits=stats.cache_hits,
                embed_calls=stats.embed_calls,
                texts_embedded=stats.texts_embedded,
                chunk_rows_added=stats.chunk_rows_added,
                embed_seconds=round(stats.embed_seconds, 3),
                model=embedder.model_id,
                dimension=embedder.dimension,
                link=dg.MetadataValue.url(output_store.url(output_key("embeddings", key))),
            )
            context.log.info(
                f"{key}: {stats.rows} rows, {stats.texts_embedded} embedded, {stats.cache_hits} from cache,"
                f" {stats.precomputed} precomputed"
            )
    usage = {k: round(v - usage_before.get(k, 0), 6) for k, v in embedder.usage().items()}
    if usage:
        context.log.info(f"model usage of this run (run-wide): {usage}")
    return run.finish()
