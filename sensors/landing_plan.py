"""What a landing-sensor tick should do, as a plain function of the listing and the cursor."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from resources.object_store import StoredObject
from vectordb_assets.partitions import partition_key_for, unusable_partition_key_reason


@dataclass
class LandingCursor:
    """The sensor's memory between ticks, small whatever the number of objects.

    New objects are found by comparing the listing with the partitions; changed objects by their
    modification time being at or after `watermark - lookback` with an etag not in `recent`.
    """

    watermark: datetime | None = None
    recent: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: str | None) -> "LandingCursor":
        if not raw:
            return cls()
        data = json.loads(raw)
        watermark = datetime.fromisoformat(data["watermark"]) if data.get("watermark") else None
        return cls(watermark, data.get("recent", {}), data.get("skipped", {}))

    def to_json(self) -> str:
        return json.dumps(
            {
                "watermark": self.watermark.isoformat() if self.watermark else None,
                "recent": self.recent,
                "skipped": self.skipped,
            },
            sort_keys=True,
        )


@dataclass
class LandingPlan:
    """Partitions to add, runs to request (each a list of contiguous partition keys), warnings."""

    new_keys: list[str]
    runs: list[list[str]]
    run_keys: list[str]
    warnings: list[str]
    cursor: LandingCursor


def plan_landing(
    objects: Iterable[StoredObject],
    known_partitions: Sequence[str],
    cursor: LandingCursor,
    *,
    max_partitions_per_run: int,
    lookback: timedelta = timedelta(hours=1),
    excluded_prefix: str | None = None,
) -> LandingPlan:
    """Decide one tick: new objects become partitions; new and changed objects are requested."""
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
    order = {key: i for i, key in enumerate([*known_partitions, *new_keys])}
    runs = _contiguous_batches(sorted(set(changed + new_keys), key=order.__getitem__), order, max_partitions_per_run)
    return LandingPlan(
        new_keys=new_keys,
        runs=runs,
        run_keys=[_run_key(keys, etags) for keys in runs],
        warnings=warnings,
        cursor=LandingCursor(watermark, recent, skipped),
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
