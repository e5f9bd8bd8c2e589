"""OpenAI requests in flight at once: the same texts embedded with 1 and with 8 concurrent
requests against the suite's local server speaking `/v1/embeddings` with a realistic delay
(300 ms + 1 ms per 1,000 tokens per request), once in one `embed` call and once as one file
through the embedding stage (batches of 1,024 rows; with concurrency 8 the stage reads 8
batches per call).

Prints the requests made against the fewest possible and the time of each; the two
concurrencies must return the same vectors.
Run: .venv/bin/python bench/openai_concurrency.py [--texts 20000]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from bench.openai_packing import mixed_texts  # noqa: E402
from resources.openai_embedder import MAX_INPUTS_PER_REQUEST, MAX_TOKENS_PER_REQUEST, OpenAIEmbedder  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402
from vectordb_assets.embedding.cache import PreviousOutputCache  # noqa: E402
from vectordb_assets.embedding.stage import embed_file, rows_per_call  # noqa: E402
from vectordb_assets.validation.validate import validate_file  # noqa: E402

BASE_SECONDS, SECONDS_PER_1000_TOKENS = 0.3, 0.001


def measure(texts: list[str], validated: Path | None, out: Path, concurrency: int) -> tuple[int, int, float]:
    """(requests, most requests in flight at once, seconds) of embedding `texts` in one call, or
    the file `validated` through the stage; the vectors are written to `out`."""
    server = FakeOpenAI(delay_seconds=BASE_SECONDS, delay_seconds_per_1000_tokens=SECONDS_PER_1000_TOKENS)
    server.start()
    try:
        embedder = OpenAIEmbedder(
            api_key="sk-bench",
            base_url=server.url,
            dimensions=8,
            concurrency=concurrency,
            requests_per_minute=10**6,
            tokens_per_minute=10**10,
        )
        started = time.perf_counter()
        if validated is None:
            np.save(out, embedder.embed(texts))
        else:
            embed_file(
                validated,
                out,
                "bench.jsonl",
                embedder,
                PreviousOutputCache(embedder.model_id, None),
                batch_rows=rows_per_call(embedder, 1024),
            )
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    return len(server.requests), server.in_flight.most, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=20_000)
    args = parser.parse_args()
    texts = mixed_texts(args.texts)
    tokens = sum(OpenAIEmbedder(api_key="sk-bench").count_tokens(texts))
    fewest = max(math.ceil(len(texts) / MAX_INPUTS_PER_REQUEST), math.ceil(tokens / MAX_TOKENS_PER_REQUEST))
    with tempfile.TemporaryDirectory(prefix="vectordb-bench-") as folder:
        raw, validated = Path(folder, "bench.jsonl"), Path(folder, "validated.parquet")
        raw.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
        validate_file(raw, "bench.jsonl", "etag", validated)
        rows = {}
        for path, source in (("one embed call", None), ("one file through the stage", validated)):
            for concurrency in (1, 8):
                out = Path(folder, f"out-{concurrency}" + (".npy" if source is None else ".parquet"))
                rows[path, concurrency] = measure(texts, source, out, concurrency)
            read = (
                np.load
                if source is None
                else (lambda p: pq.read_table(p).column("embedding").to_numpy(zero_copy_only=False))
            )
            if not np.array_equal(np.stack(read(Path(folder, out.name.replace("-8", "-1")))), np.stack(read(out))):
                sys.exit(f"{path}: the two concurrencies returned different vectors")
    print(
        f"{len(texts)} texts, {tokens} tokens; server delay {BASE_SECONDS * 1000:.0f} ms + "
        f"{SECONDS_PER_1000_TOKENS * 1000:.0f} ms per 1,000 tokens per request"
    )
    print("| path | concurrency | requests made | fewest possible | ratio | most in flight | seconds | speed-up |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (path, concurrency), (made, in_flight, seconds) in rows.items():
        print(
            f"| {path} | {concurrency} | {made} | {fewest} | {made / fewest:.3f} | {in_flight} | {seconds:.1f} | "
            f"{rows[path, 1][2] / seconds:.2f} |"
        )


if __name__ == "__main__":
    main()
