"""Jobs over the asset chain."""

import dagster as dg

from vectordb_assets.assets.embeddings import embeddings
from vectordb_assets.assets.raw_files import raw_files
from vectordb_assets.assets.validated_parquet import validated_parquet
from vectordb_assets.assets.vector_index import vector_index

PIPELINE_ASSETS = [raw_files, validated_parquet, embeddings, vector_index]

ingest_files = dg.define_asset_job(
    name="ingest_files",
    selection=dg.AssetSelection.assets(*PIPELINE_ASSETS),
    description="Land, validate, embed and index the selected files.",
)
