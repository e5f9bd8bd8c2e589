"""Writes of 100,000 vectors to Pinecone and S3 Vectors, one request at a time against
`VECTORDB_WRITE_CONCURRENCY`-style concurrency (4), with latency injected on every write: the
suite's local Pinecone server waits before answering each upsert, and each S3 Vectors put is
slowed on the client side before it reaches moto's server.

S3 Vectors writes are also paced under the service's 2,500 vectors per second per index, which
bounds them whatever the concurrency (100,000 vectors take at least 39 s after the first
second's budget). Every case must end with every vector in the store.
Run: .venv/bin/python bench/store_writes.py [--vectors 100000] [--latency 0.3]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from resources.pinecone_store import PineconeStore  # noqa: E402
from resources.s3vectors_store import S3VectorsStore  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.fake_pinecone import FakePinecone  # noqa: E402
from tests.resources.test_pgvector_store import records  # noqa: E402
from tests.resources.test_s3vectors_store import slowed  # noqa: E402

DIMENSION = 64


def pinecone_case(table, latency: float, concurrency: int) -> tuple[float, int, int]:
    """(seconds, requests, most in flight) of upserting `table` into the local Pinecone server."""
    server = FakePinecone(dimension=DIMENSION)
    server.start()
    try:
        store = PineconeStore(api_key="pc-bench", index_name="bench", host=server.url, write_concurrency=concurrency)
        store.ensure_collection(DIMENSION)
        server.delay_seconds = latency
        started = time.perf_counter()
        store.upsert("ns", table)
        seconds = time.perf_counter() - started
        if store.count("ns") != table.num_rows:
            sys.exit(f"Pinecone holds {store.count('ns')} vectors, not {table.num_rows}")
        return seconds, sum(r["path"] == "/vectors/upsert" for r in server.requests), server.in_flight.most
    finally:
        server.stop()


def s3vectors_case(endpoint: str, table, latency: float, concurrency: int) -> tuple[float, int, int]:
    """(seconds, requests, most in flight) of putting `table` into a new index on moto's server."""
    store = S3VectorsStore(
        vector_bucket=f"bench-{uuid.uuid4().hex[:8]}",
        endpoint_url=endpoint,
        region_name="us-east-1",
        write_concurrency=concurrency,
    )
    store.ensure_collection(DIMENSION)
    in_flight = slowed(store, latency)
    started = time.perf_counter()
    store.upsert("default", table)
    seconds = time.perf_counter() - started
    if store.count("default") != table.num_rows:
        sys.exit(f"S3 Vectors holds {store.count('default')} vectors, not {table.num_rows}")
    return seconds, -(-table.num_rows // 500), in_flight.most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds added to every write request")
    args = parser.parse_args()
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        os.environ.setdefault(name, value)
    vectors = np.random.default_rng(0).standard_normal((args.vectors, DIMENSION)).astype(np.float32)
    table = records([f"v{i}" for i in range(args.vectors)], vectors)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    rows = []
    try:
        for store in ("Pinecone", "S3 Vectors"):
            for concurrency in (1, 4):
                if store == "Pinecone":
                    rows.append((store, concurrency, *pinecone_case(table, args.latency, concurrency)))
                else:
                    rows.append(
                        (
                            store,
                            concurrency,
                            *s3vectors_case(f"http://127.0.0.1:{port}", table, args.latency, concurrency),
                        )
                    )
    finally:
        moto.stop()
    print(
        f"{args.vectors} vectors of {DIMENSION} dimensions; {args.latency * 1000:.0f} ms added to every write request"
    )
    print("| store | concurrency | write requests | most in flight | seconds | vectors/s | speed-up |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for store, concurrency, seconds, requests, in_flight in rows:
        sequential = next(r[2] for r in rows if r[0] == store and r[1] == 1)
        print(
            f"| {store} | {concurrency} | {requests} | {in_flight} | {seconds:.1f} | {args.vectors / seconds:,.0f} | "
            f"{sequential / seconds:.2f} |"
        )


if __name__ == "__main__":
    main()
