"""The whole pipeline, file by file, with each local backend: ten 1,000-row CSV files, one run of
the ingest job per file (validate, embed, index into pgvector with its HNSW index), in a fresh
home and embedded PostgreSQL per backend, so that no backend reuses another's embeddings.

A worker process per backend runs the files one after the other; its time counts from the
process's start, the model's import and load included. The ONNX export that OpenVINO compiles is
made once before (`VECTORDB_MODELS_DIR`), as on a machine that has run the pipeline before. The backends take turns, `--rounds`
times; each file's best time is kept. The texts are 5 to 150 words (as in bench/local_backends.py).

Run: .venv/bin/python bench/backend_end_to_end.py [--files 10] [--rows 1000] [--rounds 2]
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

STARTED = time.perf_counter()
warnings.simplefilter("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa  # noqa: E402
import pyarrow.csv as pa_csv  # noqa: E402

BACKENDS = ("torch", "openvino")


def write_files(folder: Path, files: int, rows: int) -> list[str]:
    """`files` CSV files of `rows` texts each, the same texts for every backend."""
    from local_backends import corpus, vocabulary

    texts = corpus(files * rows, vocabulary())
    keys = []
    for f in range(files):
        key = f"file-{f:02d}.csv"
        numbers = range(f * rows, (f + 1) * rows)
        pa_csv.write_csv(
            pa.table({"id": [f"doc-{n}" for n in numbers], "text": [texts[n] for n in numbers]}), folder / key
        )
        keys.append(key)
    return keys


def worker(backend: str, files: int, rows: int) -> None:
    """Every file through its own run, in a fresh home; prints the seconds to each file's end."""
    import dagster as dg

    from resources.state_db import StateDatabase, embedded_server_uri
    from vectordb_assets.definitions import build_definitions
    from vectordb_assets.landing.partitions import source_files
    from vectordb_assets.resources_from_settings import vector_store
    from vectordb_assets.settings import Settings

    with tempfile.TemporaryDirectory(prefix="vectordb-bench-") as folder:
        os.environ.update(
            VECTORDB_HOME=folder,
            VECTORDB_LOCAL_BACKEND=backend,
            DATABASE_URL=embedded_server_uri(Path(folder) / "pgdata"),
        )
        settings = Settings.from_env()
        Path(settings.source.root).mkdir(parents=True, exist_ok=True)
        keys = write_files(Path(settings.source.root), files, rows)
        job = build_definitions(settings).resolve_job_def("ingest_files")
        ends = []
        with dg.DagsterInstance.ephemeral() as instance:
            instance.add_dynamic_partitions(source_files.name, keys)
            for key in keys:
                if not job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False).success:
                    sys.exit(f"the run of {key} failed with {backend}")
                ends.append(time.perf_counter() - STARTED)
        indexed = vector_store(settings, StateDatabase(database_url=os.environ["DATABASE_URL"])).count("default")
        if indexed != files * rows:
            sys.exit(f"the store holds {indexed} vectors, not {files * rows} ({backend})")
        print("\t".join(map(str, ends)))


def measure(backend: str, files: int, rows: int) -> list[float]:
    """Seconds each file took in a worker (the first file's including the start and the model's load)."""
    output = subprocess.run(
        [sys.executable, __file__, "--worker", backend, str(files), str(rows)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent,
    )
    if output.returncode != 0:
        sys.exit(output.stdout[-2000:] + output.stderr[-3000:])
    ends = [float(value) for value in output.stdout.strip().splitlines()[-1].split("\t")]
    return [end - start for start, end in zip([0.0, *ends], ends)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), int(args.worker[2]))
        return
    from resources.embedders import LocalEmbedder

    models = tempfile.TemporaryDirectory(prefix="vectordb-bench-models-")
    LocalEmbedder(backend="openvino", export_dir=models.name).load()
    os.environ["VECTORDB_MODELS_DIR"] = models.name
    best: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for backend in BACKENDS:
            times = measure(backend, args.files, args.rows)
            best[backend] = [min(pair) for pair in zip(best.get(backend, times), times)]
    rows = args.files * args.rows
    torch_rate = rows / sum(best["torch"])
    print(f"{args.files} files of {args.rows} rows, one run per file; best of {args.rounds} alternated rounds per file")
    print(
        "| backend | first file, with start and model load (s) | other files, mean (s) | total (s) | rows/s | vs torch |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for backend, times in best.items():
        rate = rows / sum(times)
        print(
            f"| {backend} | {times[0]:.1f} | {sum(times[1:]) / max(len(times) - 1, 1):.1f} | {sum(times):.1f} | "
            f"{rate:,.0f} | {rate / torch_rate:.2f} |"
        )


if __name__ == "__main__":
    main()
