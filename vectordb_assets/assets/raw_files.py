"""raw_files: the objects as they landed in the source store."""

import dagster as dg

from resources.object_store import ObjectNotFoundError, ObjectStore
from resources.state_db import StateDatabase
from vectordb_assets.assets.per_file import FileRun
from vectordb_assets.assets.policies import BACKFILL_POLICY_PARTITIONS, RETRY_POLICY
from vectordb_assets.landing.partitions import source_files


@dg.asset(
    partitions_def=source_files,
    backfill_policy=dg.BackfillPolicy.multi_run(BACKFILL_POLICY_PARTITIONS),
    retry_policy=RETRY_POLICY,
    group_name="ingest",
)
def raw_files(
    context: dg.AssetExecutionContext, source_store: ObjectStore, output_store: ObjectStore, state_db: StateDatabase
) -> dg.MaterializeResult:
    """Each landed object, with its size, etag, modification time and a link."""
    run = FileRun(context, "raw_files", source_store, output_store, state_db)
    etags = {}
    for key in run.files():
        with run.file(key) as metadata:
            metadata["location"] = source_store.describe(key)
            try:
                obj = source_store.head(key)
            except ObjectNotFoundError:
                metadata["source_deleted"] = True
                continue
            etags[key] = obj.etag
            metadata.update(
                size_bytes=obj.size,
                etag=obj.etag,
                last_modified=obj.last_modified.isoformat(),
                link=dg.MetadataValue.url(source_store.url(key)),
            )
    # A data version names one file's content: only a run of one partition can carry it.
    version = dg.DataVersion(etags[context.partition_key]) if run.one_file and etags else None
    return run.finish(data_version=version)
