"""Validation: raw files of any supported format → canonical Parquet and a report per file."""
