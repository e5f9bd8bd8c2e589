"""Documents landed beside tables, found by the real landing sensor and run into pgvector: a job
folder of JSON and PDFs as one partition, exact chunks, an edited page re-embedding only its own
chunk, a deleted file's chunks removed, and search answering with the right page."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from resources.object_store import LocalObjectStore
from sensors.landing_sensor import build_landing_sensor
from tests.document_files import HTML_PAGE, MARKDOWN_GUIDE, docx_bytes, encrypted_pdf_bytes, pdf_bytes
from tests.pipeline_harness import Pipeline
from tests.sensors.ticks import tick
from vectordb_assets.assets.jobs import ingest_files
from vectordb_assets.assets.per_file import CHANGED_FILES_ONLY_TAG
from vectordb_assets.cli.common import resources_of
from vectordb_assets.indexing.live_search import nearest
from vectordb_assets.landing.partitions import source_files
from vectordb_assets.settings import Settings

CHANGES = {CHANGED_FILES_ONLY_TAG: "true"}
PUMP = [
    "The X200 pump draws 40 watts and moves 1,200 litres an hour.",
    None,  # a diagram: no text layer
    "Clean the intake filter under running water once a month.",
]
PRODUCTS = [{"id": "sku-1", "text": "X200 garden pump"}, {"id": "sku-2", "text": "Spare filter for the X200"}]


@pytest.fixture
def pipeline(home: Path, state_db, models_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", state_db.database_url)
    monkeypatch.setenv("VECTORDB_PARTITION_DEPTH", "2")
    with dg.instance_for_test() as instance:
        yield Pipeline(Settings.from_env(), instance, state_db)


def ticked(p: Pipeline, sensor, cursor: str | None) -> dg.SensorResult:
    store = LocalObjectStore(root=p.settings.source.root)
    return tick(sensor, p.instance, {"source_store": store, "state_db": p.state_db}, cursor)


def test_documents_are_indexed_chunk_by_chunk_and_kept_exact(pipeline: Pipeline) -> None:
    p = pipeline
    sensor = build_landing_sensor(
        ingest_files, minimum_interval_seconds=30, max_partitions_per_run=100, excluded_prefix=None, partition_depth=2
    )
    p.land("jobs/7/all_products.json", json.dumps(PRODUCTS))
    p.land("jobs/7/pdfs/pump.pdf", pdf_bytes(PUMP))
    p.land("jobs/7/pdfs/locked.pdf", encrypted_pdf_bytes("Confidential prices"))
    p.land("help/reset.html", HTML_PAGE)
    p.land("docs/install.md", MARKDOWN_GUIDE)
    p.land("legal/contract.docx", docx_bytes())
    first = ticked(p, sensor, None)
    partitions = p.instance.get_dynamic_partitions(source_files.name)
    assert partitions == ["docs/install.md", "help/reset.html", "jobs/7/", "legal/contract.docx"]
    metadata = p.run(*partitions, tags=CHANGES)

    index = p.index()
    assert {k: text for k, (text, _) in index.items() if k.startswith("jobs/7/pdfs/pump.pdf")} == {
        "jobs/7/pdfs/pump.pdf#p1#0": PUMP[0],
        "jobs/7/pdfs/pump.pdf#p3#0": PUMP[2],
    }
    assert {"sku-1", "sku-2"} <= index.keys()
    assert len([k for k in index if k.startswith("help/reset.html#")]) == 2
    assert len([k for k in index if k.startswith("docs/install.md#")]) == 5
    assert len([k for k in index if k.startswith("legal/contract.docx#")]) == 3
    assert len(index) == 2 + 2 + 2 + 5 + 3 and not any(k.startswith("jobs/7/pdfs/locked.pdf") for k in index)
    # The job folder's table names the encrypted PDF and why; the manual's page says what it holds.
    files = {r.data["file"]: r.data for r in metadata["validated_parquet"]["jobs/7/"]["files"].records}
    assert "encrypted PDF that needs a password" in files["jobs/7/pdfs/locked.pdf"]["error"]
    page = metadata["validated_parquet"]["docs/install.md"]
    assert (page["format"], page["sections"], page["chunks"]) == ("markdown", 5, 5)
    # Dagster's own row count on each page; a folder's sums its files'.
    assert page["dagster/row_count"] == metadata["embeddings"]["docs/install.md"]["dagster/row_count"] == 5
    assert metadata["validated_parquet"]["jobs/7/"]["dagster/row_count"] == 4

    edited = [PUMP[0], None, "Clean the intake filter with a soft brush every two weeks."]
    p.land("jobs/7/pdfs/pump.pdf", pdf_bytes(edited), minute=2)
    p.remove("legal/contract.docx")
    second = ticked(p, sensor, first.cursor)
    (request,) = second.run_requests
    assert (
        request.tags["dagster/asset_partition_range_start"],
        request.tags["dagster/asset_partition_range_end"],
    ) == ("jobs/7/", "legal/contract.docx")
    again = p.run("jobs/7/", "legal/contract.docx", tags=CHANGES)
    files = {r.data["file"]: r.data for r in again["embeddings"]["jobs/7/"]["files"].records}
    assert (files["jobs/7/pdfs/pump.pdf"]["texts_embedded"], files["jobs/7/pdfs/pump.pdf"]["cache_hits"]) == (1, 1)
    index = p.index()
    assert index["jobs/7/pdfs/pump.pdf#p3#0"][0] == edited[2]
    assert not any(k.startswith("legal/contract.docx") for k in index) and len(index) == 2 + 2 + 2 + 5

    with resources_of(p.settings, only_search=True) as resources:
        _, hits = nearest(resources, "how often should the filter be cleaned", "default", 1, {}, None)
        assert hits[0].id == "jobs/7/pdfs/pump.pdf#p3#0" and hits[0].metadata["page"] == 3
        _, hits = nearest(resources, "how long do I hold the reset button", "default", 1, {}, None)
        assert hits[0].id == "help/reset.html#resetting-your-router#0"
