"""The landing plan: which objects become partitions and how they are grouped into runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from resources.object_store import StoredObject
from sensors.landing_plan import LandingCursor, LandingPlan, plan_landing
from vectordb_assets.landing.catalog import Entry

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def obj(key: str, etag: str = "e1", minutes: int = 0) -> StoredObject:
    return StoredObject(key=key, size=10, etag=etag, last_modified=T0 + timedelta(minutes=minutes))


class Sensor:
    """Ticks over full listings with an in-memory catalog, as the sensor does over pages."""

    def __init__(self, partitions: tuple[str, ...] = (), **options) -> None:
        self.catalog: dict[str, Entry] = {}
        self.partitions = set(partitions)
        self.options = {"max_partitions_per_run": 100, **options}

    def tick(
        self, objects: list[StoredObject], uncommitted: dict[str, Entry] | None = None, commit: bool = True
    ) -> LandingPlan:
        listed = {o.key for o in objects}
        ordinals = [e.ordinal for e in self.catalog.values() if e.ordinal is not None]
        ordinals += list(self.options.get("adopted_ordinals", {}).values())
        plan = plan_landing(
            sorted(objects, key=lambda o: o.key),
            dict(self.catalog),
            [k for k in self.catalog if k not in listed],
            uncommitted or {},
            is_partition=self.partitions.__contains__,
            next_ordinal=max(ordinals, default=0) + 1,
            **self.options,
        )
        if commit:
            self.catalog.update(plan.entries)
            self.partitions.update(plan.new_partitions)
        return plan


def test_new_objects_become_partitions_in_key_order() -> None:
    plan = Sensor().tick([obj("b.csv", minutes=1), obj("a.csv", minutes=2)])
    assert plan.new_partitions == ["a.csv", "b.csv"]
    assert plan.runs == [["a.csv", "b.csv"]]


def test_a_thousand_small_files_become_ten_runs() -> None:
    plan = Sensor().tick([obj(f"f{i:04d}.csv") for i in range(1000)])
    assert len(plan.runs) == 10 and all(len(run) == 100 for run in plan.runs)
    assert len(set(plan.run_keys)) == 10


def test_the_same_objects_on_the_next_tick_request_nothing() -> None:
    sensor = Sensor()
    objects = [obj("a.csv"), obj("b.csv")]
    sensor.tick(objects)
    again = sensor.tick(objects)
    assert (again.runs, again.new_partitions, again.entries) == ([], [], {})


def test_a_changed_object_is_requested_again_with_a_new_run_key() -> None:
    sensor = Sensor()
    first = sensor.tick([obj("a.csv"), obj("b.csv")])
    second = sensor.tick([obj("a.csv", etag="e2", minutes=600), obj("b.csv")])
    assert second.runs == [["a.csv"]] and second.new_partitions == []
    assert second.run_keys[0] not in first.run_keys


def test_scattered_changes_share_runs_that_pass_over_unchanged_partitions() -> None:
    sensor = Sensor()
    keys = [f"k{i}.csv" for i in range(6)]
    sensor.tick([obj(k) for k in keys])
    current = [obj(k, etag="e2" if k in ("k1.csv", "k2.csv", "k4.csv") else "e1") for k in keys]
    changed = sensor.tick(current)
    assert changed.runs == [["k1.csv", "k2.csv", "k4.csv"]] and changed.sparse == [True]
    new = sensor.tick(current + [obj("k6.csv"), obj("k7.csv")])
    assert new.runs == [["k6.csv", "k7.csv"]] and new.sparse == [False]


def test_a_thousand_scattered_changes_among_ten_thousand_are_ten_runs() -> None:
    sensor = Sensor()
    keys = [f"k{i:05d}.csv" for i in range(10_000)]
    sensor.tick([obj(k) for k in keys])
    plan = sensor.tick([obj(k, etag="e2" if i % 10 == 0 else "e1") for i, k in enumerate(keys)])
    assert len(plan.runs) == 10 and sum(map(len, plan.runs)) == 1000 and all(plan.sparse)


def test_changes_far_apart_do_not_share_a_run() -> None:
    sensor = Sensor(max_partitions_per_run=2)  # a run spans at most 20 partitions
    keys = [f"k{i:02d}.csv" for i in range(30)]
    sensor.tick([obj(k) for k in keys])
    plan = sensor.tick([obj(k, etag="e2" if k in ("k00.csv", "k19.csv", "k20.csv") else "e1") for k in keys])
    assert plan.runs == [["k00.csv", "k19.csv"], ["k20.csv"]]


def test_unusable_keys_are_skipped_with_one_warning() -> None:
    sensor = Sensor()
    objects = [obj("a.csv"), obj("bad...name.csv"), obj("tab\tname.csv")]
    plan = sensor.tick(objects)
    assert plan.new_partitions == ["a.csv"]
    assert len(plan.warnings) == 2 and "bad...name.csv" in plan.warnings[0]
    assert sensor.tick(objects).warnings == []


def test_outputs_inside_the_landing_area_are_not_picked_up() -> None:
    plan = Sensor(excluded_prefix="_vectordb").tick([obj("a.csv"), obj("_vectordb/validated/a.csv.parquet")])
    assert plan.new_partitions == ["a.csv"]


def test_vanished_objects_are_requested_once() -> None:
    sensor = Sensor()
    sensor.tick([obj("a.csv"), obj("b.csv")])
    gone = sensor.tick([obj("a.csv")])
    assert gone.runs == [["b.csv"]] and gone.entries["b.csv"].gone
    assert sensor.tick([obj("a.csv")]).runs == []


def test_a_mass_disappearance_is_held_back_with_a_warning() -> None:
    sensor = Sensor()
    keys = [f"k{i:02d}.csv" for i in range(20)]
    sensor.tick([obj(k) for k in keys])
    emptied = sensor.tick([obj(k) for k in keys[:5]], commit=False)
    assert emptied.runs == [] and "15 of 20 files are gone" in emptied.warnings[0]
    sensor.options["max_deleted_fraction"] = 1.0
    assert len(sensor.tick([obj(k) for k in keys[:5]]).runs) == 1  # 15 adjacent partitions, one run


def test_a_file_landed_again_keeps_its_partition_and_gets_a_new_run_key() -> None:
    sensor = Sensor()
    first = sensor.tick([obj("a.csv")])
    gone = sensor.tick([])
    back = sensor.tick([obj("a.csv", minutes=10)])  # the same bytes, landed again
    assert back.runs == [["a.csv"]] and back.new_partitions == []
    assert len({first.run_keys[0], gone.run_keys[0], back.run_keys[0]}) == 3


def test_requests_of_a_tick_dagster_never_committed_are_made_again_with_the_same_run_keys() -> None:
    sensor = Sensor()
    lost = sensor.tick([obj("a.csv"), obj("b.csv")], commit=False)
    sensor.catalog.update(lost.entries)  # the catalog was written, the tick's result was not kept
    again = sensor.tick([obj("a.csv"), obj("b.csv")], uncommitted=lost.entries)
    assert (again.runs, again.run_keys, again.new_partitions) == (lost.runs, lost.run_keys, lost.new_partitions)


def test_partitions_the_catalog_does_not_know_are_adopted() -> None:
    sensor = Sensor(partitions=("old.csv", "recent.csv"))
    plan = sensor.tick([obj("old.csv"), obj("recent.csv", minutes=10), obj("new.csv", minutes=10)])
    assert plan.new_partitions == ["new.csv"]
    assert sorted(plan.runs) == [["new.csv"], ["old.csv"], ["recent.csv"]]  # a partition of unknown place runs alone
    assert set(plan.entries) == {"old.csv", "recent.csv", "new.csv"}


def test_adopted_partitions_take_their_place_in_dagsters_order() -> None:
    sensor = Sensor(partitions=("a.csv", "b.csv", "c.csv"))
    sensor.options["adopted_ordinals"] = {"a.csv": 1, "b.csv": 2, "c.csv": 3}
    plan = sensor.tick([obj("a.csv"), obj("b.csv"), obj("c.csv")])
    assert plan.runs == [["a.csv", "b.csv", "c.csv"]] and plan.new_partitions == []


def test_the_cursor_round_trips() -> None:
    cursor = LandingCursor(tick=3, after="k.csv", pass_finished=T0, adopting=True, holding_since=2)
    assert LandingCursor.from_json(cursor.to_json()) == cursor
    assert LandingCursor.from_json(None) == LandingCursor()
