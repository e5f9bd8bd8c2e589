"""Repeated ids in a file of any size, found in memory bounded by the bucket size, not the file.

Ids are spilled to bucket files by hash as rows stream past; afterwards each bucket is grouped
on its own, so only one bucket's ids are in memory at a time. A file whose ids never filled the
buffer is grouped in memory, without bucket files.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

SCHEMA = pa.schema([("id", pa.string()), ("row_number", pa.int64())])


class DuplicateIdFinder:
    """Collects (id, row number) pairs; `duplicates()` names every occurrence after the first."""

    def __init__(self, folder: Path, buckets: int = 64, flush_rows: int = 50_000):
        self.folder = folder
        self.buckets = buckets
        self.flush_rows = flush_rows
        self.pending: list[tuple[list[str], list[int]]] = [([], []) for _ in range(buckets)]
        self.pending_rows = 0
        self.writers: dict[int, ipc.RecordBatchStreamWriter] = {}

    def add(self, doc_id: str, row_number: int) -> None:
        ids, rows = self.pending[hash(doc_id) % self.buckets]
        ids.append(doc_id)
        rows.append(row_number)
        self.pending_rows += 1
        if self.pending_rows >= self.flush_rows:
            self._flush()

    def _flush(self) -> None:
        for bucket, (ids, rows) in enumerate(self.pending):
            if not ids:
                continue
            writer = self.writers.get(bucket)
            if writer is None:
                writer = self.writers[bucket] = ipc.new_stream(str(self.folder / f"ids-{bucket}.arrow"), SCHEMA)
            writer.write_batch(pa.record_batch([pa.array(ids, pa.string()), pa.array(rows, pa.int64())], schema=SCHEMA))
            ids.clear()
            rows.clear()
        self.pending_rows = 0

    def duplicates(self) -> dict[int, str]:
        """Row number → id of each row whose id appeared on an earlier row."""
        if not self.writers:  # every id is still in memory (a small file): no bucket files
            ids = [doc_id for bucket_ids, _ in self.pending for doc_id in bucket_ids]
            rows = [row for _, bucket_rows in self.pending for row in bucket_rows]
            return _repeats(pa.table([pa.array(ids, pa.string()), pa.array(rows, pa.int64())], schema=SCHEMA))
        self._flush()
        for writer in self.writers.values():
            writer.close()
        repeated: dict[int, str] = {}
        for bucket in self.writers:
            with ipc.open_stream(str(self.folder / f"ids-{bucket}.arrow")) as reader:
                repeated.update(_repeats(reader.read_all()))
        return repeated


def _repeats(table: pa.Table) -> dict[int, str]:
    """Row number → id of each row of `table` (id, row_number) whose id is on an earlier row."""
    # Sorted by id then row, a row whose id equals the previous row's id is a repeat.
    order = pc.sort_indices(table, sort_keys=[("id", "ascending"), ("row_number", "ascending")])
    ids = table.column("id").take(order)
    rows = table.column("row_number").take(order)
    repeat = pc.equal(ids.slice(1), ids.slice(0, len(ids) - 1))
    later_ids, later_rows = ids.slice(1).filter(repeat), rows.slice(1).filter(repeat)
    return dict(zip(later_rows.to_pylist(), later_ids.to_pylist()))
