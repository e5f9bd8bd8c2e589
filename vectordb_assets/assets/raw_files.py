"""raw_files: the objects as they landed in the source store."""

import dagster as dg

from resources.object_store import ObjectNotFoundError, ObjectStore
from vectordb_assets.assets.reporting import BACKFILL_POLICY_PARTITIONS, batch_metadata
from vectordb_assets.landing.partitions import source_files


@dg.asset(
    partitions_def=source_files,
    backfill_policy=dg.BackfillPolicy.multi_run(BACKFILL_POLICY_PARTITIONS),
    kinds={"s3", "file"},
    group_name="ingest",
)
def raw_files(context: dg.AssetExecutionContext, source_store: ObjectStore) -> dg.MaterializeResult:
    """One landed object per partition, with its size, etag, modification time and a link."""
    per_partition = {}
    for key in context.partition_keys:
        try:
            obj = source_store.head(key)
        except ObjectNotFoundError:
            per_partition[key] = {"source_deleted": True, "location": source_store.describe(key)}
            continue
        per_partition[key] = {
            "size_bytes": obj.size,
            "etag": obj.etag,
            "last_modified": obj.last_modified.isoformat(),
            "location": source_store.describe(key),
            "link": dg.MetadataValue.url(source_store.url(key)),
        }
    only = per_partition[context.partition_keys[0]] if len(per_partition) == 1 else {}
    version = dg.DataVersion(only["etag"]) if "etag" in only else None
    return dg.MaterializeResult(metadata=batch_metadata(per_partition), data_version=version)
