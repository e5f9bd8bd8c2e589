"""What a landing-sensor tick should do, as a plain function of the listing and the cursor."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from resources.object_store import StoredObject
from vectordb_assets.landing.partitions import partition_key_for, unusable_partition_key_reason


@dataclass
class LandingCursor:
    """The sensor's memory between ticks, small whatever the number of objects.

    New objects are found by comparing the listing with the partitions; changed objects by their
    modification time being at or after `watermark - lookback` with an etag not in `recent`.
    """

    watermark: datetime | None = None
    recent: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    deleting: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, raw: str | None) -> "LandingCursor":
        if not raw:
            return cls()
        data = json.loads(raw)
        watermark = datetime.fromisoformat(data["watermark"]) if data.get("watermark") else None
        return cls(watermark, data.get("recent", {}), data.get("skipped", {}), data.get("deleting", []))

    def to_json(self) -> str:
        return json.dumps(
            {
                "watermark": self.watermark.isoformat() if self.watermark else None,
                "recent": self.recent,
                "skipped": self.skipped,
                "deleting": self.deleting,
            },
            sort_keys=True,
        )


@dataclass
class LandingPlan:
    """Partitions to add and remove, runs to request (each a list of adjacent partition keys)."""

    new_keys: list[str]
    runs: list[list[str]]
    run_keys: list[str]
    warnings: list[str]
    cursor: LandingCursor
    removed_keys: list[str] = field(default_factory=list)


def plan_landing(
    objects: Iterable[StoredObject],
    known_partitions: Sequence[str],
    cursor: LandingCursor,
    *,
    max_partitions_per_run: int,
    lookback: timedelta = timedelta(hours=1),
    excluded_prefix: str | None = None,
    deletions_done: Iterable[str] = (),
    max_deleted_fraction: float = 0.5,
) -> LandingPlan:
    """Decide one tick: new objects become partitions; new, changed and vanished objects are
    requested; partitions whose deletion run has finished (`deletions_done`) are removed.

    When more than `max_deleted_fraction` of ten or more partitions vanish at once (a wrong
    prefix, an emptied bucket), nothing is deleted and a warning says why.
    """
    known = set(known_partitions)
    horizon = cursor.watermark - lookback if cursor.watermark else None
    etags: dict[str, str] = {}
    new_keys: list[str] = []
    changed: list[str] = []
    warnings: list[str] = []
    skipped = dict(cursor.skipped)
    recent: dict[str, str] = {}
    watermark = cursor.watermark
    landed = sorted(objects, key=lambda o: (o.last_modified, o.key))
    for obj in landed:
        if excluded_prefix and (obj.key == excluded_prefix or obj.key.startswith(excluded_prefix + "/")):
            continue
        key = partition_key_for(obj.key)
        reason = unusable_partition_key_reason(key)
        if reason:
            if skipped.get(obj.key) != obj.etag:
                warnings.append(f"skipped object {obj.key!r}: its key {reason}")
                skipped[obj.key] = obj.etag
            continue
        etags[key] = obj.etag
        watermark = max(watermark, obj.last_modified) if watermark else obj.last_modified
        if key not in known:
            new_keys.append(key)
            known.add(key)
        elif horizon is None or obj.last_modified >= horizon:
            if cursor.recent.get(key) != obj.etag:
                changed.append(key)
    # Keep the etags of objects recent enough to be looked at again next tick.
    next_horizon = watermark - lookback if watermark else None
    for obj in landed:
        key = partition_key_for(obj.key)
        if key in etags and next_horizon is not None and obj.last_modified >= next_horizon:
            recent[key] = etags[key]
    vanished = [key for key in known_partitions if key not in etags]
    done = set(deletions_done)
    removed = [key for key in vanished if key in cursor.deleting and key in done]
    deleting = [key for key in cursor.deleting if key in vanished and key not in done]
    to_delete = [key for key in vanished if key not in cursor.deleting]
    if to_delete and len(known_partitions) >= 10 and len(vanished) > max_deleted_fraction * len(known_partitions):
        warnings.append(
            f"{len(vanished)} of {len(known_partitions)} files are gone from the source; deleting their "
            f"vectors is held back (more than {max_deleted_fraction:.0%}). Check the source location, or "
            "raise VECTORDB_MAX_DELETED_FRACTION if the files were removed on purpose."
        )
        to_delete = []
    for key in to_delete:
        # A key landed and deleted again lands after a later watermark, so its run key differs.
        etags[key] = f"deleted-after-{watermark.isoformat() if watermark else ''}"
    order = {key: i for i, key in enumerate([*known_partitions, *new_keys])}
    wanted = sorted(set(changed + new_keys + to_delete), key=order.__getitem__)
    runs = _contiguous_batches(wanted, order, max_partitions_per_run)
    return LandingPlan(
        new_keys=new_keys,
        runs=runs,
        run_keys=[_run_key(keys, etags) for keys in runs],
        warnings=warnings,
        cursor=LandingCursor(watermark, recent, skipped, deleting + to_delete),
        removed_keys=removed,
    )


def _contiguous_batches(keys: list[str], order: dict[str, int], size: int) -> list[list[str]]:
    """Split keys (sorted by partition order) into runs of adjacent partitions, at most `size` each."""
    runs: list[list[str]] = []
    for key in keys:
        if runs and len(runs[-1]) < size and order[runs[-1][-1]] + 1 == order[key]:
            runs[-1].append(key)
        else:
            runs.append([key])
    return runs


def _run_key(keys: list[str], etags: dict[str, str]) -> str:
    """The same keys at the same versions always give the same run key."""
    digest = hashlib.sha256("\n".join(f"{k}\x1f{etags[k]}" for k in keys).encode()).hexdigest()
    return f"landing-{digest[:24]}"
