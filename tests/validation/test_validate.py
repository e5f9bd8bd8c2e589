"""Validation of each format into the canonical schema, with rejections reported."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vectordb_assets.validation.canonical import canonical_schema, text_hash
from vectordb_assets.validation.limits import ReadLimits
from vectordb_assets.validation.readers import ReadOptions, UnreadableFileError
from vectordb_assets.validation.report import ValidationOptions
from vectordb_assets.validation.validate import read_lineage, validate_file


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


def test_jsonl_without_ids_gets_stable_ids_and_flattened_metadata(tmp_path: Path) -> None:
    lines = b'{"body": "one", "author": {"name": "A"}}\n\n{"body": "two", "author": {"name": "B"}}\n'
    first, table = run(tmp_path, "r.jsonl", lines)
    _, again = run(tmp_path, "r.jsonl", lines)
    assert first.id_column is None
    assert table.column("doc_id").to_pylist() == again.column("doc_id").to_pylist()
    assert len(set(table.column("doc_id").to_pylist())) == 2
    assert json.loads(table.column("metadata")[1].as_py()) == {"author.name": "B"}


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
        ("bad.json", b"[1, 2]", "bad.json: item 1: expected a JSON object, got int"),
        ("scalar.json", b'{"a": 1}', "scalar.json: expected an array of objects"),
        ("cut.json", b'[{"text": "a"}, {"text": ', "cut.json: invalid JSON"),
        ("garbage.csv", bytes(range(256)) * 40, "garbage.csv: binary data, not CSV \\(NUL byte at offset 0\\)"),
        ("empty.csv", b"", "empty.csv: empty file"),
        ("header.csv", b"id,text\n", "header.csv: no rows"),
        ("garbage.parquet", b"\x00\x01not parquet", "garbage.parquet: not a readable Parquet file"),
        ("notes.rtf", b"hello", "notes.rtf: unsupported file type"),
        ("empty.md", b"\n\n", "empty.md: no text in this markdown document"),
    ],
)
def test_unreadable_files_raise_an_error_naming_the_file(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    with pytest.raises(UnreadableFileError, match=message):
        run(tmp_path, name, content)


def options(**kwargs) -> ValidationOptions:
    read_keys = {"delimiter", "quote_char", "encoding", "header"}
    limits = ReadLimits(**{k: kwargs.pop(k) for k in list(kwargs) if k in ReadLimits.model_fields})
    read = ReadOptions(**{k: v for k, v in kwargs.items() if k in read_keys}, limits=limits)
    return ValidationOptions(read=read, **{k: v for k, v in kwargs.items() if k not in read_keys})


def run_with(tmp_path: Path, name: str, content: bytes, opts: ValidationOptions):
    path = tmp_path / name
    path.write_bytes(content)
    report = validate_file(path, name, "e", tmp_path / "out.parquet", options=opts)
    return report, pq.read_table(tmp_path / "out.parquet")


def test_tsv_and_a_custom_delimiter_and_quote(tmp_path: Path) -> None:
    _, tsv = run(tmp_path, "a.tsv", b"id\ttext\n1\tone, with comma\n")
    assert tsv.column("text").to_pylist() == ["one, with comma"]
    _, semi = run_with(tmp_path, "b.csv", b"id;text\n1;'x;y'\n", options(delimiter=";", quote_char="'"))
    assert semi.column("text").to_pylist() == ["x;y"]


def test_a_csv_without_a_header_gets_column_names(tmp_path: Path) -> None:
    report, table = run_with(
        tmp_path, "n.csv", b"1,first text\n2,second text\n", options(header=False, text_column="column_2")
    )
    assert table.num_rows == 2 and report.text_column == "column_2"
    assert json.loads(table.column("metadata")[0].as_py()) == {"column_1": "1"}


def test_latin1_files_are_read_with_their_encoding(tmp_path: Path) -> None:
    _, table = run_with(tmp_path, "l.csv", "id,text\n1,café crème\n".encode("latin-1"), options(encoding="latin-1"))
    assert table.column("text").to_pylist() == ["café crème"]


def test_invalid_utf8_is_replaced_and_reported(tmp_path: Path) -> None:
    report, table = run(tmp_path, "u.csv", b"id,text\n1,caf\xe9\n2,fine\n")
    assert table.column("text").to_pylist() == ["caf\ufffd", "fine"]
    assert report.summary()["repaired_by_reason"] == {"invalid UTF-8 replaced": 1}


def test_text_over_the_maximum_is_rejected(tmp_path: Path) -> None:
    report, table = run_with(tmp_path, "t.csv", b"id,text\n1,short\n2," + b"x" * 50 + b"\n", options(max_text_chars=20))
    assert table.column("doc_id").to_pylist() == ["1"]
    assert report.examples == [{"row": 2, "reason": "text longer than 20 characters", "field": "text"}]


def test_date_filter_keeps_rows_from_the_start_date(tmp_path: Path) -> None:
    content = b"id,text,created\n1,a,2026-10-30\n2,b,2026-11-01T08:00:00\n3,c,someday\n4,d,2026-11-02\n"
    report, table = run_with(
        tmp_path, "d.csv", content, options(date_column="created", start_date=dt.date(2026, 11, 1))
    )
    assert table.column("doc_id").to_pylist() == ["2", "4"]
    assert report.rows_filtered == 1
    assert report.examples == [{"row": 3, "reason": "unparseable date", "field": "created"}]


def test_a_configured_column_that_is_missing_names_the_columns(tmp_path: Path) -> None:
    with pytest.raises(
        UnreadableFileError, match=r"a.csv: configured id column 'sku' not found; columns are \['id', 'text'\]"
    ):
        run_with(tmp_path, "a.csv", b"id,text\n1,a\n", options(id_column="sku"))


def test_gzip_files_are_read(tmp_path: Path) -> None:
    _, table = run(tmp_path, "a.jsonl.gz", gzip.compress(b'{"id": "1", "text": "zipped"}\n'))
    assert table.column("text").to_pylist() == ["zipped"]


def test_a_decompression_bomb_is_refused(tmp_path: Path) -> None:
    bomb = gzip.compress(b"id,text\n" + b"1," + b"a" * 5_000_000 + b"\n")
    with pytest.raises(UnreadableFileError, match="bomb.csv.gz: decompresses to more than 100x its size"):
        run(tmp_path, "bomb.csv.gz", bomb)


def test_a_parquet_file_that_expands_too_far_is_refused(tmp_path: Path) -> None:
    table = pa.table({"id": [str(i) for i in range(20000)], "text": ["same text " * 20] * 20000})
    pq.write_table(table, tmp_path / "dense.parquet", compression="zstd", use_dictionary=False)
    with pytest.raises(UnreadableFileError, match="dense.parquet: decompresses to more than 5x"):
        validate_file(
            tmp_path / "dense.parquet",
            "dense.parquet",
            "e",
            tmp_path / "o.parquet",
            options=options(max_decompression_ratio=5),
        )


def test_a_truncated_parquet_file_is_unreadable(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": ["1"], "text": ["a"]}), tmp_path / "full.parquet")
    (tmp_path / "cut.parquet").write_bytes((tmp_path / "full.parquet").read_bytes()[:-20])
    with pytest.raises(UnreadableFileError, match="cut.parquet: not a readable Parquet file"):
        validate_file(tmp_path / "cut.parquet", "cut.parquet", "e", tmp_path / "o.parquet")


def test_a_large_json_array_under_a_key_is_streamed(tmp_path: Path) -> None:
    items = ",".join(
        json.dumps({"sku": f"p{i}", "description": f"item {i}", "offer": {"price": i}}) for i in range(25000)
    )
    report, table = run(tmp_path, "all_products.json", f'{{"meta": {{"pages": 3}}, "products": [{items}]}}'.encode())
    assert report.rows_kept == 25000
    assert json.loads(table.column("metadata")[7].as_py()) == {"offer.price": 7.0, "sku": "p7"}


def test_csv_rows_with_the_wrong_number_of_fields_are_rejected_by_line(tmp_path: Path) -> None:
    report, table = run(tmp_path, "m.csv", b"id,text\n1,ok\n2,too,many\n3,fine\n")
    assert table.column("doc_id").to_pylist() == ["1", "3"]
    assert table.column("row_number").to_pylist() == [1, 3]
    assert report.examples == [{"row": 2, "reason": "wrong number of fields (expected 2, got 3)", "field": None}]
