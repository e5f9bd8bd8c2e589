"""Jobs over the asset chain."""

import dagster as dg

from vectordb_assets.assets.embeddings import embeddings
from vectordb_assets.assets.raw_files import raw_files
from vectordb_assets.assets.validated_parquet import validated_parquet
from vectordb_assets.assets.vector_index import vector_index

PIPELINE_ASSETS = [raw_files, validated_parquet, embeddings, vector_index]
# The index's full checks list the whole store and the landing area: they run apart, by their
# automation condition or on demand in `check_vector_index`; each ingest run checks a sample of its
# own files (`run_files_in_store`).
FULL_INDEX_CHECKS = dg.AssetSelection.checks(
    *(dg.AssetCheckKey(vector_index.key, name) for name in ("vector_index_matches_ledger", "landed_files_indexed"))
)

ingest_files = dg.define_asset_job(
    name="ingest_files",
    selection=dg.AssetSelection.assets(*PIPELINE_ASSETS) - FULL_INDEX_CHECKS,
    description="Land, validate, embed and index the selected files.",
)

check_vector_index = dg.define_asset_job(
    name="check_vector_index",
    selection=FULL_INDEX_CHECKS,
    description="Compare the vector store with the ledger, and the ledger with the landed files.",
)
