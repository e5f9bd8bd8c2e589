"""Materialize 10k rows, then the same file again: embedding calls and wall time of both runs.

Run: .venv/bin/python bench/dedup_rerun.py [--rows 10000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")

import dagster as dg  # noqa: E402

from vectordb_assets.definitions import build_definitions  # noqa: E402
from vectordb_assets.landing.partitions import source_files  # noqa: E402
from vectordb_assets.settings import Settings  # noqa: E402

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma".split()


def write_csv(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("id,text,category\n")
        for i in range(rows):
            words = " ".join(WORDS[(i * k) % len(WORDS)] for k in range(1, 12))
            handle.write(f"{i},row {i} says {words},c{i % 7}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vectordb-bench-") as folder:
        os.environ["VECTORDB_HOME"] = folder
        os.environ.pop("DATABASE_URL", None)
        settings = Settings.from_env()
        Path(settings.source.root).mkdir(parents=True)
        write_csv(Path(settings.source.root) / "rows.csv", args.rows)
        defs = build_definitions(settings)
        job = defs.resolve_job_def("ingest_files")
        with dg.build_resources({"embedder": defs.resources["embedder"]}) as resources:
            resources.embedder.embed(["warm up the model before timing"])
        table = []
        with dg.instance_for_test() as instance:
            instance.add_dynamic_partitions(source_files.name, ["rows.csv"])
            for label in ("first run", "unchanged re-run"):
                started = time.perf_counter()
                result = job.execute_in_process(instance=instance, partition_key="rows.csv")
                seconds = time.perf_counter() - started
                meta = {
                    e.asset_key.path[-1]: {k: v.value for k, v in e.materialization.metadata.items()}
                    for e in result.get_asset_materialization_events()
                }
                table.append(
                    (
                        label,
                        meta["embeddings"]["embed_calls"],
                        meta["embeddings"]["texts_embedded"],
                        meta["vector_index"]["added"],
                        meta["vector_index"]["skipped"],
                        seconds,
                    )
                )
    print(f"rows: {args.rows}")
    print("| run | embed calls | texts embedded | vectors written | vectors skipped | wall time (s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, calls, texts, added, skipped, seconds in table:
        print(f"| {label} | {calls} | {texts} | {added} | {skipped} | {seconds:.2f} |")
    print(f"re-run / first run wall time: {table[1][5] / table[0][5]:.3f}")


if __name__ == "__main__":
    main()
