"""Documents as rows: a document is read whole (at most the limits' batch bytes), parsed into
sections, and each section cut into chunks; a row per chunk, with the id `<key>#<section>#<n>`.

An edited page or section changes only its own chunks' texts (the others keep their ids and
content hashes, so they are neither embedded nor written again); a removed one takes its ids away.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pyarrow as pa

from vectordb_assets.validation.documents.docx import read_docx
from vectordb_assets.validation.documents.html import read_html
from vectordb_assets.validation.documents.markdown import read_markdown, read_text
from vectordb_assets.validation.documents.pdf import read_pdf
from vectordb_assets.validation.documents.sections import Document, chunk_text, section_ids
from vectordb_assets.validation.source import BATCH_ROWS, ReadLimits, ReadOptions, SourceBatch, UnreadableFileError

# A chunk's own characters (about 250 tokens of English, within all-MiniLM-L6-v2's window) and the
# words of the chunk before that it starts with.
CHUNK_CHARS = 1_000
OVERLAP_CHARS = 100
DOCUMENT_FORMATS = ("pdf", "html", "markdown", "text", "docx")
_TEXT_PARSERS: dict[str, Callable[[str], Document]] = {"html": read_html, "markdown": read_markdown, "text": read_text}
_BINARY_PARSERS: dict[str, Callable[[bytes, str, ReadLimits], Document]] = {"pdf": read_pdf, "docx": read_docx}
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.string()),
        ("title", pa.string()),
        ("heading_path", pa.string()),
        ("page", pa.int64()),
        ("section_chunk", pa.int64()),
        ("section_chunks", pa.int64()),
        ("author", pa.string()),
        ("description", pa.string()),
        ("subject", pa.string()),
        ("language", pa.string()),
    ]
)


def read_whole(handle: io.BufferedIOBase, key: str, limits: ReadLimits) -> bytes:
    """The file's bytes (decompressed), refused past `max_batch_bytes`: a document is parsed whole."""
    data = handle.read(limits.max_batch_bytes + 1)
    if len(data) > limits.max_batch_bytes:
        raise UnreadableFileError(
            f"{key}: a document is read whole, and this one is larger than the {limits.max_batch_bytes:,} bytes"
            " that may be (VECTORDB_MAX_BATCH_BYTES)"
        )
    return data


def parse(data: bytes, key: str, fmt: str, options: ReadOptions) -> Document:
    if fmt in _BINARY_PARSERS:
        return _BINARY_PARSERS[fmt](data, key, options.limits)
    text = data.decode(options.encoding, errors="replace")
    document = _TEXT_PARSERS[fmt](text)
    document.invalid_utf8 = text.count("\ufffd") > data.count("\ufffd".encode())
    return document


def read_document(handle: io.BufferedIOBase, key: str, fmt: str, options: ReadOptions) -> Iterator[SourceBatch]:
    """The document's chunks as rows, in batches of at most `BATCH_ROWS`."""
    data = read_whole(handle, key, options.limits)
    document = parse(data, key, fmt, options)
    if not document.sections:
        raise UnreadableFileError(f"{key}: no text in this {fmt} document")
    title = document.metadata.get("title") or key.rsplit("/", 1)[-1]
    file_fields = {name: document.metadata.get(name) for name in ("author", "description", "subject", "language")}
    rows = []
    options.limits.check_text(key, len(data), sum(len(section.text) for section in document.sections))
    for section_id, section in zip(section_ids(document.sections), document.sections):
        chunks = chunk_text(section.text, CHUNK_CHARS, OVERLAP_CHARS)
        for n, chunk in enumerate(chunks):
            rows.append(
                {
                    "id": f"{key}#{section_id}#{n}",
                    "text": chunk,
                    "title": title,
                    "heading_path": " > ".join(section.heading_path) or None,
                    "page": section.page,
                    "section_chunk": n,
                    "section_chunks": len(chunks),
                    **file_fields,
                }
            )
    stats = {
        "format": fmt,
        "title": title,
        **({"pages": document.pages} if document.pages is not None else {}),
        "sections": len(document.sections),
        "chunks": len(rows),
        **({"pages_without_text": document.pages_without_text} if document.pages_without_text else {}),
    }
    unreadable = [(None, reason) for _, reason in document.pages_unreadable]
    for start in range(0, max(len(rows), 1), BATCH_ROWS):
        batch = pa.RecordBatch.from_pylist(rows[start : start + BATCH_ROWS], schema=SCHEMA)
        texts = batch.column("text").to_pylist()
        repaired = {i for i, text in enumerate(texts) if "\ufffd" in text} if document.invalid_utf8 else set()
        yield SourceBatch(batch, repaired, malformed=unreadable if start == 0 else [], document=stats)
