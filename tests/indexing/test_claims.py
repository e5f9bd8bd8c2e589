"""The plan claims yield: what one source's sync writes, skips, deletes and hands back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vectordb_assets.indexing.claims import Claim, plan_sync

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def claim(source: str, content: str = "h1", hours: int = 0, model: str = "m") -> Claim:
    return Claim(source, content, model, T0 + timedelta(hours=hours))


def test_first_sync_adds_every_row() -> None:
    plan = plan_sync("a.csv", {"1": claim("a.csv"), "2": claim("a.csv")}, {})
    assert (plan.added, plan.write_own) == (2, ["1", "2"])


def test_unchanged_rows_are_skipped_and_changed_rows_updated() -> None:
    current = {"1": {"a.csv": claim("a.csv")}, "2": {"a.csv": claim("a.csv")}}
    plan = plan_sync("a.csv", {"1": claim("a.csv", hours=1), "2": claim("a.csv", "h2", hours=1)}, current)
    assert (plan.skipped, plan.updated, plan.write_own) == (1, 1, ["2"])


def test_a_model_change_updates_unchanged_text() -> None:
    plan = plan_sync("a.csv", {"1": claim("a.csv", model="new")}, {"1": {"a.csv": claim("a.csv")}})
    assert plan.write_own == ["1"] and plan.updated == 1


def test_rows_gone_from_the_file_are_deleted() -> None:
    current = {"1": {"a.csv": claim("a.csv")}, "2": {"a.csv": claim("a.csv")}}
    plan = plan_sync("a.csv", {"1": claim("a.csv")}, current)
    assert plan.delete == ["2"] and plan.skipped == 1


def test_an_older_file_never_overwrites_a_newer_owner() -> None:
    current = {"1": {"new.csv": claim("new.csv", "hn", hours=5)}}
    plan = plan_sync("old.csv", {"1": claim("old.csv", "ho", hours=1)}, current)
    assert plan.write_own == [] and plan.shadowed == 1 and plan.delete == []


def test_deleting_the_owner_hands_the_id_back_to_the_newest_remaining_source() -> None:
    current = {
        "1": {
            "new.csv": claim("new.csv", hours=5),
            "mid.csv": claim("mid.csv", hours=3),
            "old.csv": claim("old.csv", hours=1),
        }
    }
    plan = plan_sync("new.csv", {}, current)
    assert plan.write_from == {"mid.csv": ["1"]} and plan.delete == []


def test_deleting_an_older_source_leaves_the_newer_owner_alone() -> None:
    current = {"1": {"new.csv": claim("new.csv", hours=5), "old.csv": claim("old.csv", hours=1)}}
    plan = plan_sync("old.csv", {}, current)
    assert (plan.write_own, plan.write_from, plan.delete, plan.shadowed) == ([], {}, [], 1)


def test_deleting_the_only_source_deletes_the_vector() -> None:
    plan = plan_sync("a.csv", {}, {"1": {"a.csv": claim("a.csv")}})
    assert plan.delete == ["1"]


def test_the_claims_are_rewritten_only_when_they_change() -> None:
    current = {"1": {"a.csv": claim("a.csv")}, "2": {"a.csv": claim("a.csv")}}
    assert not plan_sync("a.csv", {"1": claim("a.csv"), "2": claim("a.csv")}, current).claims_changed
    assert plan_sync("a.csv", {"1": claim("a.csv")}, current).claims_changed
    assert plan_sync("a.csv", {"1": claim("a.csv"), "2": claim("a.csv", hours=1)}, current).claims_changed
