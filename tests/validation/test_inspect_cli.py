"""`vectordb inspect` on local files and on S3 objects through moto's server."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from vectordb_assets.cli import main


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["inspect", *args])
    return result.exit_code, result.output


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "a.csv").write_text("id,text,tag\n1,one,x\n2,two,y\n2,again,z\n")
    pq.write_table(pa.table({"doc_id": ["a", "b"], "content": ["x", "y"]}), tmp_path / "b.parquet", row_group_size=1)
    return tmp_path


def test_list_metadata_sample_and_ids_as_json(files: Path) -> None:
    code, out = invoke("list", str(files), "--json")
    assert code == 0 and [f["key"] for f in json.loads(out)] == ["a.csv", "b.parquet"]
    code, out = invoke("metadata", str(files / "b.parquet"), "--json")
    meta = json.loads(out)
    assert (meta["rows"], meta["row_groups"], meta["format"]) == (2, 2, "parquet")
    assert meta["created_by"].startswith("parquet-cpp-arrow") and meta["format_version"]
    code, out = invoke("sample", str(files / "a.csv"), "2", "--json")
    assert json.loads(out) == [{"id": "1", "text": "one", "tag": "x"}, {"id": "2", "text": "two", "tag": "y"}]
    code, out = invoke("ids", str(files / "a.csv"), "--json")
    assert json.loads(out) == {
        "uri": str(files / "a.csv"),
        "id_column": "id",
        "total": 3,
        "unique": 2,
        "repeated_examples": {"2": 2},
    }


def test_validate_exits_non_zero_for_invalid_files(files: Path) -> None:
    code, out = invoke("validate", str(files / "a.csv"), "--json")
    report = json.loads(out)
    assert code == 1 and report["rejected_by_reason"] == {"duplicate id within the file": 1}
    code, _ = invoke("validate", str(files / "a.csv"), "--max-rejected-ratio", "0.5")
    assert code == 0
    code, out = invoke("validate", str(files / "b.parquet"), "--required-columns", "doc_id,price", "--json")
    assert code == 1 and json.loads(out)["missing_required_columns"] == ["price"]


def test_unreadable_and_missing_files_get_a_clear_error(files: Path) -> None:
    (files / "bad.jsonl").write_text('{"id": 1}\n{oops\n')
    code, out = invoke("validate", str(files / "bad.jsonl"), "--json")
    assert code == 1 and json.loads(out)["error"].startswith("bad.jsonl: line 2: invalid JSON")
    code, out = invoke("metadata", str(files / "absent.csv"))
    assert code == 1 and "Error: no object" in out and "absent.csv" in out
    code, out = invoke("list", str(files / "absent"))
    assert code == 1 and f"Error: no objects under {files / 'absent'}" in out


def test_s3_objects_and_prefixes(s3_bucket: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECTORDB_S3_ENDPOINT_URL", moto_endpoint)
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    client.put_object(
        Bucket=s3_bucket, Key="exports/day1.jsonl", Body=b'{"id": "1", "text": "hi", "meta": {"lang": "en"}}\n'
    )
    client.put_object(Bucket=s3_bucket, Key="exports/day2.jsonl", Body=b'{"id": "2", "text": "yo"}\n')
    client.put_object(Bucket=s3_bucket, Key="exports-old/day0.jsonl", Body=b'{"id": "0", "text": "old"}\n')
    code, out = invoke("list", f"s3://{s3_bucket}/exports/", "--json")  # the folder, not exports-old/
    assert code == 0 and [f["key"] for f in json.loads(out)] == ["exports/day1.jsonl", "exports/day2.jsonl"]
    code, out = invoke("list", f"s3://{s3_bucket}/exports", "--json")  # without "/": a key prefix
    assert code == 0 and len(json.loads(out)) == 3
    code, out = invoke("list", f"s3://{s3_bucket}/missing/")
    assert code == 1 and f"Error: no objects under s3://{s3_bucket}/missing/" in out
    code, out = invoke("sample", f"s3://{s3_bucket}/exports/day1.jsonl", "--json")
    assert json.loads(out) == [{"id": "1", "text": "hi", "meta.lang": "en"}]
    code, out = invoke("validate", f"s3://{s3_bucket}/exports/day2.jsonl", "--json")
    assert code == 0 and json.loads(out)["rows_kept"] == 1


def test_list_keeps_to_a_suffix_and_a_cap_and_shows_megabytes(
    s3_bucket: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VECTORDB_S3_ENDPOINT_URL", moto_endpoint)
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    for n in range(6):
        client.put_object(
            Bucket=s3_bucket, Key=f"out/part-{n}.{'PARQUET' if n == 4 else 'parquet'}", Body=b"x" * (250_000 * n)
        )
        client.put_object(Bucket=s3_bucket, Key=f"out/part-{n}.csv", Body=b"id\n")
    code, out = invoke("list", f"s3://{s3_bucket}/out/", "--suffix", ".parquet", "--json")
    assert code == 0 and [f["key"] for f in json.loads(out)] == [
        f"out/part-{n}.{'PARQUET' if n == 4 else 'parquet'}" for n in range(6)
    ]
    code, out = invoke("list", f"s3://{s3_bucket}/out/", "--suffix", ".parquet", "--max-keys", "3")
    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    assert [(row[0], row[1], row[-1]) for row in rows] == [
        ("0.000", "MB", "out/part-0.parquet"),
        ("0.250", "MB", "out/part-1.parquet"),
        ("0.500", "MB", "out/part-2.parquet"),
    ]


def test_ids_all_streams_every_rows_id_as_json_lines(files: Path) -> None:
    lines = "".join(f"{n % 1500},text {n}\n" for n in range(3000))
    (files / "big.csv").write_text("id,text\n" + lines)
    code, out = invoke("ids", str(files / "big.csv"), "--all")
    assert code == 0
    ids = [json.loads(line) for line in out.splitlines()]
    assert ids == [{"row": n + 1, "id": str(n % 1500)} for n in range(3000)]
    code, out = invoke("ids", str(files / "b.parquet"), "--all", "--id-column", "missing")
    assert code == 1 and "no id column missing among ['doc_id', 'content']" in out


def test_a_document_shows_its_pages_sections_and_chunks(tmp_path: Path) -> None:
    from tests.document_files import pdf_bytes

    (tmp_path / "manual.pdf").write_bytes(pdf_bytes(["Install the pump.", None, "Clean the filter."]))
    code, out = invoke("metadata", str(tmp_path / "manual.pdf"), "--json")
    assert code == 0 and json.loads(out)["document"] == {
        "format": "pdf",
        "title": "Pump manual",
        "pages": 3,
        "sections": 2,
        "chunks": 2,
        "pages_without_text": [2],
    }
    code, out = invoke("validate", str(tmp_path / "manual.pdf"), "--json")
    report = json.loads(out)
    assert code == 0 and report["valid"] and report["document"]["chunks"] == report["rows_kept"] == 2
    code, out = invoke("sample", str(tmp_path / "manual.pdf"), "1", "--json")
    assert [(row["id"], row["page"], row["text"]) for row in json.loads(out)] == [
        ("manual.pdf#p1#0", 1, "Install the pump.")
    ]
