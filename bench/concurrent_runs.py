"""End-to-end throughput with 1, 2 and 4 runs at once on the same namespace, small and large files.

The same files are split into as many partition ranges as there are runs; each run is its own
process (as under Dagster's run launcher), all writing one collection and namespace. Every
configuration lands new texts, so no run reuses another's embeddings.

Three workloads: small CSV files and large ones, embedded by the local model (CPU-bound), and
large Parquet files with precomputed vectors (bound by the index writes).

Run: .venv/bin/python bench/concurrent_runs.py [--small-files 240] [--large-files 4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")

import dagster as dg  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.csv as pa_csv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma".split()
RUNS = (1, 2, 4)


def write_files(folder: Path, label: str, files: int, rows: int, vectors: bool) -> list[str]:
    """`files` files of `rows` rows each, with texts unique to `label` (CSV, or Parquet with
    precomputed 384-d vectors when `vectors`); their keys in order."""
    rng = np.random.default_rng(0)
    keys = []
    for f in range(files):
        key = f"{label}/file-{f:05d}.{'parquet' if vectors else 'csv'}"
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        numbers = range(f * rows, (f + 1) * rows)
        ids = [f"{label}-{n}" for n in numbers]
        texts = [
            f"{label} row {n} says " + " ".join(WORDS[(n * k) % len(WORDS)] for k in range(1, 12)) for n in numbers
        ]
        if vectors:
            embedding = rng.standard_normal((rows, 384), dtype=np.float32)
            column = pa.FixedSizeListArray.from_arrays(pa.array(embedding.reshape(-1)), 384)
            pq.write_table(pa.table({"id": ids, "text": texts, "embedding": column}), path)
        else:
            pa_csv.write_csv(pa.table({"id": ids, "text": texts}), path)
        keys.append(key)
    return keys


def ranges(keys: list[str], parts: int) -> list[tuple[str, str]]:
    """`keys` cut into `parts` contiguous ranges of about equal size."""
    size = -(-len(keys) // parts)
    return [(keys[i], keys[min(i + size, len(keys)) - 1]) for i in range(0, len(keys), size)]


def worker(start: str, end: str) -> None:
    """One run of the ingest job over the partitions start...end (a child process)."""
    from vectordb_assets.assets.per_file import RANGE_END_TAG, RANGE_START_TAG
    from vectordb_assets.definitions import build_definitions
    from vectordb_assets.settings import Settings

    job = build_definitions(Settings.from_env()).resolve_job_def("ingest_files")
    with dg.DagsterInstance.get() as instance:
        tags = {RANGE_START_TAG: start, RANGE_END_TAG: end}
        result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    sys.exit(0 if result.success else 1)


def measure(home: Path, keys: list[str], runs: int) -> float:
    """Seconds for `runs` processes to ingest `keys` together, from launch to the last exit."""
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", start, end], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for start, end in ranges(keys, runs)
    ]
    outputs = [p.communicate()[0].decode(errors="replace") for p in processes]
    seconds = time.perf_counter() - started
    for process, output in zip(processes, outputs):
        if process.returncode != 0:
            sys.exit(f"a run failed:\n{output[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small-files", type=int, default=240, help="files of 10 rows")
    parser.add_argument("--large-files", type=int, default=4, help="files of 5,000 rows")
    parser.add_argument("--worker", nargs=2, metavar=("START", "END"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return

    from resources.state_db import embedded_server_uri
    from vectordb_assets.landing.partitions import source_files
    from vectordb_assets.settings import Settings

    rows_in_index = 0
    table = []
    with tempfile.TemporaryDirectory(prefix="vectordb-bench-") as folder:
        os.environ["VECTORDB_HOME"] = folder
        os.environ["DAGSTER_HOME"] = str(Path(folder) / "dagster")
        Path(os.environ["DAGSTER_HOME"]).mkdir()
        Path(os.environ["DAGSTER_HOME"], "dagster.yaml").touch()  # the default local instance
        os.environ["DATABASE_URL"] = embedded_server_uri(Path(folder) / "pgdata")
        settings = Settings.from_env()
        source = Path(settings.source.root)
        scenarios = (
            ("small files", args.small_files, 10, False),
            ("large files", args.large_files, 5_000, False),
            ("large files, precomputed vectors", args.large_files, 5_000, True),
        )
        for scenario, files, rows, vectors in scenarios:
            for runs in RUNS:
                keys = write_files(source, f"{scenario.split()[0]}{int(vectors)}-{runs}", files, rows, vectors)
                with dg.DagsterInstance.get() as instance:
                    instance.add_dynamic_partitions(source_files.name, keys)
                seconds = measure(Path(folder), keys, runs)
                rows_in_index += files * rows
                table.append((scenario, files, rows, runs, seconds))
        import psycopg
        from psycopg import sql

        with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
            query = sql.SQL("select count(*) from {}").format(sql.Identifier(settings.index.collection))
            indexed = conn.execute(query).fetchone()[0]
    if indexed != rows_in_index:
        sys.exit(f"the index holds {indexed} vectors, expected {rows_in_index}")
    print(f"machine: {os.cpu_count()} cores; every configuration's rows indexed exactly once ({indexed} vectors)")
    print("| files | rows per file | vectors | runs at once | wall time (s) | rows/s | rows/s vs 1 run |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for scenario, files, rows, runs, seconds in table:
        one = next(s for sc, _, _, r, s in table if sc == scenario and r == 1)
        vectors = "precomputed" if "precomputed" in scenario else "local model"
        print(
            f"| {files} | {rows} | {vectors} | {runs} | {seconds:.1f} | {files * rows / seconds:,.0f} | {one / seconds:.2f} |"
        )


if __name__ == "__main__":
    main()
