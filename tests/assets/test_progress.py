"""Progress lines through one file: at every tenth of the rows and at least every 30 s, in order,
and the file's totals in its partition's metadata."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest

from tests.pipeline_harness import Pipeline
from vectordb_assets.assets.progress import Progress
from vectordb_assets.settings import Settings


def test_a_line_at_every_tenth_and_the_totals() -> None:
    lines: list[str] = []
    now = [0.0]
    progress = Progress(lines.append, "a.csv", "embeddings", 1000, chunks_total=20, clock=lambda: now[0])
    for chunk in range(1, 21):
        now[0] += 1.0
        progress.update(chunk * 50, failed=chunk // 10, cache_hits=chunk * 5)
    assert len(lines) == 10
    assert (
        lines[0] == "a.csv: embeddings 100 of 1,000 rows (10%), 50 rows/s, about 18 s left, cache hits 10, rejected 0"
    )
    assert lines[-1].startswith("a.csv: embeddings 1,000 of 1,000 rows (100%)") and lines[-1].endswith("rejected 2")
    assert progress.totals() == {
        "records_total": 1000,
        "records_processed": 1000,
        "records_failed": 2,
        "chunks_completed": 20,
        "chunks_total": 20,
    }


def test_a_file_done_in_one_chunk_logs_no_progress_line() -> None:
    lines: list[str] = []
    progress = Progress(lines.append, "small.csv", "embeddings", 10, chunks_total=1)
    progress.update(10)
    assert lines == [] and progress.totals()["records_processed"] == 10


def test_without_a_total_a_line_every_30_seconds() -> None:
    lines: list[str] = []
    now = [0.0]
    progress = Progress(lines.append, "big.csv", "validation", None, clock=lambda: now[0])
    for batch in range(1, 13):
        now[0] += 10.0
        progress.update(batch * 1000)
    assert [re.match(r"big.csv: validation ([\d,]+) rows", line).group(1) for line in lines] == [
        "3,000",
        "6,000",
        "9,000",
        "12,000",
    ]
    assert "100 rows/s" in lines[0] and "left" not in lines[0]


@pytest.mark.usefixtures("models_dir")
def test_a_run_logs_each_stages_progress_in_order(home: Path, state_db, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    with dg.instance_for_test() as instance:
        p = Pipeline(Settings.from_env(), instance, state_db)
        p.land("long.csv", "id,text\n" + "".join(f"{i},line {i} of a long file\n" for i in range(2500)))
        metadata = p.run("long.csv", run_config={"ops": {"embeddings": {"config": {"batch_rows": 250}}}})
        messages = [entry.user_message for entry in instance.all_logs(p.last_run_id) if entry.user_message]
    embedding = [m for m in messages if m.startswith("long.csv: embeddings ")]
    assert [re.search(r"\((\d+)%\)", m).group(1) for m in embedding] == [str(10 * i) for i in range(1, 11)]
    assert all("rows/s" in m and "cache hits" in m for m in embedding)
    # The index takes the file in one write: no progress line, the file's line says what was done.
    assert not any(m.startswith("long.csv: vector_index ") for m in messages)
    assert any(m.startswith("long.csv: SyncResult(added=2500,") for m in messages)
    # The model loads before the first file, so its time is the run's, not that file's.
    loaded = next(i for i, m in enumerate(messages) if m.endswith("(run-wide)") and " ready in " in m)
    assert loaded < messages.index(embedding[0])
    assert metadata["embeddings"]["records_total"] == 2500 and metadata["embeddings"]["chunks_total"] == 10
    assert metadata["validated_parquet"]["records_processed"] == 2500
    assert metadata["vector_index"]["records_processed"] == 2500
