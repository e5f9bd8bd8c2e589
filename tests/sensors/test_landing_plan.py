"""The landing plan: which objects become partitions and how they are grouped into runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from resources.object_store import StoredObject
from sensors.landing_plan import LandingCursor, plan_landing

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def obj(key: str, etag: str = "e1", minutes: int = 0) -> StoredObject:
    return StoredObject(key=key, size=10, etag=etag, last_modified=T0 + timedelta(minutes=minutes))


def test_new_objects_become_partitions_in_landing_order() -> None:
    plan = plan_landing([obj("b.csv", minutes=2), obj("a.csv", minutes=1)], [], LandingCursor(), max_partitions_per_run=100)
    assert plan.new_keys == ["a.csv", "b.csv"]
    assert plan.runs == [["a.csv", "b.csv"]]


def test_a_thousand_small_files_become_at_most_ten_runs() -> None:
    objects = [obj(f"pages/{i:04d}.json", minutes=i) for i in range(1000)]
    plan = plan_landing(objects, [], LandingCursor(), max_partitions_per_run=100)
    assert len(plan.new_keys) == 1000
    assert len(plan.runs) == 10
    assert sorted(k for run in plan.runs for k in run) == sorted(o.key for o in objects)


def test_the_same_objects_on_the_next_tick_request_nothing() -> None:
    objects = [obj("a.csv"), obj("b.csv", minutes=1)]
    first = plan_landing(objects, [], LandingCursor(), max_partitions_per_run=100)
    cursor = LandingCursor.from_json(first.cursor.to_json())
    second = plan_landing(objects, first.new_keys, cursor, max_partitions_per_run=100)
    assert (second.new_keys, second.runs) == ([], [])


def test_a_changed_object_is_requested_again_with_a_new_run_key() -> None:
    first = plan_landing([obj("a.csv"), obj("b.csv")], [], LandingCursor(), max_partitions_per_run=100)
    changed = [obj("a.csv", etag="e2", minutes=5), obj("b.csv")]
    second = plan_landing(changed, first.new_keys, first.cursor, max_partitions_per_run=100)
    assert second.new_keys == []
    assert second.runs == [["a.csv"]]
    assert second.run_keys[0] not in first.run_keys


def test_a_changed_object_long_after_the_window_is_still_seen() -> None:
    first = plan_landing([obj("a.csv")], [], LandingCursor(), max_partitions_per_run=100)
    later = plan_landing([obj("a.csv", etag="e2", minutes=600)], first.new_keys, first.cursor, max_partitions_per_run=100)
    assert later.runs == [["a.csv"]]


def test_runs_cover_only_adjacent_partitions() -> None:
    known = ["a.csv", "b.csv", "c.csv"]
    first = plan_landing([obj(k) for k in known], [], LandingCursor(), max_partitions_per_run=100)
    changed = [obj("a.csv", "e2", 5), obj("b.csv"), obj("c.csv", "e2", 5), obj("d.csv", minutes=6)]
    plan = plan_landing(changed, known, first.cursor, max_partitions_per_run=100)
    assert plan.runs == [["a.csv"], ["c.csv", "d.csv"]]


def test_unusable_keys_are_skipped_with_one_warning() -> None:
    objects = [obj("ok.csv"), obj("bad...name.csv"), obj("tab\tname.csv")]
    plan = plan_landing(objects, [], LandingCursor(), max_partitions_per_run=100)
    assert plan.new_keys == ["ok.csv"]
    assert len(plan.warnings) == 2 and "bad...name.csv" in plan.warnings[0]
    again = plan_landing(objects, plan.new_keys, plan.cursor, max_partitions_per_run=100)
    assert again.warnings == []


def test_outputs_inside_the_landing_area_are_not_picked_up() -> None:
    plan = plan_landing(
        [obj("a.csv"), obj("_vectordb/validated/a.csv.parquet")], [], LandingCursor(),
        max_partitions_per_run=100, excluded_prefix="_vectordb",
    )
    assert plan.new_keys == ["a.csv"]


def test_vanished_objects_are_requested_once_then_their_partitions_removed() -> None:
    first = plan_landing([obj("a.csv"), obj("b.csv")], [], LandingCursor(), max_partitions_per_run=100)
    gone = plan_landing([obj("a.csv")], ["a.csv", "b.csv"], first.cursor, max_partitions_per_run=100)
    assert gone.runs == [["b.csv"]] and gone.removed_keys == []
    waiting = plan_landing([obj("a.csv")], ["a.csv", "b.csv"], gone.cursor, max_partitions_per_run=100)
    assert waiting.runs == [] and waiting.removed_keys == []
    done = plan_landing(
        [obj("a.csv")], ["a.csv", "b.csv"], waiting.cursor, max_partitions_per_run=100, deletions_done=["b.csv"]
    )
    assert done.removed_keys == ["b.csv"] and done.cursor.deleting == []


def test_a_mass_disappearance_is_held_back_with_a_warning() -> None:
    keys = [f"f{i:02d}.csv" for i in range(20)]
    first = plan_landing([obj(k) for k in keys], [], LandingCursor(), max_partitions_per_run=100)
    emptied = plan_landing([obj(k) for k in keys[:5]], keys, first.cursor, max_partitions_per_run=100)
    assert emptied.runs == [] and "15 of 20 files are gone" in emptied.warnings[0]
    allowed = plan_landing(
        [obj(k) for k in keys[:5]], keys, first.cursor, max_partitions_per_run=100, max_deleted_fraction=1.0
    )
    assert allowed.runs == [keys[5:]]


def test_a_file_landed_again_before_its_deletion_finished_is_not_removed() -> None:
    first = plan_landing([obj("a.csv")], [], LandingCursor(), max_partitions_per_run=100)
    gone = plan_landing([], ["a.csv"], first.cursor, max_partitions_per_run=100, max_deleted_fraction=1.0)
    back = plan_landing([obj("a.csv", "e2", 10)], ["a.csv"], gone.cursor, max_partitions_per_run=100, deletions_done=["a.csv"])
    assert back.removed_keys == [] and back.runs == [["a.csv"]] and back.cursor.deleting == []
