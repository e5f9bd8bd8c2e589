"""Dagster resources, one module per external system."""
