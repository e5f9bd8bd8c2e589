"""Repeated ids found through spilled buckets, exactly, whatever the flush size, and in memory
for a file whose ids never fill the buffer."""

from __future__ import annotations

from pathlib import Path

from vectordb_assets.validation.duplicate_ids import DuplicateIdFinder


def test_every_later_occurrence_is_named_across_spills(tmp_path: Path) -> None:
    finder = DuplicateIdFinder(tmp_path, buckets=4, flush_rows=3)
    ids = ["a", "b", "c", "a", "d", "b", "a", "e"]
    for row, doc_id in enumerate(ids, start=1):
        finder.add(doc_id, row)
    assert finder.duplicates() == {4: "a", 6: "b", 7: "a"}


def test_no_repeats_means_no_duplicates(tmp_path: Path) -> None:
    finder = DuplicateIdFinder(tmp_path, buckets=8, flush_rows=10)
    for row in range(1, 1001):
        finder.add(f"id-{row}", row)
    assert finder.duplicates() == {}


def test_a_small_file_is_grouped_in_memory_with_the_same_answer(tmp_path: Path) -> None:
    finder = DuplicateIdFinder(tmp_path, buckets=4, flush_rows=100)
    for row, doc_id in enumerate(["a", "b", "c", "a", "d", "b", "a", "e"], start=1):
        finder.add(doc_id, row)
    assert finder.duplicates() == {4: "a", 6: "b", 7: "a"}
    assert list(tmp_path.iterdir()) == []  # no bucket file was written
