"""Metadata for runs that materialize one or many partitions."""

from typing import Any, Mapping

import dagster as dg

BACKFILL_POLICY_PARTITIONS = 100


def batch_metadata(per_partition: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One partition: its own metadata. Several: totals of the numbers, plus a row per partition."""
    if len(per_partition) == 1:
        return dict(next(iter(per_partition.values())))
    numeric = sorted({k for m in per_partition.values() for k, v in m.items() if _is_number(v)})
    totals: dict[str, Any] = {
        f"total_{name}": sum(m.get(name, 0) for m in per_partition.values()) for name in numeric
    }
    columns = [dg.TableColumn("partition", "string")] + [dg.TableColumn(name, "float") for name in numeric]
    rows = [
        dg.TableRecord({"partition": key, **{name: m.get(name) for name in numeric}})
        for key, m in per_partition.items()
    ]
    totals["partitions"] = dg.MetadataValue.table(rows, schema=dg.TableSchema(columns=columns))
    totals["partition_count"] = len(per_partition)
    return totals


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
