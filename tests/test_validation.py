"""Validation of each format into the canonical schema, with rejections reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vectordb_assets.canonical import canonical_schema, text_hash
from vectordb_assets.readers import UnreadableFileError
from vectordb_assets.validation import read_lineage, validate_file


def run(tmp_path: Path, name: str, content: bytes | pa.Table):
    path = tmp_path / name
    if isinstance(content, pa.Table):
        pq.write_table(content, path)
    else:
        path.write_bytes(content)
    out = tmp_path / "out.parquet"
    report = validate_file(path, name, "etag-1", out, lineage={"landed_at": "2026-11-01T00:00:00+00:00"})
    return report, pq.read_table(out)


def test_csv_rows_become_canonical_rows(tmp_path: Path) -> None:
    report, table = run(tmp_path, "a.csv", b"id,title,text\n1,First,Hello  world\n2,Second,Bye\n")
    assert table.schema.remove_metadata() == canonical_schema(None)
    assert table.column("doc_id").to_pylist() == ["1", "2"]
    assert json.loads(table.column("metadata")[0].as_py()) == {"title": "First"}
    assert table.column("content_hash")[0].as_py() == text_hash("Hello world")
    assert table.column("row_number").to_pylist() == [1, 2]
    assert (report.id_column, report.text_column, report.rows_kept) == ("id", "text", 2)


def test_csv_keeps_values_that_look_numeric_then_are_not(tmp_path: Path) -> None:
    rows = "".join(f"{i},text {i},{i}\n" for i in range(20000)) + "20000,last,12a\n"
    report, table = run(tmp_path, "a.csv", f"id,text,code\n{rows}".encode())
    assert report.rows_kept == 20001
    assert json.loads(table.column("metadata")[-1].as_py()) == {"code": "12a"}


def test_parquet_vectors_are_kept_and_bad_ones_rejected(tmp_path: Path) -> None:
    vectors = [[0.1, 0.2, 0.3], [0.1, float("nan"), 0.3], [0.5, 0.5], None]
    source = pa.table({"doc_id": ["a", "b", "c", "d"], "content": ["x", "y", "z", ""], "embedding": vectors})
    report, table = run(tmp_path, "v.parquet", source)
    assert report.dimension == 3
    assert table.column("doc_id").to_pylist() == ["a"]
    assert table.schema.field("embedding").type == pa.list_(pa.float32(), 3)
    assert report.summary()["rejected_by_reason"] == {
        "NaN or infinite value in vector": 1,
        "wrong dimension (expected 3)": 1,
        "empty text and no embedding": 1,
    }
    assert [e["row"] for e in report.examples] == [2, 3, 4]


def test_binary_float32_vectors_are_read(tmp_path: Path) -> None:
    blob = np.array([1, 2, 3, 4], dtype=np.float32).tobytes()
    report, table = run(tmp_path, "b.parquet", pa.table({"id": ["a"], "vector": pa.array([blob], pa.binary())}))
    assert report.embedding_column == "vector" and report.dimension == 4
    assert table.column("embedding")[0].as_py() == [1, 2, 3, 4]


def test_jsonl_without_ids_gets_stable_ids_and_nested_metadata(tmp_path: Path) -> None:
    lines = b'{"body": "one", "author": {"name": "A"}}\n\n{"body": "two", "author": {"name": "B"}}\n'
    first, table = run(tmp_path, "r.jsonl", lines)
    _, again = run(tmp_path, "r.jsonl", lines)
    assert first.id_column is None
    assert table.column("doc_id").to_pylist() == again.column("doc_id").to_pylist()
    assert len(set(table.column("doc_id").to_pylist())) == 2
    assert json.loads(table.column("metadata")[1].as_py()) == {"author": {"name": "B"}}


def test_json_array_under_a_key_is_read(tmp_path: Path) -> None:
    document = {"count": 2, "products": [{"id": "p1", "description": "red"}, {"id": "p2", "description": "blue"}]}
    report, table = run(tmp_path, "all_products.json", json.dumps(document).encode())
    assert table.column("text").to_pylist() == ["red", "blue"]
    assert report.text_column == "description"


def test_missing_and_duplicate_ids_are_rejected_with_row_numbers(tmp_path: Path) -> None:
    report, table = run(tmp_path, "d.csv", b"id,text\n1,a\n,b\n1,c\n2,d\n")
    assert table.column("doc_id").to_pylist() == ["1", "2"]
    assert report.examples == [
        {"row": 2, "reason": "missing id", "field": "id"},
        {"row": 3, "reason": "duplicate id within the file", "field": "id"},
    ]


def test_lineage_is_stored_with_the_file(tmp_path: Path) -> None:
    run(tmp_path, "a.csv", b"id,text\n1,a\n")
    lineage = read_lineage(tmp_path / "out.parquet")
    assert lineage == {"source_key": "a.csv", "source_etag": "etag-1", "landed_at": "2026-11-01T00:00:00+00:00"}


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bad.jsonl", b'{"text": "ok"}\n{"text": \n', "bad.jsonl: line 2: invalid JSON"),
        ("bad.json", b"[1, 2]", "bad.json: expected an array of objects"),
        ("empty.csv", b"", "empty.csv: empty file"),
        ("header.csv", b"id,text\n", "header.csv: no rows"),
        ("garbage.parquet", b"\x00\x01not parquet", "garbage.parquet: not a readable Parquet file"),
        ("notes.txt", b"hello", "notes.txt: unsupported file type"),
    ],
)
def test_unreadable_files_raise_an_error_naming_the_file(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    with pytest.raises(UnreadableFileError, match=message):
        run(tmp_path, name, content)
