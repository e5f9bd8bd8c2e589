"""What a landing-sensor tick should do with the objects it looked at: a plain function of those
objects and the landing catalog's entries for them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from resources.object_store import StoredObject
from vectordb_assets.landing.catalog import Entry, version_of
from vectordb_assets.landing.partitions import is_folder, partition_key_for, unusable_partition_key_reason


@dataclass
class LandingCursor:
    """The sensor's memory between ticks: a few fields, whatever the number of objects."""

    tick: int = 0  # the last tick whose result Dagster committed
    after: str | None = None  # the listing pass under way goes on after this key
    pass_finished: datetime | None = None  # when the last complete listing pass ended
    # The pass under way takes over partitions the catalog does not know, in Dagster's order.
    adopting: bool = False
    # The tick that began holding back runs while a backlog of events is read (None: not holding).
    holding_since: int | None = None

    @classmethod
    def from_json(cls, raw: str | None) -> LandingCursor:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(
            tick=data.get("tick", 0),
            after=data.get("after"),
            pass_finished=datetime.fromisoformat(data["pass_finished"]) if data.get("pass_finished") else None,
            adopting=data.get("adopting", False),
            holding_since=data.get("holding_since"),
        )

    def to_json(self) -> str:
        fields = {
            "tick": self.tick,
            "after": self.after,
            "pass_finished": self.pass_finished.isoformat() if self.pass_finished else None,
            "adopting": self.adopting,
            "holding_since": self.holding_since,
        }
        return json.dumps(fields, sort_keys=True)


# A run's range spans at most this many partitions per changed one: scattered changes share runs
# whose unchanged partitions are passed over cheaply.
SPAN_PER_KEY = 10


@dataclass
class LandingPlan:
    """Partitions to add, runs to request (each a list of adjacent partition keys), and the
    catalog entries that record them."""

    new_partitions: list[str]
    runs: list[list[str]]
    run_keys: list[str]
    sparse: list[bool]  # per run: its range holds unchanged partitions (only its keys are processed)
    entries: dict[str, Entry]
    warnings: list[str]
    forget: list[str] = field(default_factory=list)


def plan_landing(
    objects: Sequence[StoredObject],
    catalog: Mapping[str, Entry],
    gone: Iterable[str],
    unrequested: Mapping[str, Entry],
    *,
    is_partition: Callable[[str], bool],
    next_ordinal: int,
    adopted_ordinals: Mapping[str, int] | None = None,
    max_partitions_per_run: int,
    excluded_prefix: str | None = None,
    max_deleted_fraction: float = 0.5,
    partition_depth: int = 0,
    folder_ordinals: Mapping[str, int] | None = None,
) -> LandingPlan:
    """Decide one tick.

    `objects` are the objects looked at (a listing page, or the current state of the keys of a
    batch of events); `catalog` the catalog's entries for them (for a page, every entry in its key
    range); `gone` the catalog's keys found absent; `unrequested` the entries of earlier ticks
    that Dagster never committed or that were held back, requested now. Partitions the catalog does not know take their
    place from `adopted_ordinals` (their place in Dagster's order, when a pass takes them over),
    or none. With `partition_depth` N objects share the partition of their folder (see
    `partition_key_for`); `folder_ordinals` holds the places of folder partitions already known.
    New partitions are numbered in key order; new, changed and gone objects are requested. When more than
    `max_deleted_fraction` of ten or more entries vanish at once (a wrong prefix, an emptied
    bucket), nothing is deleted and a warning says why.
    """
    entries: dict[str, Entry] = {}
    wanted: dict[str, tuple[list[str], int | None]] = {}  # partition key → (versions requested, ordinal)
    new_partitions: dict[str, None] = {}  # in the order added
    warnings: list[str] = []
    placed = dict(folder_ordinals or {})  # folder partition → its place

    def request(key: str, entry: Entry, added: bool = False) -> None:
        entries[key] = entry
        partition = partition_key_for(key, partition_depth)
        versions, _ = wanted.setdefault(partition, ([], entry.ordinal))
        versions.append(f"{key}\x1f{'deleted ' if entry.gone else ''}{entry.version}")
        if added:
            new_partitions[partition] = None
        if is_folder(partition) and entry.ordinal is not None:
            placed.setdefault(partition, entry.ordinal)

    for key, entry in unrequested.items():
        if entry.usable:
            request(key, entry, added=not entry.gone and entry.ordinal is not None)
        else:
            entries[key] = entry
    for obj in objects:
        if excluded_prefix and (obj.key == excluded_prefix or obj.key.startswith(excluded_prefix + "/")):
            continue
        version, before = version_of(obj), catalog.get(obj.key)
        if before is not None and before.version == version and not before.gone:
            continue
        partition = partition_key_for(obj.key, partition_depth)
        reason = unusable_partition_key_reason(partition)
        if reason:
            warnings.append(f"skipped object {obj.key!r}: its key {reason}")
            entries[obj.key] = Entry(version, usable=False)
        elif before is not None:  # changed, or landed again before its deletion finished
            request(obj.key, Entry(version, before.ordinal))
        elif partition in placed:  # a new object in a folder partition placed already
            request(obj.key, Entry(version, placed[partition]))
        elif is_partition(partition):  # a partition the catalog does not know: placed if adopted
            request(obj.key, Entry(version, (adopted_ordinals or {}).get(partition)))
        else:
            request(obj.key, Entry(version, next_ordinal), added=True)
            next_ordinal += 1

    live = [key for key, entry in catalog.items() if entry.usable and not entry.gone]
    vanished = [key for key in gone if key in catalog and catalog[key].usable and not catalog[key].gone]
    forget = [key for key in gone if key in catalog and not catalog[key].usable]
    if vanished and len(live) >= 10 and len(vanished) > max_deleted_fraction * len(live):
        warnings.append(
            f"{len(vanished)} of {len(live)} files are gone from the source; deleting their "
            f"vectors is held back (more than {max_deleted_fraction:.0%}). Check the source location, or "
            "raise VECTORDB_MAX_DELETED_FRACTION if the files were removed on purpose."
        )
        vanished = []
    for key in vanished:
        before = catalog[key]
        request(key, Entry(before.version, before.ordinal, gone=True))

    ordered = sorted(wanted, key=lambda p: (wanted[p][1] is None, wanted[p][1] or 0, p))
    ordinals = {p: ordinal for p, (_, ordinal) in wanted.items()}
    runs = _adjacent_batches(ordered, ordinals, max_partitions_per_run)
    versions = {p: "\n".join(sorted(v)) for p, (v, _) in wanted.items()}
    return LandingPlan(
        new_partitions=sorted(new_partitions, key=lambda p: wanted[p][1]),
        runs=runs,
        run_keys=[_run_key(keys, versions) for keys in runs],
        sparse=[gaps(keys, ordinals) for keys in runs],
        entries=entries,
        warnings=warnings,
        forget=forget,
    )


def _adjacent_batches(keys: list[str], ordinals: Mapping[str, int | None], size: int) -> list[list[str]]:
    """Split keys (in partition order) into runs of at most `size` keys spanning at most
    `size * SPAN_PER_KEY` partitions; a key of unknown place is a run of its own. A run's range
    may hold partitions between its keys, which it records as unchanged."""
    runs: list[list[str]] = []
    for key in keys:
        ordinal = ordinals[key]
        start = ordinals[runs[-1][0]] if runs else None
        if (
            runs
            and len(runs[-1]) < size
            and start is not None
            and ordinal is not None
            and ordinal - start < size * SPAN_PER_KEY
        ):
            runs[-1].append(key)
        else:
            runs.append([key])
    return runs


def gaps(run: list[str], ordinals: Mapping[str, int | None]) -> bool:
    """Whether the run's range holds partitions that did not change."""
    first, last = ordinals[run[0]], ordinals[run[-1]]
    return first is not None and last is not None and last - first + 1 > len(run)


def _run_key(keys: list[str], versions: Mapping[str, str]) -> str:
    """The same keys at the same versions always give the same run key."""
    digest = hashlib.sha256("\n".join(f"{k}\x1f{versions[k]}" for k in keys).encode()).hexdigest()
    return f"landing-{digest[:24]}"
