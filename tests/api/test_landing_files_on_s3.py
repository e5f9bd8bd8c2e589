"""The API's landing-area endpoints over a bucket on moto's S3 server: what they answer about a
Parquet file is what pyarrow reads from the same file, and nothing outside the prefix is served."""

from __future__ import annotations

import io
import os
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import requests

from tests.api.test_api import api_server, fresh_database, make_key


def test_parquet_endpoints_answer_what_pyarrow_reads(
    moto_endpoint: str, aws_env: None, s3_bucket: str, pg_server_uri: str, tmp_path: Path
) -> None:
    table = pa.table(
        {
            "doc_id": [f"d{i}" for i in range(250)],
            "text": [f"row {i}" for i in range(250)],
            "score": [i / 10 for i in range(250)],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=100)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.put_object(Bucket=s3_bucket, Key="landing/exports/rows.parquet", Body=sink.getvalue())
    s3.put_object(Bucket=s3_bucket, Key="landing/exports/notes.csv", Body=b"id,text\n1,a\n")
    s3.put_object(Bucket=s3_bucket, Key="private/secret.parquet", Body=sink.getvalue())
    with fresh_database(pg_server_uri) as database_url:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("VECTORDB_") or name == "VECTORDB_MODELS_DIR"
        }
        env.update(
            VECTORDB_HOME=str(tmp_path / "home"),
            DATABASE_URL=database_url,
            VECTORDB_SOURCE=f"s3://{s3_bucket}/landing",
            VECTORDB_S3_ENDPOINT_URL=moto_endpoint,
        )
        key = {"X-API-Key": make_key(env, "reader", "read")}
        with api_server(env, tmp_path / "api.log") as url:

            def get(path: str, **params: object) -> requests.Response:
                return requests.get(f"{url}{path}", params=params, headers=key, timeout=60)

            listed = get("/s3/parquet/list", prefix="exports/").json()
            assert [o["key"] for o in listed["objects"]] == ["exports/rows.parquet"]
            assert listed["objects"][0]["size"] == len(sink.getvalue())
            assert listed["objects"][0]["size_mb"] == round(len(sink.getvalue()) / 1e6, 3)
            assert [o["key"] for o in get("/s3/list").json()["objects"]] == [
                "exports/notes.csv",
                "exports/rows.parquet",
            ]

            footer = pq.ParquetFile(io.BytesIO(sink.getvalue())).metadata
            metadata = get("/s3/parquet/metadata", key="exports/rows.parquet").json()
            assert (metadata["rows"], metadata["row_groups"], metadata["created_by"]) == (
                footer.num_rows,
                footer.num_row_groups,
                footer.created_by,
            )
            assert metadata["columns"] == [{"name": f.name, "type": str(f.type)} for f in table.schema]

            sample = get("/s3/parquet/sample", key="exports/rows.parquet", n=5).json()
            assert sample["rows"] == table.slice(0, 5).to_pylist()
            ids = get("/s3/parquet/extract-ids", key=f"s3://{s3_bucket}/landing/exports/rows.parquet").json()
            assert ids["found_id_column"] == "doc_id" and ids["doc_ids"] == table.column("doc_id").to_pylist()
            assert (ids["total"], ids["unique"], ids["truncated"]) == (250, 250, False)
            report = get("/s3/parquet/validate", key="exports/rows.parquet", required_columns="doc_id,title").json()
            assert (report["valid"], report["missing_required_columns"], report["rows_kept"]) == (False, ["title"], 250)

            download = get("/s3/parquet/download-binary", key="exports/rows.parquet")
            assert (
                download.content == sink.getvalue() and download.headers["content-type"] == "application/octet-stream"
            )
            assert pq.read_table(io.BytesIO(get("/s3/download", key="exports/rows.parquet").content)).equals(table)

            for outside in (f"s3://{s3_bucket}/private/secret.parquet", "../private/secret.parquet"):
                refused = get("/s3/parquet/sample", key=outside)
                assert refused.status_code == 403 and "landing area" in refused.json()["detail"]
            missing = get("/s3/download", key="exports/none.parquet")
            assert missing.status_code == 404 and "exports/none.parquet" in missing.json()["detail"]
