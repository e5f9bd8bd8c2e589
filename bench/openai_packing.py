"""OpenAI request packing: requests made for 10k texts of mixed lengths vs the fewest possible.

The fewest possible is max(ceil(inputs / 2048), ceil(tokens / 300,000)). Runs the real SDK against
the test suite's local server that speaks /v1/embeddings.
Run: .venv/bin/python bench/openai_packing.py [--texts 10000]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resources.openai_embedder import MAX_INPUTS_PER_REQUEST, MAX_TOKENS_PER_REQUEST, OpenAIEmbedder  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402

WORDS = "river mountain data vector index embedding partition sensor asset ledger cache store".split()


def mixed_texts(count: int, seed: int = 7) -> list[str]:
    """Mostly short texts, some paragraphs, a few near the 8,191-token input limit."""
    rng = random.Random(seed)
    texts = []
    for i in range(count):
        words = rng.choice([rng.randint(3, 40)] * 6 + [rng.randint(100, 900)] * 3 + [rng.randint(2000, 7000)])
        texts.append(f"{i} " + " ".join(rng.choice(WORDS) for _ in range(words)))
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=10_000)
    args = parser.parse_args()
    server = FakeOpenAI()
    server.start()
    try:
        embedder = OpenAIEmbedder(
            api_key="sk-bench", base_url=server.url, dimensions=8, requests_per_minute=10**9, tokens_per_minute=10**12
        )
        texts = mixed_texts(args.texts)
        tokens = sum(embedder.count_tokens(texts))
        started = time.perf_counter()
        embedder.embed(texts)
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    made = len(server.requests)
    fewest = max(math.ceil(len(texts) / MAX_INPUTS_PER_REQUEST), math.ceil(tokens / MAX_TOKENS_PER_REQUEST))
    print("| texts | tokens | requests made | fewest possible | ratio | largest request (tokens) | seconds |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    largest = max(r["tokens"] for r in server.requests)
    print(f"| {len(texts)} | {tokens} | {made} | {fewest} | {made / fewest:.3f} | {largest} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
