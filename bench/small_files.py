"""Many small files against one large file with the same texts: one run of the ingest job each,
the local model, every state on the embedded PostgreSQL. The small files go once with a
partition per file and once with folder partitions (`VECTORDB_PARTITION_DEPTH=2`, 100 files per
folder). Prints the wall time of each stage and the ratio of each case to the large file; each
case must end with every row in the store.

Each case runs in its own home (its own databases), so none reuses another's embeddings.

Run: .venv/bin/python bench/small_files.py [--files 1000] [--rows 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

warnings.simplefilter("ignore")

import pyarrow as pa  # noqa: E402
import pyarrow.csv as pa_csv  # noqa: E402

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma".split()
STAGES = ("validated_parquet", "embeddings", "vector_index")


FILES_PER_FOLDER = 100


def write_files(folder: Path, files: int, rows: int) -> list[str]:
    """`files` CSV files of `rows` rows each, 100 per folder; the texts depend only on the row's number."""
    keys = []
    for f in range(files):
        key = f"drop/{f // FILES_PER_FOLDER:04d}/file-{f:05d}.csv"
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        numbers = range(f * rows, (f + 1) * rows)
        texts = [f"row {n} says " + " ".join(WORDS[(n * k) % len(WORDS)] for k in range(1, 12)) for n in numbers]
        pa_csv.write_csv(pa.table({"id": [f"doc-{n}" for n in numbers], "text": texts}), path)
        keys.append(key)
    return keys


def worker(files: int, rows: int, depth: int) -> None:
    """One case in a fresh home (a child process, so each case loads its model like a real run)."""
    from ingest_run import timed_ingest

    from resources.state_db import embedded_server_uri
    from vectordb_assets.landing.partitions import partition_key_for
    from vectordb_assets.settings import Settings

    with tempfile.TemporaryDirectory(prefix="vectordb-bench-") as folder:
        os.environ["VECTORDB_HOME"] = folder
        os.environ["DATABASE_URL"] = embedded_server_uri(Path(folder) / "pgdata")
        os.environ["VECTORDB_PARTITION_DEPTH"] = str(depth)
        settings = Settings.from_env()
        keys = sorted({partition_key_for(key, depth) for key in write_files(Path(settings.source.root), files, rows)})
        seconds, steps = timed_ingest(settings, keys, files * rows, f"{files} files of {rows} rows")
        print("\t".join([str(seconds), *(str(steps[stage]) for stage in STAGES)]))


def measure(files: int, rows: int, depth: int) -> list[float]:
    output = subprocess.run(
        [sys.executable, __file__, "--worker", str(files), str(rows), str(depth)],
        capture_output=True,
        text=True,
        check=False,
    )
    if output.returncode != 0:
        sys.exit(output.stdout[-2000:] + output.stderr[-3000:])
    return [float(value) for value in output.stdout.strip().splitlines()[-1].split("\t")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--worker", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    cases = [(1, args.files * args.rows, 0), (args.files, args.rows, 0), (args.files, args.rows, 2)]
    results = {case: measure(*case) for case in cases}
    print(f"machine: {os.cpu_count()} cores; {args.files * args.rows} rows in each case, one run each")
    print("| files | rows per file | partitions | run (s) | validate (s) | embed (s) | index (s) | run vs one file |")
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    one = results[cases[0]][0]
    for (files, rows, depth), (run, *steps) in results.items():
        partitions = "one per file" if depth == 0 else f"one per folder of {FILES_PER_FOLDER}"
        print(
            f"| {files} | {rows} | {partitions} | {run:.1f} | "
            + " | ".join(f"{s:.1f}" for s in steps)
            + f" | {run / one:.2f} |"
        )


if __name__ == "__main__":
    main()
