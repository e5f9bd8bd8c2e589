"""Coverage: the version of every landed file is in the index, or is known to have failed.

A file can be missing from the index for a reason that is on record (it was quarantined, its key
cannot be a partition, a run over it has not finished) or for none: a run that died, a failure
that outlasted its retries. The coverage names each file of the second kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from resources.object_store import StoredObject
from vectordb_assets.landing.partitions import partition_key_for, unusable_partition_key_reason

EXAMPLES = 50


@dataclass
class Coverage:
    """What became of each landed file's current version."""

    landed: int = 0
    indexed: int = 0
    in_flight: list[str] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)  # key → error
    refused: dict[str, str] = field(default_factory=dict)  # object key → why it is not a partition
    unindexed: dict[str, str] = field(default_factory=dict)  # key → what the index holds instead

    @property
    def complete(self) -> bool:
        return not self.unindexed

    def summary(self) -> dict:
        """Counts, and up to `EXAMPLES` names of each kind, for a check's metadata."""
        return {
            "landed_files": self.landed,
            "indexed_files": self.indexed,
            "in_flight_files": len(self.in_flight),
            "quarantined_files": len(self.quarantined),
            "refused_keys": len(self.refused),
            "unindexed_files": len(self.unindexed),
            "unindexed": dict(sorted(self.unindexed.items())[:EXAMPLES]),
            "quarantined": dict(sorted(self.quarantined.items())[:EXAMPLES]),
            "refused": dict(sorted(self.refused.items())[:EXAMPLES]),
            "in_flight": sorted(self.in_flight)[:EXAMPLES],
        }


def find_unindexed(
    landed: Iterable[StoredObject],
    indexed: Mapping[str, set[str]],
    quarantine_report: Callable[[str], dict | None],
    in_flight: Callable[[str, StoredObject], bool],
    excluded_prefix: str | None = None,
    partition_depth: int = 0,
    stalled: Mapping[str, str] | None = None,
) -> Coverage:
    """Compare the landed objects with the versions the index holds (`indexed`: key → etags).

    `quarantine_report(key)` is the file's quarantine report, if any; `in_flight(partition, obj)`
    says whether a run over the file's partition may still index it; `stalled` says, for a
    partition, why the run over it that has not finished will not (added to its files' reasons).
    """
    coverage = Coverage()
    for obj in landed:
        if excluded_prefix and (obj.key == excluded_prefix or obj.key.startswith(excluded_prefix + "/")):
            continue
        coverage.landed += 1
        key, partition = obj.key, partition_key_for(obj.key, partition_depth)
        reason = unusable_partition_key_reason(partition)
        if reason:
            coverage.refused[obj.key] = f"its key {reason}"
        elif obj.etag in indexed.get(key, ()):
            coverage.indexed += 1
        elif in_flight(partition, obj):
            coverage.in_flight.append(key)
        elif (report := quarantine_report(key)) and report.get("source_etag") == obj.etag:
            coverage.quarantined[key] = f"{report.get('stage')}: {report.get('error')}"
        else:
            why = "the index holds an older version" if indexed.get(key) else "never indexed"
            coverage.unindexed[key] = f"{why}; {stalled[partition]}" if stalled and partition in stalled else why
    return coverage
