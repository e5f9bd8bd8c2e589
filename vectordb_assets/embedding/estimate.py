"""What embedding the current corpus with a model would take: its distinct texts, those the
embedding cache already holds for that model, and for the rest the tokens, the requests, the
list price and the time at the configured rate limits.

The corpus is the validated files of the output store (texts without a vector of their own),
read a file at a time; a text that several files hold is counted once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow.parquet as pq

from resources.batching import pack
from resources.embedders import Embedder
from resources.object_store import ObjectStore

CHUNK_OVERLAP = 32  # tokens each extra chunk of a long text repeats (the stage's default)


@dataclass
class Estimate:
    """The figures of one model over the corpus."""

    model: str
    files: int = 0
    texts: int = 0  # distinct texts in the corpus
    cached: int = 0  # of those, already in the cache for this model
    to_embed: int = 0
    tokens: int = 0
    requests: int = 0
    cost_usd: float = 0.0
    minutes_at_limits: float | None = None  # for a rate-limited service
    limits: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate(
    output_store: ObjectStore,
    embedder: Embedder,
    cached: Callable[[list[str]], set[str]],
    batch_rows: int = 1024,
    limits: dict[str, int] | None = None,
) -> Estimate:
    """The estimate for `embedder`'s model; `cached(hashes)` says which content hashes the cache
    holds for it; `limits` (requests_per_minute, tokens_per_minute) when the service has them."""
    result = Estimate(model=embedder.model_id, limits=dict(limits or {}))
    max_inputs, max_tokens = embedder.request_limits
    seen: set[str] = set()
    for obj in output_store.list_objects("validated/"):
        result.files += 1
        with output_store.local_path(obj.key) as path:
            for batch in pq.ParquetFile(path).iter_batches(
                batch_size=batch_rows, columns=["text", "embedding", "content_hash"]
            ):
                texts: dict[str, str] = {}
                for text, vector, content_hash in zip(
                    *(batch.column(n).to_pylist() for n in ("text", "embedding", "content_hash"))
                ):
                    if text and vector is None and content_hash not in seen:
                        seen.add(content_hash)
                        texts[content_hash] = text
                result.texts += len(texts)
                held = cached(list(texts))
                result.cached += len(held)
                missing = [text for content_hash, text in texts.items() if content_hash not in held]
                if not missing:
                    continue
                tokens = embedder.count_tokens(missing)
                window = embedder.max_input_tokens
                tokens = [n + (math.ceil(n / window) - 1) * CHUNK_OVERLAP if n > window else n for n in tokens]
                result.to_embed += len(missing)
                result.tokens += sum(tokens)
                result.requests += len(pack(tokens, max_inputs, max_tokens))
    result.cost_usd = round(result.tokens / 1e6 * embedder.price_per_million_tokens, 9)
    if limits:
        result.minutes_at_limits = round(
            max(result.requests / limits["requests_per_minute"], result.tokens / limits["tokens_per_minute"]), 3
        )
    return result
