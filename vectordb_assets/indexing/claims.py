"""Claims on vector ids and the plans they yield (plain functions, no database).

Every source that contains an id holds a claim on it; the most recently landed claim owns the
id, and the store holds the owner's vector. Syncing one source compares its rows with the claims
and yields a plan: what to write, what to skip, what to delete, and which ids go back to an
older source when the newer one drops them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import pyarrow as pa


class Claim(NamedTuple):
    """One source's version of one vector id (a tuple: a file's worth of them is built quickly)."""

    source_key: str
    record_hash: str  # the row's content and non-volatile metadata
    model: str
    landed_at: datetime
    content_hash: str = ""  # what the store records for the row, for reconciliation


def owner_of(claims: Mapping[str, Claim]) -> Claim | None:
    """The newest landed claim (ties broken by source key, so the choice is stable)."""
    return max(claims.values(), key=lambda c: (c.landed_at, c.source_key), default=None)


# Columns of a table of one source's claims: what `claim_objects` and `VectorLedger.replace_claims` take.
CLAIM_COLUMNS = ("vector_id", "record_hash", "content_hash", "model")


@dataclass
class SyncPlan:
    """What syncing one source must do to the store and to the ledger."""

    write_new: list[str] = field(default_factory=list)  # ids no source claimed before
    write_changed: list[str] = field(default_factory=list)  # ids whose stored vector must change
    write_from: dict[str, list[str]] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    skipped: int = 0
    shadowed: int = 0
    claims_changed: bool = True  # whether the ledger's claims of the source must be rewritten

    @classmethod
    def first_load(cls, ids: list[str]) -> SyncPlan:
        """The plan when no source claims any of `ids` yet: every row is new."""
        return cls(write_new=list(ids), claims_changed=bool(ids))

    @property
    def write_own(self) -> list[str]:
        """Every id that this source's own rows write."""
        return self.write_new + self.write_changed

    @property
    def ids(self) -> list[str]:
        """Every id the plan writes or deletes."""
        return self.delete + self.write_own + [vid for ids in self.write_from.values() for vid in ids]

    @property
    def writes(self) -> int:
        """How many ids the plan writes or deletes."""
        return len(self.delete) + len(self.write_own) + sum(map(len, self.write_from.values()))

    @property
    def added(self) -> int:
        return len(self.write_new)

    @property
    def updated(self) -> int:
        return len(self.write_changed)


def claim_objects(source_key: str, landed_at: datetime | None, claims: pa.Table) -> dict[str, Claim]:
    """The claim objects of a table of `CLAIM_COLUMNS` (built only when some ids are claimed
    already: a first load needs none)."""
    columns = (claims.column(name).to_pylist() for name in ("vector_id", "record_hash", "model", "content_hash"))
    return {
        vid: Claim(source_key, record_hash, model, landed_at, content_hash)
        for vid, record_hash, model, content_hash in zip(*columns)
    }


def settle(
    source_key: str, incoming: Mapping[str, Claim], current: Mapping[str, Mapping[str, Claim]], ids: Iterable[str]
) -> SyncPlan:
    """A plan that puts each of `ids` in the state its claims give once `source_key`'s claims are
    `incoming`, whatever the store holds now: for ids that another sync may have written."""
    plan = SyncPlan(claims_changed=False)
    for vid in sorted(ids):
        after = {k: v for k, v in current.get(vid, {}).items() if k != source_key}
        if vid in incoming:
            after[source_key] = incoming[vid]
        owner = owner_of(after)
        if owner is None:
            plan.delete.append(vid)
        elif owner.source_key == source_key:
            plan.write_changed.append(vid)
        else:
            plan.write_from.setdefault(owner.source_key, []).append(vid)
    return plan


@dataclass(frozen=True)
class ClaimsRead:
    """The claims on a source's ids at one moment, and the row versions of other sources' claims,
    which change whenever another sync commits a change to that id."""

    claims: dict[str, dict[str, Claim]]
    revisions: dict[str, frozenset[tuple[str, str]]]

    def changed_since(self, earlier: ClaimsRead) -> set[str]:
        """The ids whose other sources' claims changed between `earlier` and this read."""
        ids = self.revisions.keys() | earlier.revisions.keys()
        return {vid for vid in ids if self.revisions.get(vid) != earlier.revisions.get(vid)}


def plan_sync(source_key: str, incoming: Mapping[str, Claim], current: Mapping[str, Mapping[str, Claim]]) -> SyncPlan:
    """Compare a source's new claims with the ledger's claims on the same ids.

    `current` maps each id that `source_key` claims now or will claim to all of its claims.
    """
    plan = SyncPlan()
    previous = {vid: claims[source_key] for vid, claims in current.items() if source_key in claims}
    plan.claims_changed = previous != incoming
    affected = set(incoming) | set(previous)
    for vid in sorted(affected):
        before = dict(current.get(vid, {}))
        after = {k: v for k, v in before.items() if k != source_key}
        if vid in incoming:
            after[source_key] = incoming[vid]
        old, new = owner_of(before), owner_of(after)
        if new is None:
            plan.delete.append(vid)
        elif new.source_key == source_key:
            if old is None:
                plan.write_new.append(vid)
            elif (old.source_key, old.record_hash, old.model) == (source_key, new.record_hash, new.model):
                plan.skipped += 1
            else:
                plan.write_changed.append(vid)
        elif old is not None and old.source_key == new.source_key:
            plan.shadowed += 1  # a newer source owns this id; this source's row waits behind it
        else:
            plan.write_from.setdefault(new.source_key, []).append(vid)
    return plan
