"""Enrichment from a PostgreSQL table or query (pgserver): merged into each row's metadata at
validation, a batch of ids at a time, read-only, with missing ids reported; and a Parquet file of
precomputed embeddings landed on moto's S3, enriched, into pgvector."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from resources.state_db import StateDatabase
from vectordb_assets.definitions import build_definitions
from vectordb_assets.landing.partitions import source_files
from vectordb_assets.settings import Settings, SettingsError
from vectordb_assets.validation.enrichment import Enrichment, EnrichmentError
from vectordb_assets.validation.validate import validate_file


@pytest.fixture
def documents(state_db: StateDatabase) -> StateDatabase:
    with state_db.connect() as conn:
        conn.execute("create schema catalog")
        conn.execute(
            "create table catalog.documents (doc_id text primary key, title text, published date, extra jsonb)"
        )
        conn.execute(
            "insert into catalog.documents values"
            " ('1', 'Passwords', '2026-01-02', '{\"team\": \"support\"}'),"
            " ('2', 'Email', '2026-03-04', null)"
        )
    return state_db


def canonical(tmp_path: Path, csv: str) -> Path:
    (tmp_path / "in.csv").write_text(csv)
    out = tmp_path / "out.parquet"
    validate_file(tmp_path / "in.csv", "in.csv", "etag", out)
    return out


def metadata_of(path: Path) -> dict[str, dict]:
    table = pq.read_table(path)
    return dict(zip(table.column("doc_id").to_pylist(), map(json.loads, table.column("metadata").to_pylist())))


@pytest.mark.parametrize(
    "enrichment",
    [
        Enrichment(table="catalog.documents", key_column="doc_id", batch_ids=2),
        Enrichment(
            query="select doc_id, title, published, extra from catalog.documents where doc_id = any(%(ids)s)",
            batch_ids=2,
        ),
    ],
    ids=["table", "query"],
)
def test_looked_up_fields_are_merged_the_files_own_win_and_missing_ids_are_named(
    documents: StateDatabase, tmp_path: Path, enrichment: Enrichment
) -> None:
    path = canonical(
        tmp_path, "id,text,title\n1,reset a password,\n2,change the email,My own title\n3,close an account,\n"
    )
    lineage = pq.read_schema(path).metadata
    report = enrichment.apply(documents, path)
    assert metadata_of(path) == {
        "1": {"title": "Passwords", "published": "2026-01-02", "extra.team": "support"},
        "2": {"title": "My own title", "published": "2026-03-04", "extra": None},
        "3": {"title": ""},
    }
    assert report.to_dict() == {
        "rows_enriched": 2,
        "ids_missing": 1,
        "missing_examples": ["3"],
        "fields_kept_from_file": 1,
    }
    assert pq.read_schema(path).metadata == lineage  # the lineage stays with the file


def test_a_broken_or_writing_query_is_refused_naming_the_setting(documents: StateDatabase) -> None:
    with pytest.raises(EnrichmentError, match='VECTORDB_ENRICH_SQL failed: relation "nowhere" does not exist'):
        Enrichment(query="select id from nowhere where id = any(%(ids)s)").check(documents)
    with pytest.raises(EnrichmentError, match="VECTORDB_ENRICH_TABLE 'catalog.absent' failed"):
        Enrichment(table="catalog.absent").check(documents)
    writing = Enrichment(query="delete from catalog.documents where doc_id = any(%(ids)s) returning doc_id")
    with pytest.raises(EnrichmentError, match="read-only transaction"):
        writing.lookup(documents, ["1"])
    with documents.connect() as conn:
        assert conn.execute("select count(*) from catalog.documents").fetchone()[0] == 2


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"VECTORDB_ENRICH_SQL": "select id from docs"}, "VECTORDB_ENRICH_SQL must use the parameter %\\(ids\\)s"),
        (
            {"VECTORDB_ENRICH_SQL": "select id from docs where id = any(%(ids)s)", "VECTORDB_ENRICH_TABLE": "docs"},
            "set VECTORDB_ENRICH_SQL or VECTORDB_ENRICH_TABLE, not both",
        ),
    ],
)
def test_enrichment_settings_are_checked(home: Path, environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"VECTORDB_HOME": str(home), **environ})


@pytest.mark.usefixtures("models_dir")
def test_precomputed_embeddings_on_s3_are_enriched_into_pgvector(
    home: Path, documents: StateDatabase, s3_bucket: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", documents.database_url)
    monkeypatch.setenv("VECTORDB_SOURCE", f"s3://{s3_bucket}/landing")
    monkeypatch.setenv("VECTORDB_S3_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("VECTORDB_ENRICH_TABLE", "catalog.documents")
    monkeypatch.setenv("VECTORDB_ENRICH_KEY", "doc_id")
    vectors = np.random.default_rng(4).standard_normal((3, 384)).astype(np.float32)
    table = pa.table(
        {
            "doc_id": ["1", "2", "3"],
            "text": ["reset a password", "change the email", "close an account"],
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), 384),
            "lang": ["en", "en", "de"],
        }
    )
    body = io.BytesIO()
    pq.write_table(table, body)
    boto3.client("s3", endpoint_url=moto_endpoint).put_object(
        Bucket=s3_bucket, Key="landing/vectors/part-0.parquet", Body=body.getvalue()
    )
    settings = Settings.from_env()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(source_files.name, ["vectors/part-0.parquet"])
        result = (
            build_definitions(settings)
            .resolve_job_def("ingest_files")
            .execute_in_process(instance=instance, partition_key="vectors/part-0.parquet")
        )
        assert result.success
        validated = next(
            e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "validated_parquet"
        )
        meta = validated.materialization.metadata
        assert (meta["enrichment_rows_enriched"].value, meta["enrichment_ids_missing"].value) == (2, 1)
        assert meta["enrichment_missing_examples"].value == ["3"]
    with documents.connect() as conn:
        rows = conn.execute("select id, metadata, embedding from documents order by id").fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        ("1", {"lang": "en", "title": "Passwords", "published": "2026-01-02", "extra.team": "support"}),
        ("2", {"lang": "en", "title": "Email", "published": "2026-03-04", "extra": None}),
        ("3", {"lang": "de"}),
    ]
    assert np.allclose(np.array([r[2].to_numpy() for r in rows]), vectors)  # the file's own vectors, not re-embedded
