"""The vectordb code location: raw files → validated Parquet → embeddings → vector index."""
