"""Token-aware chunking: a text longer than the model's window becomes several overlapping chunks,
each its own row (`<doc_id>#<n>`), so that nothing is silently truncated."""

from __future__ import annotations

import json

import pyarrow as pa

from resources.embedders import Embedder
from vectordb_assets.validation.canonical import text_hash


def chunk_spans(token_spans: list[tuple[int, int]], size: int, overlap: int) -> list[tuple[int, int]]:
    """Character spans of chunks of at most `size` tokens, consecutive chunks sharing `overlap`."""
    if not 0 <= overlap < size:
        raise ValueError(f"chunk overlap {overlap} must be at least 0 and less than the chunk size {size}")
    if len(token_spans) <= size:
        return [(0, token_spans[-1][1])] if token_spans else []
    step = size - overlap
    chunks = []
    for start in range(0, len(token_spans) - overlap, step):
        window = token_spans[start : start + size]
        chunks.append((window[0][0], window[-1][1]))
    return chunks


def expand_chunks(batch: pa.RecordBatch, embedder: Embedder, size: int, overlap: int) -> pa.RecordBatch:
    """The batch with each row whose text exceeds `size` tokens replaced by its chunks."""
    texts = batch.column("text").to_pylist()
    vectors = batch.column("embedding")
    # A token covers at least one byte, so a text of at most `size` bytes needs no tokenizing.
    long_rows = [
        i for i, text in enumerate(texts) if text and not vectors[i].is_valid and len(text.encode("utf-8")) > size
    ]
    long_rows = [i for i, count in zip(long_rows, embedder.count_tokens([texts[i] for i in long_rows])) if count > size]
    if not long_rows:
        return batch
    rows = batch.to_pylist()
    out = []
    chunked = set(long_rows)
    for i, row in enumerate(rows):
        if i not in chunked:
            out.append(row)
            continue
        text = row["text"]
        spans = chunk_spans(embedder.token_spans(text), size, overlap)
        for n, (start, end) in enumerate(spans):
            piece = text[start:end]
            metadata = {**json.loads(row["metadata"]), "document_id": row["doc_id"], "chunk": n, "chunks": len(spans)}
            out.append(
                {
                    **row,
                    "doc_id": f"{row['doc_id']}#{n}",
                    "text": piece,
                    "metadata": json.dumps(metadata, ensure_ascii=False, sort_keys=True),
                    "content_hash": text_hash(piece),
                }
            )
    return pa.RecordBatch.from_pylist(out, schema=batch.schema)
