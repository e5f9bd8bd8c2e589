"""`vectordb search` end to end, as a user runs it: a new process each time, against the bundled
samples indexed on the embedded PostgreSQL, with each local backend.

The first search of an ONNX Runtime or OpenVINO backend also exports or compiles the model (once
per machine); the warm figure is the median of the following searches. Every search must return
hits.
Run: .venv/bin/python bench/search_latency.py [--searches 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")

PROJECT = Path(__file__).resolve().parents[1]
VECTORDB = Path(sys.executable).with_name("vectordb")


def index_samples(env: dict[str, str]) -> None:
    """The samples written and indexed by one run of the ingest job (in a child process)."""
    script = (
        "import dagster as dg\n"
        "from vectordb_assets.definitions import build_definitions\n"
        "from vectordb_assets.landing.partitions import source_files\n"
        "from vectordb_assets.settings import Settings\n"
        "settings = Settings.from_env()\n"
        "keys = sorted(str(p.relative_to(settings.source.root)) for p in __import__('pathlib').Path(settings.source.root).rglob('*') if p.is_file())\n"
        "with dg.DagsterInstance.ephemeral() as instance:\n"
        "    instance.add_dynamic_partitions(source_files.name, keys)\n"
        "    job = build_definitions(settings).resolve_job_def('ingest_files')\n"
        "    tags = {'dagster/asset_partition_range_start': keys[0], 'dagster/asset_partition_range_end': keys[-1]}\n"
        "    assert job.execute_in_process(instance=instance, tags=tags).success\n"
    )
    subprocess.run([str(VECTORDB), "seed"], env=env, cwd=PROJECT, check=True, capture_output=True)
    subprocess.run([sys.executable, "-c", script], env=env, cwd=PROJECT, check=True, capture_output=True)


def search(env: dict[str, str]) -> float:
    started = time.perf_counter()
    out = subprocess.run(
        [str(VECTORDB), "search", "how do I reset my password", "--top-k", "3"],
        env=env,
        cwd=PROJECT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    seconds = time.perf_counter() - started
    if "kb-001" not in out:
        sys.exit(f"the search found nothing:\n{out}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--searches", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="vectordb-bench-") as home:
        env = {**os.environ, "VECTORDB_HOME": home, "DAGSTER_HOME": home}
        env.pop("DATABASE_URL", None)
        index_samples(env)
        for backend in ("torch", "onnx", "openvino"):
            env["VECTORDB_LOCAL_BACKEND"] = backend
            first = search(env)
            warm = [search(env) for _ in range(args.searches)]
            rows.append((backend, first, statistics.median(warm), min(warm), max(warm)))
    print(f"`vectordb search` in a new process each time; median of {args.searches} warm searches")
    print("| backend | first search (s) | warm search, median (s) | fastest (s) | slowest (s) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for backend, first, median, fastest, slowest in rows:
        print(f"| {backend} | {first:.1f} | {median:.2f} | {fastest:.2f} | {slowest:.2f} |")


if __name__ == "__main__":
    main()
