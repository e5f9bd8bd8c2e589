"""The one partitioning every asset shares: a dynamic partition per landed object."""

from __future__ import annotations

import dagster as dg

source_files = dg.DynamicPartitionsDefinition(name="source_files")

# Dagster reserves "..." for ranges and refuses control characters in partition keys.
_FORBIDDEN = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0")


def partition_key_for(object_key: str) -> str:
    """The partition that holds an object: the key relative to the source (the one place to change
    for coarser partitions, such as one folder per partition)."""
    return object_key


def unusable_partition_key_reason(key: str) -> str | None:
    """Why Dagster cannot use `key` as a partition key, or None if it can."""
    bad = [repr(part) for part in _FORBIDDEN if part in key]
    if bad:
        return f"contains {', '.join(bad)}, which Dagster does not allow in partition keys"
    return None


def output_key(stage: str, partition_key: str) -> str:
    """Where a stage writes a partition's output in the output store."""
    return f"{stage}/{partition_key}.parquet"
