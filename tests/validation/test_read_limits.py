"""What one file can make a reader do is bounded by the settings' ReadLimits, each refusal naming
the file and the bound; hostile files are refused (or read) within a few hundred MiB."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.hostile_files import HOSTILE, baseline_mib, dictionary_bomb, validate_alone
from vectordb_assets.validation.limits import ReadLimits
from vectordb_assets.validation.readers import ReadOptions, UnreadableFileError, read_batches
from vectordb_assets.validation.report import ValidationOptions
from vectordb_assets.validation.validate import validate_file

pytestmark = pytest.mark.integration  # validates each hostile file in a process of its own

# The memory a hostile file may cost above a process that only imports the validation code.
MEMORY_BOUND_MIB = 400
OUTCOMES = {
    "dictionary-bomb.parquet": "decompresses to more than 100x its size",
    "null-columns.parquet": "5,002 distinct columns or keys, over the 2,000 a file may have (VECTORDB_MAX_COLUMNS)",
    "wide-row.jsonl": "20,002 distinct columns or keys, over the 2,000",
    "long-line.jsonl": "line 1 is longer than the 16 MiB a row may have (VECTORDB_MAX_ROW_BYTES)",
    "long-field.csv": None,  # read: the long text is rejected as a row, the others kept
    "bomb.jsonl.gz": "decompresses to more than 100x its size",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_file_is_refused_within_the_memory_bound(name: str, tmp_path: Path) -> None:
    HOSTILE[name](tmp_path / name)
    result = validate_alone(tmp_path / name, tmp_path / "out.parquet")
    expected = OUTCOMES[name]
    if expected is None:
        assert result["outcome"] == "validated" and result["rows_kept"] == 2
        assert result["rejected"] == {"text longer than 100000 characters": 1}
    else:
        assert (
            result["outcome"] == "refused" and result["error"].startswith(f"{name}: ") and expected in result["error"]
        )
    assert result["peak_mib"] < baseline_mib() + MEMORY_BOUND_MIB


def limited(**limits) -> ValidationOptions:
    return ValidationOptions(read=ReadOptions(limits=ReadLimits(**limits)))


def test_what_parquet_decodes_to_is_measured_from_its_data_not_its_footer(tmp_path: Path) -> None:
    dictionary_bomb(tmp_path / "bomb.parquet")  # 30,000 rows of one 1 MB value
    result = validate_alone(
        tmp_path / "bomb.parquet",
        tmp_path / "out.parquet",
        {"max_decompression_ratio": 1e9, "max_decompressed_bytes": 1 << 30},
    )
    assert result["outcome"] == "refused" and "or 1 GiB; refused as a likely decompression bomb" in result["error"]
    assert result["seconds"] < 60 and result["peak_mib"] < baseline_mib() + MEMORY_BOUND_MIB


def test_parquet_is_decoded_in_slices_within_the_batch_budget(tmp_path: Path) -> None:
    texts = [f"{i:05d}" + "t" * 10_000 for i in range(1_000)]
    pq.write_table(pa.table({"id": [str(i) for i in range(1_000)], "text": texts}), tmp_path / "a.parquet")
    batches = [
        b.batch
        for b in read_batches(
            tmp_path / "a.parquet", "a.parquet", ReadOptions(limits=ReadLimits(max_batch_bytes=1 << 20))
        )
    ]
    assert len(batches) >= 10 and all(b.nbytes < 1.2 * (1 << 20) for b in batches)
    assert pa.Table.from_batches(batches).column("text").to_pylist() == texts


def test_jsonl_batches_close_at_the_byte_budget(tmp_path: Path) -> None:
    rows = [{"id": str(i), "text": "w" * 20_000, "empty": None} for i in range(200)]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    batches = [
        b.batch
        for b in read_batches(tmp_path / "a.jsonl", "a.jsonl", ReadOptions(limits=ReadLimits(max_batch_bytes=1 << 20)))
    ]
    per_batch = -(-(1 << 20) // len(json.dumps(rows[0]) + "\n"))  # rows that reach 1 MiB
    assert [b.num_rows for b in batches] == [per_batch] * (200 // per_batch) + [200 % per_batch]
    assert all(b.schema.names == ["id", "text", "empty"] for b in batches)


def test_an_object_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "big.csv").write_text("id,text\n" + "1,a\n" * 1_000)
    with pytest.raises(
        UnreadableFileError, match=r"big.csv: 3.91 KiB, over the 2 KiB an object may have \(VECTORDB_MAX_OBJECT_BYTES\)"
    ):
        validate_file(
            tmp_path / "big.csv", "big.csv", "e", tmp_path / "o.parquet", options=limited(max_object_bytes=2048)
        )


def test_a_csv_row_longer_than_a_block_is_named_with_the_bound(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,text\n1," + "z" * (3 << 20) + "\n")
    with pytest.raises(
        UnreadableFileError, match=r"a.csv: a row is longer than the 1 KiB a row may have \(VECTORDB_MAX_ROW_BYTES\)"
    ):
        validate_file(tmp_path / "a.csv", "a.csv", "e", tmp_path / "o.parquet", options=limited(max_row_bytes=1024))
