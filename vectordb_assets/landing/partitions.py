"""The one partitioning every asset shares: a dynamic partition per landed object, or per folder
of objects (`VECTORDB_PARTITION_DEPTH`)."""

from __future__ import annotations

import hashlib

import dagster as dg

source_files = dg.DynamicPartitionsDefinition(name="source_files")

# Dagster reserves "..." for ranges and refuses control characters in partition keys.
_FORBIDDEN = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0")


def partition_key_for(object_key: str, depth: int = 0) -> str:
    """The partition that holds an object: with `depth` 0 the object itself (its key relative to
    the source); with `depth` N the folder of its first N path segments, written with a trailing
    `/` (no object key ends so), or the object itself when it lies less deep."""
    folders = object_key.split("/")[:-1]
    if depth == 0 or len(folders) < depth:
        return object_key
    return "/".join(folders[:depth]) + "/"


def is_folder(partition_key: str) -> bool:
    """Whether a partition holds the objects of a folder rather than one object."""
    return partition_key.endswith("/")


def unusable_partition_key_reason(key: str) -> str | None:
    """Why Dagster cannot use `key` as a partition key, or None if it can."""
    bad = [repr(part) for part in _FORBIDDEN if part in key]
    if bad:
        return f"contains {', '.join(bad)}, which Dagster does not allow in partition keys"
    return None


# File systems hold names of up to 255 bytes; room is kept for suffixes and temporary names.
MAX_SEGMENT_BYTES = 150


def _safe_segment(segment: str) -> str:
    if segment not in ("", ".", "..") and len(segment.encode("utf-8")) <= MAX_SEGMENT_BYTES:
        return segment
    digest = hashlib.sha256(segment.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    readable = segment.encode("utf-8")[:60].decode("utf-8", "ignore").strip(".")
    return f"{readable}~{digest}"


def safe_output_key(prefix: str, partition_key: str, suffix: str = "") -> str:
    """`<prefix>/<partition_key><suffix>` as a key any output store can hold: each path segment
    that is empty, `.`, `..` or too long for a file system becomes a readable prefix and a hash
    (stable, so a file's outputs are found again)."""
    segments = partition_key.split("/")
    segments[-1] += suffix
    return "/".join([prefix, *(_safe_segment(s) for s in segments)])


def output_key(stage: str, partition_key: str) -> str:
    """Where a stage writes a partition's output in the output store."""
    return safe_output_key(stage, partition_key, ".parquet")
