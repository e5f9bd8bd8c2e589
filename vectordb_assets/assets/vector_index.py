"""vector_index: the vector store in step with every landed file."""

from datetime import datetime
from functools import partial

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field, field_validator

from resources.embedders import Embedder
from resources.object_store import ObjectNotFoundError, ObjectStore
from resources.state_db import StateDatabase
from resources.vector_store import VectorStore
from vectordb_assets.assets.embeddings import embeddings
from vectordb_assets.assets.per_file import SKIPPED_STATUS, STATUS, FileRun
from vectordb_assets.assets.policies import BACKFILL_POLICY_PARTITIONS, RETRY_POLICY
from vectordb_assets.assets.progress import Progress
from vectordb_assets.embedding.other_model import embedded_rows
from vectordb_assets.indexing.generation_policy import GenerationPolicy, InPlay
from vectordb_assets.indexing.generation_sync import holds_version, sync_file
from vectordb_assets.indexing.generations import BUILDING
from vectordb_assets.indexing.ledger import VectorLedger
from vectordb_assets.indexing.namespaces import NamespaceRoutes, check_namespace
from vectordb_assets.indexing.policy import IndexPolicy
from vectordb_assets.indexing.reconciliation import sample_sources
from vectordb_assets.indexing.switch import drop_expired, promote, readiness
from vectordb_assets.landing.partitions import output_key, source_files
from vectordb_assets.landing.source_state import current_etag
from vectordb_assets.validation.validate import read_lineage

# Metadata entry of a partition whose source was gone; the landing sensor then removes it.
SOURCE_DELETED = "source_deleted"
# Ids per file compared between ledger and store after each run.
SAMPLE_PER_FILE = 20


class VectorIndexConfig(dg.Config):
    """Per-run choices for the index stage."""

    namespace: str | None = Field(
        default=None,
        description="Namespace of every file of this run; unset: each file's route (VECTORDB_NAMESPACE_ROUTES), else "
        "VECTORDB_NAMESPACE. A file the index holds in another namespace moves.",
    )

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        return check_namespace(value) if value is not None else None


def load_embedded(output_store: ObjectStore, source_key: str) -> tuple[pa.Table, dict]:
    """A source's embedded rows and their lineage (source etag, landing time)."""
    with output_store.local_path(output_key("embeddings", source_key)) as path:
        return pq.read_table(path), read_lineage(path)


def switch_generations(context: dg.AssetExecutionContext, play: InPlay, generations: GenerationPolicy) -> None:
    """After a run: promote the configured generation when it is building and holds everything
    (and promotion is automatic), then drop the retired generations past the retention."""
    target, registry = play.target, play.registry
    if play.live and target.generation.state == BUILDING and generations.auto_promote:
        ready = readiness(registry, target.generation, target.store)
        if ready.ready and (previous := promote(registry, target.generation, target.store)) is not None:
            context.log.info(
                f"generation {target.generation.generation} ({target.generation.model}) is live: readers moved from "
                f"{previous.generation} ({previous.model}) (run-wide)"
            )
            context.log_event(
                dg.AssetObservation(
                    asset_key="vector_index",
                    metadata={
                        "generation_promoted": target.generation.generation,
                        "model": target.generation.model,
                        "collection": target.generation.store_collection,
                        "previous_generation": previous.generation,
                    },
                )
            )
        elif not ready.ready:
            context.log.info(f"generation {target.generation.generation} is not live yet: {ready.explain()} (run-wide)")
    dropped, failed = drop_expired(registry, generations.retention, lambda g: generations.store_of(play.configured, g))
    for generation in dropped:
        context.log.info(
            f"generation {generation.generation} ({generation.model}) retired since {generation.retired_at} was dropped (run-wide)"
        )
    for generation, error in failed.items():
        context.log.warning(
            f"generation {generation} is past its retention but could not be dropped: {error} (run-wide)"
        )


@dg.asset(
    partitions_def=source_files,
    deps=[embeddings],
    backfill_policy=dg.BackfillPolicy.multi_run(BACKFILL_POLICY_PARTITIONS),
    retry_policy=RETRY_POLICY,
    group_name="ingest",
    check_specs=[
        dg.AssetCheckSpec(
            "run_files_in_store",
            asset="vector_index",
            description=f"For each file the run indexed: the ledger records its landed version, and up to {SAMPLE_PER_FILE} "
            "of the ids it owns are in the store with the ledger's content hash (the cheap form of "
            "vector_index_matches_ledger, which compares everything on demand).",
        )
    ],
)
def vector_index(
    context: dg.AssetExecutionContext,
    config: VectorIndexConfig,
    source_store: ObjectStore,
    output_store: ObjectStore,
    embedder: Embedder,
    vector_store: VectorStore,
    state_db: StateDatabase,
    index_policy: IndexPolicy,
    namespaces: NamespaceRoutes,
    generations: dg.ResourceParam[GenerationPolicy],
) -> dg.MaterializeResult:
    """Upsert new and changed rows, skip unchanged ones, delete rows the file no longer holds;
    each file in its namespace, leaving any other namespace that held it. The configured model's
    generation is written; while another is live, new and changed files go to it too, and the
    configured one becomes live once it holds everything (VECTORDB_AUTO_PROMOTE)."""
    play = generations.in_play(state_db, vector_store, embedder)
    target = play.target
    collection = target.generation.store_collection
    if play.live:
        context.log.info(
            f"building generation {target.generation.generation} ({embedder.model_id}) in {collection!r}; readers stay on "
            f"{play.live.generation.generation} ({play.live.generation.model}) until it is promoted, and new and changed "
            "files go to both (run-wide)"
        )
    run = FileRun(context, "vector_index", source_store, output_store, state_db)
    rows_of = partial(embedded_rows, output_store, state_db)
    indexed: dict[str, dict[str, str]] = {}  # namespace → key → etag of each file indexed, sampled after the loop
    for key in run.files():
        namespace = config.namespace or namespaces.for_key(key)
        with run.file(key) as metadata:
            etag = current_etag(source_store, key)
            if etag is None:
                table, landed_at = None, None
            else:
                try:
                    table, lineage = load_embedded(output_store, key)
                except ObjectNotFoundError:
                    lineage = {}
                if lineage.get("source_etag") != etag:
                    context.log.warning(f"{key}: no embeddings for the landed version; the index keeps what it had")
                    metadata.update({STATUS: SKIPPED_STATUS, "skipped_because": "the landed version has no embeddings"})
                    continue
                landed_at = datetime.fromisoformat(lineage["landed_at"])
            progress = Progress(context.log.info, key, "vector_index", None)

            def written(done: int, total: int, progress: Progress = progress) -> None:
                progress.total = total
                progress.update(done)

            result, elsewhere = sync_file(
                state_db,
                target,
                key,
                namespace,
                landed_at,
                table,
                partial(rows_of, embedder),
                index_policy,
                etag,
                written,
            )
            if elsewhere and table is not None:
                metadata["moved_from_namespaces"] = elsewhere
            metadata.update(
                **progress.totals(),
                added=result.added,
                updated=result.updated,
                skipped=result.skipped,
                deleted=result.deleted,
                restored_from_older_files=result.restored,
                shadowed_by_newer_files=result.shadowed,
                collection=collection,
                generation=target.generation.generation,
                namespace=namespace,
                **({SOURCE_DELETED: True} if table is None else {"source_etag": etag}),
            )
            live = play.live
            if live and not holds_version(state_db, live, key, namespace, etag):
                live_rows = None if table is None else rows_of(live.embedder, key)
                also, _ = sync_file(
                    state_db,
                    live,
                    key,
                    namespace,
                    landed_at,
                    live_rows,
                    partial(rows_of, live.embedder),
                    index_policy,
                    etag,
                )
                metadata["live_generation"] = {
                    "generation": live.generation.generation,
                    "collection": live.generation.store_collection,
                    "added": also.added,
                    "updated": also.updated,
                    "deleted": also.deleted,
                }
            if table is None:  # a deleted file leaves the retired generations too: a rollback never brings it back
                for retired in play.retired:
                    sync_file(
                        state_db,
                        retired,
                        key,
                        namespace,
                        None,
                        None,
                        partial(rows_of, retired.embedder),
                        index_policy,
                        None,
                    )
            run.note(key, f"{key}: {result}" + (" (source deleted)" if table is None else ""))
            if table is not None:
                indexed.setdefault(namespace, {})[key] = etag
    vector_store = target.store
    vector_store.after_writes()
    if play.live:
        play.live.store.after_writes()
    samples = {
        key: sample
        for namespace, files in indexed.items()
        for key, sample in sample_sources(
            vector_store, VectorLedger(state_db, collection, namespace), files, SAMPLE_PER_FILE
        ).items()
    }
    # What the run wrote, summed from its files (counting the store would read all of it: S3
    # Vectors has no count but a full listing).
    totals = {name: sum(m.get(name, 0) for m in run.metadata.values()) for name in ("added", "updated", "deleted")}
    written_to = sorted({m["namespace"] for m in run.metadata.values() if "namespace" in m})
    context.log.info(
        f"{collection} (namespaces {', '.join(written_to) or 'none'}): this run added {totals['added']}, updated "
        f"{totals['updated']} and deleted {totals['deleted']} vectors (run-wide)"
    )
    switch_generations(context, play, generations)
    failing = {
        key: {"version_recorded": s.version_recorded, "missing": s.missing, "mismatched": s.mismatched}
        for key, s in samples.items()
        if not s.clean
    }
    check = dg.AssetCheckResult(
        check_name="run_files_in_store",
        passed=not failing,
        metadata={
            "files_checked": len(samples),
            "ids_sampled": sum(s.sampled for s in samples.values()),
            "failing_files": failing,
            "measured": {
                key: {
                    "version_recorded": s.version_recorded,
                    "sampled": s.sampled,
                    "missing": len(s.missing),
                    "mismatched": len(s.mismatched),
                }
                for key, s in samples.items()
            },
        },
    )
    return run.finish(check_results=[check])
