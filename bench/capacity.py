"""Bytes each piece of state takes per file and per vector, measured after ingesting small files
through the real job (Dagster's instance on PostgreSQL), and what that comes to at 10 million
files and 1 billion vectors.

Run: .venv/bin/python bench/capacity.py [--files 200] [--rows 50]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings
from pathlib import Path

warnings.simplefilter("ignore")

import dagster as dg  # noqa: E402
import psycopg  # noqa: E402
import yaml  # noqa: E402

from resources.state_db import embedded_server_uri  # noqa: E402
from vectordb_assets.assets.per_file import RANGE_END_TAG, RANGE_START_TAG  # noqa: E402
from vectordb_assets.definitions import build_definitions  # noqa: E402
from vectordb_assets.landing.partitions import source_files  # noqa: E402
from vectordb_assets.settings import Settings  # noqa: E402

TARGET_FILES, TARGET_VECTORS = 10_000_000, 1_000_000_000


def relation_bytes(url: str, tables: list[str]) -> int:
    """Bytes of the tables with their indexes and TOAST."""
    with psycopg.connect(url) as conn:
        return sum(conn.execute("select pg_total_relation_size(%s)", (t,)).fetchone()[0] for t in tables)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if size < 1000:
            return f"{size:,.0f} {unit}"
        size /= 1000
    return f"{size:,.0f} EB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--rows", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vectordb-capacity-") as folder:
        home = Path(folder)
        server = embedded_server_uri(home / "pgdata")
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute("create database state")
            conn.execute("create database dagster")
        state_url, dagster_url = (server.replace("/postgres?", f"/{name}?") for name in ("state", "dagster"))
        os.environ.update(VECTORDB_HOME=folder, DATABASE_URL=state_url)
        settings = Settings.from_env()
        landing = Path(settings.source.root)
        keys = [f"f{n:06d}.csv" for n in range(args.files)]
        for n, key in enumerate(keys):
            (landing / key).parent.mkdir(parents=True, exist_ok=True)
            (landing / key).write_text(
                "id,text,category\n"
                + "".join(
                    f"{n}-{i},file {n} row {i}: a line of text of a typical length for a help article,c{i % 7}\n"
                    for i in range(args.rows)
                )
            )
        (home / "dagster").mkdir()
        storage = {
            "storage": {"postgres": {"postgres_url": dagster_url.replace("postgresql://", "postgresql+psycopg2://")}}
        }
        (home / "dagster/dagster.yaml").write_text(yaml.safe_dump(storage))
        job = build_definitions(settings).resolve_job_def("ingest_files")
        with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
            instance.add_dynamic_partitions(source_files.name, keys)
            for start in range(0, len(keys), 100):  # runs of 100 files, as the sensor makes them
                batch = keys[start : start + 100]
                tags = {RANGE_START_TAG: batch[0], RANGE_END_TAG: batch[-1]}
                assert job.execute_in_process(instance=instance, tags=tags).success
        vectors = args.files * args.rows
        output = Path(settings.output.root)
        per = [
            ("vector ledger (PostgreSQL)", relation_bytes(state_url, ["vectordb_ledger"]) / vectors, "vector"),
            (
                "embedding cache (PostgreSQL)",
                relation_bytes(state_url, ["vectordb_embedding_cache"]) / vectors,
                "vector",
            ),
            (
                "pgvector table with HNSW index",
                relation_bytes(state_url, [settings.index.collection]) / vectors,
                "vector",
            ),
            (
                "indexed versions (PostgreSQL)",
                relation_bytes(state_url, ["vectordb_indexed_sources"]) / args.files,
                "file",
            ),
            ("validated/ Parquet", folder_bytes(output / "validated") / vectors, "vector"),
            ("embeddings/ Parquet", folder_bytes(output / "embeddings") / vectors, "vector"),
            (
                "Dagster event log (runs, events, partitions)",
                relation_bytes(dagster_url, ["event_logs", "runs", "dynamic_partitions", "asset_keys"]) / args.files,
                "file",
            ),
        ]
    print(f"files: {args.files}, rows per file: {args.rows}, vectors: {vectors}")
    print(f"| state | bytes per unit | unit | at {TARGET_FILES:,} files / {TARGET_VECTORS:,} vectors |")
    print("| --- | ---: | --- | ---: |")
    for name, size, unit in per:
        total = size * (TARGET_VECTORS if unit == "vector" else TARGET_FILES)
        print(f"| {name} | {size:,.0f} | {unit} | {human(total)} |")


if __name__ == "__main__":
    main()
