"""Jobs over the asset chain."""

import dagster as dg

from vectordb_assets.assets.embeddings import embeddings
from vectordb_assets.assets.raw_files import raw_files
from vectordb_assets.assets.validated_parquet import validated_parquet
from vectordb_assets.assets.vector_index import vector_index

PIPELINE_ASSETS = [raw_files, validated_parquet, embeddings, vector_index]

ingest_files = dg.define_asset_job(
    name="ingest_files",
    # The index's checks list the whole store and landing area: they run in their own job.
    selection=dg.AssetSelection.assets(*PIPELINE_ASSETS) - dg.AssetSelection.checks_for_assets(vector_index),
    description="Land, validate, embed and index the selected files.",
)

check_vector_index = dg.define_asset_job(
    name="check_vector_index",
    selection=dg.AssetSelection.checks_for_assets(vector_index),
    description="Compare the vector store with the ledger, and the ledger with the landed files.",
)
